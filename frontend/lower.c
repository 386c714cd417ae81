/* Lowering of the syntax tree to the graph IR, statement by statement. A
 * statement that fails leaves its name bound to nothing (poisoned), so its
 * uses are skipped instead of reported again; the shape errors themselves
 * come from the operators' shape rules through dlc_graph_build. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ast.h"
#include "ir/util.h"

/* A name bound in the model: node NULL means its definition failed. */
typedef struct binding {
  const char *name; /* NULL: an empty slot */
  dlc_loc loc;
  dlc_node *node;
} binding;

/* Open addressing, linear probing, at most half full. */
typedef struct table {
  binding *slots;
  int cap, n;
} table;

typedef struct dlc_lowerer {
  dlc_graph *g; /* made at the first statement, when the name is known */
  dlc_diag *d;
  dlc_weights *w;
  table values, outputs;
  int errors; /* errors reported before lowering began */
  bool any_output;
} lowerer;

#define NO_HINT DLC_NUM_DTYPES

static const char *const reserved_dtypes[] = {"f16", "bf16", "i8", "u8",
                                              "bool"};
static const char *const initializers[] = {"zeros", "ones", "random", "load"};

static bool in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0)
      return true;
  return false;
}
#define IN_LIST(s, list) in_list(s, list, sizeof list / sizeof *list)

