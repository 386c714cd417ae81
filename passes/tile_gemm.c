/* Matrix products as register-blocked tile loops, shared by matmul and
 * convolution. C[M,N] = A[M,K] B[K,N] is cut into MR x NR tiles of C held
 * in a local array (which LLVM keeps in vector registers: the micro-kernel
 * is this loop nest, unrolled over rows and vectorized over columns), and K
 * into blocks of KC so that the B panel a tile reads stays in L1 while the
 * row tiles go past it. Tile counts and remainders are static: edge tiles
 * are the same nest with smaller constant extents. Constant operands are
 * repacked at compile time into the order the tiles read them. */
#include <stdlib.h>
#include <string.h>

#include "tile.h"

#define MR DLC_GEMM_MR
#define NR DLC_GEMM_NR
#define KC_MAX 256
#define BOOL(v) dlc_lx_const(m, DLC_BOOL, v)

static dlc_lexpr *sel(dlc_lmodule *m, dlc_lexpr *c, dlc_lexpr *a, dlc_lexpr *b) {
  if (c->kind == DLC_LX_ICONST)
    return c->i ? a : b;
  return dlc_lx_select(m, c, a, b);
}

/* ---- packing constant operands ---- */

dlc_lbuf *dlc_tile_const(dlc_lmodule *m, const dlc_lbuf *src, int64_t numel, const char *suffix) {
  dlc_type t = {.dtype = src->type.dtype, .rank = 1, .dims = {numel}};
  char *p = dlc_arena_alloc(m->arena, dlc_type_bytes(&t));
  memset(p, 0, dlc_type_bytes(&t));
  dlc_lbuf *b = dlc_lmodule_add_buf(m, DLC_BUF_CONST,
                                    dlc_arena_printf(m->arena, "%s.%s", src->name, suffix), &t);
  b->data = p;
  return b;
}

/* B[K,N] as panels of NR columns: Bp[(jt*K + k)*NR + c] = B[k, jt*NR + c],
 * zero past N. */
dlc_lbuf *dlc_gemm_pack_b(dlc_lmodule *m, const dlc_lbuf *B, int64_t K, int64_t N) {
  int64_t nt = (N + NR - 1) / NR;
  dlc_lbuf *b = dlc_tile_const(m, B, nt * K * NR, "packed");
  size_t es = dlc_dtype_size(b->type.dtype);
  char *p = (char *)b->data;
  const char *src = B->data; /* a constant without data holds zeros */
  for (int64_t jt = 0; src && jt < nt; jt++)
    for (int64_t k = 0; k < K; k++) {
      int64_t w = N - jt * NR < NR ? N - jt * NR : NR;
      memcpy(p + ((jt * K + k) * NR) * es, src + (k * N + jt * NR) * es, (size_t)w * es);
    }
  return b;
}

/* A[M,K] as panels of MR rows: Ap[(it*K + k)*MR + r] = A[it*MR + r, k]. */
dlc_lbuf *dlc_gemm_pack_a(dlc_lmodule *m, const dlc_lbuf *A, int64_t M, int64_t K) {
  int64_t mt = (M + MR - 1) / MR;
  dlc_lbuf *b = dlc_tile_const(m, A, mt * K * MR, "packed");
  size_t es = dlc_dtype_size(b->type.dtype);
  char *p = (char *)b->data;
  const char *src = A->data;
  for (int64_t i = 0; src && i < M; i++)
    for (int64_t k = 0; k < K; k++)
      memcpy(p + (((i / MR) * K + k) * MR + i % MR) * es, src + (i * K + k) * es, es);
  return b;
}

/* ---- the tile nest ---- */

typedef struct tile {
  dlc_lexpr *it, *jt; /* tile indices: rows it*MR.., columns jt*NR.. */
  int64_t mr, nr;     /* this tile's extent (MR, NR or a remainder) */
  dlc_lexpr *k0;      /* first k of the block */
  int64_t ks;         /* block length */
  dlc_lexpr *first, *last; /* bools: the first / last block of K */
  dlc_lvar *k;        /* the index within the block */
  bool b_local;       /* B is read from the block's panel in G->bl */
  bool b_kpanel;      /* B is read from the K block's panels in G->kp */
  /* column-first order: the block of row tiles being passed over: full
   * tiles it0 .. it0+nit-1, then the remainder tile if `rem_rows` */
  dlc_lexpr *it0;
  int64_t nit;
  bool rem_rows;
  bool k_inside; /* K blocks inside a column tile (the small-A order) */
  bool in_par;   /* inside a parallel loop: loops nested in it are serial */
  bool no_pf_b;  /* the row tiles before this one asked for B's next block */
} tile;

