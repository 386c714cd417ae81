/* Blocks: fn NAME(params) { statements; return values } before the model.
 * Each definition is checked once, when the model begins, by lowering its
 * body in checking mode (nothing is built; keyword parameters are
 * unknown): names, calls, argument counts, keywords and literal keyword
 * values. A block whose definition has errors is broken: its calls are
 * still checked but yield nothing, silently. A call of a sound block is
 * inlined: its body is lowered in a frame of its own, where the tensor
 * parameters are the arguments' nodes and keyword parameters are
 * substituted where they are used. A block can only call blocks defined
 * before it, so inlining always ends. */
#include <stdlib.h>
#include <string.h>

#include "frontend/lower.h"
#include "ir/util.h"

void dlc_lw_add_block(lowerer *L, const dlc_ast_block *ab) {
  block *b = dlc_xcalloc(1, sizeof *b);
  b->ast = ab;
  b->index = L->nblocks;
  b->nresults = -1;
  b->broken = ab->broken || !ab->name;
  b->tensor = dlc_xcalloc((size_t)ab->nparams + 1, sizeof *b->tensor);
  b->kwparam = dlc_xcalloc((size_t)ab->nparams + 1, sizeof *b->kwparam);
  for (const dlc_ast *p = ab->params; p; p = p->next) {
    if (p->kind == DLC_AST_NAME) {
      b->tensor[b->ntensor++] = p;
    } else {
      if (!dlc_tab_find(&b->kwindex, p->str))
        dlc_tab_bind(&b->kwindex, p->str, p->loc, NULL, b->nkw);
      b->kwparam[b->nkw++] = p;
    }
  }
  for (const dlc_ast_stmt *s = ab->body; s; s = s->next)
    if (s->kind == DLC_STMT_RETURN)
      b->nresults = s->nexprs;
  DLC_PUSH(L->blocks, L->nblocks, L->capblocks, b);
  if (ab->name && !dlc_tab_find(&L->block_names, ab->name))
    dlc_tab_bind(&L->block_names, ab->name, ab->loc, NULL, b->index);
}

void dlc_lw_free_blocks(lowerer *L) {
  for (int i = 0; i < L->nblocks; i++) {
    block *b = L->blocks[i];
    dlc_tab_free(&b->kwindex);
    free(b->tensor);
    free(b->kwparam);
    free(b);
  }
  free(L->blocks);
  dlc_tab_free(&L->block_names);
}

/* A default is a number, a list of numbers, a string or a dtype. */
static void check_default(lowerer *L, const dlc_ast *p) {
  const dlc_ast *v = p->lhs;
  bool ok = true;
  dlc_dtype dt;
  switch (v->kind) {
  case DLC_AST_LIST:
    for (const dlc_ast *k = v->kids; k; k = k->next)
      ok &= dlc_ast_is_literal(k);
    break;
  case DLC_AST_NAME:
    if (dlc_lw_is_dtype(v->str) && !dlc_dtype_lookup(v->str, &dt)) {
      dlc_lw_dtype_error(L, v->loc, v->str);
      return;
    }
    ok = dlc_dtype_lookup(v->str, &dt);
    break;
  default:
    break;
  }
  if (!ok)
    dlc_lw_error(L, v->loc, "default of '%.*s' must be a number, a list of "
                 "numbers, a string or a dtype", dlc_ast_textlen(p->str),
                 p->str);
}