static uint64_t hash(const char *s) {
  uint64_t h = 14695981039346656037ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static binding *slot(table *t, const char *name) {
  if (2 * (t->n + 1) > t->cap) {
    table old = *t;
    t->cap = old.cap ? 2 * old.cap : 64;
    t->slots = dlc_xcalloc((size_t)t->cap, sizeof *t->slots);
    t->n = 0;
    for (int i = 0; i < old.cap; i++)
      if (old.slots[i].name) {
        *slot(t, old.slots[i].name) = old.slots[i];
        t->n++;
      }
    free(old.slots);
  }
  size_t mask = (size_t)t->cap - 1, i = hash(name) & mask;
  while (t->slots[i].name && strcmp(t->slots[i].name, name) != 0)
    i = (i + 1) & mask;
  return &t->slots[i];
}

static binding *find(table *t, const char *name) {
  binding *b = slot(t, name);
  return b->name ? b : NULL;
}

static void bind(table *t, const char *name, dlc_loc loc, dlc_node *node) {
  binding *b = slot(t, name);
  if (!b->name)
    t->n++;
  *b = (binding){name, loc, node};
}

/* False (after reporting) when name is taken already. */
static bool check_new(lowerer *L, const char *name, dlc_loc loc) {
  binding *b = find(&L->values, name);
  if (!b)
    return true;
  dlc_error(L->d, loc, "redefinition of '%s'", name);
  dlc_note(L->d, b->loc, "previous definition is here");
  return false;
}

/* type = DTYPE "[" dims "]": known dtype, at most 8 positive dimensions,
 * at most 2^40 elements. */
static bool lower_type(lowerer *L, const dlc_ast_type *at, dlc_type *t) {
  bool ok = true;
  *t = (dlc_type){0};
  if (!dlc_dtype_lookup(at->dtype, &t->dtype)) {
    if (IN_LIST(at->dtype, reserved_dtypes))
      dlc_error(L->d, at->loc,
                "dtype '%s' is not supported yet (supported: f32, f64, i32, "
                "i64)", at->dtype);
    else
      dlc_error(L->d, at->loc, "unknown dtype '%.*s'",
                dlc_ast_textlen(at->dtype), at->dtype);
    ok = false;
  }
  bool big = false;
  int64_t numel = 1;
  for (const dlc_ast *e = at->dims; e; e = e->next) {
    if (t->rank == DLC_MAX_RANK) {
      dlc_error(L->d, e->loc, "too many dimensions (at most %d)",
                DLC_MAX_RANK);
      return false;
    }
    if (!e->neg && (e->overflow || e->mag > (uint64_t)DLC_MAX_ELEMENTS)) {
      dlc_error(L->d, e->loc, "dimension %.*s is too large (a tensor has at "
                "most 2^40 elements)", dlc_ast_textlen(e->str), e->str);
      ok = false;
      continue;
    }
    if (e->neg || e->mag == 0) {
      dlc_error(L->d, e->loc, "dimension %s%.*s is not positive",
                e->neg ? "-" : "", dlc_ast_textlen(e->str), e->str);
      ok = false;
      continue;
    }
    int64_t v = (int64_t)e->mag;
    if (numel > DLC_MAX_ELEMENTS / v)
      big = true;
    else
      numel *= v;
    t->dims[t->rank++] = v;
  }
  if (ok && big) {
    char s[DLC_TYPE_STRLEN];
    dlc_error(L->d, at->loc, "tensor type %s has more than 2^40 elements",
              dlc_type_str(t, s, sizeof s));
    ok = false;
  }
  return ok;
}

static bool has_name(const dlc_ast *e) {
  switch (e->kind) {
  case DLC_AST_NAME: return true;
  case DLC_AST_NEG: return has_name(e->lhs);
  case DLC_AST_BINARY: return has_name(e->lhs) || has_name(e->rhs);
  case DLC_AST_CALL:
    for (const dlc_ast *a = e->kids; a; a = a->next)
      if (a->kind != DLC_AST_KWARG && has_name(a))
        return true;
    return false;
  default: return false;
  }
}

static bool has_float(const dlc_ast *e) {
  switch (e->kind) {
  case DLC_AST_FLOAT: return true;
  case DLC_AST_NEG: return has_float(e->lhs);
  case DLC_AST_BINARY: return has_float(e->lhs) || has_float(e->rhs);
  case DLC_AST_CALL:
    for (const dlc_ast *a = e->kids; a; a = a->next)
      if (a->kind != DLC_AST_KWARG && a->kind != DLC_AST_LIST && has_float(a))
        return true;
    return false;
  default: return false;
  }
}

/* Literals and arithmetic on them only. */
static bool literal_only(const dlc_ast *e) {
  switch (e->kind) {
  case DLC_AST_INT:
  case DLC_AST_FLOAT: return true;
  case DLC_AST_NEG: return literal_only(e->lhs);
  case DLC_AST_BINARY: return literal_only(e->lhs) && literal_only(e->rhs);
  default: return false;
  }
}

static dlc_node *lower_expr(lowerer *L, const dlc_ast *e, dlc_dtype hint);

/* Two operands of a binary operator: literals on one side take the dtype
 * of the other side, which is then lowered first. */
static bool lower_pair(lowerer *L, const dlc_ast *a, const dlc_ast *b,
                       dlc_dtype hint, dlc_node *out[2]) {
  if (literal_only(a) && !literal_only(b)) {
    out[1] = lower_expr(L, b, hint);
    out[0] = lower_expr(L, a, out[1] ? out[1]->type.dtype : hint);
  } else {
    out[0] = lower_expr(L, a, hint);
    out[1] = lower_expr(L, b, out[0] ? out[0]->type.dtype : hint);
  }
  return out[0] && out[1];
}

static dlc_node *lower_literal(lowerer *L, const dlc_ast *e, dlc_dtype dt) {
  dlc_scalar v;
  if (!dlc_literal_convert(L->d, e, dt, &v))
    return NULL;
  dlc_type t = {.dtype = dt, .rank = 0};
  return dlc_graph_add_const(L->g, &t, &v, e->loc);
}

static dlc_node *lower_name(lowerer *L, const dlc_ast *e) {
  binding *b = find(&L->values, e->str);
  if (b)
    return b->node; /* NULL when poisoned: already reported */
  if (IN_LIST(e->str, initializers))
    dlc_error(L->d, e->loc, "'%s' can only be used as a weight initializer",
              e->str);
  else
    dlc_error(L->d, e->loc, "use of undefined name '%.*s'",
              dlc_ast_textlen(e->str), e->str);
  return NULL;
}

/* The shape of a call: how many positional arguments, which keyword. */
typedef struct signature {
  int npos;
  const char *key;  /* the one keyword it takes, or NULL */
  bool key_is_list; /* else an integer */
  bool list_arg2;   /* reshape: the second positional is a list */
} signature;

static signature signature_of(dlc_op op) {
  switch (dlc_ops[op].kind) {
  case DLC_KIND_SOFTMAX: return (signature){1, "axis", false, false};
  case DLC_KIND_RESHAPE: return (signature){2, NULL, false, true};
  case DLC_KIND_TRANSPOSE: return (signature){1, "perm", true, false};
  default: return (signature){dlc_ops[op].arity, NULL, false, false};
  }
}

/* A list of integer literals into v (n entries). */
static bool list_ints(lowerer *L, const dlc_ast *list, int64_t *v) {
  bool ok = true;
  int i = 0;
  for (const dlc_ast *e = list->kids; e; e = e->next)
    ok &= dlc_literal_int(L->d, e, "list entry", &v[i++]);
  return ok;
}

/* A keyword argument's value into attrs: an integer axis or a list. */
static bool lower_kwarg(lowerer *L, const char *opname, signature sig,
                        const dlc_ast *kw, dlc_attrs *attrs, int64_t **ints) {
  const dlc_ast *v = kw->lhs;
  if (sig.key_is_list) {
    if (v->kind != DLC_AST_LIST) {
      dlc_error(L->d, v->loc, "keyword '%s' of '%s' must be a list of "
                "integers", kw->str, opname);
      return false;
    }
    *ints = dlc_xcalloc((size_t)v->nkids + 1, sizeof **ints);
    attrs->ints = *ints;
    attrs->nints = v->nkids;
    return list_ints(L, v, *ints);
  }
  if (v->kind != DLC_AST_INT) {
    dlc_error(L->d, v->loc, "keyword '%s' of '%s' must be an integer",
              kw->str, opname);
    return false;
  }
  return dlc_literal_int(L->d, v, "axis", &attrs->axis);
}

/* call = NAME "(" args ")". The tensor operands are lowered first (they
 * come first in the text), then lists and keywords are checked in order. */
static dlc_node *lower_call(lowerer *L, const dlc_ast *e, dlc_dtype hint) {
  dlc_op op = DLC_OP_ADD;
  bool ok = true;
  signature sig = {.npos = -1}; /* -1: not a callable operator */
  const char *name = e->str;
  if (!dlc_op_lookup(name, &op)) {
    if (IN_LIST(name, initializers))
      dlc_error(L->d, e->loc, "'%s' can only be used as a weight initializer",
                name);
    else
      dlc_error(L->d, e->loc, "unknown operator '%.*s'",
                dlc_ast_textlen(name), name);
    ok = false;
  } else if (dlc_ops[op].kind == DLC_KIND_SOURCE) {
    dlc_error(L->d, e->loc, "'%s' is not an operator that can be called",
              name);
    ok = false;
  } else {
    sig = signature_of(op);
  }
  int npos = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next)
    npos += a->kind != DLC_AST_KWARG;
  if (sig.npos >= 0 && npos != sig.npos) {
    dlc_error(L->d, e->loc, "'%s' expects %d argument%s, got %d", name,
              sig.npos, sig.npos == 1 ? "" : "s", npos);
    ok = false;
  }

  /* Tensor operands; a binary operator types its literals by the other. */
  const dlc_ast *pos[2] = {0};
  dlc_node *in[2] = {0};
  int k = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next) {
    if (a->kind == DLC_AST_KWARG || a->kind == DLC_AST_LIST ||
        (sig.list_arg2 && k == 1)) {
      k += a->kind != DLC_AST_KWARG;
      continue;
    }
    if (k < 2)
      pos[k] = a;
    else
      ok &= lower_expr(L, a, hint) != NULL; /* extra: for its errors */
    k++;
  }
  if (pos[0] && pos[1])
    ok &= lower_pair(L, pos[0], pos[1], hint, in);
  else
    for (int i = 0; i < 2; i++)
      if (pos[i])
        ok &= (in[i] = lower_expr(L, pos[i], hint)) != NULL;

  /* Lists and keywords. */
  dlc_attrs attrs = {.axis = sig.key && !strcmp(sig.key, "axis") ? -1 : 0};
  int64_t *ints = NULL;
  const dlc_ast *seen_kw = NULL;
  k = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next) {
    if (a->kind == DLC_AST_KWARG) {
      if (sig.npos < 0)
        continue;
      if (!sig.key || strcmp(a->str, sig.key) != 0) {
        dlc_error(L->d, a->loc, "unknown keyword '%.*s' for '%s'",
                  dlc_ast_textlen(a->str), a->str, name);
        ok = false;
      } else if (seen_kw) {
        dlc_error(L->d, a->loc, "keyword '%s' given twice", a->str);
        ok = false;
      } else {
        seen_kw = a;
        ok &= lower_kwarg(L, name, sig, a, &attrs, &ints);
      }
      continue;
    }
    if (seen_kw) {
      dlc_error(L->d, a->loc, "positional argument after keyword argument");
      ok = false;
    }
    int idx = k++;
    if (sig.list_arg2 && idx == 1) {
      if (a->kind != DLC_AST_LIST) {
        dlc_error(L->d, a->loc, "argument 2 of '%s' must be a list of "
                  "integers, such as [2, -1]", name);
        ok = false;
      } else {
        ints = dlc_xcalloc((size_t)a->nkids + 1, sizeof *ints);
        attrs.ints = ints;
        attrs.nints = a->nkids;
        ok &= list_ints(L, a, ints);
      }
    } else if (a->kind == DLC_AST_LIST) {
      if (sig.npos >= 0)
        dlc_error(L->d, a->loc, "argument %d of '%s' must be a tensor, not a "
                  "list", idx + 1, name);
      ok = false;
    }
  }

  dlc_node *n = NULL;
  if (ok)
    n = dlc_graph_build(L->g, op, e->loc, sig.list_arg2 ? 1 : sig.npos, in,
                        &attrs, L->d);
  free(ints);
  return n;
}

