/* Lowering of the neural-network operators: reductions, batch and layer
 * normalization, convolution and pooling. Convolution and pooling
 * accumulate into their output row by row so that the innermost loop runs
 * along the output width, contiguous and vectorizable; padding is a guard
 * (a select over a load at a clamped, always valid, address). */
#include <stdlib.h>

#include "lower_internal.h"

/* ---- reductions: for each kept index, acc over the reduced axes ---- */

void dlc_lower_reduce(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *tx = &n->in[0]->type;
  dlc_dtype dt = tx->dtype;
  int r = tx->rank;
  bool reduced[DLC_MAX_RANK] = {0};
  for (int i = 0; i < n->attr.nints; i++)
    reduced[n->attr.ints[i]] = true;
  dlc_lvar *vars[DLC_MAX_RANK];
  dlc_lower_new_vars(L, vars, r);
  /* x is read at every index; the output index is over the kept axes */
  dlc_lexpr *yi = INT(0);
  int64_t ys = 1, count = 1;
  for (int d = r - 1; d >= 0; d--) {
    if (reduced[d]) {
      count *= tx->dims[d];
    } else {
      yi = ADD(yi, MUL(VAR(vars[d]), INT(ys)));
      ys *= tx->dims[d];
    }
  }
  dlc_lvar *acc = dlc_kernel_local(m, k, dt);
  dlc_lexpr *coords[DLC_MAX_RANK];
  for (int d = 0; d < r; d++)
    coords[d] = VAR(vars[d]);
  dlc_lexpr *x = dlc_lower_operand_at(L, n, n->in[0], r, coords), *init, *step;
  switch (n->op) {
  case DLC_OP_MAX:
    init = dlc_lx_lowest(m, dt);
    step = dlc_lx_binary(m, DLC_LX_MAX, VAR(acc), x);
    break;
  case DLC_OP_MIN:
    init = dlc_lx_highest(m, dt);
    step = dlc_lx_binary(m, DLC_LX_MIN, VAR(acc), x);
    break;
  default: /* sum, mean, global_avg_pool */
    init = CONST(dt, 0);
    step = ADD(VAR(acc), x);
    break;
  }
  dlc_lstmt *inner = dlc_ls_assign(m, acc, step);
  /* a reduction along the last, contiguous axis runs in vector lanes */
  for (int d = r - 1; d >= 0; d--)
    if (reduced[d])
      inner = dlc_ls_loop(m, vars[d], tx->dims[d],
                          d == r - 1 && inner->kind == DLC_LS_ASSIGN ? DLC_LOOP_VECTORIZED
                                                                     : DLC_LOOP_SERIAL,
                          inner);
  dlc_lexpr *result = VAR(acc);
  if (n->op == DLC_OP_MEAN || n->op == DLC_OP_GLOBAL_AVG_POOL)
    result = DIV(result, CONST(dt, (double)count));
  dlc_lstmt *body = dlc_ls_assign(m, acc, init);
  body->next = inner;
  inner->next = dlc_ls_store(m, L->buf[n->id], yi, result);
  for (int d = r - 1; d >= 0; d--)
    if (!reduced[d])
      body = dlc_ls_loop(m, vars[d], tx->dims[d], DLC_LOOP_SERIAL, body);
  /* the outermost kept loop runs its iterations independently */
  if (body->kind == DLC_LS_LOOP && body->next == NULL && !reduced[0])
    body->loop_kind = DLC_LOOP_PARALLEL;
  k->body = body;
}

/* ---- batch_norm: elementwise with per-channel parameters ---- */

static void lower_batch_norm(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *t = &n->type;
  dlc_dtype dt = t->dtype;
  dlc_lvar *vars[DLC_MAX_RANK];
  dlc_lower_new_vars(L, vars, t->rank);
  dlc_lexpr *xi = dlc_lower_bcast_index(L, t, t->rank, vars);
  dlc_lexpr *c = VAR(vars[1]);
  dlc_lbuf *X = L->buf[n->in[0]->id], *scale = L->buf[n->in[1]->id],
           *bias = L->buf[n->in[2]->id], *mean = L->buf[n->in[3]->id],
           *var = L->buf[n->in[4]->id];
  /* (x - mean) / sqrt(var + eps) * scale + bias */
  dlc_lexpr *y = ADD(
      MUL(DIV(SUB(LOAD(X, xi), LOAD(mean, c)),
              dlc_lx_unary(m, DLC_LX_SQRT, ADD(LOAD(var, c), CONST(dt, n->attr.eps)))),
          LOAD(scale, c)),
      LOAD(bias, c));
  k->body = dlc_lower_nest(L, t->dims, t->rank, vars,
                           dlc_ls_store(m, L->buf[n->id], xi, y));
}