static dlc_lexpr *a_at(dlc_gemm *G, tile *t, dlc_lexpr *r, dlc_lexpr *k) {
  dlc_lmodule *m = G->m;
  if (G->a_packed)
    return LOAD(G->A, ADD(MUL(ADD(MUL(t->it, INT(G->K)), k), INT(MR)), r));
  return LOAD(G->A, ADD(G->a_off, ADD(MUL(ADD(MUL(t->it, INT(MR)), r), INT(G->lda)), k)));
}

static dlc_lexpr *b_at(dlc_gemm *G, tile *t, dlc_lexpr *k, dlc_lexpr *c) {
  dlc_lmodule *m = G->m;
  if (t->b_local)
    return LOAD(G->bl, ADD(MUL(VAR(t->k), INT(NR)), c));
  if (t->b_kpanel)
    return LOAD(G->kp, ADD(MUL(ADD(MUL(t->jt, INT(G->kc)), VAR(t->k)), INT(NR)), c));
  if (G->b_packed)
    return LOAD(G->B, ADD(MUL(ADD(MUL(t->jt, INT(G->K)), k), INT(NR)), c));
  return LOAD(G->B, ADD(G->b_off, ADD(MUL(k, INT(G->ldb)), ADD(MUL(t->jt, INT(NR)), c))));
}

static dlc_lexpr *c_index(dlc_gemm *G, dlc_lexpr *i, dlc_lexpr *j) {
  dlc_lmodule *m = G->m;
  return ADD(G->c_off, ADD(MUL(i, INT(G->ldc)), j));
}

static dlc_lvar *ivar(dlc_gemm *G) { return dlc_lvar_new(G->m, DLC_I64, "i"); }

/* for r (unrolled) for c in 0..width (vectorized): s(r, c) */
static dlc_lstmt *over_tile_w(dlc_gemm *G, tile *t, int64_t width,
                              dlc_lstmt *(*s)(dlc_gemm *, tile *, dlc_lvar *, dlc_lvar *)) {
  dlc_lvar *r = ivar(G), *c = ivar(G);
  dlc_lmodule *m = G->m;
  dlc_lstmt *in = dlc_ls_loop(m, c, width, DLC_LOOP_VECTORIZED, s(G, t, r, c));
  dlc_lstmt *l = dlc_ls_loop(m, r, t->mr, DLC_LOOP_UNROLLED, in);
  l->unroll = (int)t->mr;
  return l;
}

static dlc_lstmt *over_tile(dlc_gemm *G, tile *t,
                            dlc_lstmt *(*s)(dlc_gemm *, tile *, dlc_lvar *, dlc_lvar *)) {
  return over_tile_w(G, t, t->nr, s);
}

static dlc_lexpr *acc_at(dlc_gemm *G, dlc_lvar *r, dlc_lvar *c) {
  dlc_lmodule *m = G->m;
  return ADD(MUL(VAR(r), INT(NR)), VAR(c));
}

static dlc_lexpr *row(dlc_gemm *G, tile *t, dlc_lvar *r) {
  dlc_lmodule *m = G->m;
  return ADD(MUL(t->it, INT(MR)), VAR(r));
}
static dlc_lexpr *col(dlc_gemm *G, tile *t, dlc_lvar *c) {
  dlc_lmodule *m = G->m;
  return ADD(MUL(t->jt, INT(NR)), VAR(c));
}

/* acc = 0 in the first block, else the partial sum left in C */
static dlc_lstmt *s_init(dlc_gemm *G, tile *t, dlc_lvar *r, dlc_lvar *c) {
  dlc_lmodule *m = G->m;
  dlc_lexpr *zero = CONST(G->C->type.dtype, 0);
  dlc_lexpr *v = t->first->kind == DLC_LX_ICONST && t->first->i
                     ? zero
                     : sel(m, t->first, zero, LOAD(G->C, c_index(G, row(G, t, r), col(G, t, c))));
  return dlc_ls_store(m, G->acc, acc_at(G, r, c), v);
}

static dlc_lstmt *s_fma(dlc_gemm *G, tile *t, dlc_lvar *r, dlc_lvar *c) {
  dlc_lmodule *m = G->m;
  dlc_lexpr *k = ADD(t->k0, VAR(t->k));
  return dlc_ls_store(m, G->acc, acc_at(G, r, c),
                      ADD(LOAD(G->acc, acc_at(G, r, c)),
                          MUL(a_at(G, t, VAR(r), k), b_at(G, t, k, VAR(c)))));
}

/* C = acc, through the epilogue after the last block */
static dlc_lstmt *s_store(dlc_gemm *G, tile *t, dlc_lvar *r, dlc_lvar *c) {
  dlc_lmodule *m = G->m;
  dlc_lexpr *i = row(G, t, r), *j = col(G, t, c);
  dlc_lexpr *acc = LOAD(G->acc, acc_at(G, r, c));
  dlc_lexpr *fin = G->epilogue ? G->epilogue(G->ctx, acc, i, j) : acc;
  return dlc_ls_store(m, G->C, c_index(G, i, j), sel(m, t->last, fin, acc));
}