/* expr: literal | name | call | -expr | expr op expr. hint: the dtype for
 * literals, from the other operand; NO_HINT: decide from the literals. */
static dlc_node *lower_expr(lowerer *L, const dlc_ast *e, dlc_dtype hint) {
  if (hint == NO_HINT && !has_name(e))
    hint = has_float(e) ? DLC_F32 : DLC_I64;
  switch (e->kind) {
  case DLC_AST_INT:
  case DLC_AST_FLOAT:
    return lower_literal(L, e, hint);
  case DLC_AST_NAME:
    return lower_name(L, e);
  case DLC_AST_NEG: {
    dlc_node *x = lower_expr(L, e->lhs, hint);
    return x ? dlc_graph_build(L->g, DLC_OP_NEG, e->loc, 1, &x, NULL, L->d)
             : NULL;
  }
  case DLC_AST_BINARY: {
    dlc_node *in[2];
    if (!lower_pair(L, e->lhs, e->rhs, hint, in))
      return NULL;
    return dlc_graph_build(L->g, e->op, e->loc, 2, in, NULL, L->d);
  }
  case DLC_AST_CALL:
    return lower_call(L, e, hint);
  case DLC_AST_STRING:
    dlc_error(L->d, e->loc, "a string can only be an argument of load()");
    return NULL;
  case DLC_AST_LIST:
  case DLC_AST_KWARG:
    dlc_error(L->d, e->loc, "expected a tensor expression");
    return NULL;
  case DLC_AST_ERROR:
    return NULL;
  }
  dlc_unreachable();
}