/* ---- layer_norm: per row of inner = prod(dims[axis:]) elements ---- */

static void lower_layer_norm(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *t = &n->type;
  dlc_dtype dt = t->dtype;
  int axis = (int)n->attr.axis;
  int64_t outer = dlc_lower_prod(t->dims, 0, axis),
          inner = dlc_lower_prod(t->dims, axis, t->rank);
  dlc_lbuf *G = L->buf[n->in[1]->id], *B = L->buf[n->in[2]->id], *Y = L->buf[n->id];
  dlc_lvar *o = dlc_lvar_new(m, DLC_I64, "i"), *i1 = dlc_lvar_new(m, DLC_I64, "i"),
           *i2 = dlc_lvar_new(m, DLC_I64, "i"), *i3 = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *sum = dlc_kernel_local(m, k, dt), *mu = dlc_kernel_local(m, k, dt),
           *dev = dlc_kernel_local(m, k, dt), *rstd = dlc_kernel_local(m, k, dt);
#define X_AT(v) dlc_lower_operand_flat(L, n, n->in[0], ADD(MUL(VAR(o), INT(inner)), VAR(v)))
  dlc_lstmt *s = dlc_ls_assign(m, sum, CONST(dt, 0));
  dlc_ls_append(&s, dlc_ls_loop(m, i1, inner, DLC_LOOP_VECTORIZED,
                                dlc_ls_assign(m, sum, ADD(VAR(sum), X_AT(i1)))));
  dlc_ls_append(&s, dlc_ls_assign(m, mu, DIV(VAR(sum), CONST(dt, (double)inner))));
  dlc_ls_append(&s, dlc_ls_assign(m, sum, CONST(dt, 0)));
  dlc_lstmt *d2 = dlc_ls_assign(m, dev, SUB(X_AT(i2), VAR(mu)));
  d2->next = dlc_ls_assign(m, sum, ADD(VAR(sum), MUL(VAR(dev), VAR(dev))));
  dlc_ls_append(&s, dlc_ls_loop(m, i2, inner, DLC_LOOP_VECTORIZED, d2));
  dlc_ls_append(&s, dlc_ls_assign(
                        m, rstd,
                        DIV(CONST(dt, 1),
                            dlc_lx_unary(m, DLC_LX_SQRT,
                                         ADD(DIV(VAR(sum), CONST(dt, (double)inner)),
                                             CONST(dt, n->attr.eps))))));
  dlc_lexpr *y = ADD(MUL(MUL(SUB(X_AT(i3), VAR(mu)), VAR(rstd)), LOAD(G, VAR(i3))),
                     LOAD(B, VAR(i3)));
  dlc_ls_append(&s, dlc_ls_loop(m, i3, inner, DLC_LOOP_VECTORIZED,
                                dlc_ls_store(m, Y, ADD(MUL(VAR(o), INT(inner)), VAR(i3)), y)));
#undef X_AT
  k->body = dlc_ls_loop(m, o, outer, DLC_LOOP_PARALLEL, s);
}

void dlc_lower_norm(lower *L, const dlc_node *n, dlc_kernel *k) {
  if (n->op == DLC_OP_BATCH_NORM)
    lower_batch_norm(L, n, k);
  else
    lower_layer_norm(L, n, k);
}

/* ---- conv2d ----
 * With padding, the input is first copied into a zeroed, padded scratch
 * buffer, so the loops below never test bounds. Then:
 * for n, g, mi (m = g*Mg + mi), oh:
 *   y[n,m,oh,:] = bias[m] (or 0)
 *   for c, p: row = x row (oh*sh + p*dh) of channel g*Cg + c
 *     for q: wv = w[m,c,p,q]
 *       for ow: y[n,m,oh,ow] += wv * row[ow*sw + q*dw] */

static bool has_pad(const dlc_attrs *a) {
  return a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3];
}

/* A depthwise convolution on channel blocks reads x itself: its plain
 * nest tests every position it reads, and its tiles (tile_conv.c) those at
 * the border. */
