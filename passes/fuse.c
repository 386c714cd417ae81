/* Fusion: elementwise operators join the kernel of the value they read. A
 * chain starts at a matrix product, a convolution, or an elementwise
 * operator, and grows by the next operator in graph order that reads one
 * of its values, while that operator is elementwise over the same shape and
 * its other operands already exist when the chain starts (so bias,
 * activation and a residual add become the epilogue of a convolution's
 * tiles). A value may have several readers in the chain (h * sigmoid(h),
 * GELU written out); at the end, every value but the last must be read only
 * inside the chain, else members are dropped from the end. Fused nodes keep
 * their place in the graph and point at the chain's first node
 * (fused_into); lowering emits one kernel per chain, which stores only the
 * last value. An elementwise chain whose last value only a reduction,
 * softmax or layer_norm reads points at that consumer instead, which
 * computes it as it loads. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "ir/util.h"
#include "lower_internal.h"

static bool elementwise(const dlc_node *n) { return dlc_op_is_elementwise(n->op); }

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

/* Whether node next can join the chain of root, whose members so far are
 * marked (fused_into == root, or root itself): elementwise over root's
 * shape, and every operand a member or a value that exists before the
 * chain's kernel runs (inputs and constants always do). */
static bool can_follow(const dlc_node *root, const dlc_node *next, const int *pos) {
  if (!elementwise(next) || !dlc_type_equal(&next->type, &root->type) || next->fused_into)
    return false;
  /* products and convolutions accumulate in the chain's buffer */
  if ((is_gemm(root) || dlc_ops[root->op].kind == DLC_KIND_CONV) &&
      next->type.dtype != root->type.dtype)
    return false;
  for (int i = 0; i < next->nin; i++) {
    const dlc_node *o = next->in[i];
    if (o == root || o->fused_into == root)
      continue;
    if (pos[o->id] > pos[root->id] && dlc_ops[o->op].kind != DLC_KIND_SOURCE)
      return false;
    if (is_gemm(root) && root->op == DLC_OP_CONV2D && !conv_operand_ok(&o->type, &root->type))
      return false;
    if (!dlc_lower_matmul_operand_ok(root, &o->type))
      return false;
  }
  return true;
}

/* The size of a member's value as an expression tree: a member read twice
 * is computed twice, so a chain that squares its value over and over
 * would grow exponentially; chains stop at this many operations. */
#define MAX_CHAIN_EXPR 256

typedef struct chain {
  dlc_node **m; /* root, then members in graph order */
  int n, cap;
  int *size;    /* by node id: expression size of a member */
} chain;

static bool member(const chain *c, const dlc_node *x) {
  for (int i = 0; i < c->n; i++)
    if (c->m[i] == x)
      return true;
  return false;
}

/* Every member but the last is read only by members (its value is never
 * stored): the count of its uses inside the chain is all of them. */
static bool closed(const chain *c, const int *uses) {
  for (int i = 0; i < c->n - 1; i++) {
    int inside = 0;
    for (int j = i + 1; j < c->n; j++)
      for (int k = 0; k < c->m[j]->nin; k++)
        inside += c->m[j]->in[k] == c->m[i];
    if (inside != uses[c->m[i]->id])
      return false;
  }
  return true;
}

/* Consumers an elementwise chain can be computed in: reductions (which
 * index their operand by coordinates), softmax and layer_norm (by flat
 * index). */
static bool consumer(const dlc_node *r) {
  return dlc_ops[r->op].kind == DLC_KIND_REDUCE || dlc_ops[r->op].kind == DLC_KIND_SOFTMAX ||
         r->op == DLC_OP_LAYER_NORM;
}

/* Whether every operand from outside the chain of root (members up to
 * position end) has the chain's shape or one element, so that a flat index
 * reads it. */
static bool flat_operands(const dlc_graph *g, const dlc_node *root, int end) {
  for (int j = 0; j <= end; j++) {
    const dlc_node *x = g->nodes[j];
    if (x != root && x->fused_into != root)
      continue;
    for (int k = 0; k < x->nin; k++) {
      const dlc_node *o = x->in[k];
      if (o != root && o->fused_into != root && dlc_type_numel(&o->type) != 1 &&
          !dlc_type_equal(&o->type, &root->type))
        return false;
    }
  }
  return true;
}

dlc_status dlc_pass_fuse(dlc_graph *g, dlc_diag *d) {
  (void)d;
  size_t n = (size_t)g->next_id + 1;
  int *uses = dlc_xcalloc(n, sizeof *uses), *pos = dlc_xcalloc(n, sizeof *pos);
  chain c = {.size = dlc_xcalloc(n, sizeof(int))};
  dlc_graph_count_uses(g, uses);
  for (int i = 0; i < g->nnodes; i++) {
    g->nodes[i]->fused_into = NULL;
    pos[g->nodes[i]->id] = i;
  }
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *root = g->nodes[i];
    if (root->fused_into || !can_root(root))
      continue;
    c.n = 0;
    DLC_PUSH(c.m, c.n, c.cap, root);
    c.size[root->id] = 1;
    /* grow: the first later node in graph order that reads a member and
     * can follow, until none can */
    for (int j = i + 1; j < g->nnodes; j++) {
      dlc_node *x = g->nodes[j];
      bool reads = false;
      int size = 1;
      for (int k = 0; k < x->nin; k++)
        if (member(&c, x->in[k])) {
          reads = true;
          size += c.size[x->in[k]->id];
        } else {
          size++;
        }
      if (!reads)
        continue;
      if (!can_follow(root, x, pos) || size > MAX_CHAIN_EXPR)
        break;
      x->fused_into = root;
      c.size[x->id] = size;
      DLC_PUSH(c.m, c.n, c.cap, x);
    }
    /* then drop members from the end until no value but the last is
     * needed outside */
    while (c.n > 1 && !closed(&c, uses))
      c.m[--c.n]->fused_into = NULL;
  }
  /* Consumers: a chain of elementwise operators whose last value only a
   * reduction, softmax or layer_norm reads is computed inside its loads
   * (mean((x - m)^2), softmax(x / t), layer_norm(x + pos)), never stored:
   * its nodes point at the consumer. */
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *r = g->nodes[i], *p = r->nin ? r->in[0] : NULL;
    if (!consumer(r) || !p || !elementwise(p) || uses[p->id] != 1)
      continue;
    dlc_node *root = p->fused_into ? p->fused_into : p;
    bool last = elementwise(root);
    for (int j = pos[p->id] + 1; last && j < i; j++)
      last = g->nodes[j]->fused_into != root; /* p ends its chain */
    if (!last || (dlc_ops[r->op].kind != DLC_KIND_REDUCE && !flat_operands(g, root, pos[p->id])))
      continue;
    for (int j = pos[root->id] + 1; j < i; j++)
      if (g->nodes[j]->fused_into == root)
        g->nodes[j]->fused_into = r;
    root->fused_into = r;
  }
  free(c.m);
  free(c.size);
  free(uses);
  free(pos);
  return DLC_OK;
}