static void lower_input(lowerer *L, const dlc_ast_stmt *s) {
  bool fresh = check_new(L, s->name, s->loc);
  dlc_type t;
  dlc_node *n = NULL;
  if (lower_type(L, &s->type, &t))
    n = dlc_graph_add_input(L->g, s->name, &t, s->loc);
  if (fresh)
    bind(&L->values, s->name, s->loc, n);
}

static void lower_weight(lowerer *L, const dlc_ast_stmt *s) {
  bool fresh = check_new(L, s->name, s->loc);
  dlc_type t;
  dlc_node *n = NULL;
  if (lower_type(L, &s->type, &t)) {
    void *owned = NULL;
    const void *data =
        dlc_weights_data(L->w, s->name, s->loc, &t, s->expr, &owned);
    if (data)
      n = dlc_graph_add_weight(L->g, s->name, &t, data, s->loc);
    free(owned);
  }
  if (fresh)
    bind(&L->values, s->name, s->loc, n);
}

static void add_output(lowerer *L, const dlc_ast_stmt *s, dlc_node *n) {
  binding *b = find(&L->outputs, s->name);
  if (b) {
    dlc_error(L->d, s->loc, "duplicate output '%s'", s->name);
    dlc_note(L->d, b->loc, "previous output is here");
    return;
  }
  bind(&L->outputs, s->name, s->loc, n);
  if (n)
    dlc_graph_add_output(L->g, s->name, n, s->loc);
}

