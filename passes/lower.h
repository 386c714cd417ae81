/* Lowering from the graph IR to the loop IR: one kernel per graph operator,
 * with activations placed in one workspace by liveness. */
#ifndef DLC_LOWER_H
#define DLC_LOWER_H

#include "ir/graph.h"
#include "ir/loop.h"

/* Returns NULL (with an error reported) only on compiler bugs. */
dlc_lmodule *dlc_lower_to_loops(const dlc_graph *g, dlc_diag *d);

#endif
