/* Syntax tree construction for the parser, and the conversion of literals
 * to typed values shared by lowering and weight initialization. Trees live
 * in the parse arena; their height is bounded here. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ast.h"
#include "ir/util.h"

dlc_ast *dlc_ast_new(dlc_parse_state *P, dlc_ast_kind kind, dlc_loc loc) {
  dlc_ast *e = dlc_arena_alloc(P->arena, sizeof *e);
  e->kind = kind;
  e->loc = loc;
  e->depth = 1;
  return e;
}

int dlc_ast_textlen(const char *s) {
  size_t n = strnlen(s, 41);
  return n > 40 ? 40 : (int)n;
}

bool dlc_ast_is_literal(const dlc_ast *e) {
  return e->kind == DLC_AST_INT || e->kind == DLC_AST_FLOAT;
}

/* A node over children of height depth-1: past the limit it becomes an
 * ERROR node, reported once per statement. */
static dlc_ast *bounded(dlc_parse_state *P, dlc_ast *e, int depth) {
  e->depth = depth;
  if (depth <= DLC_MAX_EXPR_DEPTH)
    return e;
  if (!P->deep_reported)
    dlc_error(P->diag, e->loc, "expression nested too deeply (more than %d "
              "levels)", DLC_MAX_EXPR_DEPTH);
  P->deep_reported = true;
  return dlc_ast_new(P, DLC_AST_ERROR, e->loc);
}

static int max(int a, int b) { return a > b ? a : b; }

/* Unary minus on a literal negates the literal: -2 is a constant, not
 * neg(2). */
dlc_ast *dlc_ast_neg(dlc_parse_state *P, dlc_loc loc, dlc_ast *e) {
  if (e->kind == DLC_AST_ERROR)
    return e;
  if (dlc_ast_is_literal(e)) {
    dlc_ast *n = dlc_ast_new(P, e->kind, loc);
    *n = *e;
    n->loc = loc;
    n->neg = !e->neg;
    n->fval = -e->fval;
    return n;
  }
  dlc_ast *n = dlc_ast_new(P, DLC_AST_NEG, loc);
  n->lhs = e;
  return bounded(P, n, e->depth + 1);
}

dlc_ast *dlc_ast_binary(dlc_parse_state *P, dlc_op op, dlc_loc loc,
                        dlc_ast *l, dlc_ast *r) {
  dlc_ast *n = dlc_ast_new(P, DLC_AST_BINARY, loc);
  n->op = op;
  n->lhs = l;
  n->rhs = r;
  return bounded(P, n, max(l->depth, r->depth) + 1);
}

dlc_ast *dlc_ast_call(dlc_parse_state *P, dlc_loc loc, const char *name,
                      dlc_ast_seq args) {
  dlc_ast *n = dlc_ast_new(P, DLC_AST_CALL, loc);
  n->str = name;
  n->kids = args.head;
  n->nkids = args.n;
  int d = 0;
  for (dlc_ast *a = args.head; a; a = a->next)
    d = max(d, a->depth);
  return bounded(P, n, d + 1);
}

dlc_ast *dlc_ast_kwarg(dlc_parse_state *P, dlc_loc loc, const char *key,
                       dlc_ast *value) {
  dlc_ast *n = dlc_ast_new(P, DLC_AST_KWARG, loc);
  n->str = key;
  n->lhs = value;
  n->depth = value->depth + 1;
  return n;
}

dlc_ast *dlc_ast_list(dlc_parse_state *P, dlc_loc loc, dlc_ast_seq items) {
  dlc_ast *n = dlc_ast_new(P, DLC_AST_LIST, loc);
  n->kids = items.head;
  n->nkids = items.n;
  n->depth = 2;
  return n;
}

void dlc_ast_seq_push(dlc_ast_seq *s, dlc_ast *e) {
  e->next = NULL;
  if (s->tail)
    s->tail->next = e;
  else
    s->head = e;
  s->tail = e;
  s->n++;
}

dlc_ast_stmt *dlc_ast_stmt_add(dlc_parse_state *P, dlc_stmt_kind kind,
                               const char *name, dlc_loc loc) {
  dlc_ast_stmt *s = dlc_arena_alloc(P->arena, sizeof *s);
  s->kind = kind;
  s->name = name;
  s->loc = loc;
  P->pending = s;
  return s;
}

dlc_ast *dlc_ast_name(dlc_parse_state *P, dlc_loc loc, const char *name) {
  dlc_ast *e = dlc_ast_new(P, DLC_AST_NAME, loc);
  e->str = name;
  return e;
}

