/* The tile pass's register tiles for a convolution on channel blocks
 * (conv2d_nchwc), replacing the plain nest lowering made (dlc_lconv).
 *
 * With one group, the register tile is rw output pixels of one output row
 * by nb output channel blocks: for each input channel, kernel position and
 * pixel, one value of x is broadcast and multiplied by the tile's weights,
 * nb*ob consecutive values packed at compile time, so the tile is the
 * matrix-product micro-kernel (tile_gemm.c) read straight from the
 * blocked input, without im2col:
 *
 *   for icb, p, q, ic:  for r (unrolled): for c (vectorized, nb*ob):
 *     acc[r][c] += x[n, icb, oh*sh + p*dh, (ow0 + r)*sw + q*dw, ic] * wp[..., c]
 *
 * When threads share tiles of output blocks, each tile goes over the input
 * channels in blocks whose weights stay in L2 while every row reads them
 * (partial sums wait in y between blocks); bias and the fused chain are
 * applied once, after the last. A depthwise convolution multiplies whole
 * vectors of x (one block of channels) by vectors of weights and reads x
 * unpadded: tiles whose windows reach into the padding test their reads.
 * With one group, lowering has already copied x into a zeroed, padded
 * scratch buffer, as for conv2d. */
#include <string.h>

#include "tile.h"

#define ACC_VECTORS 24            /* accumulator registers of a tile */
#define TILE_LANES 64             /* most channels in a tile: 4 vectors */
#define WBLOCK_BYTES (192 * 1024) /* weights of one K block of one tile */

typedef struct conv {
  dlc_lmodule *m;
  const dlc_lconv *r;
  dlc_lbuf *X, *Y, *Wp, *acc;
  int64_t CB, ib, Hp, Wpd;   /* the (padded) input: blocks, block, rows, cols */
  int64_t pt, pl;            /* padding still to apply (x not padded): top, left */
  int64_t MB, ob, OH, OW;    /* the result */
  int64_t KH, KW, sh, sw, dh, dw;
  int64_t nb, rw;            /* the tile: output blocks by pixels */
  int64_t kb;                /* input blocks per K block */
  int64_t vec;               /* lanes of one vector register */
  dlc_lexpr *vn;             /* the image */
} conv;

/* ---- the tile shape ---- */

/* Cycles per step of k for a tile of a vectors by b pixels: FMAs and loads
 * both issue two per cycle, and the a*b accumulator chains must cover the
 * FMA latency (4 cycles). */
static double tile_cycles(int64_t a, int64_t b) {
  double f = (double)(a * b) / 2, l = (double)(a + b) / 2;
  double c = f > l ? f : l;
  return (c > 4 ? c : 4) + 0.5; /* plus the loop's own step */
}

static int64_t vectors(const conv *c, int64_t blocks) {
  return (blocks * c->ob + c->vec - 1) / c->vec;
}

/* All tiles of one output row, per step of k, for tiles nb x rw. */
static double row_cycles(const conv *c, int64_t nb, int64_t rw) {
  int64_t wf = c->OW / rw, wr = c->OW % rw;
  double cost = 0;
  for (int part = 0; part < 2; part++) {
    int64_t cnt = part ? (c->MB % nb ? 1 : 0) : c->MB / nb, blocks = part ? c->MB % nb : nb;
    if (!cnt)
      continue;
    int64_t v = vectors(c, blocks);
    cost += (double)cnt * ((double)wf * tile_cycles(v, rw) + (wr ? tile_cycles(v, wr) : 0));
  }
  return cost;
}

static void choose_tile(conv *c, bool depthwise) {
  double best = -1;
  int64_t max_nb = depthwise ? 1 : TILE_LANES / c->ob;
  if (max_nb < 1)
    max_nb = 1;
  for (int64_t nb = 1; nb <= max_nb && nb <= c->MB; nb++)
    for (int64_t rw = 1; rw <= c->OW && rw * vectors(c, nb) <= ACC_VECTORS; rw++) {
      double cost = row_cycles(c, nb, rw);
      if (best < 0 || cost <= best) {
        best = cost;
        c->nb = nb;
        c->rw = rw;
      }
    }
}

/* ---- compile-time weight packing ---- */

/* One group: tile jt's weights are [icb][p][q][ic][c], c < its blocks*ob,
 * the tiles one after another (tile jt starts at jt*nb*ob*Kc). */
