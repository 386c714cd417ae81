/* The blocked channel layout (NCHWc). A convolution whose output channels
 * divide into blocks of 16 (one AVX-512 vector of f32) or 8 becomes
 * conv2d_nchwc: it reads and writes [N, C/b, H, W, b], so the channels of
 * a pixel are one vector and the kernel needs no im2col (lower_conv_nchwc.c).
 * Each converted convolution starts as
 *
 *     to_nchw(conv2d_nchwc(to_nchwc(x)))
 *
 * and the layout changes then cancel across the graph in the same sweep:
 * to_nchwc(to_nchw(z)) is z, and an elementwise operator reading a
 * to_nchw(...) of its own shape runs on the blocks instead, with one
 * to_nchw after it (its other operands converted, unless scalars); so does
 * a pooling. A chain of convolutions, bias,
 * activations and residual adds is then blocked from end to end; only the
 * edges (a pooling, a reshape, an output) convert back. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "ir/util.h"

/* The block for C channels: 16, else 8, else 0 (none). */
static int64_t block_for(int64_t C) { return C % 16 == 0 ? 16 : C % 8 == 0 ? 8 : 0; }

/* A conv2d the blocked kernel takes: f32 with constant weights, one group
 * (any input channels: a count that does not block is read as NCHW) or
 * depthwise, and blockable output channels. */
static bool convertible(const dlc_node *n) {
  if (n->op != DLC_OP_CONV2D || n->type.dtype != DLC_F32 ||
      !(dlc_ops[n->in[1]->op].flags & DLC_OPF_CONST))
    return false;
  int64_t C = n->in[0]->type.dims[1], M = n->type.dims[1];
  if (!block_for(M))
    return false;
  return n->attr.groups == 1 || (n->attr.groups == C && C == M);
}

static bool elementwise(const dlc_node *n) { return dlc_op_is_elementwise(n->op); }

typedef struct sweep {
  dlc_graph *g;
  dlc_diag *d;
  dlc_node **order; /* the new node list */
  int n, cap;
  dlc_node **blocked; /* by node id: its to_nchwc made here, or NULL */
  int nblocked;
} sweep;

static dlc_node *emit(sweep *s, dlc_op op, dlc_loc loc, int nin, dlc_node **in,
                      const dlc_attrs *a) {
  dlc_node *x = dlc_graph_build(s->g, op, loc, nin, in, a, s->d);
  DLC_ASSERT(x);
  DLC_PUSH(s->order, s->n, s->cap, x);
  return x;
}

static dlc_node *to_blocked(sweep *s, dlc_node *x, int64_t b, dlc_loc loc) {
  if (x->op == DLC_OP_TO_NCHW && x->in[0]->type.dims[4] == b)
    return x->in[0];
  /* one conversion serves every convolution reading x */
  if (x->id < s->nblocked && s->blocked[x->id] && s->blocked[x->id]->attr.block == b)
    return s->blocked[x->id];
  dlc_attrs a = {.block = b};
  dlc_node *y = emit(s, DLC_OP_TO_NCHWC, loc, 1, &x, &a);
  if (x->id >= s->nblocked) {
    int n = x->id + 1 > 2 * s->nblocked ? x->id + 1 : 2 * s->nblocked;
    s->blocked = dlc_xrealloc(s->blocked, sizeof *s->blocked * (size_t)n);
    memset(s->blocked + s->nblocked, 0, sizeof *s->blocked * (size_t)(n - s->nblocked));
    s->nblocked = n;
  }
  s->blocked[x->id] = y;
  return y;
}

static dlc_node *to_plain(sweep *s, dlc_node *x, dlc_loc loc) {
  dlc_attrs a = {0};
  return emit(s, DLC_OP_TO_NCHW, loc, 1, &x, &a);
}

static dlc_node *block_conv(sweep *s, dlc_node *n) {
  dlc_node *x = n->in[0];
  int64_t ib = block_for(x->type.dims[1]);
  dlc_node *in[3] = {ib ? to_blocked(s, x, ib, n->loc) : x, n->in[1],
                     n->nin > 2 ? n->in[2] : NULL};
  dlc_attrs a = n->attr;
  a.block = block_for(n->type.dims[1]);
  return to_plain(s, emit(s, DLC_OP_CONV2D_NCHWC, n->loc, n->nin, in, &a), n->loc);
}

static bool full(const dlc_node *o, const dlc_node *n) {
  return o->type.rank == 4 && memcmp(o->type.dims, n->type.dims, sizeof(int64_t) * 4) == 0;
}

/* Elementwise n runs on blocks when an operand is to_nchw of n's own shape
 * and every other operand is one too (with the same block), a single
 * element, or a plain value of n's shape, which is converted (a
 * convolution reading it may have converted it already). Returns n's new
 * value. */
static dlc_node *block_elementwise(sweep *s, dlc_node *n) {
  if (!elementwise(n) || n->type.rank != 4)
    return NULL;
  int64_t b = 0;
  for (int i = 0; i < n->nin; i++) {
    const dlc_node *o = n->in[i];
    if (o->op == DLC_OP_TO_NCHW && full(o, n)) {
      if (b && b != o->in[0]->type.dims[4])
        return NULL;
      b = o->in[0]->type.dims[4];
    } else if (dlc_type_numel(&o->type) != 1 && !full(o, n)) {
      return NULL;
    }
  }
  if (!b)
    return NULL;
  dlc_node *in[3];
  for (int i = 0; i < n->nin; i++) {
    dlc_node *o = n->in[i];
    in[i] = o->op == DLC_OP_TO_NCHW && full(o, n) ? o->in[0]
            : dlc_type_numel(&o->type) == 1      ? o
                                                 : to_blocked(s, o, b, n->loc);
  }
  return to_plain(s, emit(s, n->op, n->loc, n->nin, in, &n->attr), n->loc);
}

/* A pooling of to_nchw(z) pools z's blocks. */
static dlc_node *block_pool(sweep *s, dlc_node *n) {
  if (dlc_ops[n->op].kind != DLC_KIND_POOL || n->in[0]->op != DLC_OP_TO_NCHW)
    return NULL;
  return to_plain(s, emit(s, n->op, n->loc, 1, &n->in[0]->in[0], &n->attr), n->loc);
}

dlc_status dlc_pass_layout(dlc_graph *g, dlc_diag *d) {
  sweep s = {.g = g, .d = d};
  int n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    dlc_node *n = g->nodes[i], *r = NULL;
    if (n->dead)
      continue;
    if (convertible(n))
      r = block_conv(&s, n);
    else if (n->op == DLC_OP_TO_NCHWC && n->in[0]->op == DLC_OP_TO_NCHW &&
             n->in[0]->in[0]->type.dims[4] == n->attr.block)
      r = n->in[0]->in[0];
    else if (n->op == DLC_OP_TO_NCHW && n->in[0]->op == DLC_OP_TO_NCHWC)
      r = n->in[0]->in[0];
    else if (!(r = block_elementwise(&s, n)))
      r = block_pool(&s, n);
    if (r) {
      dlc_graph_replace_uses(g, n, r);
      n->dead = true;
    } else {
      DLC_PUSH(s.order, s.n, s.cap, n);
    }
  }
  /* every node is either in the new order or dead; the list has room for
   * all of them */
  DLC_ASSERT(s.n <= g->nnodes);
  memcpy(g->nodes, s.order, sizeof *s.order * (size_t)s.n);
  g->nnodes = s.n;
  free(s.order);
  free(s.blocked);
  return DLC_OK;
}
