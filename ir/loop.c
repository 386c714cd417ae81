/* Loop-IR construction. Builders fold integer constant arithmetic, so index
 * expressions for static shapes stay small and readable when printed. */
#include "loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const dlc_lx_names[DLC_LX_NUM] = {
#define X(id, name, n) [DLC_LX_##id] = name,
#include "loop.def"
#undef X
};
const int dlc_lx_arity[DLC_LX_NUM] = {
#define X(id, name, n) [DLC_LX_##id] = n,
#include "loop.def"
#undef X
};
const char *const dlc_loop_kind_names[4] = {
    [DLC_LOOP_SERIAL] = "serial",
    [DLC_LOOP_PARALLEL] = "parallel",
    [DLC_LOOP_VECTORIZED] = "vectorized",
    [DLC_LOOP_UNROLLED] = "unrolled",
};

dlc_lmodule *dlc_lmodule_new(const char *name, int ninputs, int noutputs) {
  dlc_lmodule *m = dlc_xcalloc(1, sizeof *m);
  m->arena = dlc_arena_new();
  m->name = dlc_arena_strdup(m->arena, name);
  m->ninputs = ninputs;
  m->noutputs = noutputs;
  m->inputs = dlc_arena_alloc(m->arena, sizeof(dlc_lbuf *) * (size_t)(ninputs + 1));
  m->outputs = dlc_arena_alloc(m->arena, sizeof(dlc_lbuf *) * (size_t)(noutputs + 1));
  return m;
}

void dlc_lmodule_free(dlc_lmodule *m) {
  if (!m)
    return;
  for (int i = 0; i < m->nkernels; i++) {
    free(m->kernels[i]->params);
    free(m->kernels[i]->locals);
  }
  free(m->kernels);
  free(m->bufs);
  dlc_arena_free(m->arena);
  free(m);
}

dlc_lbuf *dlc_lmodule_add_buf(dlc_lmodule *m, dlc_buf_kind kind,
                              const char *name, const dlc_type *t) {
  dlc_lbuf *b = dlc_arena_alloc(m->arena, sizeof *b);
  b->id = m->nbufs;
  b->kind = kind;
  b->name = dlc_arena_strdup(m->arena, name);
  b->type = *t;
  DLC_PUSH(m->bufs, m->nbufs, m->capbufs, b);
  return b;
}

dlc_kernel *dlc_lmodule_add_kernel(dlc_lmodule *m, const char *name) {
  dlc_kernel *k = dlc_arena_alloc(m->arena, sizeof *k);
  k->name = dlc_arena_strdup(m->arena, name);
  DLC_PUSH(m->kernels, m->nkernels, m->capkernels, k);
  return k;
}

static bool expr_touches(const dlc_lexpr *e, const dlc_lbuf *b) {
  if (e->kind == DLC_LX_LOAD && e->buf == b)
    return true;
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    if (expr_touches(e->a[i], b))
      return true;
  return false;
}

static bool block_touches(const dlc_lstmt *s, const dlc_lbuf *b) {
  for (; s; s = s->next) {
    if (s->kind == DLC_LS_LOOP && block_touches(s->body, b))
      return true;
    if ((s->kind == DLC_LS_STORE || s->kind == DLC_LS_PREFETCH) &&
        (s->buf == b || expr_touches(s->index, b)))
      return true;
    if ((s->kind == DLC_LS_STORE || s->kind == DLC_LS_ASSIGN) && expr_touches(s->value, b))
      return true;
  }
  return false;
}

void dlc_kernel_prune(dlc_kernel *k) {
  int n = 0;
  for (int i = 0; i < k->nparams; i++)
    if (block_touches(k->body, k->params[i]))
      k->params[n++] = k->params[i];
  k->nparams = n;
}

void dlc_kernel_use(dlc_kernel *k, dlc_lbuf *buf) {
  for (int i = 0; i < k->nparams; i++)
    if (k->params[i] == buf)
      return;
  DLC_PUSH(k->params, k->nparams, k->capparams, buf);
}

