/* Calls: name(args) resolved to an operator of the call table (calls.def)
 * or a block. An operator's tensor operands are lowered first (they come
 * first in the text), then its lists, dtype and keywords are checked in
 * the order of the text, missing required keywords reported, and the node
 * built; split becomes one slice node per size. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lower.h"
#include "ir/util.h"

typedef enum kw_kind {
  KW_INT,
  KW_PAIR,
  KW_PAD,
  KW_AXES,
  KW_INTS,
  KW_FLOAT,
  KW_FLAG,
  KW_CHOICE,
  KW_BOUND,
} kw_kind;

typedef struct kwspec {
  const char *key;
  kw_kind kind;
  bool required;
  size_t off;     /* the attrs field */
  size_t has_off; /* BOUND: the bool field saying it is given */
  int64_t idef;   /* the default of integer kinds */
  double fdef;    /* of FLOAT */
  const char *choices; /* CHOICE: "a|b" */
} kwspec;

enum { CF_SLICE = 1, CF_SPLIT = 2 };

typedef struct callspec {
  const char *name;
  dlc_op op;
  const char *operands;
  unsigned flags;
  const kwspec *kws;
  int nkws;
} callspec;

#define MAX_KWS 8

#define KW(key, KIND, field, def)                                              \
  {key, KW_##KIND, false, offsetof(dlc_attrs, field), 0, (int64_t)(def),      \
   (double)(def), NULL},
#define REQ(key, KIND, field)                                                  \
  {key, KW_##KIND, true, offsetof(dlc_attrs, field), 0, 0, 0, NULL},
#define CHOICE(key, field, choices)                                            \
  {key, KW_CHOICE, false, offsetof(dlc_attrs, field), 0, 0, 0, choices},
#define BOUND(key, field, has_field)                                           \
  {key, KW_BOUND, false, offsetof(dlc_attrs, field),                           \
   offsetof(dlc_attrs, has_field), 0, 0, NULL},

/* One array of keywords per row (with a terminator, as some are empty). */
#define CALL(name, OP, operands, flags, kws)                                   \
  static const kwspec kws_##OP##_##flags[] = {kws{NULL, 0, 0, 0, 0, 0, 0,     \
                                                  NULL}};
#include "frontend/calls.def"
#undef CALL