static dlc_lbuf *pack_weights(conv *c, const dlc_lbuf *W) {
  dlc_lmodule *m = c->m;
  bool dw = c->r->depthwise;
  int64_t C = c->CB * c->ib, M = c->MB * c->ob, Kc = (dw ? 1 : C) * c->KH * c->KW;
  dlc_lbuf *b = dlc_tile_const(m, W, M * Kc, "nchwc");
  size_t es = dlc_dtype_size(b->type.dtype);
  char *p = (char *)b->data;
  const char *src = W->data; /* a constant without data holds zeros */
  for (int64_t o = 0; src && o < M; o++) {
    int64_t jt = o / (c->nb * c->ob), col = o % (c->nb * c->ob);
    int64_t blocks = (c->MB - jt * c->nb) < c->nb ? c->MB - jt * c->nb : c->nb;
    int64_t wj = blocks * c->ob, base = jt * c->nb * c->ob * Kc;
    for (int64_t ci = 0; ci < (dw ? 1 : C); ci++)
      for (int64_t kh = 0; kh < c->KH; kh++)
        for (int64_t kw = 0; kw < c->KW; kw++) {
          int64_t from = ((o * (dw ? 1 : C) + ci) * c->KH + kh) * c->KW + kw;
          int64_t to = dw ? ((o / c->ob * c->KH + kh) * c->KW + kw) * c->ob + o % c->ob
                          : base + ((((ci / c->ib) * c->KH + kh) * c->KW + kw) * c->ib +
                                    ci % c->ib) * wj + col;
          memcpy(p + (size_t)to * es, src + (size_t)from * es, es);
        }
  }
  return b;
}

/* ---- the tile ---- */

static dlc_lvar *ivar(conv *c) { return dlc_lvar_new(c->m, DLC_I64, "i"); }

static dlc_lstmt *loop(conv *c, dlc_lvar *v, int64_t n, dlc_loop_kind kind, dlc_lstmt *body) {
  dlc_lstmt *l = dlc_ls_loop(c->m, v, n, kind, body);
  if (kind == DLC_LOOP_UNROLLED)
    l->unroll = (int)n;
  return l;
}

/* y[n, ocb, oh, ow, l] */
static dlc_lexpr *y_at(conv *c, dlc_lexpr *ocb, dlc_lexpr *oh, dlc_lexpr *ow, dlc_lexpr *l) {
  dlc_lmodule *m = c->m;
  return ADD(MUL(ADD(MUL(ADD(MUL(ADD(MUL(c->vn, INT(c->MB)), ocb), INT(c->OH)), oh),
                         INT(c->OW)), ow), INT(c->ob)), l);
}

typedef struct tile {
  dlc_lexpr *jt, *oh, *ow0, *icb0, *first, *last;
  dlc_lexpr *owt; /* the pixel tile's index in its row */
  int64_t blocks, rw, kbn; /* output blocks, pixels, input blocks of the K block */
  bool guard_rows, guard_cols; /* some rows / columns it reads lie in the padding */
  bool shared;                 /* tiles of output blocks shared among threads */
  int64_t njt;                 /* tiles_of_rows: output tiles per row */
} tile;

static dlc_lexpr *sel(dlc_lmodule *m, dlc_lexpr *c, dlc_lexpr *a, dlc_lexpr *b) {
  if (c->kind == DLC_LX_ICONST)
    return c->i ? a : b;
  return dlc_lx_select(m, c, a, b);
}

/* for r (unrolled), cb (unrolled), l (vectorized): the tile's elements in
 * y, where init loads them (or zeros) and store writes them back */
static dlc_lstmt *tile_io(conv *c, tile *t, bool store) {
  dlc_lmodule *m = c->m;
  dlc_lvar *r = ivar(c), *cb = ivar(c), *l = ivar(c);
  int64_t wj = t->blocks * c->ob;
  dlc_lexpr *ai = ADD(ADD(MUL(VAR(r), INT(wj)), MUL(VAR(cb), INT(c->ob))), VAR(l));
  dlc_lexpr *ocb = ADD(MUL(t->jt, INT(c->nb)), VAR(cb)), *ow = ADD(t->ow0, VAR(r));
  dlc_lexpr *yi = y_at(c, ocb, t->oh, ow, VAR(l));
  dlc_lstmt *s;
  if (store) {
    /* the nest's value (bias, the fused chain) at this element */
    const dlc_lconv *rc = c->r;
    dlc_lexpr *v = LOAD(c->acc, ai);
    dlc_lvar *vars[6] = {rc->acc, rc->n, rc->ocb, rc->oh, rc->ow, rc->l};
    dlc_lexpr *with[6] = {v, c->vn, ocb, t->oh, ow, VAR(l)};
    dlc_lexpr *fin = dlc_lx_subst(m, rc->value, 6, vars, with);
    s = dlc_ls_store(m, c->Y, yi, sel(m, t->last, fin, v));
  } else {
    dlc_lexpr *zero = CONST(c->Y->type.dtype, 0);
    s = dlc_ls_store(m, c->acc, ai, sel(m, t->first, zero, LOAD(c->Y, yi)));
  }
  s = loop(c, l, c->ob, DLC_LOOP_VECTORIZED, s);
  s = loop(c, cb, t->blocks, DLC_LOOP_UNROLLED, s);
  return loop(c, r, t->rw, DLC_LOOP_UNROLLED, s);
}

