/* The lowerer's internal header, shared by lower.c (names, expressions,
 * statements, the model), calls.c (operator calls through the call table
 * calls.def) and blocks.c (fn blocks: checking their definitions and
 * inlining their calls). Nothing outside frontend/ includes it. */
#ifndef DLC_LOWER_H
#define DLC_LOWER_H

#include <stdbool.h>

#include "frontend/ast.h"

/* No dtype from the context: literals decide (i64, or f32 with a float). */
#define NO_HINT DLC_NUM_DTYPES

/* Inlining limits, so that hostile programs fail cleanly: block calls
 * nest at most this deep; expressions recurse at most this deep through
 * all the calls together (the C stack); and at most this many expressions
 * are lowered inside blocks in all (a block calling another twice, which
 * calls another twice, ... grows exponentially). */
#define DLC_MAX_CALL_DEPTH 64
#define DLC_MAX_LOWER_DEPTH 2500
#define DLC_MAX_INLINED 200000

/* A name: a value (node; NULL when its definition failed), or a block's
 * keyword parameter (kw >= 0, its index). Tables of blocks use kw for the
 * block's number. */
typedef struct binding {
  const char *name; /* NULL: an empty slot */
  dlc_loc loc;
  dlc_node *node;
  int kw;
} binding;

/* Open addressing, linear probing, at most half full. */
typedef struct table {
  binding *slots;
  int cap, n;
} table;

binding *dlc_tab_find(table *t, const char *name);
void dlc_tab_bind(table *t, const char *name, dlc_loc loc, dlc_node *node,
                  int kw);
void dlc_tab_free(table *t);

/* A block definition, checked when the model begins. */
typedef struct block {
  const dlc_ast_block *ast;
  int index;             /* definition order */
  int ntensor, nkw;      /* parameters of each sort */
  const dlc_ast **tensor; /* NAME nodes */
  const dlc_ast **kwparam; /* KWARG nodes: name in str, default in lhs */
  table kwindex;         /* keyword parameter name -> index (kw) */
  int nresults;          /* the return's count; -1 without a return */
  bool broken;           /* its definition has errors: calls yield nothing */
} block;

/* Where names are looked up: the model, or one block being checked or
 * inlined. A block sees only its parameters and its own names. */
typedef struct frame frame;
struct frame {
  frame *up;        /* the caller's frame (inlining) */
  block *blk;       /* NULL: the model */
  bool inlined;     /* a call being inlined: errors get a note for call */
  dlc_loc call;
  table values;     /* tensors and locals; keyword parameters (kw >= 0) */
  const dlc_ast **kw; /* keyword parameter values, substituted at their
                         uses; NULL entries while checking: unknown */
};

/* All weights of a model together: data dlcc embeds, and holds in memory
 * while compiling. */
#define DLC_MAX_WEIGHT_BYTES ((size_t)8 << 30)

struct dlc_lowerer {
  dlc_graph *g; /* made when the model begins */
  dlc_diag *d;
  dlc_weights *w;
  dlc_arena *arena; /* substituted keyword values */
  frame top;        /* the model's names */
  frame *cur;       /* where names are looked up now */
  table outputs;
  block **blocks; /* definition order */
  int nblocks, capblocks;
  table block_names; /* name -> the first block of that name (kw) */
  int visible;       /* blocks[0..visible) can be called */
  bool checking;     /* checking a block: nothing is built */
  dlc_node sentinel; /* what a tensor is while checking */
  int depth;         /* lower_expr recursion, through calls */
  int calls;         /* block calls being inlined */
  long work;         /* expressions lowered inside blocks */
  bool deep_reported, too_big;
  int errors; /* errors reported before lowering began */
  bool any_output;
  size_t weight_bytes; /* embedded so far, against DLC_MAX_WEIGHT_BYTES */
};
typedef struct dlc_lowerer lowerer;

/* lower.c */
/* Reports an error, then a note for each block call being inlined,
 * innermost first: "note: in call from FILE:LINE:COL". */
void dlc_lw_error(lowerer *L, dlc_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The call notes, when errors were reported since `before`. */
void dlc_lw_notes(lowerer *L, int before);
dlc_node *dlc_lw_expr(lowerer *L, const dlc_ast *e, dlc_dtype hint);
/* Literals, keyword parameters holding numbers, arithmetic on them. */
bool dlc_lw_literal_only(lowerer *L, const dlc_ast *e);
/* Whether e has a floating-point literal (or keyword parameter value). */
bool dlc_lw_has_float(lowerer *L, const dlc_ast *e);
/* A keyword value, list or positional list/dtype argument as written,
 * with the current block's keyword parameters substituted (the values
 * take the location of their use). *unknown (returning NULL) when it
 * depends on one whose value is not known (checking a block), or when the
 * inlining budget is spent (reported; then lowering must fail). */
const dlc_ast *dlc_lw_resolve(lowerer *L, const dlc_ast *v, bool *unknown);
/* op(in...) with attributes; the sentinel while checking. */
dlc_node *dlc_lw_build(lowerer *L, dlc_op op, dlc_loc loc, int nin,
                       dlc_node *const *in, const dlc_attrs *attrs);
/* "'f' returns 2 values, but 3 names are given" and the like. */
void dlc_lw_results_error(lowerer *L, dlc_loc loc, const char *callee,
                          int have, int want);
/* One statement in the current frame. results: where a return puts its
 * values (NULL in the model). */
void dlc_lw_stmt(lowerer *L, const dlc_ast_stmt *s, dlc_node **results);
bool dlc_lw_is_dtype(const char *name); /* known or reserved */
/* "dtype 'f16' is not supported yet (...)" or "unknown dtype 'foo'". */
void dlc_lw_dtype_error(lowerer *L, dlc_loc loc, const char *name);

/* calls.c */
/* name(args) in a context expecting want values (1 in an expression, n
 * for a, b, ... = name(args)); out gets them. False when it failed (after
 * reporting, or silently for a broken block). */
bool dlc_lw_call(lowerer *L, const dlc_ast *e, dlc_dtype hint, int want,
                 dlc_node **out);
/* Whether name is an operator of the language (calls.def or ops.def). */
bool dlc_lw_is_operator(const char *name);

/* blocks.c */
void dlc_lw_add_block(lowerer *L, const dlc_ast_block *b);
/* Checks every block's definition, in order (when the model begins). */
void dlc_lw_check_blocks(lowerer *L);
bool dlc_lw_call_block(lowerer *L, block *b, const dlc_ast *e, int want,
                       dlc_node **out);
void dlc_lw_free_blocks(lowerer *L);

#endif