static bool pads_in_place(const dlc_node *n) {
  return n->op == DLC_OP_CONV2D_NCHWC && n->attr.groups > 1;
}

dlc_type dlc_lower_conv_scratch(const dlc_node *n) {
  dlc_type t = {0};
  if (dlc_ops[n->op].kind != DLC_KIND_CONV || !has_pad(&n->attr) || pads_in_place(n))
    return t;
  t = n->in[0]->type; /* dims 2 and 3 are H and W, blocked or not */
  t.dims[2] += n->attr.pad[0] + n->attr.pad[2];
  t.dims[3] += n->attr.pad[1] + n->attr.pad[3];
  return t;
}

/* Zeros P[at + 0 .. at + n-1] (nothing when n is 0). */
static dlc_lstmt *zeros(dlc_lmodule *m, dlc_lbuf *P, dlc_lexpr *at, int64_t n) {
  if (n <= 0)
    return NULL;
  dlc_lvar *z = dlc_lvar_new(m, DLC_I64, "i");
  return dlc_ls_loop(m, z, n, DLC_LOOP_VECTORIZED,
                     dlc_ls_store(m, P, ADD(at, VAR(z)), CONST(P->type.dtype, 0)));
}

/* P[nc, top + h, left + w] = X[nc, h, w] and zeros around it, where an
 * element is b values when channels are blocked (rank 5, b = dims[4]).
 * Each byte of P is written once: the rows of padding above and below,
 * and each row's padding on the left and right, are the only zeros. Per
 * plane, so threads share all of it. */
static dlc_lstmt *pad_copy(lower *L, dlc_lbuf *X, dlc_lbuf *P, const dlc_attrs *a) {
  dlc_lmodule *m = L->m;
  const dlc_type *tx = &X->type, *tp = &P->type;
  int64_t b = tx->rank == 5 ? tx->dims[4] : 1;
  int64_t NC = tx->dims[0] * tx->dims[1], H = tx->dims[2], W = tx->dims[3] * b;
  int64_t Hp = tp->dims[2], Wp = tp->dims[3] * b, top = a->pad[0], left = a->pad[1] * b;
  dlc_lvar *nc = dlc_lvar_new(m, DLC_I64, "i"), *h = dlc_lvar_new(m, DLC_I64, "i"),
           *w = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lexpr *plane = MUL(VAR(nc), INT(Hp * Wp));
  dlc_lexpr *row = ADD(plane, MUL(ADD(VAR(h), INT(top)), INT(Wp)));
  dlc_lexpr *src = ADD(MUL(ADD(MUL(VAR(nc), INT(H)), VAR(h)), INT(W)), VAR(w));
  dlc_lstmt *each = zeros(m, P, row, left);
  dlc_ls_append(&each, dlc_ls_loop(m, w, W, DLC_LOOP_VECTORIZED,
                                   dlc_ls_store(m, P, ADD(row, ADD(INT(left), VAR(w))), LOAD(X, src))));
  dlc_ls_append(&each, zeros(m, P, ADD(row, INT(left + W)), Wp - left - W));
  dlc_lstmt *s = zeros(m, P, plane, top * Wp);
  dlc_ls_append(&s, dlc_ls_loop(m, h, H, DLC_LOOP_SERIAL, each));
  dlc_ls_append(&s, zeros(m, P, ADD(plane, INT((top + H) * Wp)), (Hp - top - H) * Wp));
  return dlc_ls_loop(m, nc, NC, DLC_LOOP_PARALLEL, s);
}

/* ---- conv2d with one group: a matrix product per image ----
 * Y[n] (M x P, P = OH*OW) = W (M x Kc, Kc = C*kH*kW) times col (Kc x P),
 * where col[(c*kH + p)*kW + q][oh*OW + ow] = x[n, c, oh*sh + p*dh,
 * ow*sw + q*dw] (from the padded copy). A 1x1 convolution with stride 1
 * and no padding reads x itself as col. The product is left as its plain
 * nest; the tile pass packs the weights for its tiles at compile time. */

static bool conv_is_pointwise(const dlc_node *n) {
  const dlc_attrs *a = &n->attr;
  const dlc_type *tw = &n->in[1]->type;
  return tw->dims[2] == 1 && tw->dims[3] == 1 && a->stride[0] == 1 && a->stride[1] == 1 &&
         !has_pad(a);
}