/* x[n, icb, oh*sh + p*dh - pt, (ow0 + r)*sw + q*dw - pl, ic]: 0 in the
 * padding, which a guarded tile tests for (reading a clamped position) */
static dlc_lexpr *x_load(conv *c, tile *t, dlc_lexpr *icb, dlc_lexpr *p, dlc_lexpr *q,
                         dlc_lexpr *r, dlc_lexpr *ic) {
  dlc_lmodule *m = c->m;
  dlc_lexpr *h = SUB(ADD(MUL(t->oh, INT(c->sh)), MUL(p, INT(c->dh))), INT(c->pt));
  dlc_lexpr *w = SUB(ADD(MUL(ADD(t->ow0, r), INT(c->sw)), MUL(q, INT(c->dw))), INT(c->pl));
  dlc_lexpr *inside = NULL;
  if (t->guard_rows) {
    inside = dlc_lower_in_range(m, h, c->Hp);
    h = dlc_lower_clamp(m, h, c->Hp);
  }
  if (t->guard_cols) {
    dlc_lexpr *in_w = dlc_lower_in_range(m, w, c->Wpd);
    inside = inside ? AND(inside, in_w) : in_w;
    w = dlc_lower_clamp(m, w, c->Wpd);
  }
  dlc_lexpr *plane = ADD(MUL(c->vn, INT(c->CB)), icb);
  dlc_lexpr *v = LOAD(c->X, ADD(MUL(ADD(MUL(ADD(MUL(plane, INT(c->Hp)), h), INT(c->Wpd)), w),
                                    INT(c->ib)), ic));
  return inside ? dlc_lx_select(m, inside, v, CONST(c->X->type.dtype, 0)) : v;
}

/* The tile's sums: loaded (or zeroed), the loops of products, stored. */
static dlc_lstmt *around_tile(conv *c, tile *t, dlc_lstmt *products) {
  dlc_lstmt *s = tile_io(c, t, false);
  dlc_ls_append(&s, products);
  dlc_ls_append(&s, tile_io(c, t, true));
  return s;
}

/* Values prefetched per step of k so that the pixel tiles of all rows
 * cover the next block of weights (tiles of `blocks` output blocks): 0
 * (none) when the weights are small enough to stay in cache; at most a
 * cache line a step. */
#define PREFETCH_MIN_BYTES ((int64_t)512 * 1024)

static int64_t prefetch_step(const conv *c, int64_t blocks) {
  if ((int64_t)dlc_type_bytes(&c->Wp->type) < PREFETCH_MIN_BYTES)
    return 0;
  int64_t tiles = c->OH * ((c->OW + c->rw - 1) / c->rw), wj = blocks * c->ob;
  int64_t step = (wj + tiles - 1) / tiles;
  return step < c->vec ? step : c->vec;
}

/* Tiles of output blocks shared among threads read each K block of their
 * weights from memory in the first pixel tile, then from cache. So each
 * step of k of every pixel tile prefetches `per` values of the block
 * read next: the tile's packed weights are contiguous, K blocks in order
 * and the next tile's after them, so the next block starts where this one
 * ends, and the steps of the pixel tiles of the rows in turn walk it. */