static dlc_lstmt *s_zero(dlc_gemm *G, tile *t, dlc_lvar *r, dlc_lvar *c) {
  (void)t;
  return dlc_ls_store(G->m, G->acc, acc_at(G, r, c), dlc_lx_const(G->m, G->C->type.dtype, 0));
}

/* Lanes of a vector: a narrow last column tile is computed as wide as the
 * next multiple of this (its extra columns read the zero padding of a
 * panel and are never stored), so it stays vector code. */
#define TILE_LANES 16

static int64_t tile_wide(dlc_gemm *G, tile *t) {
  if (!t->b_local && !t->b_kpanel && !G->b_packed)
    return t->nr;
  int64_t wide = (t->nr + TILE_LANES - 1) / TILE_LANES * TILE_LANES;
  return wide > NR ? NR : wide;
}

/* ---- prefetching ----
 * A block of B or C that comes from memory makes the first tile to read it
 * wait. The tile loops know what they read next, so they ask for it early
 * (`prefetch`, a hint that never faults; indices are clamped inside the
 * buffer all the same). */

static int64_t per_line(const dlc_gemm *G) { return 64 / (int64_t)dlc_dtype_size(G->C->type.dtype); }

/* The cache lines of a row of t's columns. */
static int64_t tile_lines(const dlc_gemm *G, const tile *t) {
  return (t->nr + per_line(G) - 1) / per_line(G);
}

/* A packed B smaller than this stays in cache between calls. */
#define PREFETCH_MIN_BYTES ((int64_t)128 * 1024)

/* One prefetch per step of k, or NULL:
 * - B packed (constant, or packed whole) with column tiles first: the block
 *   read next (the next K block of the column tile in the small-A order,
 *   else the same K block of the next column tile). Packed panels are
 *   contiguous, so the steps of the row tiles in turn walk it, `step`
 *   values a step.
 * - B copied from memory into the tile's panel (small A): row k of the next
 *   K block, line it % lines of the tile's columns; the first `lines` row
 *   tiles cover the block, and cf_rows gives the others (no_pf_b) none. In
 *   the last K block, row k of the next column tile's first block (the
 *   thread's next tile, mostly), whose copy would otherwise start cold. */
static dlc_lstmt *prefetch_b(dlc_gemm *G, tile *t) {
  dlc_lmodule *m = G->m;
  if (!t->it0 || t->nit + t->rem_rows < 1 || t->no_pf_b)
    return NULL;
  int64_t pl = per_line(G);
  if (t->b_local && t->k_inside) {
    int64_t lines = tile_lines(G, t), last_tile = (G->N + NR - 1) / NR - 1;
    /* in the last K block, the next column tile's first block (the
     * thread's next tile, mostly), whose copy would otherwise start cold */
    dlc_lexpr *r = sel(m, t->last, VAR(t->k),
                       dlc_lower_at_most(m, ADD(ADD(t->k0, INT(t->ks)), VAR(t->k)), G->K - 1));
    dlc_lexpr *jt = sel(m, t->last, dlc_lower_at_most(m, ADD(t->jt, INT(1)), last_tile), t->jt);
    dlc_lexpr *c = ADD(MUL(jt, INT(NR)), MUL(dlc_lx_binary(m, DLC_LX_REM, t->it, INT(lines)), INT(pl)));
    dlc_lexpr *at = ADD(G->b_off, ADD(MUL(r, INT(G->ldb)), c));
    return dlc_ls_prefetch(m, G->B, dlc_lower_at_most(m, at, dlc_type_numel(&G->B->type) - 1));
  }
  if (!G->b_packed || (int64_t)dlc_type_bytes(&G->B->type) < PREFETCH_MIN_BYTES)
    return NULL;
  int64_t rows = t->nit + (t->rem_rows ? 1 : 0);
  int64_t step = (NR + rows - 1) / rows;
  if (step > pl)
    step = pl;
  dlc_lexpr *next = t->k_inside ? ADD(MUL(t->jt, INT(G->K)), ADD(t->k0, INT(t->ks)))
                                : ADD(MUL(ADD(t->jt, INT(1)), INT(G->K)), t->k0);
  dlc_lexpr *at = ADD(MUL(SUB(t->it, t->it0), INT(t->ks)), VAR(t->k));
  dlc_lexpr *idx = ADD(MUL(next, INT(NR)), MUL(at, INT(step)));
  return dlc_ls_prefetch(m, G->B, dlc_lower_at_most(m, idx, dlc_type_numel(&G->B->type) - 1));
}

/* With K blocks outside the column tiles, the tiles of C go to memory and
 * back between blocks: before its k loop, a tile asks for the next row
 * tile's part of C (every line of its rows), which it loads after. */