/* The parameters into the checking frame: each name once, tensors first. */
static void check_params(lowerer *L, block *b, frame *f) {
  bool seen_kw = false;
  int ki = 0;
  for (const dlc_ast *p = b->ast->params; p; p = p->next) {
    bool is_kw = p->kind == DLC_AST_KWARG;
    binding *prev = dlc_tab_find(&f->values, p->str);
    if (prev) {
      dlc_lw_error(L, p->loc, "redefinition of '%.*s'",
                   dlc_ast_textlen(p->str), p->str);
      dlc_note(L->d, prev->loc, "previous definition is here");
    } else if (!is_kw && seen_kw) {
      dlc_lw_error(L, p->loc, "tensor parameter '%.*s' must come before the "
                   "keyword parameters", dlc_ast_textlen(p->str), p->str);
    }
    if (is_kw)
      check_default(L, p);
    if (!prev)
      dlc_tab_bind(&f->values, p->str, p->loc, is_kw ? NULL : &L->sentinel,
                   is_kw ? ki : -1);
    ki += is_kw;
    seen_kw |= is_kw;
  }
}

static void check_block(lowerer *L, block *b) {
  const dlc_ast_block *ab = b->ast;
  if (!ab->name)
    return; /* its header had a syntax error */
  int before = dlc_diag_errors(L->d), n = dlc_ast_textlen(ab->name);
  binding *first = dlc_tab_find(&L->block_names, ab->name);
  if (dlc_lw_is_operator(ab->name)) {
    dlc_error(L->d, ab->loc, "block '%s' has the name of an operator",
              ab->name);
  } else if (first->kw != b->index) {
    dlc_error(L->d, ab->loc, "redefinition of block '%.*s'", n, ab->name);
    dlc_note(L->d, first->loc, "previous definition is here");
  }
  frame f = {.blk = b};
  f.kw = dlc_xcalloc((size_t)b->nkw + 1, sizeof *f.kw); /* all unknown */
  L->cur = &f;
  L->checking = true;
  L->visible = b->index;
  check_params(L, b, &f);
  bool has_return = false, broken = false;
  for (const dlc_ast_stmt *s = ab->body; s; s = s->next) {
    L->deep_reported = false;
    if (s->kind == DLC_STMT_RETURN && s->next)
      dlc_error(L->d, s->loc, "'return' must be the last statement of block "
                "'%.*s'", n, ab->name);
    has_return |= s->kind == DLC_STMT_RETURN;
    broken |= s->kind == DLC_STMT_BROKEN;
    dlc_lw_stmt(L, s, NULL);
  }
  if (!has_return && !broken && !ab->broken)
    dlc_error(L->d, ab->loc, "block '%.*s' has no 'return'", n, ab->name);
  b->broken |= broken || dlc_diag_errors(L->d) > before;
  L->checking = false;
  L->cur = &L->top;
  dlc_tab_free(&f.values);
  free(f.kw);
}

void dlc_lw_check_blocks(lowerer *L) {
  for (int i = 0; i < L->nblocks; i++)
    check_block(L, L->blocks[i]);
  L->visible = L->nblocks;
}

/* The arguments of a call: tensors (lowered in the caller's frame) and
 * keyword values (the caller's keyword parameters substituted; defaults
 * for those not given). False after an error. */
static bool arguments(lowerer *L, block *b, const dlc_ast *e, dlc_node **args,
                      const dlc_ast **vals) {
  const char *name = b->ast->name;
  bool ok = true, seen_kw = false, *given;
  given = dlc_xcalloc((size_t)b->nkw + 1, sizeof *given);
  int k = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next) {
    if (a->kind == DLC_AST_KWARG) {
      seen_kw = true;
      binding *kb = dlc_tab_find(&b->kwindex, a->str);
      bool unknown;
      if (!kb) {
        dlc_lw_error(L, a->loc, "unknown keyword '%.*s' for '%s'",
                     dlc_ast_textlen(a->str), a->str, name);
        ok = false;
      } else if (given[kb->kw]) {
        dlc_lw_error(L, a->loc, "keyword '%s' given twice", a->str);
        ok = false;
      } else {
        given[kb->kw] = true;
        const dlc_ast *v = dlc_lw_resolve(L, a->lhs, &unknown);
        if (v && v->kind == DLC_AST_NAME && !dlc_lw_is_dtype(v->str)) {
          dlc_lw_error(L, v->loc, "keyword '%s' of '%s' must be a number, a "
                       "list, a string or a dtype", a->str, name);
          ok = false;
        }
        ok &= !unknown || L->checking;
        vals[kb->kw] = v; /* NULL: unknown while checking */
      }
      continue;
    }
    if (seen_kw) {
      dlc_lw_error(L, a->loc, "positional argument after keyword argument");
      ok = false;
    }
    if (a->kind == DLC_AST_LIST) {
      dlc_lw_error(L, a->loc, "argument %d of '%s' must be a tensor, not a "
                   "list", k + 1, name);
      ok = false;
    } else {
      args[k] = dlc_lw_expr(L, a, NO_HINT);
      ok &= args[k] != NULL;
    }
    k++;
  }
  for (int i = 0; i < b->nkw; i++)
    if (!given[i])
      vals[i] = b->kwparam[i]->lhs;
  free(given);
  return ok;
}