static dlc_lstmt *prefetch_next(conv *c, tile *t, int64_t per, dlc_lexpr *icb, dlc_lexpr *p,
                                dlc_lexpr *q, dlc_lexpr *ic) {
  dlc_lmodule *m = c->m;
  int64_t wj = t->blocks * c->ob, Kc = c->CB * c->ib * c->KH * c->KW;
  int64_t S = t->kbn * c->KH * c->KW * c->ib; /* steps of the block */
  int64_t ntr = (c->OW + c->rw - 1) / c->rw;
  dlc_lexpr *step = ADD(MUL(ADD(MUL(ADD(MUL(icb, INT(c->KH)), p), INT(c->KW)), q), INT(c->ib)), ic);
  dlc_lexpr *tile_no = ADD(MUL(t->oh, INT(ntr)), t->owt);
  dlc_lexpr *k_next = ADD(MUL(t->icb0, INT(c->KH * c->KW * c->ib)), INT(S));
  dlc_lexpr *at = ADD(ADD(MUL(t->jt, INT(c->nb * c->ob * Kc)), MUL(k_next, INT(wj))),
                      MUL(ADD(MUL(tile_no, INT(S)), step), INT(per)));
  int64_t last = dlc_type_numel(&c->Wp->type) - 1;
  return dlc_ls_prefetch(m, c->Wp, dlc_lower_at_most(m, at, last));
}

static dlc_lstmt *micro(conv *c, tile *t) {
  dlc_lmodule *m = c->m;
  int64_t wj = t->blocks * c->ob, Kc = c->CB * c->ib * c->KH * c->KW;
  dlc_lvar *icb = ivar(c), *p = ivar(c), *q = ivar(c), *ic = ivar(c), *r = ivar(c), *col = ivar(c);
  dlc_lexpr *ib = ADD(t->icb0, VAR(icb));
  dlc_lexpr *k = ADD(MUL(ADD(MUL(ADD(MUL(ib, INT(c->KH)), VAR(p)), INT(c->KW)), VAR(q)),
                         INT(c->ib)), VAR(ic));
  dlc_lexpr *wi = ADD(ADD(MUL(t->jt, INT(c->nb * c->ob * Kc)), MUL(k, INT(wj))), VAR(col));
  dlc_lexpr *ai = ADD(MUL(VAR(r), INT(wj)), VAR(col));
  dlc_lstmt *fma = dlc_ls_store(
      m, c->acc, ai,
      ADD(LOAD(c->acc, ai), MUL(x_load(c, t, ib, VAR(p), VAR(q), VAR(r), VAR(ic)),
                                LOAD(c->Wp, wi))));
  fma = loop(c, col, wj, DLC_LOOP_VECTORIZED, fma);
  fma = loop(c, r, t->rw, DLC_LOOP_UNROLLED, fma);
  int64_t per = t->shared ? prefetch_step(c, t->blocks) : 0;
  if (per) {
    dlc_lstmt *pf = prefetch_next(c, t, per, VAR(icb), VAR(p), VAR(q), VAR(ic));
    pf->next = fma;
    fma = pf;
  }
  fma = loop(c, ic, c->ib, DLC_LOOP_SERIAL, fma);
  fma = loop(c, q, c->KW, DLC_LOOP_SERIAL, fma);
  fma = loop(c, p, c->KH, DLC_LOOP_SERIAL, fma);
  fma = loop(c, icb, t->kbn, DLC_LOOP_SERIAL, fma);
  return around_tile(c, t, fma);
}

/* Depthwise: block jt of channels, tile of rw pixels, vectors of ob. */
static dlc_lstmt *micro_dw(conv *c, tile *t) {
  dlc_lmodule *m = c->m;
  dlc_lvar *p = ivar(c), *q = ivar(c), *r = ivar(c), *l = ivar(c);
  dlc_lexpr *ai = ADD(MUL(VAR(r), INT(c->ob)), VAR(l));
  dlc_lexpr *wi = ADD(MUL(ADD(MUL(ADD(MUL(t->jt, INT(c->KH)), VAR(p)), INT(c->KW)), VAR(q)),
                          INT(c->ob)), VAR(l));
  dlc_lstmt *fma = dlc_ls_store(
      m, c->acc, ai,
      ADD(LOAD(c->acc, ai),
          MUL(x_load(c, t, t->jt, VAR(p), VAR(q), VAR(r), VAR(l)), LOAD(c->Wp, wi))));
  fma = loop(c, l, c->ob, DLC_LOOP_VECTORIZED, fma);
  fma = loop(c, r, t->rw, DLC_LOOP_UNROLLED, fma);
  fma = loop(c, q, c->KW, DLC_LOOP_SERIAL, fma);
  fma = loop(c, p, c->KH, DLC_LOOP_SERIAL, fma);
  return around_tile(c, t, fma);
}

/* The first and one past the last output position whose window lies
 * inside x along one axis (n input positions, pad before, span of taps). */
