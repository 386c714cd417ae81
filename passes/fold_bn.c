/* Folding batch_norm into the convolution before it: for a conv2d with
 * constant f32 weights whose only reader is a batch_norm with constant
 * parameters, s = scale / sqrt(var + eps) scales each output channel's
 * weights and the bias becomes (bias_conv - mean) * s + bias_bn. The
 * batch_norm disappears; the convolution takes its place. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/util.h"

static bool is_const(const dlc_node *n) {
  return (dlc_ops[n->op].flags & DLC_OPF_CONST) != 0;
}

/* the f32 values of constant n (a constant without data holds zeros) */
static float cval(const dlc_node *n, int64_t i) {
  return n->data ? ((const float *)n->data)[i] : 0.0f;
}

static bool foldable(const dlc_node *bn, const int *uses) {
  if (bn->op != DLC_OP_BATCH_NORM || bn->dead || bn->type.dtype != DLC_F32)
    return false;
  const dlc_node *c = bn->in[0];
  if (c->op != DLC_OP_CONV2D || uses[c->id] != 1 || !is_const(c->in[1]) ||
      (c->nin > 2 && !is_const(c->in[2])))
    return false;
  for (int i = 1; i < 5; i++)
    if (!is_const(bn->in[i]) || dlc_type_numel(&bn->in[i]->type) != c->type.dims[1])
      return false;
  return true;
}

dlc_status dlc_pass_fold_bn(dlc_graph *g, dlc_diag *d) {
  (void)d;
  int *uses = dlc_xcalloc((size_t)g->next_id + 1, sizeof *uses);
  dlc_graph_count_uses(g, uses);
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *bn = g->nodes[i];
    if (!foldable(bn, uses))
      continue;
    dlc_node *c = bn->in[0];
    const dlc_node *w = c->in[1], *cb = c->nin > 2 ? c->in[2] : NULL;
    int64_t M = c->type.dims[1], per = dlc_type_numel(&w->type) / M;
    float *nw = dlc_xmalloc(sizeof *nw * (size_t)(M * per));
    float *nb = dlc_xmalloc(sizeof *nb * (size_t)M);
    for (int64_t o = 0; o < M; o++) {
      double s = cval(bn->in[1], o) / sqrt((double)cval(bn->in[4], o) + bn->attr.eps);
      for (int64_t k = 0; k < per; k++)
        nw[o * per + k] = (float)(cval(w, o * per + k) * s);
      nb[o] = (float)(((cb ? cval(cb, o) : 0.0) - cval(bn->in[3], o)) * s + cval(bn->in[2], o));
    }
    dlc_type bt = {.dtype = DLC_F32, .rank = 1, .dims = {M}};
    dlc_node *wn = dlc_graph_add_const(g, &w->type, nw, w->loc);
    dlc_graph_move_last_before(g, c);
    dlc_node *bnode = dlc_graph_add_const(g, &bt, nb, bn->loc);
    dlc_graph_move_last_before(g, c);
    free(nw);
    free(nb);
    i += 2; /* bn moved two places on */
    dlc_node **in = dlc_arena_alloc(g->arena, sizeof *in * 3);
    in[0] = c->in[0];
    in[1] = wn;
    in[2] = bnode;
    c->in = in;
    c->nin = 3;
    dlc_graph_replace_uses(g, bn, c);
    bn->dead = true;
  }
  free(uses);
  dlc_graph_compact(g);
  return DLC_OK;
}