static dlc_lstmt *prefetch_c(dlc_gemm *G, tile *t) {
  dlc_lmodule *m = G->m;
  if (!t->it0 || t->k_inside)
    return NULL;
  int64_t pl = per_line(G);
  dlc_lvar *r = ivar(G), *l = ivar(G);
  dlc_lexpr *i = dlc_lower_at_most(m, ADD(MUL(ADD(t->it, INT(1)), INT(MR)), VAR(r)), G->M - 1);
  dlc_lexpr *j = ADD(MUL(t->jt, INT(NR)), MUL(VAR(l), INT(pl)));
  dlc_lstmt *s = dlc_ls_prefetch(m, G->C, dlc_lower_at_most(m, c_index(G, i, j), dlc_type_numel(&G->C->type) - 1));
  s = dlc_ls_loop(m, l, (t->nr + pl - 1) / pl, DLC_LOOP_UNROLLED, s);
  s->unroll = (int)s->extent;
  s = dlc_ls_loop(m, r, MR, DLC_LOOP_UNROLLED, s);
  s->unroll = MR;
  return s;
}

static dlc_lstmt *micro(dlc_gemm *G, tile *t) {
  dlc_lmodule *m = G->m;
  int64_t wide = tile_wide(G, t);
  dlc_lstmt *s = NULL;
  if (wide > t->nr)
    s = over_tile_w(G, t, wide, s_zero);
  dlc_ls_append(&s, over_tile(G, t, s_init));
  dlc_ls_append(&s, prefetch_c(G, t));
  t->k = ivar(G);
  dlc_lstmt *step = prefetch_b(G, t);
  dlc_ls_append(&step, over_tile_w(G, t, wide, s_fma));
  dlc_ls_append(&s, dlc_ls_loop(m, t->k, t->ks, DLC_LOOP_SERIAL, step));
  dlc_ls_append(&s, over_tile(G, t, s_store));
  return s;
}

/* Each level of the tile nest makes its loops and calls the next. */
typedef dlc_lstmt *(*inner_fn)(dlc_gemm *G, tile *t);

/* One tile dimension (rows or columns): a loop over the full tiles, then
 * the remainder tile; each sets t's index and extent, then inner. */
static dlc_lstmt *split(dlc_gemm *G, tile *t, bool rows, dlc_loop_kind kind, inner_fn inner) {
  dlc_lmodule *m = G->m;
  int64_t ext = rows ? G->M : G->N, T = rows ? MR : NR;
  int64_t full = ext / T, rem = ext % T;
  dlc_lstmt *s = NULL;
  tile save = *t;
  if (full) {
    /* a single tile needs no loop */
    dlc_lvar *v = full > 1 ? ivar(G) : NULL;
    dlc_lexpr *idx = v ? VAR(v) : INT(0);
    if (rows) {
      t->it = idx;
      t->mr = MR;
    } else {
      t->jt = idx;
      t->nr = NR;
    }
    t->in_par = t->in_par || (v && kind == DLC_LOOP_PARALLEL);
    dlc_lstmt *in = inner(G, t);
    dlc_ls_append(&s, v ? dlc_ls_loop(m, v, full, kind, in) : in);
  }
  *t = save;
  if (rem) {
    if (rows) {
      t->it = INT(full);
      t->mr = rem;
    } else {
      t->jt = INT(full);
      t->nr = rem;
    }
    dlc_ls_append(&s, inner(G, t));
  }
  *t = save;
  return s;
}

/* The K block: at most KC_MAX, and a divisor of K when one is near (576 =
 * 3 x 192), since a remainder block is one more copy of the tile loops. */
static int64_t k_block(int64_t K) {
  int64_t nb = (K + KC_MAX - 1) / KC_MAX;
  for (int64_t b = nb; b <= nb + 3; b++)
    if (K % b == 0 && K / b >= 64)
      return K / b;
  return KC_MAX;
}

/* K in blocks: whole blocks in a loop, then the remainder; t gets the
 * block's start, length and whether it is the first or the last. */
