/* Dead code elimination: a node no output depends on is removed. Inputs
 * always stay, used or not: they are the model's signature. One backward
 * walk over the topological order marks what the outputs need. */
#include "passes.h"

#include <stdlib.h>

#include "ir/util.h"

dlc_status dlc_pass_dce(dlc_graph *g, dlc_diag *d) {
  (void)d;
  bool *live = dlc_xcalloc((size_t)g->next_id, sizeof *live);
  for (int i = 0; i < g->noutputs; i++)
    live[g->outputs[i].node->id] = true;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    dlc_node *n = g->nodes[i];
    if (n->dead || !live[n->id])
      continue;
    for (int j = 0; j < n->nin; j++)
      live[n->in[j]->id] = true;
  }
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *n = g->nodes[i];
    if (!live[n->id] && n->op != DLC_OP_INPUT)
      n->dead = true;
  }
  free(live);
  dlc_graph_compact(g);
  return DLC_OK;
}
