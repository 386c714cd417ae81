/* Constant folding: an operator whose operands are all constants (weights
 * or unnamed constants) is evaluated once, here, with the reference
 * evaluator, and replaced by an unnamed constant of the same type. Nodes are
 * visited in order, so a chain of constant operators folds in one run. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/util.h"

static bool is_const(const dlc_node *n) {
  return (dlc_ops[n->op].flags & DLC_OPF_CONST) != 0;
}

/* A result larger than this stays a computation: folding it would embed
 * (and first allocate) a huge constant, e.g. a broadcast of a scalar. */
#define FOLD_MAX_BYTES ((size_t)64 << 20)

static bool foldable(const dlc_node *n) {
  const dlc_opinfo *info = &dlc_ops[n->op];
  if (n->dead || info->kind == DLC_KIND_SOURCE || (info->flags & DLC_OPF_NOFOLD))
    return false;
  if (dlc_type_bytes(&n->type) > FOLD_MAX_BYTES)
    return false;
  for (int i = 0; i < n->nin; i++)
    if (!is_const(n->in[i]))
      return false;
  return n->nin > 0;
}

/* Evaluates n into a new CONST that takes n's place in the node list (a
 * constant has no operands, so any place keeps the order topological).
 * Returns NULL, changing nothing, when the evaluator cannot do n. */
static dlc_node *fold(dlc_graph *g, int pos) {
  dlc_node *n = g->nodes[pos];
  size_t bytes = dlc_type_bytes(&n->type);
  const void **opnds = dlc_xcalloc((size_t)n->nin, sizeof *opnds);
  void **zeros = dlc_xcalloc((size_t)n->nin, sizeof *zeros);
  for (int i = 0; i < n->nin; i++) {
    opnds[i] = n->in[i]->data;
    if (!opnds[i]) /* a constant without data holds zeros */
      opnds[i] = zeros[i] = dlc_xcalloc(1, dlc_type_bytes(&n->in[i]->type));
  }
  void *data = dlc_xmalloc(bytes);
  dlc_status st = dlc_eval_node(n, opnds, data);
  for (int i = 0; i < n->nin; i++)
    free(zeros[i]);
  free(zeros);
  free(opnds);
  dlc_node *c = NULL;
  if (st == DLC_OK)
    c = dlc_graph_add_const(g, &n->type, data, n->loc); /* copies data */
  free(data);
  if (!c)
    return NULL;
  /* add_const appended c; move it into n's slot. */
  DLC_ASSERT(g->nnodes > 0 && g->nodes[g->nnodes - 1] == c);
  g->nnodes--;
  g->nodes[pos] = c;
  n->dead = true;
  return c;
}

dlc_status dlc_pass_fold(dlc_graph *g, dlc_diag *d) {
  (void)d;
  /* repl[id]: the constant that replaced node id, or NULL. New constants
   * get ids from next_id on; none of them is ever looked up. */
  int nid = g->next_id;
  dlc_node **repl = dlc_xcalloc((size_t)nid, sizeof *repl);
  int nn = g->nnodes;
  for (int i = 0; i < nn; i++) {
    dlc_node *n = g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j]->id < nid && repl[n->in[j]->id])
        n->in[j] = repl[n->in[j]->id];
    if (!foldable(n))
      continue;
    dlc_node *c = fold(g, i);
    if (c)
      repl[n->id] = c;
  }
  for (int i = 0; i < g->noutputs; i++) {
    dlc_node *o = g->outputs[i].node;
    if (o->id < nid && repl[o->id])
      g->outputs[i].node = repl[o->id];
  }
  free(repl);
  dlc_graph_compact(g);
  return DLC_OK;
}