dlc_ast_block *dlc_ast_block_begin(dlc_parse_state *P, const char *name,
                                   dlc_loc loc, dlc_ast_seq params) {
  dlc_ast_block *b = dlc_arena_alloc(P->arena, sizeof *b);
  b->name = name;
  b->loc = loc;
  b->params = params.head;
  b->nparams = params.n;
  P->block = b;
  return b;
}

void dlc_ast_block_end(dlc_parse_state *P, bool broken) {
  dlc_ast_block *b = P->block;
  P->block = NULL;
  if (!b)
    return;
  b->broken |= broken;
  if (P->model)
    dlc_error(P->diag, b->loc, "blocks must be defined before the model");
  else if (P->hooks.block)
    P->hooks.block(P->hooks.ctx, b);
}

/* Decimal digits to a magnitude, flagging values above 2^63 (which only
 * fits once negated). */
dlc_ast *dlc_ast_int(dlc_parse_state *P, dlc_loc loc, const char *text,
                     size_t len) {
  dlc_ast *e = dlc_ast_new(P, DLC_AST_INT, loc);
  e->str = dlc_arena_strndup(P->arena, text, len);
  const uint64_t limit = (uint64_t)1 << 63;
  uint64_t v = 0;
  for (size_t i = 0; i < len && !e->overflow; i++) {
    uint64_t digit = (uint64_t)(text[i] - '0');
    if (v > (limit - digit) / 10)
      e->overflow = true;
    else
      v = v * 10 + digit;
  }
  e->mag = v;
  return e;
}

dlc_ast *dlc_ast_float(dlc_parse_state *P, dlc_loc loc, const char *text,
                       size_t len) {
  dlc_ast *e = dlc_ast_new(P, DLC_AST_FLOAT, loc);
  e->str = dlc_arena_strndup(P->arena, text, len);
  e->fval = strtod(e->str, NULL); /* inf on overflow, checked on use */
  return e;
}

bool dlc_literal_int(dlc_diag *d, const dlc_ast *lit, const char *what,
                     int64_t *out) {
  if (lit->kind != DLC_AST_INT) {
    dlc_error(d, lit->loc, "%s must be an integer", what);
    return false;
  }
  const uint64_t limit = (uint64_t)1 << 63;
  if (lit->overflow || lit->mag > limit || (!lit->neg && lit->mag == limit)) {
    dlc_error(d, lit->loc, "integer literal is too large");
    return false;
  }
  *out = lit->neg ? (int64_t)(0 - lit->mag) : (int64_t)lit->mag;
  return true;
}

/* "-2.5" or "2.5" for messages; the sign lives outside the token text. */
static const char *sign(const dlc_ast *lit) {
  return lit->neg ? "-" : "";
}

bool dlc_literal_convert(dlc_diag *d, const dlc_ast *lit, dlc_dtype dt,
                         dlc_scalar *out) {
  int n = dlc_ast_textlen(lit->str);
  if (lit->kind == DLC_AST_FLOAT) {
    double v = lit->fval;
    if (dt == DLC_BOOL) {
      dlc_error(d, lit->loc, "floating-point literal '%s%.*s' used as bool",
                sign(lit), n, lit->str);
      return false;
    }
    if (!dlc_dtype_is_float(dt)) {
      dlc_error(d, lit->loc,
                "floating-point literal '%s%.*s' used as %s (an integer "
                "type)", sign(lit), n, lit->str, dlc_dtype_name(dt));
      return false;
    }
    if (isinf(v) || (dt == DLC_F32 && isinf((float)v))) {
      dlc_error(d, lit->loc, "literal '%s%.*s' is out of range for %s",
                sign(lit), n, lit->str, dlc_dtype_name(dt));
      return false;
    }
    if (dt == DLC_F32)
      out->f32 = (float)v;
    else
      out->f64 = v;
    return true;
  }
  int64_t v;
  if (!dlc_literal_int(d, lit, "literal", &v))
    return false;
  switch (dt) {
  case DLC_F32: out->f32 = (float)v; return true;
  case DLC_F64: out->f64 = (double)v; return true;
  case DLC_I64: out->i64 = v; return true;
  case DLC_I32:
    if (v < INT32_MIN || v > INT32_MAX) {
      dlc_error(d, lit->loc, "literal '%s%.*s' is out of range for i32",
                sign(lit), n, lit->str);
      return false;
    }
    out->i32 = (int32_t)v;
    return true;
  case DLC_BOOL:
    if (v != 0 && v != 1) {
      dlc_error(d, lit->loc, "literal '%s%.*s' is out of range for bool "
                "(0 or 1)", sign(lit), n, lit->str);
      return false;
    }
    out->b = (uint8_t)v;
    return true;
  default:
    dlc_unreachable();
  }
}