dlc_lvar *dlc_lvar_new(dlc_lmodule *m, dlc_dtype t, const char *prefix) {
  dlc_lvar *v = dlc_arena_alloc(m->arena, sizeof *v);
  v->id = m->next_var++;
  v->dtype = t;
  v->name = dlc_arena_printf(m->arena, "%s%d", prefix, v->id);
  return v;
}

dlc_lvar *dlc_kernel_local(dlc_lmodule *m, dlc_kernel *k, dlc_dtype t) {
  dlc_lvar *v = dlc_lvar_new(m, t, "v");
  DLC_PUSH(k->locals, k->nlocals, k->caplocals, v);
  return v;
}

static dlc_lexpr *node(dlc_lmodule *m, dlc_lx_kind k, dlc_dtype t) {
  dlc_lexpr *e = dlc_arena_alloc(m->arena, sizeof *e);
  e->kind = k;
  e->dtype = t;
  return e;
}

dlc_lexpr *dlc_lx_int(dlc_lmodule *m, int64_t v) {
  dlc_lexpr *e = node(m, DLC_LX_ICONST, DLC_I64);
  e->i = v;
  return e;
}

dlc_lexpr *dlc_lx_float(dlc_lmodule *m, dlc_dtype t, double v) {
  dlc_lexpr *e = node(m, DLC_LX_FCONST, t);
  e->f = v;
  return e;
}

dlc_lexpr *dlc_lx_const(dlc_lmodule *m, dlc_dtype t, double v) {
  if (dlc_dtype_is_float(t))
    return dlc_lx_float(m, t, v);
  dlc_lexpr *e = dlc_lx_int(m, (int64_t)v);
  e->dtype = t;
  return e;
}

dlc_lexpr *dlc_lx_var(dlc_lmodule *m, dlc_lvar *v) {
  dlc_lexpr *e = node(m, DLC_LX_VAR, v->dtype);
  e->var = v;
  return e;
}

dlc_lexpr *dlc_lx_load(dlc_lmodule *m, dlc_lbuf *b, dlc_lexpr *index) {
  dlc_lexpr *e = node(m, DLC_LX_LOAD, b->type.dtype);
  e->buf = b;
  e->a[0] = index;
  return e;
}

dlc_lexpr *dlc_lx_cmp(dlc_lmodule *m, dlc_lx_kind k, dlc_lexpr *a, dlc_lexpr *b) {
  DLC_ASSERT(k == DLC_LX_EQ || k == DLC_LX_LT || k == DLC_LX_GT);
  DLC_ASSERT(a->dtype == b->dtype);
  dlc_lexpr *e = node(m, k, DLC_BOOL);
  e->a[0] = a;
  e->a[1] = b;
  return e;
}

dlc_lexpr *dlc_lx_select(dlc_lmodule *m, dlc_lexpr *c, dlc_lexpr *a, dlc_lexpr *b) {
  DLC_ASSERT(c->dtype == DLC_BOOL && a->dtype == b->dtype);
  if (c->kind == DLC_LX_ICONST)
    return c->i ? a : b;
  dlc_lexpr *e = node(m, DLC_LX_SELECT, a->dtype);
  e->a[0] = c;
  e->a[1] = a;
  e->a[2] = b;
  return e;
}

dlc_lexpr *dlc_lx_lowest(dlc_lmodule *m, dlc_dtype t) {
  switch (t) {
  case DLC_F32:
  case DLC_F64: return dlc_lx_float(m, t, -INFINITY);
  case DLC_I32: return dlc_lx_const(m, t, (double)INT32_MIN);
  case DLC_I64: return dlc_lx_int(m, INT64_MIN);
  default: dlc_unreachable();
  }
}

dlc_lexpr *dlc_lx_highest(dlc_lmodule *m, dlc_dtype t) {
  switch (t) {
  case DLC_F32:
  case DLC_F64: return dlc_lx_float(m, t, INFINITY);
  case DLC_I32: return dlc_lx_const(m, t, (double)INT32_MAX);
  case DLC_I64: return dlc_lx_int(m, INT64_MAX);
  default: dlc_unreachable();
  }
}

dlc_lexpr *dlc_lx_unary(dlc_lmodule *m, dlc_lx_kind k, dlc_lexpr *a) {
  DLC_ASSERT(dlc_lx_arity[k] == 1 && k != DLC_LX_LOAD && k != DLC_LX_CAST);
  dlc_lexpr *e = node(m, k, a->dtype);
  e->a[0] = a;
  return e;
}