static void inside_range(int64_t n, int64_t pad, int64_t taps, int64_t dil, int64_t stride,
                         int64_t out, int64_t *lo, int64_t *hi) {
  int64_t last = n - 1 + pad - (taps - 1) * dil; /* the largest start position allowed */
  *lo = (pad + stride - 1) / stride;
  *hi = last < 0 ? 0 : last / stride + 1;
  *lo = *lo > out ? out : *lo;
  *hi = *hi > out ? out : *hi < *lo ? *lo : *hi;
}

/* The tiles of output row t->oh for the output blocks of t: full pixel
 * tiles in loops, then the remainder. When x is not padded, the tiles
 * whose windows reach into the padding test their reads; the others
 * (a loop in the middle) do not. */
static dlc_lstmt *row_tiles(conv *c, tile *t, bool dw) {
  dlc_lmodule *m = c->m;
  int64_t wf = c->OW / c->rw, wr = c->OW % c->rw;
  int64_t lo, hi; /* interior columns */
  inside_range(c->Wpd, c->pl, c->KW, c->dw, c->sw, c->OW, &lo, &hi);
  int64_t t_lo = (lo + c->rw - 1) / c->rw, t_hi = hi >= c->rw ? (hi - c->rw) / c->rw + 1 : 0;
  t_lo = t_lo > wf ? wf : t_lo;
  t_hi = t_hi > wf ? wf : t_hi < t_lo ? t_lo : t_hi;
  int64_t start[3] = {0, t_lo, t_hi}, cnt[3] = {t_lo, t_hi - t_lo, wf - t_hi};
  dlc_lstmt *s = NULL;
  tile u = *t;
  for (int part = 0; part < 3; part++) {
    if (!cnt[part])
      continue;
    dlc_lvar *v = cnt[part] > 1 ? ivar(c) : NULL;
    u.owt = v ? ADD(INT(start[part]), VAR(v)) : INT(start[part]);
    u.ow0 = MUL(u.owt, INT(c->rw));
    u.rw = c->rw;
    u.guard_cols = part != 1;
    dlc_lstmt *in = dw ? micro_dw(c, &u) : micro(c, &u);
    dlc_ls_append(&s, v ? loop(c, v, cnt[part], DLC_LOOP_SERIAL, in) : in);
  }
  if (wr) {
    u.owt = INT(wf);
    u.ow0 = INT(wf * c->rw);
    u.rw = wr;
    u.guard_cols = wf * c->rw < lo || c->OW > hi;
    dlc_ls_append(&s, dw ? micro_dw(c, &u) : micro(c, &u));
  }
  return s;
}

/* For each of t->njt output tiles: the tiles of the row. */
static dlc_lstmt *tiles_of_rows(conv *c, tile *t, bool dw) {
  tile u = *t;
  dlc_lvar *v = ivar(c);
  u.jt = dlc_lx_var(c->m, v);
  return loop(c, v, t->njt, DLC_LOOP_SERIAL, row_tiles(c, &u, dw));
}

/* The loop over output rows around body(oh): when x is not padded, the
 * rows whose windows reach into the padding are separate loops whose
 * tiles test their rows. */
static dlc_lstmt *rows(conv *c, tile *t, bool dw, dlc_loop_kind kind,
                       dlc_lstmt *(*body)(conv *, tile *, bool)) {
  dlc_lmodule *m = c->m;
  int64_t lo, hi;
  inside_range(c->Hp, c->pt, c->KH, c->dh, c->sh, c->OH, &lo, &hi);
  int64_t start[3] = {0, lo, hi}, cnt[3] = {lo, hi - lo, c->OH - hi};
  dlc_lstmt *s = NULL;
  for (int part = 0; part < 3; part++) {
    if (!cnt[part])
      continue;
    tile u = *t;
    dlc_lvar *v = ivar(c);
    u.oh = ADD(INT(start[part]), VAR(v));
    u.guard_rows = part != 1;
    dlc_ls_append(&s, loop(c, v, cnt[part], kind, body(c, &u, dw)));
  }
  return s;
}

/* The K blocks around inner (kb input blocks each, kb dividing CB; one
 * block of all CB when kb is 0); t gets each block's start, length and
 * whether it is the first or the last. */