bool dlc_lower_conv_is_gemm(const dlc_node *n) {
  return n->op == DLC_OP_CONV2D && n->attr.groups == 1 &&
         (n->in[1]->op == DLC_OP_WEIGHT || n->in[1]->op == DLC_OP_CONST) && n->type.dtype == DLC_F32;
}

/* The im2col matrix is made a chunk of output rows at a time, each chunk
 * small enough (Kc x rows*OW values in half of L2) that the product reads
 * it from cache. A chunk keeps at least two column tiles; a short last
 * chunk joins the one before. Sets the rows per chunk and of the last. */
#define COL_CHUNK_BYTES ((int64_t)512 * 1024)

static void conv_chunks(const dlc_node *n, int64_t *rows, int64_t *last) {
  const dlc_type *tw = &n->in[1]->type;
  int64_t Kc = tw->dims[1] * tw->dims[2] * tw->dims[3];
  int64_t OH = n->type.dims[2], OW = n->type.dims[3];
  int64_t r = COL_CHUNK_BYTES / (Kc * OW * (int64_t)dlc_dtype_size(n->type.dtype));
  int64_t min_rows = (2 * DLC_GEMM_NR + OW - 1) / OW;
  if (r < min_rows)
    r = min_rows;
  if (r >= OH) {
    *rows = *last = OH;
    return;
  }
  *rows = r;
  *last = OH % r ? OH % r : r;
  if (*last < min_rows) /* too short alone: it joins the chunk before */
    *last += r;
}

dlc_type dlc_lower_conv_col(const dlc_node *n) {
  dlc_type t = {0};
  if (!dlc_lower_conv_is_gemm(n) || conv_is_pointwise(n))
    return t;
  const dlc_type *tw = &n->in[1]->type;
  int64_t rows, last;
  conv_chunks(n, &rows, &last);
  t.dtype = n->type.dtype;
  t.rank = 2;
  t.dims[0] = tw->dims[1] * tw->dims[2] * tw->dims[3];
  t.dims[1] = (rows > last ? rows : last) * n->type.dims[3];
  return t;
}

typedef struct conv_epi {
  lower *L;
  dlc_lbuf *bias;
  int64_t img;
  dlc_lexpr *p0;    /* the first position of the current chunk */
  dlc_lexpr *i, *j; /* the element: channel i, position j = oh*OW + ow */
} conv_epi;

/* An operand of the fused chain at (img, i, j): fuse.c allows operands that
 * are constant over both spatial dims or cover them whole. */
static dlc_lexpr *conv_index(void *ctx, const dlc_type *t) {
  conv_epi *e = ctx;
  dlc_lmodule *m = e->L->m;
  dlc_type v = {.dtype = t->dtype, .rank = 3};
  int off = 4 - t->rank;
  for (int d = 0; d < 2; d++)
    v.dims[d] = d >= off ? t->dims[d - off] : 1;
  int64_t h = off <= 2 ? t->dims[2 - off] : 1, w = off <= 3 ? t->dims[3 - off] : 1;
  v.dims[2] = h * w;
  dlc_lexpr *coords[3] = {INT(e->img), e->i, v.dims[2] == 1 ? INT(0) : e->j};
  return dlc_lower_bcast_at(e->L, &v, 3, coords);
}

static dlc_lexpr *conv_bias(void *ctx, dlc_lexpr *acc, dlc_lexpr *i, dlc_lexpr *j) {
  conv_epi *e = ctx;
  dlc_lmodule *m = e->L->m;
  dlc_lexpr *v = e->bias ? ADD(acc, LOAD(e->bias, i)) : acc;
  e->i = i;
  e->j = ADD(e->p0, j);
  return dlc_lower_chain(e->L, v, conv_index, e);
}

