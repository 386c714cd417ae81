/* The graph verifier: structural invariants every pass must keep. A failure
 * is a compiler bug, reported as an internal error naming the node. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "util.h"

static dlc_status fail(dlc_diag *d, const dlc_node *n, const char *what) {
  dlc_error(d, n ? n->loc : dlc_noloc(), "internal: graph verifier: %s%s%s",
            n ? dlc_ops[n->op].name : "", n ? ": " : "", what);
  return DLC_ERROR;
}

dlc_status dlc_graph_verify(dlc_graph *g, dlc_diag *d) {
  /* position of each live node in the order; -1 when not listed */
  int *pos = dlc_xmalloc(sizeof *pos * ((size_t)g->next_id + 1));
  for (int i = 0; i <= g->next_id; i++)
    pos[i] = -1;
  dlc_status st = DLC_OK;
  dlc_diag *quiet = dlc_diag_new(NULL);
  for (int i = 0; i < g->nnodes && st == DLC_OK; i++) {
    dlc_node *n = g->nodes[i];
    const dlc_opinfo *info = &dlc_ops[n->op];
    if (n->id < 0 || n->id >= g->next_id || pos[n->id] >= 0) {
      st = fail(d, n, "node id out of range or listed twice");
      break;
    }
    pos[n->id] = i;
    if (n->dead)
      st = fail(d, n, "dead node still listed");
    else if (info->arity >= 0 && n->nin != info->arity)
      st = fail(d, n, "wrong number of operands");
    else if ((info->flags & DLC_OPF_CONST) && !n->data)
      st = fail(d, n, "constant without data");
    else if ((n->op == DLC_OP_INPUT || n->op == DLC_OP_WEIGHT) && !n->name)
      st = fail(d, n, "source without a name");
    else if (n->type.rank < 0 || n->type.rank > DLC_MAX_RANK)
      st = fail(d, n, "rank out of range");
    for (int k = 0; k < n->nin && st == DLC_OK; k++) {
      dlc_node *a = n->in[k];
      if (!a || a->id < 0 || a->id >= g->next_id || pos[a->id] < 0 || a->dead)
        st = fail(d, n, "operand is not defined before its use");
    }
    for (int k = 0; k < n->type.rank && st == DLC_OK; k++)
      if (n->type.dims[k] < 1)
        st = fail(d, n, "dimension below 1");
    if (st == DLC_OK && info->kind != DLC_KIND_SOURCE) {
      dlc_node copy = *n;
      if (dlc_infer_type(g, &copy, quiet) != DLC_OK ||
          !dlc_type_equal(&copy.type, &n->type))
        st = fail(d, n, "type disagrees with the shape rule");
    }
  }
  for (int i = 0; i < g->ninputs && st == DLC_OK; i++)
    if (g->inputs[i]->op != DLC_OP_INPUT || pos[g->inputs[i]->id] < 0)
      st = fail(d, g->inputs[i], "model input not listed");
  for (int i = 0; i < g->noutputs && st == DLC_OK; i++)
    if (!g->outputs[i].node || pos[g->outputs[i].node->id] < 0)
      st = fail(d, g->outputs[i].node, "output refers to a node not listed");
  dlc_diag_free(quiet);
  free(pos);
  return st;
}
