/* Convolution on channel blocks (conv2d_nchwc) as its plain nest, for the
 * tile pass (dlc_lconv; the tiles are in tile_conv.c), and the layout
 * changes around it (to_nchwc, to_nchw).
 *
 * With one group, padding is a copy into a zeroed scratch buffer first, as
 * for conv2d; a depthwise convolution reads x unpadded, and its nest (then
 * its border tiles) tests the positions it reads. */
#include "lower_internal.h"

/* A chain fused into the convolution reads its operands at the output
 * element (n, ocb, oh, ow, l) of the blocked result. */
typedef struct epi {
  lower *L;
  dlc_lexpr *coords[5];
} epi;

static dlc_lexpr *epi_index(void *ctx, const dlc_type *t) {
  epi *e = ctx;
  return dlc_lower_bcast_at(e->L, t, 5, e->coords);
}

void dlc_lower_conv_nchwc(lower *L, const dlc_node *n, dlc_kernel *k, dlc_lstmt *prologue,
                          dlc_lbuf *X) {
  dlc_lmodule *m = L->m;
  const dlc_type *tx = &X->type, *tw = &n->in[1]->type, *ty = &n->type;
  const dlc_attrs *a = &n->attr;
  dlc_lconv *r = dlc_arena_alloc(m->arena, sizeof *r);
  *r = (dlc_lconv){
      .X = X, .W = L->buf[n->in[1]->id], .Y = L->buf[n->id], .N = tx->dims[0],
      .CB = tx->dims[1], .ib = tx->rank == 5 ? tx->dims[4] : 1, .H = tx->dims[2],
      .W_ = tx->dims[3], .MB = ty->dims[1], .ob = ty->dims[4], .OH = ty->dims[2],
      .OW = ty->dims[3], .KH = tw->dims[2], .KW = tw->dims[3], .sh = a->stride[0],
      .sw = a->stride[1], .dh = a->dilation[0], .dw = a->dilation[1],
      .depthwise = a->groups > 1,
  };
  if (X == L->buf[n->in[0]->id]) { /* not padded by a copy: reads test */
    r->pt = a->pad[0];
    r->pl = a->pad[1];
  }
  bool guard = X == L->buf[n->in[0]->id] && (a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3]);
  dlc_lvar *v[10];
  dlc_lower_new_vars(L, v, 10);
  dlc_lvar *vicb = v[5], *vp = v[6], *vq = v[7], *vic = v[8];
  r->n = v[0], r->ocb = v[1], r->oh = v[2], r->ow = v[3], r->l = v[4];
  dlc_dtype dt = ty->dtype;
  r->acc = dlc_kernel_local(m, k, dt);
  dlc_lexpr *ACC = VAR(r->acc), *o = ADD(MUL(VAR(r->ocb), INT(r->ob)), VAR(r->l));
  /* the value: bias, then the fused chain */
  dlc_lexpr *val = ACC;
  if (n->nin > 2)
    val = ADD(val, LOAD(L->buf[n->in[2]->id], o));
  epi *e = dlc_arena_alloc(m->arena, sizeof *e);
  *e = (epi){.L = L, .coords = {VAR(r->n), VAR(r->ocb), VAR(r->oh), VAR(r->ow), VAR(r->l)}};
  r->value = dlc_lower_chain(L, val, epi_index, e);
  /* x at the window's tap, 0 in the padding */
  dlc_lexpr *icb = r->depthwise ? VAR(r->ocb) : VAR(vicb);
  dlc_lexpr *ic = r->depthwise ? VAR(r->l) : VAR(vic);
  dlc_lexpr *h = SUB(ADD(MUL(VAR(r->oh), INT(r->sh)), MUL(VAR(vp), INT(r->dh))), INT(r->pt));
  dlc_lexpr *w = SUB(ADD(MUL(VAR(r->ow), INT(r->sw)), MUL(VAR(vq), INT(r->dw))), INT(r->pl));
  dlc_lexpr *inside = NULL;
  if (guard) {
    inside = AND(dlc_lower_in_range(m, h, r->H), dlc_lower_in_range(m, w, r->W_));
    h = dlc_lower_clamp(m, h, r->H);
    w = dlc_lower_clamp(m, w, r->W_);
  }
  dlc_lexpr *plane = ADD(MUL(VAR(r->n), INT(r->CB)), icb);
  dlc_lexpr *x = LOAD(X, ADD(MUL(ADD(MUL(ADD(MUL(plane, INT(r->H)), h), INT(r->W_)), w),
                                 INT(r->ib)), ic));
  if (inside)
    x = dlc_lx_select(m, inside, x, CONST(dt, 0));
  dlc_lexpr *ci = r->depthwise ? INT(0) : ADD(MUL(VAR(vicb), INT(r->ib)), VAR(vic));
  dlc_lexpr *wi = ADD(MUL(ADD(MUL(ADD(MUL(o, INT(r->depthwise ? 1 : r->CB * r->ib)), ci),
                                  INT(r->KH)), VAR(vp)), INT(r->KW)), VAR(vq));
  dlc_lstmt *sum = dlc_ls_assign(m, r->acc, ADD(ACC, MUL(x, LOAD(r->W, wi))));
  if (!r->depthwise)
    sum = dlc_ls_loop(m, vic, r->ib, DLC_LOOP_SERIAL, sum);
  sum = dlc_ls_loop(m, vq, r->KW, DLC_LOOP_SERIAL, sum);
  sum = dlc_ls_loop(m, vp, r->KH, DLC_LOOP_SERIAL, sum);
  if (!r->depthwise)
    sum = dlc_ls_loop(m, vicb, r->CB, DLC_LOOP_SERIAL, sum);
  dlc_lexpr *yi = ADD(MUL(ADD(MUL(ADD(MUL(ADD(MUL(VAR(r->n), INT(r->MB)), VAR(r->ocb)),
                                          INT(r->OH)), VAR(r->oh)), INT(r->OW)), VAR(r->ow)),
                          INT(r->ob)), VAR(r->l));
  dlc_lstmt *body = dlc_ls_assign(m, r->acc, CONST(dt, 0));
  dlc_ls_append(&body, sum);
  dlc_ls_append(&body, dlc_ls_store(m, r->Y, yi, r->value));
  body = dlc_ls_loop(m, r->l, r->ob, DLC_LOOP_SERIAL, body);
  body = dlc_ls_loop(m, r->ow, r->OW, DLC_LOOP_SERIAL, body);
  body = dlc_ls_loop(m, r->oh, r->OH, DLC_LOOP_SERIAL, body);
  body = dlc_ls_loop(m, r->ocb, r->MB, DLC_LOOP_PARALLEL, body);
  body = dlc_ls_loop(m, r->n, r->N, DLC_LOOP_SERIAL, body);
  body->conv = r;
  dlc_kernel_use(k, X);
  dlc_kernel_use(k, r->W);
  dlc_ls_append(&prologue, body);
  k->body = prologue;
}

