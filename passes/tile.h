/* The tile pass's register tiles for a matrix product (tile_gemm.c) and a
 * convolution on channel blocks (tile_conv.c), and the choices loop_tile.c
 * makes with them. Not used outside passes/. */
#ifndef DLC_TILE_H
#define DLC_TILE_H

#include "lower_internal.h"

/* C[c_off + i*ldc + j] = epilogue(sum over k of A(i, k) B(k, j)), where A is
 * A[a_off + i*lda + k] or, when a_packed, panels from dlc_gemm_pack_a (the
 * same for every batch), and likewise B[b_off + k*ldb + j] or packed. */
typedef struct dlc_gemm {
  dlc_lmodule *m;
  int64_t M, N, K, lda, ldb, ldc;
  dlc_lbuf *A, *B, *C;
  dlc_lexpr *a_off, *b_off, *c_off;
  bool a_packed, b_packed;
  /* when set (and B is not packed): B is first copied into this buffer of
   * dlc_gemm_packed_b_numel elements (or a K block at a time, of
   * dlc_gemm_kpanel_numel), in the panels the tiles read */
  dlc_lbuf *pack_into;
  dlc_lbuf *pack_a_into; /* likewise for A: dlc_gemm_packed_a_numel */
  /* the value stored at C(i, j) given the finished sum */
  dlc_lexpr *(*epilogue)(void *ctx, dlc_lexpr *acc, dlc_lexpr *i, dlc_lexpr *j);
  void *ctx;
  dlc_lbuf *acc; /* set by dlc_tile_gemm: the tile */
  dlc_lbuf *bl;  /* set by dlc_tile_gemm: a thread's panel of B, or NULL */
  dlc_lbuf *kp;  /* set by dlc_tile_gemm: B's K block in panels, or NULL */
  int64_t kc;    /* the K block (the stride between kp's panels) */
  dlc_loop_kind par; /* set by dlc_tile_gemm: the kind of the shared tile loop */
} dlc_gemm;

/* The tile loops for G, using k's local tile; when `parallel`, the loop
 * over column tiles (or row tiles, or blocks of both) is parallel, and so
 * is the row loop of a narrow last column tile outside it. */
dlc_lstmt *dlc_tile_gemm(dlc_gemm *G, dlc_kernel *k, bool parallel);
/* A new constant of numel zeros of src's dtype, named "<src>.<suffix>",
 * for a packed copy of src (its data is the module's, to fill in). */
dlc_lbuf *dlc_tile_const(dlc_lmodule *m, const dlc_lbuf *src, int64_t numel, const char *suffix);
/* Constant operands repacked at compile time into the tiles' order. */
dlc_lbuf *dlc_gemm_pack_a(dlc_lmodule *m, const dlc_lbuf *A, int64_t M, int64_t K);
dlc_lbuf *dlc_gemm_pack_b(dlc_lmodule *m, const dlc_lbuf *B, int64_t K, int64_t N);
int64_t dlc_gemm_packed_b_numel(int64_t K, int64_t N);
/* One K block of B in panels (the column-first order packs B a block at a
 * time into pack_into when it is this size). */
int64_t dlc_gemm_kpanel_numel(int64_t K, int64_t N);
/* Whether A (M x K of elem_size bytes) is small enough for the order with
 * column tiles outermost, then K blocks (a B from memory is copied by each
 * column tile into its own panel, unless packed whole: below). */
bool dlc_gemm_small_a(int64_t M, int64_t K, int64_t elem_size);
/* Whether the small-A order cuts each column tile into blocks of rows
 * (too few column tiles to share among threads). B from memory is then
 * packed whole first, unless it is chunked (dlc_lgemm.b_chunked): then
 * each block still copies its own panel. */
bool dlc_gemm_split_rows(int64_t M, int64_t N);
/* Whether the tile loops put column tiles outermost (then a B read from
 * memory is copied block by block into a thread's panel, not packed whole). */
bool dlc_gemm_cols_first(int64_t M, int64_t N);
int64_t dlc_gemm_packed_a_numel(int64_t M, int64_t K);

/* The tiles of convolution r (its weights packed for them at compile
 * time), using k's local tile: they replace r's plain nest. */
dlc_lstmt *dlc_tile_conv(dlc_lmodule *m, dlc_kernel *k, const dlc_lconv *r);

#endif
