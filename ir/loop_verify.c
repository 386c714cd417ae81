/* The loop-IR verifier: a failure is a compiler bug in lowering or in a
 * loop pass, reported as an internal error naming the kernel. */
#include <stdlib.h>

#include "loop.h"
#include "util.h"

typedef struct ctx {
  const dlc_kernel *k;
  dlc_diag *d;
  const dlc_lvar *scope[64]; /* enclosing loop variables */
  int depth;
  dlc_status st;
} ctx;

/* Loop s if it runs over v with n iterations (and, when `sole`, is the
 * only statement of its block), else NULL. */
static const dlc_lstmt *loop_over(const dlc_lstmt *s, const dlc_lvar *v, int64_t n, bool sole) {
  return s && (!sole || !s->next) && s->kind == DLC_LS_LOOP && s->var == v && s->extent == n
             ? s
             : NULL;
}

/* Whether block b is `acc = 0; <a loop over the sum>; out[...] = value`
 * with acc assigned in the sum and the value the record's. */
static bool sum_and_store(const dlc_lstmt *b, const dlc_lvar *acc, const dlc_lbuf *out,
                          const dlc_lexpr *value) {
  if (!b || b->kind != DLC_LS_ASSIGN || b->var != acc ||
      (b->value->kind != DLC_LX_FCONST && b->value->kind != DLC_LX_ICONST))
    return false;
  const dlc_lstmt *sum = b->next, *st = sum ? sum->next : NULL;
  return sum && sum->kind == DLC_LS_LOOP && st && !st->next && st->kind == DLC_LS_STORE &&
         st->buf == out && st->value == value;
}

/* Whether loop s is the plain nest its dlc_lgemm describes: rows over i,
 * columns over j, then the sum over K into acc and the store of value. */
static bool product_nest(const dlc_lstmt *s) {
  const dlc_lgemm *g = s->gemm;
  const dlc_lstmt *j = loop_over(s, g->i, g->M, false);
  j = j ? loop_over(j->body, g->j, g->N, true) : NULL;
  if (s->conv || !j || !g->A || !g->B || !g->C || !g->value ||
      !sum_and_store(j->body, g->acc, g->C, g->value))
    return false;
  const dlc_lstmt *k = j->body->next;
  return k->extent == g->K && k->body && !k->body->next && k->body->kind == DLC_LS_ASSIGN &&
         k->body->var == g->acc;
}

/* Whether loop s is the plain nest its dlc_lconv describes: images, output
 * blocks, rows, columns and lanes, then the sum into acc and the store of
 * value. */
static bool conv_nest(const dlc_lstmt *s) {
  const dlc_lconv *r = s->conv;
  const dlc_lstmt *l = loop_over(s, r->n, r->N, false);
  l = l ? loop_over(l->body, r->ocb, r->MB, true) : NULL;
  l = l ? loop_over(l->body, r->oh, r->OH, true) : NULL;
  l = l ? loop_over(l->body, r->ow, r->OW, true) : NULL;
  l = l ? loop_over(l->body, r->l, r->ob, true) : NULL;
  return !s->gemm && l && r->X && r->W && r->Y && r->value &&
         sum_and_store(l->body, r->acc, r->Y, r->value);
}

static void fail(ctx *c, const char *what) {
  if (c->st == DLC_OK)
    dlc_error(c->d, dlc_noloc(), "internal: loop verifier: kernel %s: %s",
              c->k->name, what);
  c->st = DLC_ERROR;
}

static bool is_param(const dlc_kernel *k, const dlc_lbuf *b) {
  for (int i = 0; i < k->nparams; i++)
    if (k->params[i] == b)
      return true;
  return false;
}

static bool is_local(const dlc_kernel *k, const dlc_lvar *v) {
  for (int i = 0; i < k->nlocals; i++)
    if (k->locals[i] == v)
      return true;
  return false;
}

static bool bound(ctx *c, const dlc_lvar *v) {
  for (int i = 0; i < c->depth; i++)
    if (c->scope[i] == v)
      return true;
  for (int i = 0; i < c->k->nlocals; i++)
    if (c->k->locals[i] == v)
      return true;
  return false;
}