static bool is_int(const dlc_lexpr *e, int64_t v) {
  return e->kind == DLC_LX_ICONST && e->i == v;
}

dlc_lexpr *dlc_lx_binary(dlc_lmodule *m, dlc_lx_kind k, dlc_lexpr *a,
                         dlc_lexpr *b) {
  DLC_ASSERT(dlc_lx_arity[k] == 2 && k != DLC_LX_EQ && k != DLC_LX_LT &&
             k != DLC_LX_GT);
  DLC_ASSERT(a->dtype == b->dtype);
  if (a->dtype == DLC_I64 && a->kind == DLC_LX_ICONST &&
      b->kind == DLC_LX_ICONST) {
    switch (k) {
    case DLC_LX_ADD: return dlc_lx_int(m, a->i + b->i);
    case DLC_LX_SUB: return dlc_lx_int(m, a->i - b->i);
    case DLC_LX_MUL: return dlc_lx_int(m, a->i * b->i);
    case DLC_LX_MIN: return dlc_lx_int(m, a->i < b->i ? a->i : b->i);
    case DLC_LX_MAX: return dlc_lx_int(m, a->i > b->i ? a->i : b->i);
    default: break;
    }
  }
  /* index algebra: x+0, x*1, x*0 */
  if (a->dtype == DLC_I64) {
    if (k == DLC_LX_ADD && is_int(b, 0))
      return a;
    if (k == DLC_LX_ADD && is_int(a, 0))
      return b;
    if (k == DLC_LX_MUL && is_int(b, 1))
      return a;
    if (k == DLC_LX_MUL && is_int(a, 1))
      return b;
    if (k == DLC_LX_MUL && (is_int(a, 0) || is_int(b, 0)))
      return dlc_lx_int(m, 0);
  }
  dlc_lexpr *e = node(m, k, a->dtype);
  e->a[0] = a;
  e->a[1] = b;
  return e;
}

dlc_lexpr *dlc_lx_cast(dlc_lmodule *m, dlc_dtype to, dlc_lexpr *a) {
  if (a->dtype == to)
    return a;
  dlc_lexpr *e = node(m, DLC_LX_CAST, to);
  e->a[0] = a;
  return e;
}

dlc_lstmt *dlc_ls_loop(dlc_lmodule *m, dlc_lvar *var, int64_t extent,
                       dlc_loop_kind kind, dlc_lstmt *body) {
  dlc_lstmt *s = dlc_arena_alloc(m->arena, sizeof *s);
  s->kind = DLC_LS_LOOP;
  s->var = var;
  s->extent = extent;
  s->loop_kind = kind;
  s->body = body;
  return s;
}

dlc_lstmt *dlc_ls_store(dlc_lmodule *m, dlc_lbuf *b, dlc_lexpr *index,
                        dlc_lexpr *value) {
  dlc_lstmt *s = dlc_arena_alloc(m->arena, sizeof *s);
  s->kind = DLC_LS_STORE;
  s->buf = b;
  s->index = index;
  s->value = value;
  return s;
}

dlc_lstmt *dlc_ls_assign(dlc_lmodule *m, dlc_lvar *var, dlc_lexpr *value) {
  dlc_lstmt *s = dlc_arena_alloc(m->arena, sizeof *s);
  s->kind = DLC_LS_ASSIGN;
  s->var = var;
  s->value = value;
  return s;
}

dlc_lstmt *dlc_ls_prefetch(dlc_lmodule *m, dlc_lbuf *b, dlc_lexpr *index) {
  dlc_lstmt *s = dlc_arena_alloc(m->arena, sizeof *s);
  s->kind = DLC_LS_PREFETCH;
  s->buf = b;
  s->index = index;
  return s;
}

void dlc_ls_append(dlc_lstmt **head, dlc_lstmt *s) {
  while (*head)
    head = &(*head)->next;
  *head = s;
}