static dlc_lstmt *kblocks(conv *c, tile *t, int64_t kb, bool dw,
                          dlc_lstmt *(*inner)(conv *, tile *, bool)) {
  dlc_lmodule *m = c->m;
  tile u = *t;
  int64_t nk = kb ? c->CB / kb : 1;
  u.kbn = kb ? kb : c->CB;
  if (nk == 1) {
    u.icb0 = INT(0);
    u.first = u.last = dlc_lx_const(m, DLC_BOOL, 1);
    return inner(c, &u, dw);
  }
  dlc_lvar *v = ivar(c);
  u.icb0 = MUL(VAR(v), INT(kb));
  u.first = dlc_lx_cmp(m, DLC_LX_EQ, VAR(v), INT(0));
  u.last = dlc_lx_cmp(m, DLC_LX_EQ, VAR(v), INT(nk - 1));
  return loop(c, v, nk, DLC_LOOP_SERIAL, inner(c, &u, dw));
}

/* every row of the tile's output blocks, one K block */
static dlc_lstmt *rows_serial(conv *c, tile *t, bool dw) {
  return rows(c, t, dw, DLC_LOOP_SERIAL, row_tiles);
}

/* Over output blocks (tiles of nb, then the remainder) and rows. With at
 * least 4 tiles of output blocks, threads share the tiles (one parallel
 * loop per convolution), and each tile goes over K in blocks whose weights
 * stay in cache while every row reads them; the partial sums wait in y.
 * Otherwise threads share the rows, and each tile sums all of K at once. */
static dlc_lstmt *blocks_rows(conv *c, bool dw) {
  int64_t jf = c->MB / c->nb, jr = c->MB % c->nb;
  bool tiles_parallel = jf >= 4 && !dw;
  dlc_lstmt *s = NULL;
  for (int part = 0; part < 2; part++) {
    int64_t cnt = part ? (jr ? 1 : 0) : jf;
    if (!cnt)
      continue;
    tile u = {.blocks = part ? jr : c->nb, .jt = dlc_lx_int(c->m, part ? jf : 0)};
    if (!part && tiles_parallel) {
      dlc_lvar *vj = ivar(c);
      u.jt = dlc_lx_var(c->m, vj);
      u.shared = true;
      dlc_ls_append(&s, loop(c, vj, cnt, DLC_LOOP_PARALLEL, kblocks(c, &u, c->kb, dw, rows_serial)));
    } else {
      /* rows outermost, shared among threads; all of K in one block */
      u.icb0 = dlc_lx_int(c->m, 0);
      u.first = u.last = dlc_lx_const(c->m, DLC_BOOL, 1);
      u.kbn = c->CB;
      u.njt = cnt;
      dlc_ls_append(&s, rows(c, &u, dw, DLC_LOOP_PARALLEL, cnt > 1 ? tiles_of_rows : row_tiles));
    }
  }
  return s;
}

dlc_lstmt *dlc_tile_conv(dlc_lmodule *m, dlc_kernel *k, const dlc_lconv *r) {
  conv c = {
      .m = m, .r = r, .X = r->X, .Y = r->Y, .CB = r->CB, .ib = r->ib, .Hp = r->H,
      .Wpd = r->W_, .pt = r->pt, .pl = r->pl, .MB = r->MB, .ob = r->ob, .OH = r->OH,
      .OW = r->OW, .KH = r->KH, .KW = r->KW, .sh = r->sh, .sw = r->sw, .dh = r->dh,
      .dw = r->dw, .vec = 64 / (int64_t)dlc_dtype_size(r->Y->type.dtype),
  };
  bool dw = r->depthwise;
  dlc_dtype dt = r->Y->type.dtype;
  choose_tile(&c, dw);
  /* input blocks per K block: the most whose weights for one tile fit
   * WBLOCK_BYTES, dividing CB */
  int64_t per = c.ib * c.KH * c.KW * c.nb * c.ob * (int64_t)dlc_dtype_size(dt);
  c.kb = 1;
  for (int64_t d = 1; d <= c.CB; d++)
    if (c.CB % d == 0 && d * per <= WBLOCK_BYTES)
      c.kb = d;
  c.Wp = pack_weights(&c, r->W);
  dlc_kernel_use(k, c.Wp);
  dlc_type at = {.dtype = dt, .rank = 1, .dims = {c.rw * c.nb * c.ob}};
  c.acc = dlc_lmodule_add_buf(m, DLC_BUF_LOCAL, "acc", &at);
  dlc_kernel_use(k, c.acc);
  dlc_lvar *vn = r->N > 1 ? ivar(&c) : NULL;
  c.vn = vn ? VAR(vn) : INT(0);
  dlc_lstmt *body = blocks_rows(&c, dw);
  return vn ? loop(&c, vn, r->N, DLC_LOOP_SERIAL, body) : body;
}