static void lower_conv_gemm(lower *L, const dlc_node *n, dlc_kernel *k, dlc_lstmt *prologue,
                            dlc_lbuf *X) {
  dlc_lmodule *m = L->m;
  const dlc_type *tw = &n->in[1]->type, *ty = &n->type, *tx = &X->type;
  const dlc_attrs *a = &n->attr;
  int64_t N = tx->dims[0], C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];
  int64_t M = tw->dims[0], kH = tw->dims[2], kW = tw->dims[3];
  int64_t OH = ty->dims[2], OW = ty->dims[3], P = OH * OW, Kc = C * kH * kW;
  dlc_lbuf *Wb = L->buf[n->in[1]->id];
  dlc_lbuf *bias = n->nin > 2 ? L->buf[n->in[2]->id] : NULL;
  dlc_lbuf *col = L->scratch2;
  dlc_lstmt *s = prologue;
  int64_t rows, last;
  conv_chunks(n, &rows, &last);
  if (!col)
    rows = last = OH; /* reading x itself: one chunk */
  /* full chunks in a loop, then the last (which may be longer) */
  int64_t nfull = col ? (OH - last) / rows : 0;
  for (int64_t img = 0; img < N; img++)
    for (int part = 0; part < 2; part++) {
      if (part == 0 && !nfull)
        continue;
      dlc_lvar *vch = part == 0 && nfull > 1 ? dlc_lvar_new(m, DLC_I64, "i") : NULL;
      int64_t R = part ? last : rows, CN = R * OW;
      /* output rows oh0 .. oh0+R-1: positions p0 .. p0+R*OW-1 */
      dlc_lexpr *oh0 = part ? INT(nfull * rows) : vch ? MUL(VAR(vch), INT(rows)) : INT(0);
      dlc_lexpr *p0 = MUL(oh0, INT(OW));
      conv_epi *epi = dlc_arena_alloc(m->arena, sizeof *epi);
      *epi = (conv_epi){.L = L, .bias = bias, .img = img, .p0 = p0};
      dlc_lgemm *G = dlc_arena_alloc(m->arena, sizeof *G);
      *G = (dlc_lgemm){
          .M = M, .N = CN, .K = Kc, .lda = Kc, .ldb = col ? CN : P, .ldc = P,
          .A = Wb, .a_off = INT(0), .B = col ? col : X, .b_off = INT(col ? 0 : img * C * H * W),
          .C = L->buf[n->id], .c_off = ADD(INT(img * M * P), p0), .b_chunked = true,
      };
      dlc_lstmt *cs = NULL;
      if (col) {
        dlc_kernel_use(k, col);
        dlc_lvar *vc = dlc_lvar_new(m, DLC_I64, "i"), *vp = dlc_lvar_new(m, DLC_I64, "i"),
                 *vq = dlc_lvar_new(m, DLC_I64, "i"), *voh = dlc_lvar_new(m, DLC_I64, "i"),
                 *vow = dlc_lvar_new(m, DLC_I64, "i");
        dlc_lexpr *row = ADD(MUL(ADD(MUL(VAR(vc), INT(kH)), VAR(vp)), INT(kW)), VAR(vq));
        dlc_lexpr *dst = ADD(MUL(row, INT(CN)), ADD(MUL(VAR(voh), INT(OW)), VAR(vow)));
        dlc_lexpr *ih = ADD(MUL(ADD(oh0, VAR(voh)), INT(a->stride[0])),
                            MUL(VAR(vp), INT(a->dilation[0])));
        dlc_lexpr *iw = ADD(MUL(VAR(vow), INT(a->stride[1])), MUL(VAR(vq), INT(a->dilation[1])));
        dlc_lexpr *src = ADD(MUL(ADD(MUL(ADD(INT(img * C), VAR(vc)), INT(H)), ih), INT(W)), iw);
        dlc_lstmt *cp = dlc_ls_store(m, col, dst, LOAD(X, src));
        cp = dlc_ls_loop(m, vow, OW, DLC_LOOP_VECTORIZED, cp);
        cp = dlc_ls_loop(m, voh, R, DLC_LOOP_SERIAL, cp);
        cp = dlc_ls_loop(m, vq, kW, DLC_LOOP_SERIAL, cp);
        cp = dlc_ls_loop(m, vp, kH, DLC_LOOP_SERIAL, cp);
        dlc_ls_append(&cs, dlc_ls_loop(m, vc, C, DLC_LOOP_PARALLEL, cp));
      }
      dlc_ls_append(&cs, dlc_lower_product(L, k, G, conv_bias, epi, true));
      dlc_ls_append(&s, vch ? dlc_ls_loop(m, vch, nfull, DLC_LOOP_SERIAL, cs) : cs);
    }
  k->body = s;
}

/* A chain fused into a direct convolution reads its operands at the
 * output element (n, m, oh, ow). */
typedef struct direct_at {
  lower *L;
  dlc_lexpr *coords[4];
} direct_at;

static dlc_lexpr *direct_index(void *ctx, const dlc_type *t) {
  direct_at *a = ctx;
  return dlc_lower_bcast_at(a->L, t, 4, a->coords);
}