static dlc_lstmt *kblocks(dlc_gemm *G, tile *t, inner_fn inner) {
  dlc_lmodule *m = G->m;
  int64_t KC = k_block(G->K);
  int64_t full = G->K / KC, rem = G->K % KC;
  dlc_lstmt *s = NULL;
  tile save = *t;
  if (full == 1) {
    t->k0 = INT(0);
    t->ks = KC;
    t->first = BOOL(1);
    t->last = BOOL(rem == 0);
    dlc_ls_append(&s, inner(G, t));
  } else if (full && (rem || !G->epilogue)) {
    dlc_lvar *v = ivar(G);
    t->k0 = MUL(VAR(v), INT(KC));
    t->ks = KC;
    t->first = dlc_lx_cmp(m, DLC_LX_EQ, VAR(v), INT(0));
    t->last = rem ? BOOL(0) : dlc_lx_cmp(m, DLC_LX_EQ, VAR(v), INT(full - 1));
    dlc_ls_append(&s, dlc_ls_loop(m, v, full, DLC_LOOP_SERIAL, inner(G, t)));
  } else if (full) {
    /* with an epilogue (a fused chain: GELU, say), the last block is its
     * own copy of the loops, so that the epilogue is computed once rather
     * than at every block and then dropped */
    dlc_lvar *v = full > 2 ? ivar(G) : NULL;
    t->k0 = v ? MUL(VAR(v), INT(KC)) : INT(0);
    t->ks = KC;
    t->first = v ? dlc_lx_cmp(m, DLC_LX_EQ, VAR(v), INT(0)) : BOOL(1);
    t->last = BOOL(0);
    dlc_lstmt *in = inner(G, t);
    dlc_ls_append(&s, v ? dlc_ls_loop(m, v, full - 1, DLC_LOOP_SERIAL, in) : in);
    *t = save;
    t->k0 = INT((full - 1) * KC);
    t->ks = KC;
    t->first = BOOL(0);
    t->last = BOOL(1);
    dlc_ls_append(&s, inner(G, t));
  }
  *t = save;
  if (rem) {
    t->k0 = INT(full * KC);
    t->ks = rem;
    t->first = BOOL(full == 0);
    t->last = BOOL(1);
    dlc_ls_append(&s, inner(G, t));
  }
  *t = save;
  return s;
}

bool dlc_gemm_cols_first(int64_t M, int64_t N) { return N / NR >= 2 || M / MR < 2; }

/* Column tiles first: for K blocks, for column tiles (shared among
 * threads): copy the block of B into the thread's panel; for row tiles:
 * the micro-kernel. A block of A stays in L2 while the column tiles pass,
 * and each part of B is read once. */
/* Whether t's row tiles split into the first `lines`, which ask for B's
 * next K block (prefetch_b), and the rest, which need not (cf_rows). */
static bool first_rows_ask(const dlc_gemm *G, const tile *t) {
  return t->b_local && t->k_inside && t->nit > tile_lines(G, t);
}

static dlc_lstmt *cf_rows(dlc_gemm *G, tile *t) {
  dlc_lmodule *m = G->m;
  dlc_lstmt *s = NULL;
  tile save = *t;
  if (t->nit) {
    dlc_lvar *v = t->nit > 1 ? ivar(G) : NULL;
    t->it = v ? ADD(t->it0, VAR(v)) : t->it0;
    t->mr = MR;
    /* a tile outside the parallel loop over column tiles (the last,
     * narrow one) shares its rows among the threads instead, when its
     * panel is not private to one thread */
    dlc_loop_kind kind = t->in_par || t->b_local ? DLC_LOOP_SERIAL : G->par;
    /* B copied per column tile with K blocks inside: the first `lines`
     * row tiles ask for the next block's rows (one line of the tile's
     * columns each, prefetch_b); the others, a loop of their own, have
     * nothing left to ask for and skip the prefetch and its arithmetic
     * (each is a new page of B: 128x768x3072 went from 84 to 90 GFLOP/s
     * at 1 thread, 167 to 192 at 2) */
    if (first_rows_ask(G, t)) {
      int64_t lines = tile_lines(G, t);
      dlc_lvar *w = ivar(G);
      dlc_ls_append(&s, dlc_ls_loop(m, v, lines, kind, micro(G, t)));
      t->it = ADD(ADD(t->it0, INT(lines)), VAR(w));
      t->no_pf_b = true;
      dlc_ls_append(&s, dlc_ls_loop(m, w, t->nit - lines, kind, micro(G, t)));
    } else {
      dlc_lstmt *in = micro(G, t);
      dlc_ls_append(&s, v ? dlc_ls_loop(m, v, t->nit, kind, in) : in);
    }
  }
  *t = save;
  if (t->rem_rows) {
    t->it = INT(G->M / MR);
    t->mr = G->M % MR;
    t->no_pf_b = first_rows_ask(G, t);
    dlc_ls_append(&s, micro(G, t));
  }
  *t = save;
  return s;
}

static dlc_lstmt *cf_panel(dlc_gemm *G, tile *t) {
  if (!G->bl)
    return cf_rows(G, t);
  dlc_lmodule *m = G->m;
  dlc_lvar *kk = ivar(G), *c = ivar(G);
  dlc_lexpr *src = ADD(G->b_off, ADD(MUL(ADD(t->k0, VAR(kk)), INT(G->ldb)),
                                     ADD(MUL(t->jt, INT(NR)), VAR(c))));
  dlc_lstmt *copy = dlc_ls_loop(m, c, t->nr, DLC_LOOP_VECTORIZED,
                                dlc_ls_store(m, G->bl, ADD(MUL(VAR(kk), INT(NR)), VAR(c)),
                                             LOAD(G->B, src)));
  t->b_local = true;
  int64_t wide = tile_wide(G, t);
  if (wide > t->nr) { /* zeros, not stack leftovers (denormals are slow) */
    dlc_lvar *z = ivar(G);
    dlc_ls_append(&copy, dlc_ls_loop(m, z, wide - t->nr, DLC_LOOP_VECTORIZED,
                                     dlc_ls_store(m, G->bl,
                                                  ADD(MUL(VAR(kk), INT(NR)), ADD(INT(t->nr), VAR(z))),
                                                  CONST(G->bl->type.dtype, 0))));
  }
  dlc_lstmt *s = dlc_ls_loop(m, kk, t->ks, DLC_LOOP_SERIAL, copy);
  dlc_ls_append(&s, cf_rows(G, t));
  t->b_local = false;
  return s;
}