/* ---- layout changes ----
 * to_nchwc: for n, cb (threads), h, w, l (vectorized): y = x[n, cb*b + l, h, w]
 * to_nchw: for n, cb (threads), l, h, w (vectorized): y[n, cb*b + l, h, w] = x
 * Both vector loops gather one side (stride H*W or b). */
void dlc_lower_layout(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  bool to_blocked = n->op == DLC_OP_TO_NCHWC;
  const dlc_type *tb = to_blocked ? &n->type : &n->in[0]->type;
  int64_t N = tb->dims[0], CB = tb->dims[1], H = tb->dims[2], W = tb->dims[3], b = tb->dims[4];
  dlc_lvar *vn = dlc_lvar_new(m, DLC_I64, "i"), *vc = dlc_lvar_new(m, DLC_I64, "i"),
           *vh = dlc_lvar_new(m, DLC_I64, "i"), *vw = dlc_lvar_new(m, DLC_I64, "i"),
           *vl = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lexpr *plain = ADD(MUL(ADD(MUL(ADD(MUL(VAR(vn), INT(CB * b)),
                                         ADD(MUL(VAR(vc), INT(b)), VAR(vl))), INT(H)), VAR(vh)),
                             INT(W)), VAR(vw));
  dlc_lexpr *blk = ADD(MUL(ADD(MUL(ADD(MUL(ADD(MUL(VAR(vn), INT(CB)), VAR(vc)), INT(H)), VAR(vh)),
                                   INT(W)), VAR(vw)), INT(b)), VAR(vl));
  dlc_lbuf *Y = L->buf[n->id], *X = L->buf[n->in[0]->id];
  dlc_lstmt *s = to_blocked ? dlc_ls_store(m, Y, blk, LOAD(X, plain))
                            : dlc_ls_store(m, Y, plain, LOAD(X, blk));
  if (to_blocked) {
    s = dlc_ls_loop(m, vl, b, DLC_LOOP_VECTORIZED, s);
    s = dlc_ls_loop(m, vw, W, DLC_LOOP_SERIAL, s);
    s = dlc_ls_loop(m, vh, H, DLC_LOOP_SERIAL, s);
  } else {
    s = dlc_ls_loop(m, vw, W, DLC_LOOP_VECTORIZED, s);
    s = dlc_ls_loop(m, vh, H, DLC_LOOP_SERIAL, s);
    s = dlc_ls_loop(m, vl, b, DLC_LOOP_SERIAL, s);
  }
  s = dlc_ls_loop(m, vc, CB, DLC_LOOP_PARALLEL, s);
  k->body = dlc_ls_loop(m, vn, N, DLC_LOOP_SERIAL, s);
}