void dlc_lower_conv(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *tw = &n->in[1]->type, *ty = &n->type;
  const dlc_attrs *a = &n->attr;
  dlc_dtype dt = ty->dtype;
  dlc_lbuf *X = L->buf[n->in[0]->id], *Wb = L->buf[n->in[1]->id], *Y = L->buf[n->id];
  dlc_lbuf *B = n->nin > 2 ? L->buf[n->in[2]->id] : NULL;
  dlc_lstmt *prologue = NULL;
  if (has_pad(a) && !pads_in_place(n)) {
    DLC_ASSERT(L->scratch);
    dlc_kernel_use(k, L->scratch);
    prologue = pad_copy(L, X, L->scratch, a);
    X = L->scratch;
  }
  if (n->op == DLC_OP_CONV2D_NCHWC) {
    dlc_lower_conv_nchwc(L, n, k, prologue, X);
    return;
  }
  if (dlc_lower_conv_is_gemm(n)) {
    lower_conv_gemm(L, n, k, prologue, X);
    return;
  }
  const dlc_type *tx = &X->type;
  int64_t N = tx->dims[0], C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];
  int64_t M = tw->dims[0], kH = tw->dims[2], kW = tw->dims[3];
  int64_t G = a->groups, Mg = M / G, Cg = C / G, OH = ty->dims[2], OW = ty->dims[3];
  dlc_lvar *vn = dlc_lvar_new(m, DLC_I64, "i"), *vg = dlc_lvar_new(m, DLC_I64, "i"),
           *vmi = dlc_lvar_new(m, DLC_I64, "i"), *voh = dlc_lvar_new(m, DLC_I64, "i"),
           *vow = dlc_lvar_new(m, DLC_I64, "i"), *vc = dlc_lvar_new(m, DLC_I64, "i"),
           *vp = dlc_lvar_new(m, DLC_I64, "i"), *vq = dlc_lvar_new(m, DLC_I64, "i"),
           *vow2 = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *wv = dlc_kernel_local(m, k, dt), *xrow = dlc_kernel_local(m, k, DLC_I64);
  dlc_lexpr *mm = ADD(MUL(VAR(vg), INT(Mg)), VAR(vmi));
  /* y[n, m, oh, ow] */
#define Y_AT(ow) ADD(MUL(ADD(MUL(ADD(MUL(VAR(vn), INT(M)), mm), INT(OH)), VAR(voh)), INT(OW)), VAR(ow))
  /* each output row is summed in a local row (registers when short) and
   * stored once, through the fused chain */
  dlc_type rt = {.dtype = dt, .rank = 1, .dims = {OW}};
  dlc_lbuf *racc = dlc_lmodule_add_buf(m, DLC_BUF_LOCAL, "row", &rt);
  dlc_kernel_use(k, racc);
  dlc_lstmt *init = dlc_ls_loop(m, vow, OW, DLC_LOOP_VECTORIZED,
                                dlc_ls_store(m, racc, VAR(vow), B ? LOAD(B, mm) : CONST(dt, 0)));
  /* the start of input row oh*sh + p*dh of channel g*Cg + c */
  dlc_lexpr *chan = ADD(MUL(VAR(vg), INT(Cg)), VAR(vc));
  dlc_lstmt *pbody = dlc_ls_assign(
      m, xrow,
      MUL(ADD(MUL(ADD(MUL(VAR(vn), INT(C)), chan), INT(H)),
              ADD(MUL(VAR(voh), INT(a->stride[0])), MUL(VAR(vp), INT(a->dilation[0])))),
          INT(W)));
  dlc_lexpr *xi = ADD(VAR(xrow), ADD(MUL(VAR(vow2), INT(a->stride[1])),
                                     MUL(VAR(vq), INT(a->dilation[1]))));
  dlc_lstmt *acc = dlc_ls_store(m, racc, VAR(vow2),
                                ADD(LOAD(racc, VAR(vow2)), MUL(VAR(wv), LOAD(X, xi))));
  dlc_lexpr *wi = ADD(MUL(ADD(MUL(ADD(MUL(mm, INT(Cg)), VAR(vc)), INT(kH)), VAR(vp)), INT(kW)),
                      VAR(vq));
  dlc_lstmt *qbody = dlc_ls_assign(m, wv, LOAD(Wb, wi));
  qbody->next = dlc_ls_loop(m, vow2, OW, DLC_LOOP_VECTORIZED, acc);
  pbody->next = dlc_ls_loop(m, vq, kW, DLC_LOOP_SERIAL, qbody);
  dlc_lstmt *cbody = dlc_ls_loop(m, vp, kH, DLC_LOOP_SERIAL, pbody);
  init->next = dlc_ls_loop(m, vc, Cg, DLC_LOOP_SERIAL, cbody);
  {
    dlc_lvar *vow4 = dlc_lvar_new(m, DLC_I64, "i");
    direct_at *at = dlc_arena_alloc(m->arena, sizeof *at);
    *at = (direct_at){.L = L, .coords = {VAR(vn), mm, VAR(voh), VAR(vow4)}};
    init->next->next = dlc_ls_loop(
        m, vow4, OW, DLC_LOOP_VECTORIZED,
        dlc_ls_store(m, Y, Y_AT(vow4), dlc_lower_chain(L, LOAD(racc, VAR(vow4)), direct_index, at)));
  }