static dlc_lstmt *cf_mblocks(dlc_gemm *G, tile *t);

static dlc_lstmt *cf_cols(dlc_gemm *G, tile *t) { return split(G, t, false, G->par, cf_panel); }

int64_t dlc_gemm_kpanel_numel(int64_t K, int64_t N) { return k_block(K) * ((N + NR - 1) / NR * NR); }

/* Loops copying rows k0 .. k0+rows-1 of B (as G reads it) into panels in
 * `into`: into[(jt*stride + kk)*NR + c] = B[k0 + kk, jt*NR + c], zero past
 * N; the layout of dlc_gemm_pack_b when they are all of K (stride K). The
 * rows of B are outermost and shared among threads, so B is read in order
 * and the panels written as streams; the panels keep a tile's columns
 * together, so the tile loops walk B in one stream instead of one row per
 * page. */
static dlc_lstmt *pack_b_loops(dlc_gemm *G, dlc_lbuf *into, dlc_lexpr *k0, int64_t rows,
                               int64_t stride) {
  dlc_lmodule *m = G->m;
  int64_t full = G->N / NR, rem = G->N % NR;
  dlc_lvar *kk = ivar(G);
  dlc_lstmt *row = NULL;
  for (int part = 0; part < 2; part++) {
    int64_t cnt = part ? (rem ? 1 : 0) : full, w = part ? rem : NR;
    if (!cnt)
      continue;
    dlc_lvar *jt = ivar(G), *c = ivar(G), *z = ivar(G);
    dlc_lexpr *J = part ? INT(full) : cnt < 2 ? INT(0) : VAR(jt);
    dlc_lexpr *panel_row = MUL(ADD(MUL(J, INT(stride)), VAR(kk)), INT(NR));
    dlc_lexpr *src = ADD(G->b_off, ADD(MUL(ADD(k0, VAR(kk)), INT(G->ldb)),
                                       ADD(MUL(J, INT(NR)), VAR(c))));
    dlc_lstmt *body = dlc_ls_loop(m, c, w, DLC_LOOP_VECTORIZED,
                                  dlc_ls_store(m, into, ADD(panel_row, VAR(c)), LOAD(G->B, src)));
    if (w < NR)
      dlc_ls_append(&body, dlc_ls_loop(m, z, NR - w, DLC_LOOP_VECTORIZED,
                                        dlc_ls_store(m, into, ADD(panel_row, ADD(INT(w), VAR(z))),
                                                     CONST(into->type.dtype, 0))));
    if (!part && cnt >= 2)
      body = dlc_ls_loop(m, jt, cnt, DLC_LOOP_SERIAL, body);
    dlc_ls_append(&row, body);
  }
  return dlc_ls_loop(m, kk, rows, DLC_LOOP_PARALLEL, row);
}

/* The K block of B packed into panels of G->kp (stride kc), then the blocks
 * of rows. */
static dlc_lstmt *kp_block(dlc_gemm *G, tile *t) {
  dlc_lstmt *s = pack_b_loops(G, G->kp, t->k0, t->ks, G->kc);
  t->b_kpanel = true;
  dlc_ls_append(&s, cf_mblocks(G, t));
  t->b_kpanel = false;
  return s;
}

/* Rows in blocks of MC_TILES tiles, so that the block of A the column tiles
 * pass over stays in L2 (each column tile's panel is copied once per block). */
#define MC_TILES 32

static dlc_lstmt *cf_mblocks(dlc_gemm *G, tile *t) {
  dlc_lmodule *m = G->m;
  int64_t full = G->M / MR, nblk = full / MC_TILES, left = full % MC_TILES;
  bool rem = G->M % MR != 0;
  dlc_lstmt *s = NULL;
  tile save = *t;
  if (nblk) {
    dlc_lvar *v = nblk > 1 ? ivar(G) : NULL;
    t->it0 = v ? MUL(VAR(v), INT(MC_TILES)) : INT(0);
    t->nit = MC_TILES;
    t->rem_rows = nblk == 1 && !left && rem;
    dlc_lstmt *in = cf_cols(G, t);
    dlc_ls_append(&s, v ? dlc_ls_loop(m, v, nblk, DLC_LOOP_SERIAL, in) : in);
    if (t->rem_rows)
      rem = false;
  }
  *t = save;
  if (left || rem) {
    t->it0 = INT(nblk * MC_TILES);
    t->nit = left;
    t->rem_rows = rem;
    dlc_ls_append(&s, cf_cols(G, t));
  }
  *t = save;
  return s;
}

