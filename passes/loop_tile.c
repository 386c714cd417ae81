/* The tile loop pass: each matrix product lowering left as its plain nest
 * (a loop marked `product`, dlc_lgemm) becomes register tiles over packed
 * panels (tile_gemm.c), and each convolution on channel blocks (a loop
 * marked `conv`, dlc_lconv) register tiles of pixels by output blocks over
 * weights packed for them (tile_conv.c, which chooses that tile's shape).
 * For the products this pass chooses what is packed and where:
 *
 * - A constant operand that is one matrix for the whole nest is repacked
 *   at compile time into the order the tiles read it.
 * - Otherwise, when the nest is not inside a loop marked parallel (a
 *   matmul's batches; its scratch is then the kernel's alone, and not
 *   copied again for every batch), an operand read from memory may be copied
 *   into panels at run time, into a temporary this pass adds (placed later
 *   by the plan pass, and shared by the products of one kernel, which run
 *   one after another):
 *   - B, when enough rows of A pass over it to pay for the copy: all of it
 *     first (rows first, or a small A whose column tiles are cut into
 *     blocks of rows), or a K block at a time (columns first). A small A
 *     whose column tiles are not cut, and a chunked B (an image or its
 *     im2col columns, already in cache), have each column tile copy its
 *     own panel instead.
 *   - A, when several column tiles pass over it and either B is a
 *     constant (its panels stream from memory beside A's; reading A in
 *     place gained nothing in BERT's products) or A's rows lie a multiple
 *     of A_ALIAS_BYTES apart, the span of L1's sets (a tile's rows then
 *     fall into one set and evict each other: 1024^3 gained 9% at 1
 *     thread). With B's panels in cache, copying a small A costs more than
 *     it saves (up to a tenth of a 256x256x256 product).
 *
 * The row loop of the nest says whether the tiles may share their loops
 * among threads. The nest's stored value is the epilogue, computed on each
 * finished tile element with acc, i and j substituted. */
#include <stdlib.h>

#include "passes.h"
#include "tile.h"

#define A_ALIAS_BYTES 4096
#define PACK_B_MIN_ROWS 16

/* A constant packed at compile time, kept so that the products reading
 * it (a convolution's, once per image or chunk) share one copy. */
typedef struct packed {
  const dlc_lbuf *src;
  bool is_b;
  int64_t rows, cols;
  dlc_lbuf *buf;
} packed;

typedef struct tiling {
  dlc_lmodule *m;
  dlc_kernel *k;
  dlc_lbuf *pack_b, *pack_a; /* the kernel's run-time panels, made on demand */
  packed *done;
  int ndone, capdone;
} tiling;

static dlc_lbuf *pack_const(tiling *T, const dlc_lbuf *src, bool is_b, int64_t rows,
                            int64_t cols) {
  for (int i = 0; i < T->ndone; i++) {
    const packed *p = &T->done[i];
    if (p->src == src && p->is_b == is_b && p->rows == rows && p->cols == cols)
      return p->buf;
  }
  packed p = {src, is_b, rows, cols,
              is_b ? dlc_gemm_pack_b(T->m, src, rows, cols)
                   : dlc_gemm_pack_a(T->m, src, rows, cols)};
  DLC_PUSH(T->done, T->ndone, T->capdone, p);
  return p.buf;
}

typedef struct epi_ctx {
  dlc_lmodule *m;
  const dlc_lgemm *g;
} epi_ctx;

static dlc_lexpr *epilogue(void *ctx, dlc_lexpr *acc, dlc_lexpr *i, dlc_lexpr *j) {
  const epi_ctx *e = ctx;
  dlc_lvar *vars[3] = {e->g->acc, e->g->i, e->g->j};
  dlc_lexpr *with[3] = {acc, i, j};
  return dlc_lx_subst(e->m, e->g->value, 3, vars, with);
}

static bool is_zero(const dlc_lexpr *e) { return e->kind == DLC_LX_ICONST && e->i == 0; }

/* The kernel's scratch of `numel` elements named for `what`, grown when a
 * later product of the kernel needs more. */
static dlc_lbuf *scratch(tiling *T, dlc_lbuf **slot, const char *what, dlc_dtype dt,
                         int64_t numel) {
  if (!*slot) {
    dlc_type t = {.dtype = dt, .rank = 1, .dims = {numel}};
    *slot = dlc_lmodule_add_buf(T->m, DLC_BUF_TEMP,
                                dlc_arena_printf(T->m->arena, "%s.%s", T->k->name, what), &t);
  } else if ((*slot)->type.dims[0] < numel) {
    (*slot)->type.dims[0] = numel;
  }
  return *slot;
}

/* How many elements of B's run-time panels G needs (0: none); `parallel`:
 * its tiles are shared among threads (only then are a small A's column
 * tiles cut into blocks of rows, which read B packed whole). */