#undef Y_AT
  dlc_lstmt *body = dlc_ls_loop(m, voh, OH, DLC_LOOP_SERIAL, init);
  body = dlc_ls_loop(m, vmi, Mg, DLC_LOOP_SERIAL, body);
  /* threads take groups (a depthwise convolution has one per channel),
   * else images */
  if (G >= 2) {
    body = dlc_ls_loop(m, vn, N, DLC_LOOP_SERIAL, body);
    body = dlc_ls_loop(m, vg, G, DLC_LOOP_PARALLEL, body);
  } else {
    body = dlc_ls_loop(m, vg, G, DLC_LOOP_SERIAL, body);
    body = dlc_ls_loop(m, vn, N, DLC_LOOP_PARALLEL, body);
  }
  dlc_ls_append(&prologue, body);
  k->body = prologue;
}

/* ---- pooling: the same row-wise shape as conv2d, one channel at a time ----
 * On blocked channels (rank 5) each position holds b channels: the loops
 * over ow are serial and the b lanes of a position are the vector. */

/* for v in 0..len: body, vectorized over v, or over the lanes l */
static dlc_lstmt *ow_loop(dlc_lmodule *m, dlc_lvar *v, int64_t len, int64_t b, dlc_lvar *l,
                          dlc_lstmt *body) {
  if (b == 1)
    return dlc_ls_loop(m, v, len, DLC_LOOP_VECTORIZED, body);
  return dlc_ls_loop(m, v, len, DLC_LOOP_SERIAL, dlc_ls_loop(m, l, b, DLC_LOOP_VECTORIZED, body));
}

/* the index of position e's lane l */
static dlc_lexpr *lane(dlc_lmodule *m, dlc_lexpr *e, int64_t b, dlc_lvar *l) {
  return b == 1 ? e : ADD(MUL(e, INT(b)), VAR(l));
}