#define NKWS(a) ((int)(sizeof a / sizeof *a) - 1)
#define CALL(name, OP, operands, flags, kws)                                   \
  {name, DLC_OP_##OP, operands, flags, kws_##OP##_##flags,                     \
   NKWS(kws_##OP##_##flags)},
static const callspec calls[] = {
#include "frontend/calls.def"
};
#undef CALL
#define CALL(name, OP, operands, flags, kws)                                   \
  _Static_assert(NKWS(kws_##OP##_##flags) <= MAX_KWS, "too many keywords");
#include "frontend/calls.def"
#undef CALL
#undef KW
#undef REQ
#undef CHOICE
#undef BOUND

static const callspec *lookup(const char *name) {
  for (size_t i = 0; i < sizeof calls / sizeof *calls; i++)
    if (!strcmp(calls[i].name, name))
      return &calls[i];
  return NULL;
}

bool dlc_lw_is_operator(const char *name) {
  dlc_op op;
  return lookup(name) || dlc_op_lookup(name, &op);
}

/* ---- positional arguments ------------------------------------------------ */

/* How many positional arguments the operand letters take; max -1: any. */
static void arity(const char *ops, int *min, int *max) {
  bool opt = false;
  *min = *max = 0;
  for (const char *p = ops; *p; p++) {
    if (*p == '|') {
      opt = true;
    } else if (*p == '*') {
      *max = -1;
    } else {
      *min += !opt;
      if (*max >= 0)
        (*max)++;
    }
  }
}

/* The letter of positional argument k; 0 past the last. */
static char role_at(const char *ops, int k) {
  char last = 0;
  for (const char *p = ops; *p; p++) {
    if (*p == '|')
      continue;
    if (*p == '*')
      return last;
    if (k-- == 0)
      return *p;
    last = *p;
  }
  return 0;
}

static bool count_ok(lowerer *L, const dlc_ast *e, const char *ops,
                     int npos) {
  int min, max;
  arity(ops, &min, &max);
  if (npos >= min && (max < 0 || npos <= max))
    return true;
  const char *s = min == 1 ? "" : "s";
  if (max == min)
    dlc_lw_error(L, e->loc, "'%s' expects %d argument%s, got %d", e->str,
                 min, s, npos);
  else if (max < 0)
    dlc_lw_error(L, e->loc, "'%s' expects at least %d argument%s, got %d",
                 e->str, min, s, npos);
  else if (max == min + 1)
    dlc_lw_error(L, e->loc, "'%s' expects %d or %d arguments, got %d", e->str,
                 min, max, npos);
  else
    dlc_lw_error(L, e->loc, "'%s' expects %d to %d arguments, got %d", e->str,
                 min, max, npos);
  return false;
}

/* The tensor operands: x operands share a dtype, so the literal ones are
 * lowered last with the dtype of the first typed one; c and i operands
 * type their literals as bool and i64. Extra arguments are lowered for
 * their errors. */
static bool lower_operands(lowerer *L, const callspec *c,
                           const dlc_ast **pos, int npos, dlc_dtype hint,
                           dlc_node **in) {
  const dlc_opinfo *info = &dlc_ops[c->op];
  bool propagate =
      !(info->flags & DLC_OPF_COMPARE) && info->kind != DLC_KIND_CAST;
  dlc_dtype group = propagate ? hint : NO_HINT;
  bool typed = false, ok = true, any_float = false;
  for (int pass = 0; pass < 2; pass++)
    for (int k = 0; k < npos; k++) {
      char r = role_at(c->operands, k);
      if (!r)
        r = 'x';
      if (r == 'L' || r == 'D' || pos[k]->kind == DLC_AST_LIST)
        continue;
      bool later = r == 'x' && dlc_lw_literal_only(L, pos[k]);
      if (later && pass == 0)
        any_float |= dlc_lw_has_float(L, pos[k]);
      if (later != (pass == 1))
        continue;
      if (later && group == NO_HINT) /* literals only: as in 1 + 2.5 */
        group = any_float ? DLC_F32 : DLC_I64;
      dlc_dtype h = r == 'c' ? DLC_BOOL : r == 'i' ? DLC_I64 : group;
      in[k] = dlc_lw_expr(L, pos[k], h);
      ok &= in[k] != NULL;
      if (r == 'x' && in[k] && !typed) {
        group = in[k]->type.dtype;
        typed = true;
      }
    }
  return ok;
}

/* ---- keyword values ------------------------------------------------------ */

static const char *const kind_text[] = {
    [KW_INT] = "an integer",
    [KW_PAIR] = "an integer or a list of 2 integers",
    [KW_PAD] = "an integer or a list of 2 or 4 integers",
    [KW_AXES] = "an integer or a list of integers",
    [KW_INTS] = "a list of integers",
    [KW_FLOAT] = "a number",
    [KW_FLAG] = "0 or 1",
    [KW_BOUND] = "a number",
};

static bool kind_error(lowerer *L, const callspec *c, const kwspec *k,
                       const dlc_ast *v) {
  if (k->kind != KW_CHOICE) {
    dlc_lw_error(L, v->loc, "keyword '%s' of '%s' must be %s", k->key,
                 c->name, kind_text[k->kind]);
    return false;
  }
  char text[128];
  size_t n = 0;
  for (const char *p = k->choices; *p && n + 8 < sizeof text;) {
    size_t len = strcspn(p, "|");
    n += (size_t)snprintf(text + n, sizeof text - n, "%s\"%.*s\"",
                          p == k->choices ? "" : p[len] ? ", " : " or ",
                          (int)len, p);
    p += len + (p[len] == '|');
  }
  dlc_lw_error(L, v->loc, "keyword '%s' of '%s' must be %s", k->key, c->name,
               text);
  return false;
}

static bool lit_int(lowerer *L, const dlc_ast *v, const char *what,
                    int64_t *out) {
  int before = dlc_diag_errors(L->d);
  bool ok = dlc_literal_int(L->d, v, what, out);
  dlc_lw_notes(L, before);
  return ok;
}

/* The entries of a list of integers into a new array (*out, n entries). */
static bool list_ints(lowerer *L, const dlc_ast *list, int64_t **out) {
  bool ok = true;
  int i = 0;
  *out = dlc_xcalloc((size_t)list->nkids + 1, sizeof **out);
  for (const dlc_ast *e = list->kids; e; e = e->next)
    ok &= lit_int(L, e, "list entry", &(*out)[i++]);
  return ok;
}

static bool number(lowerer *L, const dlc_ast *v, double *out) {
  dlc_scalar x;
  int before = dlc_diag_errors(L->d);
  bool ok = dlc_literal_convert(L->d, v, DLC_F64, &x);
  dlc_lw_notes(L, before);
  *out = x.f64;
  return ok;
}

/* The list array in attrs; each call owns one, freed after building. */
static void set_ints(dlc_attrs *a, int64_t **ints, int64_t *v, int n) {
  free(*ints);
  *ints = v;
  a->ints = v;
  a->nints = n;
}

/* A keyword's value (keyword parameters substituted) into attrs. */
static bool keyword(lowerer *L, const callspec *c, const kwspec *k,
                    const dlc_ast *v, dlc_attrs *a, int64_t **ints) {
  char *field = (char *)a + k->off;
  bool is_list = v->kind == DLC_AST_LIST, is_int = v->kind == DLC_AST_INT;
  int64_t *list = NULL;
  bool ok = true;
  switch (k->kind) {
  case KW_INT:
    if (!is_int)
      return kind_error(L, c, k, v);
    return lit_int(L, v, "keyword", (int64_t *)field);
  case KW_PAIR:
  case KW_PAD: {
    int64_t *dst = (int64_t *)field, x;
    if (is_int) {
      if (!lit_int(L, v, "keyword", &x))
        return false;
      for (int i = 0; i < (k->kind == KW_PAIR ? 2 : 4); i++)
        dst[i] = x;
      return true;
    }
    if (!is_list || !(v->nkids == 2 || (k->kind == KW_PAD && v->nkids == 4)))
      return kind_error(L, c, k, v);
    ok = list_ints(L, v, &list);
    for (int i = 0; i < (k->kind == KW_PAIR ? 2 : 4); i++)
      dst[i] = list[v->nkids == 2 ? i % 2 : i];
    free(list);
    return ok;
  }
  case KW_AXES:
  case KW_INTS:
    if (is_list) {
      ok = list_ints(L, v, &list);
      set_ints(a, ints, list, v->nkids);
      return ok;
    }
    if (!is_int || k->kind == KW_INTS)
      return kind_error(L, c, k, v);
    list = dlc_xcalloc(1, sizeof *list);
    set_ints(a, ints, list, 1);
    return lit_int(L, v, "keyword", list);
  case KW_FLAG:
    if (!is_int || v->overflow || v->mag > 1 || (v->neg && v->mag))
      return kind_error(L, c, k, v);
    *(bool *)field = v->mag == 1;
    return true;
  case KW_CHOICE: {
    if (v->kind != DLC_AST_STRING)
      return kind_error(L, c, k, v);
    int i = 0;
    for (const char *p = k->choices; *p; i++) {
      size_t len = strcspn(p, "|");
      if (strlen(v->str) == len && !strncmp(p, v->str, len)) {
        *(bool *)field = i != 0;
        return true;
      }
      p += len + (p[len] == '|');
    }
    return kind_error(L, c, k, v);
  }
  case KW_FLOAT:
  case KW_BOUND:
    if (!dlc_ast_is_literal(v))
      return kind_error(L, c, k, v);
    if (k->kind == KW_BOUND)
      *(bool *)((char *)a + k->has_off) = true;
    return number(L, v, (double *)field);
  }
  dlc_unreachable();
}

static void defaults(const callspec *c, dlc_attrs *a) {
  for (int i = 0; i < c->nkws; i++) {
    const kwspec *k = &c->kws[i];
    char *field = (char *)a + k->off;
    if (k->required)
      continue;
    switch (k->kind) {
    case KW_INT: *(int64_t *)field = k->idef; break;
    case KW_PAIR:
    case KW_PAD:
      for (int j = 0; j < (k->kind == KW_PAIR ? 2 : 4); j++)
        ((int64_t *)field)[j] = k->idef;
      break;
    case KW_FLOAT: *(double *)field = k->fdef; break;
    case KW_FLAG: *(bool *)field = k->idef != 0; break;
    case KW_CHOICE: *(bool *)field = false; break;
    case KW_AXES:
    case KW_INTS:
    case KW_BOUND: break;
    }
  }
}

static int find_kw(const callspec *c, const char *key) {
  for (int i = 0; i < c->nkws; i++)
    if (!strcmp(c->kws[i].key, key))
      return i;
  return -1;
}

/* cast's second argument: a dtype name (or a keyword parameter holding
 * one). */
static bool dtype_arg(lowerer *L, const callspec *c, int idx,
                      const dlc_ast *v, dlc_attrs *a) {
  if (v->kind != DLC_AST_NAME) {
    dlc_lw_error(L, v->loc, "argument %d of '%s' must be a dtype, such as "
                 "f32", idx + 1, c->name);
    return false;
  }
  if (dlc_dtype_lookup(v->str, &a->to))
    return true;
  dlc_lw_dtype_error(L, v->loc, v->str);
  return false;
}

/* ---- split --------------------------------------------------------------- */

static void ints_str(const int64_t *v, int n, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < n && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "",
                          (long long)v[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "]");
}

/* split(x, sizes=[...], axis=): one slice per size; the sizes are positive
 * and add up to the dimension. */
static bool split(lowerer *L, const dlc_ast *e, dlc_node *x,
                  const dlc_attrs *a, dlc_node **out) {
  const dlc_type *t = &x->type;
  char s[DLC_TYPE_STRLEN], l[256];
  dlc_type_str(t, s, sizeof s);
  ints_str(a->ints, a->nints, l, sizeof l);
  int64_t axis = a->axis;
  if (axis < -t->rank || axis >= t->rank) {
    dlc_lw_error(L, e->loc, "split: axis %lld is out of range for %s (rank "
                 "%d)", (long long)axis, s, t->rank);
    return false;
  }
  if (axis < 0)
    axis += t->rank;
  int64_t dim = t->dims[axis], sum = 0;
  for (int i = 0; i < a->nints; i++) {
    if (a->ints[i] < 1) {
      dlc_lw_error(L, e->loc, "split: sizes must be positive: %s", l);
      return false;
    }
    sum = a->ints[i] > dim - sum ? dim + 1 : sum + a->ints[i];
  }
  if (sum != dim) {
    dlc_lw_error(L, e->loc, "split: sizes %s do not add up to %lld, the size "
                 "of axis %lld of %s", l, (long long)dim, (long long)axis, s);
    return false;
  }
  int64_t at = 0;
  bool ok = true;
  for (int i = 0; i < a->nints; i++) {
    dlc_attrs sa = {.axis = axis, .start = at, .end = at + a->ints[i],
                    .step = 1};
    at += a->ints[i];
    ok &= (out[i] = dlc_lw_build(L, DLC_OP_SLICE, e->loc, 1, &x, &sa)) != NULL;
  }
  return ok;
}

/* ---- operator calls ------------------------------------------------------ */

static bool call_op(lowerer *L, const callspec *c, const dlc_ast *e,
                    dlc_dtype hint, int want, dlc_node **out) {
  int npos = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next)
    npos += a->kind != DLC_AST_KWARG;
  bool ok = count_ok(L, e, c->operands, npos);
  const dlc_ast **pos = dlc_xcalloc((size_t)npos + 1, sizeof *pos);
  dlc_node **in = dlc_xcalloc((size_t)npos + 1, sizeof *in);
  int k = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next)
    if (a->kind != DLC_AST_KWARG)
      pos[k++] = a;
  ok &= lower_operands(L, c, pos, npos, hint, in);

  /* Lists, the dtype and keywords, in the order of the text. */
  dlc_attrs attrs = {0};
  defaults(c, &attrs);
  int64_t *ints = NULL;
  const dlc_ast *given[MAX_KWS] = {0}, *vals[MAX_KWS] = {0};
  bool unknown_kw[MAX_KWS] = {0}, bad_kw[MAX_KWS] = {0}, unknown;
  bool seen_kw = false;
  k = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next) {
    if (a->kind == DLC_AST_KWARG) {
      seen_kw = true;
      int i = find_kw(c, a->str);
      if (i < 0) {
        dlc_lw_error(L, a->loc, "unknown keyword '%.*s' for '%s'",
                     dlc_ast_textlen(a->str), a->str, c->name);
        ok = false;
      } else if (given[i]) {
        dlc_lw_error(L, a->loc, "keyword '%s' given twice", a->str);
        ok = false;
      } else {
        given[i] = a;
        vals[i] = dlc_lw_resolve(L, a->lhs, &unknown_kw[i]);
        ok &= !unknown_kw[i] || L->checking;
        bad_kw[i] = !unknown_kw[i] &&
                    !keyword(L, c, &c->kws[i], vals[i], &attrs, &ints);
        ok &= !bad_kw[i];
      }
      continue;
    }
    if (seen_kw) {
      dlc_lw_error(L, a->loc, "positional argument after keyword argument");
      ok = false;
    }
    int idx = k++;
    char r = role_at(c->operands, idx);
    if (r == 'L') {
      const dlc_ast *v = dlc_lw_resolve(L, a, &unknown);
      ok &= !unknown || L->checking;
      if (unknown)
        continue;
      if (v->kind != DLC_AST_LIST) {
        dlc_lw_error(L, v->loc, "argument %d of '%s' must be a list of "
                     "integers, such as %s", idx + 1, c->name,
                     c->op == DLC_OP_RESHAPE ? "[2, -1]" : "[2, 3]");
        ok = false;
        continue;
      }
      int64_t *list;
      ok &= list_ints(L, v, &list);
      set_ints(&attrs, &ints, list, v->nkids);
    } else if (r == 'D') {
      const dlc_ast *v = dlc_lw_resolve(L, a, &unknown);
      ok &= !unknown || L->checking;
      if (!unknown)
        ok &= dtype_arg(L, c, idx, v, &attrs);
    } else if (a->kind == DLC_AST_LIST) {
      dlc_lw_error(L, a->loc, "argument %d of '%s' must be a tensor, not a "
                   "list", idx + 1, c->name);
      ok = false;
    }
  }
  for (int i = 0; i < c->nkws; i++)
    if (c->kws[i].required && !given[i]) {
      dlc_lw_error(L, e->loc, "missing keyword '%s' for '%s'", c->kws[i].key,
                   c->name);
      ok = false;
    }

  /* slice: start and end omitted run over the whole dimension in the
   * step's direction (the shape rule reads INT64_MAX and INT64_MIN as
   * infinities). */
  if (c->flags & CF_SLICE && attrs.step < 0) {
    if (!given[find_kw(c, "start")])
      attrs.start = INT64_MAX;
    if (!given[find_kw(c, "end")])
      attrs.end = INT64_MIN;
  }
  /* clip: the bounds must fit x's dtype. */
  for (int i = 0; i < c->nkws; i++)
    if (c->kws[i].kind == KW_BOUND && given[i] && !unknown_kw[i] &&
        !bad_kw[i] && in[0] && !L->checking) {
      dlc_scalar x;
      int before = dlc_diag_errors(L->d);
      ok &= dlc_literal_convert(L->d, vals[i], in[0]->type.dtype, &x);
      dlc_lw_notes(L, before);
    }
  int nres = 1;
  if (c->flags & CF_SPLIT) {
    int sizes = find_kw(c, "sizes");
    nres = given[sizes] && !unknown_kw[sizes] ? attrs.nints : want;
  }
  if (ok && nres != want) {
    dlc_lw_results_error(L, e->loc, c->name, nres, want);
    ok = false;
  }

  if (ok && (c->flags & CF_SPLIT)) {
    if (L->checking)
      for (int i = 0; i < want; i++)
        out[i] = &L->sentinel;
    else
      ok = split(L, e, in[0], &attrs, out);
  } else if (ok) {
    int nin = 0;
    for (int i = 0; i < npos; i++) {
      char r = role_at(c->operands, i);
      if (r != 'L' && r != 'D')
        in[nin++] = in[i];
    }
    ok = (out[0] = dlc_lw_build(L, c->op, e->loc, nin, in, &attrs)) != NULL;
  }
  free(ints);
  free(in);
  free(pos);
  return ok;
}

/* ---- dispatch ------------------------------------------------------------ */

bool dlc_lw_call(lowerer *L, const dlc_ast *e, dlc_dtype hint, int want,
                 dlc_node **out) {
  for (int i = 0; i < want; i++)
    out[i] = NULL;
  const char *name = e->str;
  int n = dlc_ast_textlen(name);
  const callspec *c = lookup(name);
  if (c)
    return call_op(L, c, e, hint, want, out);
  binding *bb = dlc_tab_find(&L->block_names, name);
  dlc_op op;
  if (bb && bb->kw < L->visible) {
    return dlc_lw_call_block(L, L->blocks[bb->kw], e, want, out);
  } else if (bb && bb->kw == L->visible) {
    dlc_lw_error(L, e->loc, "block '%.*s' calls itself (recursion is not "
                 "allowed)", n, name);
  } else if (bb) {
    const char *caller = L->blocks[L->visible]->ast->name;
    dlc_lw_error(L, e->loc, "block '%.*s' is defined after '%.*s'; a block "
                 "can only call blocks defined before it", n, name,
                 dlc_ast_textlen(caller), caller);
    dlc_note(L->d, bb->loc, "'%.*s' is defined here", n, name);
  } else if (dlc_op_lookup(name, &op)) {
    dlc_lw_error(L, e->loc, "'%s' is not an operator that can be called",
                 name);
  } else if (!strcmp(name, "zeros") || !strcmp(name, "ones") ||
             !strcmp(name, "random") || !strcmp(name, "load")) {
    dlc_lw_error(L, e->loc, "'%s' can only be used as a weight initializer",
                 name);
  } else {
    dlc_lw_error(L, e->loc, "unknown operator or block '%.*s'", n, name);
  }
  for (const dlc_ast *a = e->kids; a; a = a->next) /* for their errors */
    if (a->kind != DLC_AST_KWARG && a->kind != DLC_AST_LIST)
      dlc_lw_expr(L, a, hint);
  return false;
}
