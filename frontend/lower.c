/* Lowering of the syntax tree to the graph IR, statement by statement: the
 * names of the model and of blocks, expressions, statements, and the
 * compile entry points. Calls are calls.c's, blocks blocks.c's. A
 * statement that fails leaves its names bound to nothing (poisoned), so
 * their uses are skipped instead of reported again; the shape errors
 * themselves come from the operators' shape rules through dlc_graph_build.
 * Errors while a block call is being inlined are followed by a note for
 * each call, innermost first. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lower.h"
#include "ir/util.h"

static const char *const reserved_dtypes[] = {"f16", "bf16", "i8", "u8"};
static const char *const initializers[] = {"zeros", "ones", "random", "load"};

static bool in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0)
      return true;
  return false;
}
#define IN_LIST(s, list) in_list(s, list, sizeof list / sizeof *list)

bool dlc_lw_is_dtype(const char *name) {
  dlc_dtype t;
  return dlc_dtype_lookup(name, &t) || IN_LIST(name, reserved_dtypes);
}

void dlc_lw_dtype_error(lowerer *L, dlc_loc loc, const char *name) {
  if (IN_LIST(name, reserved_dtypes))
    dlc_lw_error(L, loc, "dtype '%s' is not supported yet (supported: f32, "
                 "f64, i32, i64, bool)", name);
  else
    dlc_lw_error(L, loc, "unknown dtype '%.*s'", dlc_ast_textlen(name), name);
}

/* ---- name tables --------------------------------------------------------- */