/* name = expr, and output name = expr: bind the value, maybe output it. */
static void lower_let(lowerer *L, const dlc_ast_stmt *s, bool output) {
  bool fresh = check_new(L, s->name, s->loc);
  dlc_node *n = lower_expr(L, s->expr, NO_HINT);
  if (!fresh)
    return;
  bind(&L->values, s->name, s->loc, n);
  if (output)
    add_output(L, s, n);
}

/* output name: an existing value. */
static void lower_output_ref(lowerer *L, const dlc_ast_stmt *s) {
  binding *b = find(&L->values, s->name);
  if (!b) {
    dlc_error(L->d, s->loc, "use of undefined name '%s'", s->name);
    bind(&L->outputs, s->name, s->loc, NULL);
    return;
  }
  add_output(L, s, b->node);
}

dlc_lowerer *dlc_lower_new(dlc_weights *w, dlc_diag *d) {
  lowerer *L = dlc_xcalloc(1, sizeof *L);
  L->d = d;
  L->w = w;
  L->errors = dlc_diag_errors(d);
  return L;
}

void dlc_lower_stmt(void *ctx, const dlc_ast_model *m, const dlc_ast_stmt *s) {
  lowerer *L = ctx;
  if (!L->g)
    L->g = dlc_graph_new(m->name);
  switch (s->kind) {
  case DLC_STMT_INPUT: lower_input(L, s); break;
  case DLC_STMT_WEIGHT: lower_weight(L, s); break;
  case DLC_STMT_LET: lower_let(L, s, false); break;
  case DLC_STMT_OUTPUT:
    L->any_output = true;
    if (s->expr)
      lower_let(L, s, true);
    else
      lower_output_ref(L, s);
    break;
  case DLC_STMT_BROKEN:
    L->any_output |= s->output;
    if (s->name && !find(&L->values, s->name))
      bind(&L->values, s->name, s->loc, NULL);
    break;
  }
}

dlc_graph *dlc_lower_finish(lowerer *L, const dlc_ast_model *m) {
  if (m && !L->any_output && m->syntax_errors == 0)
    dlc_error(L->d, m->loc, "model '%s' has no outputs", m->name);
  dlc_graph *g = L->g;
  if (!m || dlc_diag_errors(L->d) > L->errors) {
    dlc_graph_free(g);
    g = NULL;
  } else if (!g) {
    g = dlc_graph_new(m->name);
  }
  free(L->values.slots);
  free(L->outputs.slots);
  free(L);
  return g;
}

/* The folder of path, for load() paths: "" when it has none. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return dlc_xstrdup("");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *dir = dlc_xmalloc(n + 1);
  memcpy(dir, path, n);
  dir[n] = 0;
  return dir;
}

dlc_graph *dlc_frontend_compile(const char *path, const char *text, size_t len,
                                dlc_safetensors *weights, dlc_diag *d) {
  if (!path)
    path = "<input>";
  const char *file = dlc_diag_add_source(d, path, text, len);
  if (len > INT_MAX / 2) {
    dlc_error(d, dlc_noloc(), "%s: file is too large (%zu bytes)", file, len);
    return NULL;
  }
  int errors = dlc_diag_errors(d);
  char *dir = dir_of(path);
  dlc_weights *w = dlc_weights_new(d, dir, weights);
  dlc_lowerer *L = dlc_lower_new(w, d);
  dlc_arena *arena = dlc_arena_new();
  dlc_ast_model *m = dlc_parse(arena, d, file, text, len, dlc_lower_stmt, L);
  dlc_graph *g = dlc_lower_finish(L, m);
  if (g && dlc_diag_errors(d) == errors)
    dlc_weights_warn_unused(w);
  dlc_weights_free(w);
  free(dir);
  dlc_arena_free(arena);
  return g;
}

dlc_graph *dlc_frontend_compile_file(const char *path, dlc_safetensors *weights,
                                     dlc_diag *d) {
  size_t len;
  char *text = dlc_read_file(path, &len);
  if (!text) {
    dlc_error(d, dlc_noloc(), "%s: cannot read file: %s", path,
              strerror(errno));
    return NULL;
  }
  dlc_graph *g = dlc_frontend_compile(path, text, len, weights, d);
  free(text);
  return g;
}
