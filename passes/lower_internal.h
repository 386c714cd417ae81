/* Shared by the lowering files (lower_loops.c: the module, elementwise,
 * matmul, softmax, data movement, the plain nest of a matrix product;
 * lower_nn.c: reductions, normalizations, convolution, pooling;
 * lower_conv_nchwc.c: convolution on channel blocks, layout changes), and
 * by the tile pass for its expression shorthands. Not used outside
 * passes/. */
#ifndef DLC_LOWER_INTERNAL_H
#define DLC_LOWER_INTERNAL_H

#include "ir/loop.h"
#include "ir/util.h"

typedef struct lower {
  const dlc_graph *g;
  dlc_lmodule *m;
  dlc_lbuf **buf; /* by node id */
  dlc_diag *d;
  dlc_lbuf *scratch;  /* conv2d with padding: room for the padded input */
  dlc_lbuf *scratch2; /* conv2d as a matrix product: the im2col matrix */
  const dlc_node **chain; /* the elementwise nodes fused into the current one */
  int nchain;
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
dlc_lexpr *dlc_lower_bcast_at(lower *L, const dlc_type *t, int rank, dlc_lexpr **coords);
/* The value of operand o of n at coordinates coords of n's input shape
 * (rank entries): a load, broadcast, or, for an elementwise chain inlined
 * into n (fuse.c), its value computed from its own operands. */
dlc_lexpr *dlc_lower_operand_at(lower *L, const dlc_node *n, const dlc_node *o, int rank,
                                dlc_lexpr **coords);
/* The same at flat index i, when every operand the inlined chain reads is
 * of n's input shape or a single element (fuse.c checks). */
dlc_lexpr *dlc_lower_operand_flat(lower *L, const dlc_node *n, const dlc_node *o, dlc_lexpr *i);
/* The value of elementwise node n from its operands' values v[]. */
dlc_lexpr *dlc_lower_scalar_op(lower *L, const dlc_node *n, dlc_lexpr **v);
/* v, the current node's value at one element, through L's fused chain; the
 * chain's other operands are read at index(ctx, their type). */
dlc_lexpr *dlc_lower_chain(lower *L, dlc_lexpr *v,
                           dlc_lexpr *(*index)(void *ctx, const dlc_type *t), void *ctx);
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
/* min(i, last), for an index known not to be negative (a prefetch's). */
dlc_lexpr *dlc_lower_at_most(dlc_lmodule *m, dlc_lexpr *i, int64_t last);

/* ---- matrix products (tiled by the tile pass: loop_tile.c, tile_gemm.c) ---- */

/* The register tile: MR rows by NR columns of C (8 x 3 AVX-512 vectors:
 * 24 accumulators, 3 loads of B and 8 broadcasts of A per step of k).
 * Channel counts are mostly multiples of 8, so row tiles rarely have a
 * remainder. */
#define DLC_GEMM_MR 8
#define DLC_GEMM_NR 48

/* The plain nest of a matrix product, marked for the tile pass (see
 * dlc_lgemm): g's sizes, buffers and offsets are set by the caller; this
 * makes its variables and its value, epilogue(ctx, acc, i, j) or acc when
 * epilogue is NULL. The row loop is parallel when `parallel`. */
dlc_lstmt *dlc_lower_product(lower *L, dlc_kernel *k, dlc_lgemm *g,
                             dlc_lexpr *(*epilogue)(void *ctx, dlc_lexpr *acc, dlc_lexpr *i,
                                                    dlc_lexpr *j),
                             void *ctx, bool parallel);

void dlc_lower_reduce(lower *L, const dlc_node *n, dlc_kernel *k);
void dlc_lower_norm(lower *L, const dlc_node *n, dlc_kernel *k);
void dlc_lower_conv(lower *L, const dlc_node *n, dlc_kernel *k);
/* The padded input a conv2d with padding needs ({0} when none). */
dlc_type dlc_lower_conv_scratch(const dlc_node *n);
/* Whether an operand of type t of a chain fused into matmul n can be read
 * in its tiles (always, unless n's batches fold into rows: then t must be
 * a scalar, a row of N, or n's whole shape). */
bool dlc_lower_matmul_operand_ok(const dlc_node *n, const dlc_type *t);
/* conv2d lowered as a matrix product (one group, constant f32 weights),
 * and the im2col matrix it needs ({0} when it reads the input itself). */
bool dlc_lower_conv_is_gemm(const dlc_node *n);
dlc_type dlc_lower_conv_col(const dlc_node *n);
void dlc_lower_pool(lower *L, const dlc_node *n, dlc_kernel *k);

/* ---- channel blocks (lower_conv_nchwc.c) ---- */

/* conv2d_nchwc n reading X (its input, or the padded copy the prologue
 * makes); k's body becomes the prologue, then the tiles. */
void dlc_lower_conv_nchwc(lower *L, const dlc_node *n, dlc_kernel *k, dlc_lstmt *prologue,
                          dlc_lbuf *X);
/* to_nchwc and to_nchw */
void dlc_lower_layout(lower *L, const dlc_node *n, dlc_kernel *k);

#endif