/* The body in a frame of its own; the return's values into out. */
static bool inline_call(lowerer *L, block *b, const dlc_ast *e,
                        dlc_node **args, const dlc_ast **vals, int want,
                        dlc_node **out) {
  if (L->calls >= DLC_MAX_CALL_DEPTH) {
    dlc_lw_error(L, e->loc, "block calls nested too deeply (more than %d "
                 "levels)", DLC_MAX_CALL_DEPTH);
    return false;
  }
  frame f = {.up = L->cur, .blk = b, .inlined = true, .call = e->loc,
             .kw = vals};
  for (int i = 0; i < b->ntensor; i++)
    dlc_tab_bind(&f.values, b->tensor[i]->str, b->tensor[i]->loc, args[i],
                 -1);
  for (int i = 0; i < b->nkw; i++)
    dlc_tab_bind(&f.values, b->kwparam[i]->str, b->kwparam[i]->loc, NULL, i);
  L->cur = &f;
  L->calls++;
  for (const dlc_ast_stmt *s = b->ast->body; s; s = s->next)
    dlc_lw_stmt(L, s, s->kind == DLC_STMT_RETURN ? out : NULL);
  L->calls--;
  L->cur = f.up;
  dlc_tab_free(&f.values);
  bool ok = true;
  for (int i = 0; i < want; i++)
    ok &= out[i] != NULL;
  return ok;
}

bool dlc_lw_call_block(lowerer *L, block *b, const dlc_ast *e, int want,
                       dlc_node **out) {
  const char *name = b->ast->name;
  if (b->ast->broken) { /* its parameters are unknown: no more errors */
    for (const dlc_ast *a = e->kids; a; a = a->next)
      if (a->kind != DLC_AST_KWARG && a->kind != DLC_AST_LIST)
        dlc_lw_expr(L, a, NO_HINT);
    return false;
  }
  int npos = 0;
  for (const dlc_ast *a = e->kids; a; a = a->next)
    npos += a->kind != DLC_AST_KWARG;
  bool ok = true;
  if (npos != b->ntensor) {
    dlc_lw_error(L, e->loc, "'%s' expects %d argument%s, got %d", name,
                 b->ntensor, b->ntensor == 1 ? "" : "s", npos);
    ok = false;
  }
  dlc_node **args = dlc_xcalloc((size_t)npos + 1, sizeof *args);
  const dlc_ast **vals = dlc_xcalloc((size_t)b->nkw + 1, sizeof *vals);
  ok &= arguments(L, b, e, args, vals);
  if (ok && b->nresults >= 0 && b->nresults != want) {
    dlc_lw_results_error(L, e->loc, name, b->nresults, want);
    ok = false;
  }
  if (ok && !b->broken && !L->too_big) {
    if (L->checking)
      for (int i = 0; i < want; i++)
        out[i] = &L->sentinel;
    else
      ok = inline_call(L, b, e, args, vals, want, out);
  } else {
    ok = false;
  }
  free(vals);
  free(args);
  return ok;
}