/* When A is small (its rows in one block, packed A within L2): column
 * tiles outermost (shared among threads, or with few of them, blocks of
 * rows of them: sa_order), then K blocks, then rows, so a column of C
 * tiles stays in cache across the K blocks instead of going to memory and
 * back once per block. */
#define SMALL_A_BYTES ((int64_t)512 * 1024)

bool dlc_gemm_small_a(int64_t M, int64_t K, int64_t elem_size) {
  return M <= MR * MC_TILES && M * K * elem_size <= SMALL_A_BYTES;
}

static bool small_a(const dlc_gemm *G) {
  return dlc_gemm_small_a(G->M, G->K, (int64_t)dlc_dtype_size(G->C->type.dtype));
}

static dlc_lstmt *sa_kblocks(dlc_gemm *G, tile *t) { return kblocks(G, t, cf_panel); }

/* Threads share the small-A order's column tiles; when there are fewer
 * than PAR_ITEMS, each column tile is cut into blocks of rows (at least
 * ROW_BLOCK_MIN tiles each, every block copying its own panels), so that
 * two threads do not wait on one of them for a third tile. */
#define PAR_ITEMS 8
#define ROW_BLOCK_MIN 4

static int64_t row_blocks(int64_t M, int64_t N) {
  int64_t full = N / NR, nit = M / MR;
  if (full < 1 || full >= PAR_ITEMS)
    return 1;
  int64_t want = (PAR_ITEMS + full - 1) / full;
  for (int64_t rb = want; rb > 1; rb--)
    if (nit % rb == 0 && nit / rb >= ROW_BLOCK_MIN)
      return rb;
  return 1;
}

bool dlc_gemm_split_rows(int64_t M, int64_t N) { return row_blocks(M, N) > 1; }

static dlc_lstmt *sa_order(dlc_gemm *G, tile *t) {
  int64_t rb = G->par == DLC_LOOP_PARALLEL ? row_blocks(G->M, G->N) : 1;
  if (rb == 1)
    return split(G, t, false, G->par, sa_kblocks);
  dlc_lmodule *m = G->m;
  int64_t full = G->N / NR, rem = G->N % NR, per = t->nit / rb;
  dlc_lstmt *s = NULL;
  tile save = *t;
  /* the column tiles' blocks of full row tiles, then the narrow column
   * tile's blocks */
  for (int part = 0; part < 2; part++) {
    int64_t cnt = part ? (rem ? 1 : 0) : full;
    if (!cnt)
      continue;
    dlc_lvar *u = ivar(G);
    dlc_lexpr *blk = part ? VAR(u) : dlc_lx_binary(m, DLC_LX_REM, VAR(u), INT(rb));
    t->jt = part ? INT(full) : dlc_lx_binary(m, DLC_LX_DIV, VAR(u), INT(rb));
    t->nr = part ? rem : NR;
    t->it0 = MUL(blk, INT(per));
    t->nit = per;
    t->rem_rows = false;
    t->in_par = true;
    dlc_ls_append(&s, dlc_ls_loop(m, u, cnt * rb, DLC_LOOP_PARALLEL, sa_kblocks(G, t)));
    *t = save;
  }
  if (t->rem_rows) { /* the last, short row tile of every column tile */
    t->it0 = INT(t->nit);
    t->nit = 0;
    dlc_ls_append(&s, split(G, t, false, G->par, sa_kblocks));
  }
  *t = save;
  return s;
}

/* Row tiles first (too few column tiles to share): for K blocks, for row
 * tiles (shared among threads), for column tiles: the micro-kernel. The
 * block of packed B stays in cache while every row tile passes over it. */
static dlc_lstmt *rf_cols(dlc_gemm *G, tile *t) { return split(G, t, false, DLC_LOOP_SERIAL, micro); }
static dlc_lstmt *rf_rows(dlc_gemm *G, tile *t) { return split(G, t, true, G->par, rf_cols); }

int64_t dlc_gemm_packed_b_numel(int64_t K, int64_t N) { return (N + NR - 1) / NR * NR * K; }

int64_t dlc_gemm_packed_a_numel(int64_t M, int64_t K) { return (M + MR - 1) / MR * MR * K; }

/* Loops copying A into row panels in `into` (dlc_gemm_pack_a's layout):
 * each step of k then broadcasts MR neighbouring values, and rows a page
 * apart no longer fight over the same L1 sets. */
