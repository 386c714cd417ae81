/* Lowering from the graph IR to the loop IR: one kernel per graph operator
 * (or fused chain). The temporaries are not placed yet: the plan loop pass
 * places them (passes.h, dlc_run_loop_passes). */
#ifndef DLC_LOWER_H
#define DLC_LOWER_H

#include "ir/graph.h"
#include "ir/loop.h"

/* Returns NULL (with an error reported) only on compiler bugs. */
dlc_lmodule *dlc_lower_to_loops(const dlc_graph *g, dlc_diag *d);

#endif