dlc_lexpr *dlc_lx_subst(dlc_lmodule *m, dlc_lexpr *e, int n, dlc_lvar *const *vars,
                        dlc_lexpr *const *with) {
  if (e->kind == DLC_LX_VAR) {
    for (int i = 0; i < n; i++)
      if (e->var == vars[i])
        return with[i];
    return e;
  }
  dlc_lexpr *a[3] = {0};
  bool same = true;
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++) {
    a[i] = dlc_lx_subst(m, e->a[i], n, vars, with);
    same = same && a[i] == e->a[i];
  }
  if (same)
    return e;
  switch (e->kind) {
  case DLC_LX_LOAD: return dlc_lx_load(m, e->buf, a[0]);
  case DLC_LX_CAST: return dlc_lx_cast(m, e->dtype, a[0]);
  case DLC_LX_EQ:
  case DLC_LX_LT:
  case DLC_LX_GT: return dlc_lx_cmp(m, e->kind, a[0], a[1]);
  case DLC_LX_SELECT: return dlc_lx_select(m, a[0], a[1], a[2]);
  default:
    return dlc_lx_arity[e->kind] == 1 ? dlc_lx_unary(m, e->kind, a[0])
                                      : dlc_lx_binary(m, e->kind, a[0], a[1]);
  }
}

/* ---- analyses ---- */

bool dlc_lx_reads(const dlc_lexpr *e, const dlc_lvar *v) {
  if (e->kind == DLC_LX_VAR)
    return e->var == v;
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    if (dlc_lx_reads(e->a[i], v))
      return true;
  return false;
}

int dlc_ls_reduction(const dlc_lstmt *s) {
  const dlc_lexpr *e = s->value;
  if (s->kind != DLC_LS_ASSIGN ||
      (e->kind != DLC_LX_ADD && e->kind != DLC_LX_MAX && e->kind != DLC_LX_MIN))
    return -1;
  for (int i = 0; i < 2; i++)
    if (e->a[i]->kind == DLC_LX_VAR && e->a[i]->var == s->var && !dlc_lx_reads(e->a[1 - i], s->var))
      return 1 - i;
  return -1;
}

/* Whether a statement of the list (nested loops included) reads v, other
 * than as a reduction step of v itself. */
static bool block_reads(const dlc_lstmt *s, const dlc_lvar *v) {
  for (; s; s = s->next) {
    switch (s->kind) {
    case DLC_LS_LOOP:
      if (block_reads(s->body, v))
        return true;
      break;
    case DLC_LS_STORE:
      if (dlc_lx_reads(s->index, v) || dlc_lx_reads(s->value, v))
        return true;
      break;
    case DLC_LS_ASSIGN:
      if (!(s->var == v && dlc_ls_reduction(s) >= 0) && dlc_lx_reads(s->value, v))
        return true;
      break;
    case DLC_LS_PREFETCH:
      if (dlc_lx_reads(s->index, v))
        return true;
      break;
    }
  }
  return false;
}

bool dlc_loop_has_reduction(const dlc_lstmt *loop) {
  for (const dlc_lstmt *s = loop->body; s; s = s->next)
    if (s->kind == DLC_LS_ASSIGN && dlc_ls_reduction(s) >= 0)
      return true;
  return false;
}