static dlc_lstmt *pack_a_loops(dlc_gemm *G, dlc_lbuf *into) {
  dlc_lmodule *m = G->m;
  int64_t full = G->M / MR, rem = G->M % MR;
  dlc_lstmt *s = NULL;
  for (int part = 0; part < 2; part++) {
    int64_t cnt = part ? (rem ? 1 : 0) : full, h = part ? rem : MR;
    if (!cnt)
      continue;
    dlc_lvar *it = ivar(G), *kk = ivar(G), *r = ivar(G), *z = ivar(G);
    dlc_lexpr *I = part || cnt < 2 ? INT(part ? full : 0) : VAR(it);
    dlc_lexpr *dst = ADD(MUL(ADD(MUL(I, INT(G->K)), VAR(kk)), INT(MR)), VAR(r));
    dlc_lexpr *src = ADD(G->a_off, ADD(MUL(ADD(MUL(I, INT(MR)), VAR(r)), INT(G->lda)), VAR(kk)));
    dlc_lstmt *body = dlc_ls_loop(m, r, h, DLC_LOOP_UNROLLED, dlc_ls_store(m, into, dst, LOAD(G->A, src)));
    body->unroll = (int)h;
    if (h < MR) {
      dlc_lexpr *zd = ADD(MUL(ADD(MUL(I, INT(G->K)), VAR(kk)), INT(MR)), ADD(INT(h), VAR(z)));
      dlc_lstmt *zl = dlc_ls_loop(m, z, MR - h, DLC_LOOP_UNROLLED,
                                  dlc_ls_store(m, into, zd, CONST(into->type.dtype, 0)));
      zl->unroll = (int)(MR - h);
      dlc_ls_append(&body, zl);
    }
    body = dlc_ls_loop(m, kk, G->K, DLC_LOOP_SERIAL, body);
    dlc_ls_append(&s, part || cnt < 2 ? body : dlc_ls_loop(m, it, cnt, DLC_LOOP_PARALLEL, body));
  }
  return s;
}

dlc_lstmt *dlc_tile_gemm(dlc_gemm *G, dlc_kernel *k, bool parallel) {
  dlc_lmodule *m = G->m;
  dlc_lstmt *pack = NULL;
  if (G->pack_a_into && !G->a_packed) {
    dlc_kernel_use(k, G->pack_a_into);
    pack = pack_a_loops(G, G->pack_a_into);
    G->A = G->pack_a_into;
    G->a_packed = true;
  }
  if (G->pack_into && !G->b_packed && dlc_gemm_cols_first(G->M, G->N) && !small_a(G)) {
    /* a K block at a time (kp_block); the tile pass gives a small A a
     * buffer only when its rows are split (then B is packed whole, below,
     * else each column tile copies its panels) */
    DLC_ASSERT(dlc_type_numel(&G->pack_into->type) >= dlc_gemm_kpanel_numel(G->K, G->N));
    dlc_kernel_use(k, G->pack_into);
    G->kp = G->pack_into;
    G->kc = k_block(G->K);
  } else if (G->pack_into && !G->b_packed) {
    DLC_ASSERT(dlc_type_numel(&G->pack_into->type) >= dlc_gemm_packed_b_numel(G->K, G->N));
    dlc_kernel_use(k, G->pack_into);
    dlc_ls_append(&pack, pack_b_loops(G, G->pack_into, INT(0), G->K, G->K));
    G->B = G->pack_into;
    G->b_packed = true;
  }
  dlc_type at = {.dtype = G->C->type.dtype, .rank = 1, .dims = {MR * NR}};
  G->acc = dlc_lmodule_add_buf(m, DLC_BUF_LOCAL, "acc", &at);
  dlc_kernel_use(k, G->acc);
  /* B from memory with column tiles outermost: each K block of a column
   * tile is copied into a panel private to the thread (L1-sized), read
   * by every row tile after it */
  if (!G->b_packed && !G->kp && dlc_gemm_cols_first(G->M, G->N)) {
    dlc_type bt = {.dtype = G->C->type.dtype, .rank = 1, .dims = {KC_MAX * NR}};
    G->bl = dlc_lmodule_add_buf(m, DLC_BUF_LOCAL, "bpanel", &bt);
    dlc_kernel_use(k, G->bl);
  }
  dlc_kernel_use(k, G->A);
  dlc_kernel_use(k, G->B);
  tile t = {0};
  G->par = parallel ? DLC_LOOP_PARALLEL : DLC_LOOP_SERIAL;
  if (dlc_gemm_cols_first(G->M, G->N) && small_a(G)) {
    t.it0 = INT(0);
    t.nit = G->M / MR;
    t.rem_rows = G->M % MR != 0;
    t.k_inside = true;
    dlc_ls_append(&pack, sa_order(G, &t));
  } else if (dlc_gemm_cols_first(G->M, G->N))
    dlc_ls_append(&pack, kblocks(G, &t, G->kp ? kp_block : cf_mblocks));
  else
    dlc_ls_append(&pack, kblocks(G, &t, rf_rows));
  return pack;
}