void dlc_lower_pool(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *tx = &n->in[0]->type, *ty = &n->type;
  const dlc_attrs *a = &n->attr;
  dlc_dtype dt = ty->dtype;
  bool is_max = n->op == DLC_OP_MAX_POOL2D;
  int64_t b = tx->rank == 5 ? tx->dims[4] : 1;
  int64_t NC = tx->dims[0] * tx->dims[1], H = tx->dims[2], W = tx->dims[3];
  int64_t kH = a->kernel[0], kW = a->kernel[1], OH = ty->dims[2], OW = ty->dims[3];
  dlc_lbuf *X = L->buf[n->in[0]->id], *Y = L->buf[n->id];
  dlc_lvar *vnc = dlc_lvar_new(m, DLC_I64, "i"), *voh = dlc_lvar_new(m, DLC_I64, "i"),
           *vow = dlc_lvar_new(m, DLC_I64, "i"), *vp = dlc_lvar_new(m, DLC_I64, "i"),
           *vow3 = dlc_lvar_new(m, DLC_I64, "i"), *l1 = dlc_lvar_new(m, DLC_I64, "i"),
           *l3 = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *ih = dlc_kernel_local(m, k, DLC_I64);
#define Y_AT(ow, l) lane(m, ADD(MUL(ADD(MUL(VAR(vnc), INT(OH)), VAR(voh)), INT(OW)), VAR(ow)), b, l)
  dlc_lexpr *pad_value = is_max ? dlc_lx_lowest(m, dt) : CONST(dt, 0);
  dlc_lstmt *s = ow_loop(m, vow, OW, b, l1, dlc_ls_store(m, Y, Y_AT(vow, l1), pad_value));
  dlc_lstmt *pbody = dlc_ls_assign(
      m, ih, ADD(SUB(MUL(VAR(voh), INT(a->stride[0])), INT(a->pad[0])), VAR(vp)));
  /* Each window column q is three runs of ow: where the column falls in
   * the left padding, inside x, and in the right padding. Inside, the
   * input column is ow*stride + q - pad with no test, so the loads stay
   * vector loads; only the row test (the same for every ow) remains. */
  int64_t sw = a->stride[1], pw = a->pad[1];
  for (int64_t q = 0; q < kW; q++) {
    int64_t lo = pw - q > 0 ? (pw - q + sw - 1) / sw : 0;
    int64_t hi = W - 1 + pw - q >= 0 ? (W - 1 + pw - q) / sw + 1 : 0;
    lo = lo > OW ? OW : lo;
    hi = hi > OW ? OW : hi < lo ? lo : hi;
    int64_t start[3] = {0, lo, hi}, len[3] = {lo, hi - lo, OW - hi};
    for (int part = 0; part < 3; part++) {
      if (!len[part])
        continue;
      dlc_lvar *v = dlc_lvar_new(m, DLC_I64, "i"), *l = dlc_lvar_new(m, DLC_I64, "i");
      dlc_lexpr *ow = ADD(INT(start[part]), VAR(v));
      dlc_lexpr *iw = ADD(MUL(ow, INT(sw)), INT(q - pw));
      dlc_lexpr *row = MUL(ADD(MUL(VAR(vnc), INT(H)), dlc_lower_clamp(m, VAR(ih), H)), INT(W));
      dlc_lexpr *inside = dlc_lower_in_range(m, VAR(ih), H);
      dlc_lexpr *xi;
      if (part == 1) {
        xi = ADD(row, iw);
      } else {
        xi = ADD(row, dlc_lower_clamp(m, iw, W));
        inside = AND(inside, dlc_lower_in_range(m, iw, W));
      }
      dlc_lexpr *xv = dlc_lx_select(m, inside, LOAD(X, lane(m, xi, b, l)),
                                    is_max ? dlc_lx_lowest(m, dt) : CONST(dt, 0));
      dlc_lexpr *yi = lane(m, ADD(MUL(ADD(MUL(VAR(vnc), INT(OH)), VAR(voh)), INT(OW)), ow), b, l);
      dlc_lexpr *upd = is_max ? dlc_lx_binary(m, DLC_LX_MAX, LOAD(Y, yi), xv) : ADD(LOAD(Y, yi), xv);
      dlc_ls_append(&pbody, ow_loop(m, v, len[part], b, l, dlc_ls_store(m, Y, yi, upd)));
    }
  }
  dlc_ls_append(&s, dlc_ls_loop(m, vp, kH, DLC_LOOP_SERIAL, pbody));
  if (!is_max) {
    /* divide by the window size, or by the part of it inside x */
    dlc_lexpr *div;
    if (a->count_include_pad) {
      div = CONST(dt, (double)(kH * kW));
    } else {
      dlc_lexpr *h0 = SUB(MUL(VAR(voh), INT(a->stride[0])), INT(a->pad[0]));
      dlc_lexpr *w0 = SUB(MUL(VAR(vow3), INT(a->stride[1])), INT(a->pad[1]));
      dlc_lexpr *hn = SUB(dlc_lx_binary(m, DLC_LX_MIN, ADD(h0, INT(kH)), INT(H)),
                          dlc_lx_binary(m, DLC_LX_MAX, h0, INT(0)));
      dlc_lexpr *wn = SUB(dlc_lx_binary(m, DLC_LX_MIN, ADD(w0, INT(kW)), INT(W)),
                          dlc_lx_binary(m, DLC_LX_MAX, w0, INT(0)));
      div = dlc_lx_cast(m, dt, MUL(hn, wn));
    }
    dlc_ls_append(&s, ow_loop(m, vow3, OW, b, l3,
                              dlc_ls_store(m, Y, Y_AT(vow3, l3), DIV(LOAD(Y, Y_AT(vow3, l3)), div))));
  }
#undef Y_AT
  dlc_lstmt *body = dlc_ls_loop(m, voh, OH, DLC_LOOP_SERIAL, s);
  k->body = dlc_ls_loop(m, vnc, NC, DLC_LOOP_PARALLEL, body);
}