static uint64_t hash(const char *s) {
  uint64_t h = 14695981039346656037ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static binding *slot(table *t, const char *name) {
  if (2 * (t->n + 1) > t->cap) {
    table old = *t;
    t->cap = old.cap ? 2 * old.cap : 16;
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

binding *dlc_tab_find(table *t, const char *name) {
  if (!t->cap)
    return NULL;
  size_t mask = (size_t)t->cap - 1, i = hash(name) & mask;
  while (t->slots[i].name && strcmp(t->slots[i].name, name) != 0)
    i = (i + 1) & mask;
  return t->slots[i].name ? &t->slots[i] : NULL;
}

void dlc_tab_bind(table *t, const char *name, dlc_loc loc, dlc_node *node,
                  int kw) {
  binding *b = slot(t, name);
  if (!b->name)
    t->n++;
  *b = (binding){name, loc, node, kw};
}

void dlc_tab_free(table *t) {
  free(t->slots);
  *t = (table){0};
}

/* ---- diagnostics --------------------------------------------------------- */

void dlc_lw_notes(lowerer *L, int before) {
  if (dlc_diag_errors(L->d) == before)
    return;
  for (frame *f = L->cur; f && f->inlined; f = f->up)
    dlc_note(L->d, dlc_noloc(), "in call from %s:%d:%d", f->call.file,
             f->call.line, f->call.col);
}

void dlc_lw_error(lowerer *L, dlc_loc loc, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int before = dlc_diag_errors(L->d);
  dlc_error(L->d, loc, "%s", msg);
  dlc_lw_notes(L, before);
}

void dlc_lw_results_error(lowerer *L, dlc_loc loc, const char *callee,
                          int have, int want) {
  int n = dlc_ast_textlen(callee);
  if (want == 1)
    dlc_lw_error(L, loc, "'%.*s' returns %d value%s, but 1 is expected", n,
                 callee, have, have == 1 ? "" : "s");
  else
    dlc_lw_error(L, loc, "'%.*s' returns %d value%s, but %d names are given",
                 n, callee, have, have == 1 ? "" : "s", want);
}

/* False (after reporting) when name is taken already in the frame. */
static bool check_new(lowerer *L, const char *name, dlc_loc loc) {
  binding *b = dlc_tab_find(&L->cur->values, name);
  if (!b)
    return true;
  dlc_lw_error(L, loc, "redefinition of '%.*s'", dlc_ast_textlen(name), name);
  dlc_note(L->d, b->loc, "previous definition is here");
  return false;
}

/* ---- types --------------------------------------------------------------- */

/* type = DTYPE "[" dims "]": known dtype, at most 8 positive dimensions,
 * at most 2^40 elements. */
static bool lower_type(lowerer *L, const dlc_ast_type *at, dlc_type *t) {
  bool ok = true;
  *t = (dlc_type){0};
  if (!dlc_dtype_lookup(at->dtype, &t->dtype)) {
    dlc_lw_dtype_error(L, at->loc, at->dtype);
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

/* The value of a keyword parameter named by e in the current frame: *is_kw
 * tells whether it is one; NULL while checking (unknown), or after the
 * inlining budget was spent. */
static const dlc_ast *kw_value(lowerer *L, const dlc_ast *e, bool *is_kw) {
  binding *b = dlc_tab_find(&L->cur->values, e->str);
  *is_kw = b && b->kw >= 0;
  return *is_kw ? L->cur->kw[b->kw] : NULL;
}

/* ---- keyword values ------------------------------------------------------ */

/* Counts work done inlining against DLC_MAX_INLINED; false, reporting
 * once, when it is spent. */
static bool charge(lowerer *L, dlc_loc at, long n) {
  if (!L->cur->inlined)
    return true;
  L->work += n;
  if (L->work <= DLC_MAX_INLINED)
    return true;
  if (!L->too_big)
    dlc_lw_error(L, at, "the model is too large after inlining blocks (more "
                 "than %d operations)", DLC_MAX_INLINED);
  L->too_big = true;
  return false;
}

static dlc_ast *copy(lowerer *L, const dlc_ast *v, dlc_loc loc) {
  dlc_ast *n = dlc_arena_alloc(L->arena, sizeof *n);
  *n = *v;
  n->loc = loc;
  n->next = NULL;
  return n;
}

/* A copy of a value at loc, its list entries too; NULL when the budget is
 * spent. */
static dlc_ast *relocate(lowerer *L, const dlc_ast *v, dlc_loc loc) {
  bool list = v->kind == DLC_AST_LIST;
  if (!charge(L, loc, 1 + (list ? v->nkids : 0)))
    return NULL;
  dlc_ast *n = copy(L, v, loc);
  if (list) {
    dlc_ast_seq items = {0};
    for (const dlc_ast *k = v->kids; k; k = k->next)
      dlc_ast_seq_push(&items, copy(L, k, loc));
    n->kids = items.head;
  }
  return n;
}

const dlc_ast *dlc_lw_resolve(lowerer *L, const dlc_ast *v, bool *unknown) {
  bool is_kw;
  *unknown = false;
  if (v->kind == DLC_AST_NAME) {
    const dlc_ast *val = kw_value(L, v, &is_kw);
    if (!is_kw)
      return v; /* a dtype, or a word the use reports */
    dlc_ast *n = val ? relocate(L, val, v->loc) : NULL;
    *unknown = !n;
    return n;
  }
  if (v->kind != DLC_AST_LIST)
    return v;
  bool any = false;
  for (const dlc_ast *k = v->kids; k; k = k->next)
    if (k->kind == DLC_AST_NAME) {
      kw_value(L, k, &is_kw);
      any |= is_kw;
    }
  if (!any)
    return v;
  if (!charge(L, v->loc, 1 + v->nkids)) {
    *unknown = true;
    return NULL;
  }
  dlc_ast_seq items = {0};
  for (const dlc_ast *k = v->kids; k; k = k->next) {
    const dlc_ast *item = dlc_lw_resolve(L, k, unknown);
    if (*unknown)
      return NULL;
    dlc_ast_seq_push(&items, item == k ? copy(L, k, k->loc) : (dlc_ast *)item);
  }
  dlc_ast *n = copy(L, v, v->loc);
  n->kids = items.head;
  return n;
}

/* ---- expressions --------------------------------------------------------- */

/* Whether a name is a value (not a literal-like keyword parameter). */
static bool names_value(lowerer *L, const dlc_ast *e) {
  bool is_kw;
  kw_value(L, e, &is_kw);
  return !is_kw;
}

static bool has_name(lowerer *L, const dlc_ast *e) {
  switch (e->kind) {
  case DLC_AST_NAME: return names_value(L, e);
  case DLC_AST_NEG: return has_name(L, e->lhs);
  case DLC_AST_BINARY: return has_name(L, e->lhs) || has_name(L, e->rhs);
  case DLC_AST_CALL:
    for (const dlc_ast *a = e->kids; a; a = a->next)
      if (a->kind != DLC_AST_KWARG && has_name(L, a))
        return true;
    return false;
  default: return false;
  }
}

bool dlc_lw_has_float(lowerer *L, const dlc_ast *e) {
  bool is_kw;
  const dlc_ast *v;
  switch (e->kind) {
  case DLC_AST_FLOAT: return true;
  case DLC_AST_NAME:
    v = kw_value(L, e, &is_kw);
    return v && v->kind == DLC_AST_FLOAT;
  case DLC_AST_NEG: return dlc_lw_has_float(L, e->lhs);
  case DLC_AST_BINARY:
    return dlc_lw_has_float(L, e->lhs) || dlc_lw_has_float(L, e->rhs);
  case DLC_AST_CALL:
    for (const dlc_ast *a = e->kids; a; a = a->next)
      if (a->kind != DLC_AST_KWARG && a->kind != DLC_AST_LIST &&
          dlc_lw_has_float(L, a))
        return true;
    return false;
  default: return false;
  }
}

bool dlc_lw_literal_only(lowerer *L, const dlc_ast *e) {
  switch (e->kind) {
  case DLC_AST_INT:
  case DLC_AST_FLOAT: return true;
  case DLC_AST_NAME: return !names_value(L, e);
  case DLC_AST_NEG: return dlc_lw_literal_only(L, e->lhs);
  case DLC_AST_BINARY:
    return dlc_lw_literal_only(L, e->lhs) && dlc_lw_literal_only(L, e->rhs);
  default: return false;
  }
}

/* Two operands of a binary operator: literals on one side take the dtype
 * of the other side, which is then lowered first. */
static bool lower_pair(lowerer *L, const dlc_ast *a, const dlc_ast *b,
                       dlc_dtype hint, dlc_node *out[2]) {
  if (dlc_lw_literal_only(L, a) && !dlc_lw_literal_only(L, b)) {
    out[1] = dlc_lw_expr(L, b, hint);
    out[0] = dlc_lw_expr(L, a, out[1] ? out[1]->type.dtype : hint);
  } else {
    out[0] = dlc_lw_expr(L, a, hint);
    out[1] = dlc_lw_expr(L, b, out[0] ? out[0]->type.dtype : hint);
  }
  return out[0] && out[1];
}

dlc_node *dlc_lw_build(lowerer *L, dlc_op op, dlc_loc loc, int nin,
                       dlc_node *const *in, const dlc_attrs *attrs) {
  if (L->checking)
    return &L->sentinel;
  int before = dlc_diag_errors(L->d);
  dlc_node *n = dlc_graph_build(L->g, op, loc, nin, in, attrs, L->d);
  dlc_lw_notes(L, before);
  return n;
}

static dlc_node *lower_literal(lowerer *L, const dlc_ast *e, dlc_dtype dt) {
  if (L->checking)
    return &L->sentinel;
  dlc_scalar v;
  int before = dlc_diag_errors(L->d);
  if (!dlc_literal_convert(L->d, e, dt, &v)) {
    dlc_lw_notes(L, before);
    return NULL;
  }
  dlc_type t = {.dtype = dt, .rank = 0};
  return dlc_graph_add_const(L->g, &t, &v, e->loc);
}

static const char *what_value(const dlc_ast *v) {
  switch (v->kind) {
  case DLC_AST_LIST: return "a list";
  case DLC_AST_STRING: return "a string";
  default: return "a name";
  }
}

static dlc_node *lower_name(lowerer *L, const dlc_ast *e, dlc_dtype hint) {
  binding *b = dlc_tab_find(&L->cur->values, e->str);
  if (b && b->kw < 0)
    return b->node; /* NULL when poisoned: already reported */
  if (b) { /* a keyword parameter used as a number */
    const dlc_ast *v = L->cur->kw[b->kw];
    if (!v)
      return L->checking ? &L->sentinel : NULL;
    if (!dlc_ast_is_literal(v)) {
      dlc_lw_error(L, e->loc, "'%.*s' is used as a number, but its value is "
                   "%s", dlc_ast_textlen(e->str), e->str, what_value(v));
      return NULL;
    }
    dlc_ast lit = *v;
    lit.loc = e->loc;
    return lower_literal(L, &lit, hint);
  }
  bool t = !strcmp(e->str, "true");
  if (t || !strcmp(e->str, "false")) {
    if (L->checking)
      return &L->sentinel;
    dlc_type ty = {.dtype = DLC_BOOL, .rank = 0};
    uint8_t v = t;
    return dlc_graph_add_const(L->g, &ty, &v, e->loc);
  }
  if (IN_LIST(e->str, initializers))
    dlc_lw_error(L, e->loc, "'%s' can only be used as a weight initializer",
                 e->str);
  else
    dlc_lw_error(L, e->loc, "use of undefined name '%.*s'",
                 dlc_ast_textlen(e->str), e->str);
  return NULL;
}

/* expr: literal | name | call | -expr | expr op expr. hint: the dtype for
 * literals, from the other operand; NO_HINT: decide from the literals. */
static dlc_node *expr(lowerer *L, const dlc_ast *e, dlc_dtype hint) {
  if (hint == NO_HINT && !has_name(L, e))
    hint = dlc_lw_has_float(L, e) ? DLC_F32 : DLC_I64;
  switch (e->kind) {
  case DLC_AST_INT:
  case DLC_AST_FLOAT:
    return lower_literal(L, e, hint);
  case DLC_AST_NAME:
    return lower_name(L, e, hint);
  case DLC_AST_NEG: {
    dlc_node *x = dlc_lw_expr(L, e->lhs, hint);
    return x ? dlc_lw_build(L, DLC_OP_NEG, e->loc, 1, &x, NULL) : NULL;
  }
  case DLC_AST_BINARY: {
    dlc_node *in[2];
    if (!lower_pair(L, e->lhs, e->rhs, hint, in))
      return NULL;
    return dlc_lw_build(L, e->op, e->loc, 2, in, NULL);
  }
  case DLC_AST_CALL: {
    dlc_node *n;
    return dlc_lw_call(L, e, hint, 1, &n) ? n : NULL;
  }
  case DLC_AST_STRING:
    dlc_lw_error(L, e->loc, "a string can only be a keyword value or an "
                 "argument of load()");
    return NULL;
  case DLC_AST_LIST:
  case DLC_AST_KWARG:
    dlc_lw_error(L, e->loc, "expected a tensor expression");
    return NULL;
  case DLC_AST_ERROR:
    return NULL;
  }
  dlc_unreachable();
}

/* The recursion is bounded through block calls too, and so is the work
 * done inlining them. */
dlc_node *dlc_lw_expr(lowerer *L, const dlc_ast *e, dlc_dtype hint) {
  if (L->depth >= DLC_MAX_LOWER_DEPTH) {
    if (!L->deep_reported)
      dlc_lw_error(L, e->loc, "expressions nested too deeply through block "
                   "calls (more than %d levels)", DLC_MAX_LOWER_DEPTH);
    L->deep_reported = true;
    return NULL;
  }
  if (!charge(L, e->loc, 1))
    return NULL;
  L->depth++;
  dlc_node *n = expr(L, e, hint);
  L->depth--;
  return n;
}

/* ---- statements ---------------------------------------------------------- */

static void lower_input(lowerer *L, const dlc_ast_stmt *s) {
  bool fresh = check_new(L, s->name, s->loc);
  dlc_type t;
  dlc_node *n = NULL;
  if (lower_type(L, &s->type, &t))
    n = dlc_graph_add_input(L->g, s->name, &t, s->loc);
  if (fresh)
    dlc_tab_bind(&L->cur->values, s->name, s->loc, n, -1);
}

static void lower_weight(lowerer *L, const dlc_ast_stmt *s) {
  bool fresh = check_new(L, s->name, s->loc);
  dlc_type t;
  dlc_node *n = NULL;
  bool typed = lower_type(L, &s->type, &t);
  if (typed && dlc_type_bytes(&t) > DLC_MAX_WEIGHT_BYTES - L->weight_bytes) {
    char ts[DLC_TYPE_STRLEN];
    dlc_error(L->d, s->loc,
              "weight '%s' (%s) would bring the model's weights past 8 GiB, "
              "the most dlcc embeds",
              s->name, dlc_type_str(&t, ts, sizeof ts));
  } else if (typed) {
    L->weight_bytes += dlc_type_bytes(&t);
    void *owned = NULL;
    const void *data =
        dlc_weights_data(L->w, s->name, s->loc, &t, s->expr, &owned);
    if (data)
      n = dlc_graph_add_weight(L->g, s->name, &t, data, s->loc);
    free(owned);
  }
  if (fresh)
    dlc_tab_bind(&L->cur->values, s->name, s->loc, n, -1);
}

static void add_output(lowerer *L, const char *name, dlc_loc loc,
                       dlc_node *n) {
  binding *b = dlc_tab_find(&L->outputs, name);
  if (b) {
    dlc_error(L->d, loc, "duplicate output '%s'", name);
    dlc_note(L->d, b->loc, "previous output is here");
    return;
  }
  dlc_tab_bind(&L->outputs, name, loc, n, -1);
  if (n)
    dlc_graph_add_output(L->g, name, n, loc);
}

/* name = expr, and output name = expr: bind the value, maybe output it. */
static void lower_let(lowerer *L, const dlc_ast_stmt *s, bool output) {
  bool fresh = check_new(L, s->name, s->loc);
  dlc_node *n = dlc_lw_expr(L, s->expr, NO_HINT);
  if (!fresh)
    return;
  dlc_tab_bind(&L->cur->values, s->name, s->loc, n, -1);
  if (output)
    add_output(L, s->name, s->loc, n);
}

/* a, b, ... = call: each name gets one of the call's values. */
static void lower_multi(lowerer *L, const dlc_ast_stmt *s) {
  int n = s->ntargets;
  bool *fresh = dlc_xcalloc((size_t)n, sizeof *fresh);
  dlc_node **out = dlc_xcalloc((size_t)n, sizeof *out);
  table seen = {0}; /* a name twice in the list */
  int i = 0;
  for (const dlc_ast *t = s->targets; t; t = t->next, i++) {
    binding *b = dlc_tab_find(&seen, t->str);
    if (b) {
      dlc_lw_error(L, t->loc, "redefinition of '%.*s'",
                   dlc_ast_textlen(t->str), t->str);
      dlc_note(L->d, b->loc, "previous definition is here");
      continue;
    }
    dlc_tab_bind(&seen, t->str, t->loc, NULL, -1);
    fresh[i] = check_new(L, t->str, t->loc);
  }
  dlc_tab_free(&seen);
  if (s->expr->kind == DLC_AST_CALL) {
    dlc_lw_call(L, s->expr, NO_HINT, n, out);
  } else if (s->expr->kind != DLC_AST_ERROR) {
    dlc_lw_error(L, s->expr->loc, "expected a call that returns %d values "
                 "(a block or split)", n);
  }
  i = 0;
  for (const dlc_ast *t = s->targets; t; t = t->next, i++)
    if (fresh[i]) {
      dlc_tab_bind(&L->cur->values, t->str, t->loc, out[i], -1);
      if (s->output)
        add_output(L, t->str, t->loc, out[i]);
    }
  free(out);
  free(fresh);
}

/* output name: an existing value. */
static void lower_output_ref(lowerer *L, const dlc_ast_stmt *s) {
  binding *b = dlc_tab_find(&L->cur->values, s->name);
  if (!b) {
    dlc_error(L->d, s->loc, "use of undefined name '%s'", s->name);
    dlc_tab_bind(&L->outputs, s->name, s->loc, NULL, -1);
    return;
  }
  add_output(L, s->name, s->loc, b->node);
}

/* A statement that failed to parse: its names are defined (poisoned). */
static void lower_broken(lowerer *L, const dlc_ast_stmt *s) {
  if (s->name && !dlc_tab_find(&L->cur->values, s->name))
    dlc_tab_bind(&L->cur->values, s->name, s->loc, NULL, -1);
  for (const dlc_ast *t = s->targets; t; t = t->next)
    if (!dlc_tab_find(&L->cur->values, t->str))
      dlc_tab_bind(&L->cur->values, t->str, t->loc, NULL, -1);
}

/* Declarations and outputs belong to the model. */
static void not_in_block(lowerer *L, const dlc_ast_stmt *s) {
  static const char *const msg[] = {
      [DLC_STMT_INPUT] = "an input cannot be declared in a block; declare it "
                         "in the model and pass it in",
      [DLC_STMT_WEIGHT] = "a weight cannot be declared in a block; declare "
                          "it in the model and pass it in",
      [DLC_STMT_OUTPUT] = "a block cannot have outputs; return the values "
                          "instead",
  };
  dlc_lw_error(L, s->loc, "%s", msg[s->output ? DLC_STMT_OUTPUT : s->kind]);
  lower_broken(L, s); /* its names are defined */
}

void dlc_lw_stmt(lowerer *L, const dlc_ast_stmt *s, dlc_node **results) {
  bool in_block = L->cur->blk != NULL;
  switch (s->kind) {
  case DLC_STMT_INPUT:
  case DLC_STMT_WEIGHT:
  case DLC_STMT_OUTPUT:
    if (in_block) {
      not_in_block(L, s);
      break;
    }
    if (s->kind == DLC_STMT_INPUT) {
      lower_input(L, s);
    } else if (s->kind == DLC_STMT_WEIGHT) {
      lower_weight(L, s);
    } else {
      L->any_output = true;
      if (s->expr)
        lower_let(L, s, true);
      else
        lower_output_ref(L, s);
    }
    break;
  case DLC_STMT_LET: lower_let(L, s, false); break;
  case DLC_STMT_MULTI:
    if (s->output && in_block) {
      not_in_block(L, s);
      break;
    }
    L->any_output |= s->output;
    lower_multi(L, s);
    break;
  case DLC_STMT_RETURN: {
    if (!in_block) {
      dlc_lw_error(L, s->loc, "'return' outside a block");
      break;
    }
    int i = 0;
    for (const dlc_ast *e = s->exprs; e; e = e->next, i++) {
      dlc_node *n = dlc_lw_expr(L, e, NO_HINT);
      if (results)
        results[i] = n;
    }
    break;
  }
  case DLC_STMT_BROKEN:
    L->any_output |= s->output && !in_block;
    lower_broken(L, s);
    break;
  }
}

/* ---- the hooks ----------------------------------------------------------- */

dlc_lowerer *dlc_lower_new(dlc_weights *w, dlc_diag *d) {
  lowerer *L = dlc_xcalloc(1, sizeof *L);
  L->d = d;
  L->w = w;
  L->arena = dlc_arena_new();
  L->cur = &L->top;
  L->errors = dlc_diag_errors(d);
  L->sentinel.type = (dlc_type){.dtype = DLC_F32};
  L->sentinel.op = DLC_OP_CONST;
  return L;
}

void dlc_lower_block(void *ctx, const dlc_ast_block *b) {
  dlc_lw_add_block(ctx, b);
}

void dlc_lower_model(void *ctx, const dlc_ast_model *m) {
  lowerer *L = ctx;
  if (!L->g)
    L->g = dlc_graph_new(m->name);
  dlc_lw_check_blocks(L);
}

void dlc_lower_stmt(void *ctx, const dlc_ast_model *m, const dlc_ast_stmt *s) {
  lowerer *L = ctx;
  if (!L->g)
    L->g = dlc_graph_new(m->name);
  L->deep_reported = false;
  dlc_lw_stmt(L, s, NULL);
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
  dlc_tab_free(&L->top.values);
  dlc_tab_free(&L->outputs);
  dlc_lw_free_blocks(L);
  dlc_arena_free(L->arena);
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
  dlc_parse_hooks hooks = {dlc_lower_stmt, dlc_lower_block, dlc_lower_model,
                           L};
  dlc_ast_model *m = dlc_parse(arena, d, file, text, len, &hooks);
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