static void expr(ctx *c, const dlc_lexpr *e) {
  if (!e) {
    fail(c, "missing expression");
    return;
  }
  if ((int)e->kind < 0 || e->kind >= DLC_LX_NUM) {
    fail(c, "bad expression kind");
    return;
  }
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    expr(c, e->a[i]);
  if (c->st != DLC_OK)
    return;
  switch (e->kind) {
  case DLC_LX_VAR:
    if (!bound(c, e->var))
      fail(c, "variable used outside its loop");
    else if (e->dtype != e->var->dtype)
      fail(c, "variable read with the wrong dtype");
    break;
  case DLC_LX_LOAD:
    if (!is_param(c->k, e->buf))
      fail(c, "load from a buffer that is not a parameter");
    else if (e->a[0]->dtype != DLC_I64)
      fail(c, "index is not i64");
    else if (e->dtype != e->buf->type.dtype)
      fail(c, "load dtype differs from the buffer's");
    break;
  case DLC_LX_CAST:
  case DLC_LX_ICONST:
  case DLC_LX_FCONST:
    break;
  case DLC_LX_EQ:
  case DLC_LX_LT:
  case DLC_LX_GT:
    if (e->dtype != DLC_BOOL)
      fail(c, "comparison is not bool");
    else if (e->a[0]->dtype != e->a[1]->dtype)
      fail(c, "operand dtypes differ");
    break;
  case DLC_LX_SELECT:
    if (e->a[0]->dtype != DLC_BOOL)
      fail(c, "select condition is not bool");
    else if (e->a[1]->dtype != e->dtype || e->a[2]->dtype != e->dtype)
      fail(c, "operand dtypes differ");
    break;
  case DLC_LX_AND:
    if (e->dtype != DLC_BOOL || e->a[0]->dtype != DLC_BOOL || e->a[1]->dtype != DLC_BOOL)
      fail(c, "and of non-bools");
    break;
  case DLC_LX_REM:
    if (dlc_dtype_is_float(e->dtype))
      fail(c, "rem on floats");
    /* fall through */
  default:
    for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
      if (e->a[i]->dtype != e->dtype)
        fail(c, "operand dtypes differ");
    break;
  }
}

static void block(ctx *c, const dlc_lstmt *s) {
  for (; s && c->st == DLC_OK; s = s->next) {
    switch (s->kind) {
    case DLC_LS_LOOP:
      if (s->extent < 1)
        fail(c, "loop extent below 1");
      if (s->var->dtype != DLC_I64)
        fail(c, "loop variable is not i64");
      if (s->gemm && !product_nest(s))
        fail(c, "a product loop is not the plain nest its record describes");
      if (s->conv && !conv_nest(s))
        fail(c, "a conv loop is not the plain nest its record describes");
      if (c->depth == 64) {
        fail(c, "loops nested too deep");
        return;
      }
      c->scope[c->depth++] = s->var;
      block(c, s->body);
      c->depth--;
      break;
    case DLC_LS_STORE:
      expr(c, s->index);
      expr(c, s->value);
      if (c->st != DLC_OK)
        return;
      if (!is_param(c->k, s->buf))
        fail(c, "store to a buffer that is not a parameter");
      else if (s->buf->kind == DLC_BUF_INPUT || s->buf->kind == DLC_BUF_CONST)
        fail(c, "store to a read-only buffer");
      else if (s->index->dtype != DLC_I64)
        fail(c, "index is not i64");
      else if (s->value->dtype != s->buf->type.dtype)
        fail(c, "stored value's dtype differs from the buffer's");
      break;
    case DLC_LS_PREFETCH:
      expr(c, s->index);
      if (c->st != DLC_OK)
        return;
      if (!is_param(c->k, s->buf))
        fail(c, "prefetch of a buffer that is not a parameter");
      else if (s->index->dtype != DLC_I64)
        fail(c, "index is not i64");
      break;
    case DLC_LS_ASSIGN:
      expr(c, s->value);
      if (c->st == DLC_OK && !is_local(c->k, s->var))
        fail(c, "assignment to a variable that is not a local");
      else if (c->st == DLC_OK && s->value->dtype != s->var->dtype)
        fail(c, "assigned value's dtype differs from the variable's");
      break;
    }
  }
}

dlc_status dlc_lmodule_verify(const dlc_lmodule *m, dlc_diag *d) {
  for (int i = 0; i < m->nkernels; i++) {
    ctx c = {.k = m->kernels[i], .d = d, .st = DLC_OK};
    block(&c, m->kernels[i]->body);
    if (c.st != DLC_OK)
      return DLC_ERROR;
  }
  for (int i = 0; i < m->nbufs; i++) {
    const dlc_lbuf *b = m->bufs[i];
    int hops = 0;
    for (const dlc_lbuf *s = b->share; s && hops <= m->nbufs; s = s->share, hops++)
      if (b->kind != DLC_BUF_TEMP || s->kind != DLC_BUF_TEMP) {
        dlc_error(d, dlc_noloc(),
                  "internal: loop verifier: buffer %s shares the bytes of %s; both must be temporaries",
                  b->name, s->name);
        return DLC_ERROR;
      }
    if (hops > m->nbufs) {
      dlc_error(d, dlc_noloc(), "internal: loop verifier: buffer %s shares bytes in a cycle", b->name);
      return DLC_ERROR;
    }
    if (b->kind == DLC_BUF_TEMP && m->planned &&
        (b->offset < 0 || b->offset + (int64_t)dlc_type_bytes(&b->type) >
                              m->workspace_size)) {
      dlc_error(d, dlc_noloc(), "internal: loop verifier: buffer %s lies outside the workspace",
                b->name);
      return DLC_ERROR;
    }
  }
  return DLC_OK;
}
