/* Fusion: an elementwise operator that is the only reader of the value
 * before it joins that value's kernel. A chain starts at a matrix product,
 * a convolution done as one, or an elementwise operator, and grows while the
 * next operator is elementwise over the same shape and its other operands
 * already exist when the chain starts (so bias, activation and a residual
 * add become the epilogue of a convolution's tiles). Fused nodes keep their
 * place in the graph and point at the chain's first node (fused_into);
 * lowering emits one kernel per chain, which stores only the last value. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "ir/util.h"
#include "lower_internal.h"

static bool elementwise(const dlc_node *n) {
  switch (dlc_ops[n->op].kind) {
  case DLC_KIND_UNARY:
  case DLC_KIND_BINARY:
  case DLC_KIND_WHERE:
  case DLC_KIND_CAST: return true;
  default: return false;
  }
}

static bool is_gemm(const dlc_node *n) {
  return n->op == DLC_OP_MATMUL || dlc_lower_conv_is_gemm(n);
}

/* Roots: matrix products and convolutions (their tiles or finished rows
 * take the chain), and elementwise operators. */
static bool can_root(const dlc_node *n) {
  return is_gemm(n) || dlc_ops[n->op].kind == DLC_KIND_CONV || elementwise(n);
}

/* Whether operand t of a node fused into a convolution can be read from a
 * tile: constant over the spatial dims, or covering them whole. */
static bool conv_operand_ok(const dlc_type *t, const dlc_type *out) {
  int off = out->rank - t->rank;
  int64_t h = off <= 2 ? t->dims[2 - off] : 1, w = off <= 3 ? t->dims[3 - off] : 1;
  return (h == 1 && w == 1) || (h == out->dims[2] && w == out->dims[3]);
}

static bool can_follow(const dlc_node *root, const dlc_node *cur, const dlc_node *next,
                       const int *pos) {
  if (!elementwise(next) || !dlc_type_equal(&next->type, &root->type) ||
      next->fused_into)
    return false;
  /* products and convolutions accumulate in the chain's buffer */
  if ((is_gemm(root) || dlc_ops[root->op].kind == DLC_KIND_CONV) &&
      next->type.dtype != root->type.dtype)
    return false;
  for (int i = 0; i < next->nin; i++) {
    const dlc_node *o = next->in[i];
    if (o == cur)
      continue;
    /* other operands must exist before the chain's kernel runs (inputs
     * and constants always do) */
    if (pos[o->id] > pos[root->id] && dlc_ops[o->op].kind != DLC_KIND_SOURCE)
      return false;
    if (is_gemm(root) && root->op == DLC_OP_CONV2D && !conv_operand_ok(&o->type, &root->type))
      return false;
    if (!dlc_lower_matmul_operand_ok(root, &o->type))
      return false;
  }
  return true;
}

dlc_status dlc_pass_fuse(dlc_graph *g, dlc_diag *d) {
  (void)d;
  size_t n = (size_t)g->next_id + 1;
  int *uses = dlc_xcalloc(n, sizeof *uses), *pos = dlc_xcalloc(n, sizeof *pos);
  dlc_node **reader = dlc_xcalloc(n, sizeof *reader); /* the only reading node */
  dlc_graph_count_uses(g, uses);
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *x = g->nodes[i];
    x->fused_into = NULL;
    pos[x->id] = i;
    for (int j = 0; j < x->nin; j++)
      reader[x->in[j]->id] = x;
  }
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *root = g->nodes[i];
    if (root->fused_into || !can_root(root))
      continue;
    dlc_node *cur = root;
    for (;;) {
      dlc_node *next = reader[cur->id];
      /* one reader, though it may read cur more than once; no output */
      int times = 0;
      for (int j = 0; next && j < next->nin; j++)
        times += next->in[j] == cur;
      if (!next || uses[cur->id] != times || !can_follow(root, cur, next, pos))
        break;
      next->fused_into = root;
      cur = next;
    }
  }
  free(uses);
  free(pos);
  free(reader);
  return DLC_OK;
}