bool dlc_loop_lanes_ok(const dlc_lstmt *loop) {
  for (const dlc_lstmt *s = loop->body; s; s = s->next) {
    if (s->kind == DLC_LS_STORE) {
      if (!dlc_lx_reads(s->index, loop->var))
        return false;
    } else if (s->kind == DLC_LS_ASSIGN) {
      if (dlc_ls_reduction(s) >= 0) {
        if (block_reads(loop->body, s->var))
          return false;
      } else { /* private: not read before this statement, not reduced */
        for (const dlc_lstmt *t = loop->body; t != s; t = t->next)
          if (dlc_lx_reads(t->value, s->var) ||
              (t->kind == DLC_LS_STORE && dlc_lx_reads(t->index, s->var)) ||
              (t->kind == DLC_LS_ASSIGN && t->var == s->var))
            return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

/* How a statement list first touches a local (a scalar v, or the local
 * array b): READ_FIRST when some path reads it before writing it (so a
 * value from before the list flows in), WRITE_FIRST when it is written
 * first, UNTOUCHED when the list does neither. Statements run in order
 * and a loop's body at least once (loops have extent >= 1), so a loop
 * whose body writes first writes first. */
enum { UNTOUCHED, WRITE_FIRST, READ_FIRST };

static bool expr_reads_local(const dlc_lexpr *e, const dlc_lvar *v, const dlc_lbuf *b) {
  return v ? dlc_lx_reads(e, v) : expr_touches(e, b);
}

static int first_touch(const dlc_lstmt *s, const dlc_lvar *v, const dlc_lbuf *b) {
  for (; s; s = s->next) {
    int r = UNTOUCHED;
    switch (s->kind) {
    case DLC_LS_LOOP: r = first_touch(s->body, v, b); break;
    case DLC_LS_STORE:
      if (expr_reads_local(s->index, v, b) || expr_reads_local(s->value, v, b))
        r = READ_FIRST;
      else if (!v && s->buf == b)
        r = WRITE_FIRST;
      break;
    case DLC_LS_ASSIGN:
      if (expr_reads_local(s->value, v, b))
        r = READ_FIRST;
      else if (v && s->var == v)
        r = WRITE_FIRST;
      break;
    case DLC_LS_PREFETCH:
      if (expr_reads_local(s->index, v, b))
        r = READ_FIRST;
      break;
    }
    if (r != UNTOUCHED)
      return r;
  }
  return UNTOUCHED;
}

/* Whether a statement of the list outside `skip` (nested loops included)
 * writes the local (scalar v, or local array b). */
static bool writes_local(const dlc_lstmt *s, const dlc_lvar *v, const dlc_lbuf *b,
                         const dlc_lstmt *skip) {
  for (; s; s = s->next) {
    if (s == skip)
      continue;
    if ((s->kind == DLC_LS_ASSIGN && v && s->var == v) ||
        (s->kind == DLC_LS_STORE && !v && s->buf == b) ||
        (s->kind == DLC_LS_LOOP && writes_local(s->body, v, b, skip)))
      return true;
  }
  return false;
}

/* A local whose first touch in the loop's body reads it, written anywhere
 * else in the kernel, would carry a value into the loop that a thread's
 * fresh copy lacks. (A value the loop leaves in a local is never read
 * after a parallel loop: its iterations are independent.) */
static bool flows_in(const dlc_kernel *k, const dlc_lstmt *loop, const dlc_lvar *v,
                     const dlc_lbuf *b) {
  return first_touch(loop->body, v, b) == READ_FIRST && writes_local(k->body, v, b, loop);
}

bool dlc_loop_outlinable(const dlc_kernel *k, const dlc_lstmt *loop) {
  for (int i = 0; i < k->nlocals; i++)
    if (flows_in(k, loop, k->locals[i], NULL))
      return false;
  for (int i = 0; i < k->nparams; i++)
    if (k->params[i]->kind == DLC_BUF_LOCAL && flows_in(k, loop, NULL, k->params[i]))
      return false;
  return true;
}

static void serialize_unless(dlc_lstmt *s, dlc_loop_kind kind, bool (*keep)(const dlc_lstmt *)) {
  for (; s; s = s->next) {
    if (s->kind != DLC_LS_LOOP)
      continue;
    if (s->loop_kind == kind && !keep(s))
      s->loop_kind = DLC_LOOP_SERIAL;
    serialize_unless(s->body, kind, keep);
  }
}

void dlc_lmodule_serialize_unless(dlc_lmodule *m, dlc_loop_kind kind,
                                  bool (*keep)(const dlc_lstmt *loop)) {
  for (int i = 0; i < m->nkernels; i++)
    serialize_unless(m->kernels[i]->body, kind, keep);
}

bool dlc_loop_unrolls(const dlc_lstmt *loop) {
  return loop->loop_kind == DLC_LOOP_UNROLLED && loop->extent <= DLC_UNROLL_MAX &&
         (loop->unroll == 0 || loop->unroll >= loop->extent);
}

double dlc_block_work(const dlc_lstmt *s) {
  double w = 0;
  for (; s; s = s->next)
    w += s->kind == DLC_LS_LOOP ? (double)s->extent * dlc_block_work(s->body) : 1;
  return w;
}
