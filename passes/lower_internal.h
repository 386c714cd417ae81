/* Shared by the lowering files (lower_loops.c: the module, elementwise,
 * matmul, softmax, data movement; lower_nn.c: reductions, normalizations,
 * convolution, pooling). Not used outside passes/. */
#ifndef DLC_LOWER_INTERNAL_H
#define DLC_LOWER_INTERNAL_H

#include "ir/loop.h"
#include "ir/util.h"

typedef struct lower {
  const dlc_graph *g;
  dlc_lmodule *m;
  dlc_lbuf **buf; /* by node id */
  dlc_diag *d;
  dlc_lbuf *scratch; /* conv2d with padding: room for the padded input */
} lower;

/* Expression shorthands; each needs a dlc_lmodule *m in scope. */
#define VAR(x) dlc_lx_var(m, x)
#define INT(x) dlc_lx_int(m, x)
#define ADD(x, y) dlc_lx_binary(m, DLC_LX_ADD, x, y)
#define SUB(x, y) dlc_lx_binary(m, DLC_LX_SUB, x, y)
#define MUL(x, y) dlc_lx_binary(m, DLC_LX_MUL, x, y)
#define DIV(x, y) dlc_lx_binary(m, DLC_LX_DIV, x, y)
#define LOAD(b, i) dlc_lx_load(m, b, i)
#define LT(x, y) dlc_lx_cmp(m, DLC_LX_LT, x, y)
#define AND(x, y) dlc_lx_binary(m, DLC_LX_AND, x, y)
#define CONST(t, v) dlc_lx_const(m, t, v)

/* Flat index into a tensor of type t broadcast to an output of the given
 * rank whose loop variables are vars (numpy rules, right-aligned). */
dlc_lexpr *dlc_lower_bcast_index(lower *L, const dlc_type *t, int rank,
                                 dlc_lvar **vars);
/* Wraps body in loops over dims with vars: outermost parallel, innermost
 * vectorized. */
dlc_lstmt *dlc_lower_nest(lower *L, const int64_t *dims, int rank,
                          dlc_lvar **vars, dlc_lstmt *body);
void dlc_lower_new_vars(lower *L, dlc_lvar **vars, int n);
/* Product of dims[from..to). */
int64_t dlc_lower_prod(const int64_t *dims, int from, int to);
/* 0 <= i && i < n, for an i64 index */
dlc_lexpr *dlc_lower_in_range(dlc_lmodule *m, dlc_lexpr *i, int64_t n);
/* i clamped to [0, n-1], so a guarded load never leaves its buffer */
dlc_lexpr *dlc_lower_clamp(dlc_lmodule *m, dlc_lexpr *i, int64_t n);

void dlc_lower_reduce(lower *L, const dlc_node *n, dlc_kernel *k);
void dlc_lower_norm(lower *L, const dlc_node *n, dlc_kernel *k);
void dlc_lower_conv(lower *L, const dlc_node *n, dlc_kernel *k);
/* The padded input a conv2d with padding needs ({0} when none). */
dlc_type dlc_lower_conv_scratch(const dlc_node *n);
void dlc_lower_pool(lower *L, const dlc_node *n, dlc_kernel *k);

#endif