static int64_t pack_b_numel(const dlc_gemm *G, const dlc_lgemm *g, bool parallel) {
  if (G->b_packed || G->B->kind == DLC_BUF_CONST || G->M < PACK_B_MIN_ROWS)
    return 0;
  if (!dlc_gemm_cols_first(G->M, G->N))
    return dlc_gemm_packed_b_numel(G->K, G->N);
  if (g->b_chunked)
    return 0;
  if (dlc_gemm_small_a(G->M, G->K, (int64_t)dlc_dtype_size(G->C->type.dtype)))
    return parallel && dlc_gemm_split_rows(G->M, G->N) ? dlc_gemm_packed_b_numel(G->K, G->N)
                                                        : 0;
  return dlc_gemm_kpanel_numel(G->K, G->N);
}

static bool pack_a_pays(const dlc_gemm *G) {
  return !G->a_packed && G->A->kind != DLC_BUF_CONST && G->N >= 2 * DLC_GEMM_NR &&
         G->M >= DLC_GEMM_MR &&
         (G->B->kind == DLC_BUF_CONST ||
          G->lda * (int64_t)dlc_dtype_size(G->C->type.dtype) % A_ALIAS_BYTES == 0);
}

static void drop_local(dlc_kernel *k, const dlc_lvar *v) {
  int n = 0;
  for (int i = 0; i < k->nlocals; i++)
    if (k->locals[i] != v)
      k->locals[n++] = k->locals[i];
  k->nlocals = n;
}

/* The tiles replacing product nest s. */
static dlc_lstmt *tile(tiling *T, const dlc_lstmt *s, bool in_par) {
  dlc_lmodule *m = T->m;
  const dlc_lgemm *g = s->gemm;
  dlc_gemm G = {
      .m = m, .M = g->M, .N = g->N, .K = g->K, .lda = g->lda, .ldb = g->ldb, .ldc = g->ldc,
      .A = g->A, .B = g->B, .C = g->C, .a_off = g->a_off, .b_off = g->b_off, .c_off = g->c_off,
  };
  if (g->value->kind != DLC_LX_VAR || g->value->var != g->acc) {
    epi_ctx *e = dlc_arena_alloc(m->arena, sizeof *e);
    *e = (epi_ctx){m, g};
    G.epilogue = epilogue;
    G.ctx = e;
  }
  if (G.A->kind == DLC_BUF_CONST && is_zero(G.a_off) && G.lda == G.K &&
      dlc_type_numel(&G.A->type) == G.M * G.K) {
    G.A = pack_const(T, G.A, false, G.M, G.K);
    G.a_packed = true;
  }
  if (G.B->kind == DLC_BUF_CONST && is_zero(G.b_off) && G.ldb == G.N &&
      dlc_type_numel(&G.B->type) == G.K * G.N) {
    G.B = pack_const(T, G.B, true, G.K, G.N);
    G.b_packed = true;
  }
  if (!in_par) {
    dlc_dtype dt = G.C->type.dtype;
    int64_t nb = pack_b_numel(&G, g, s->loop_kind == DLC_LOOP_PARALLEL);
    if (nb)
      G.pack_into = scratch(T, &T->pack_b, "packed", dt, nb);
    if (pack_a_pays(&G))
      G.pack_a_into =
          scratch(T, &T->pack_a, "apacked", dt, dlc_gemm_packed_a_numel(G.M, G.K));
  }
  drop_local(T->k, g->acc);
  return dlc_tile_gemm(&G, T->k, s->loop_kind == DLC_LOOP_PARALLEL);
}

/* Replaces the product and convolution nests in the block at *link. */
static void walk(tiling *T, dlc_lstmt **link, bool in_par) {
  while (*link) {
    dlc_lstmt *s = *link;
    if (s->kind == DLC_LS_LOOP && (s->gemm || s->conv)) {
      dlc_lstmt *tiles;
      if (s->gemm) {
        tiles = tile(T, s, in_par);
      } else {
        drop_local(T->k, s->conv->acc);
        tiles = dlc_tile_conv(T->m, T->k, s->conv);
      }
      dlc_lstmt *last = tiles;
      DLC_ASSERT(tiles);
      while (last->next)
        last = last->next;
      last->next = s->next;
      *link = tiles;
      link = &last->next;
      continue;
    }
    if (s->kind == DLC_LS_LOOP)
      walk(T, &s->body, in_par || s->loop_kind == DLC_LOOP_PARALLEL);
    link = &s->next;
  }
}

void dlc_loop_pass_tile(dlc_lmodule *m) {
  tiling T = {.m = m};
  for (int i = 0; i < m->nkernels; i++) {
    T.k = m->kernels[i];
    T.pack_a = T.pack_b = NULL;
    walk(&T, &T.k->body, false);
    /* e.g. a weight replaced by its packed copy: not a parameter, and not
     * embedded unless another kernel reads it */
    dlc_kernel_prune(T.k);
  }
  free(T.done);
}
