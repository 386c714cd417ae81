/* The frontend's internal header: the syntax tree of a .dsl file, the state
 * the scanner and parser share, and the pieces lowering and weight
 * initialization share. Nothing outside frontend/ includes it. */
#ifndef DLC_AST_H
#define DLC_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "ir/arena.h"

/* Parentheses and brackets nest at most this deep (the scanner checks), and
 * an expression tree is at most this tall (the parser checks), so that the
 * recursive lowering cannot run out of stack on hostile input. */
#define DLC_MAX_NESTING 256
#define DLC_MAX_EXPR_DEPTH 1000
/* Tensor types in the language have at most this many elements. */
#define DLC_MAX_ELEMENTS ((int64_t)1 << 40)

typedef enum dlc_ast_kind {
  DLC_AST_INT,    /* integer literal: mag, neg, overflow; text */
  DLC_AST_FLOAT,  /* floating-point literal: fval; text */
  DLC_AST_STRING, /* "text": str (without the quotes) */
  DLC_AST_NAME,   /* a value, or a bare word such as zeros or f32: str */
  DLC_AST_LIST,   /* [n, ...]: kids (INT, FLOAT or, in blocks, NAME nodes) */
  DLC_AST_NEG,    /* -lhs, lhs not a literal (literals are negated in place) */
  DLC_AST_BINARY, /* lhs op rhs: op is ADD, SUB, MUL, DIV or MATMUL */
  DLC_AST_CALL,   /* str(kids): kids are arguments, KWARG for key=value */
  DLC_AST_KWARG,  /* str=lhs: a call argument, or a block's keyword
                     parameter with its default */
  DLC_AST_ERROR,  /* a part already reported as an error */
} dlc_ast_kind;

typedef struct dlc_ast dlc_ast;
struct dlc_ast {
  dlc_ast_kind kind;
  dlc_loc loc; /* the first token of the construct */
  int depth;   /* height of the tree below, bounded by DLC_MAX_EXPR_DEPTH */
  dlc_op op;
  const char *str;  /* NAME, STRING, CALL, KWARG; literals: their text */
  uint64_t mag;     /* INT: magnitude, at most 2^63 unless overflow */
  bool neg;         /* INT: negated */
  bool overflow;    /* INT: the digits exceed 2^63 */
  double fval;      /* FLOAT: the value, sign included */
  dlc_ast *lhs, *rhs;
  dlc_ast *kids; /* LIST, CALL: linked through next */
  int nkids;
  dlc_ast *next;
};

/* A sequence under construction (arguments, list entries, dimensions). */
typedef struct dlc_ast_seq {
  dlc_ast *head, *tail;
  int n;
} dlc_ast_seq;

typedef struct dlc_ast_type {
  const char *dtype;
  dlc_loc loc;   /* the dtype name */
  dlc_ast *dims; /* INT nodes, linked through next */
  int ndims;
} dlc_ast_type;

typedef enum dlc_stmt_kind {
  DLC_STMT_INPUT,  /* input name : type */
  DLC_STMT_WEIGHT, /* weight name : type [= init] (init in expr) */
  DLC_STMT_LET,    /* name = expr */
  DLC_STMT_OUTPUT, /* output name [= expr]; no expr: an existing value */
  DLC_STMT_MULTI,  /* [output] a, b, ... = expr: the names in targets */
  DLC_STMT_RETURN, /* return expr, ...: exprs; loc is the keyword */
  DLC_STMT_BROKEN, /* a statement with a syntax error; name may be NULL,
                      targets the names of a broken a, b = ... */
} dlc_stmt_kind;

typedef struct dlc_ast_stmt dlc_ast_stmt;
struct dlc_ast_stmt {
  dlc_stmt_kind kind;
  const char *name;
  dlc_loc loc; /* the name */
  dlc_ast_type type;
  dlc_ast *expr;
  dlc_ast *targets; /* MULTI (and BROKEN): NAME nodes, linked */
  int ntargets;
  dlc_ast *exprs; /* RETURN: linked through next */
  int nexprs;
  bool output;        /* MULTI: the names are outputs; BROKEN: it was an
                         output statement */
  dlc_ast_stmt *next; /* the next statement of a block */
};

/* fn NAME(params) { body }: a reusable block, defined before the model.
 * Parameters are NAME nodes (tensors) and KWARG nodes (keyword parameters,
 * the default in lhs). */
typedef struct dlc_ast_block {
  const char *name; /* NULL when even the name could not be read */
  dlc_loc loc;      /* the name (the 'fn' keyword without one) */
  dlc_ast *params;
  int nparams;
  dlc_ast_stmt *body, *tail;
  int nbody;
  bool broken; /* a syntax error in its header: parameters and body are
                  unknown */
} dlc_ast_block;

typedef struct dlc_ast_model {
  const char *name;
  dlc_loc loc;       /* the model's name */
  int syntax_errors; /* lexical and syntax errors reported while parsing */
} dlc_ast_model;

/* Called for each statement of the model as soon as it is parsed, so that
 * lowering's diagnostics come out in source order with the syntax errors;
 * for each block once it is parsed; and for the model header, after every
 * block. */
typedef void dlc_stmt_fn(void *ctx, const dlc_ast_model *m,
                         const dlc_ast_stmt *s);
typedef void dlc_block_fn(void *ctx, const dlc_ast_block *b);
typedef void dlc_model_fn(void *ctx, const dlc_ast_model *m);
typedef struct dlc_parse_hooks {
  dlc_stmt_fn *stmt;
  dlc_block_fn *block;
  dlc_model_fn *model;
  void *ctx;
} dlc_parse_hooks;

/* What the scanner and the parser share (flex's yyextra, bison's
 * parse-param). Everything is allocated in arena. */
typedef struct dlc_parse_state {
  dlc_arena *arena;
  dlc_diag *diag;
  const char *file; /* interned in diag */
  dlc_ast_model *model;
  /* scanner position and bracket nesting */
  int line, col, prev_col;
  int nesting;
  bool too_deep;
  const char *last_name; /* text of the last NAME token, for messages */
  bool deep_reported;    /* a too-deep expression in this statement */
  dlc_ast_stmt *pending; /* parsed, not yet handed on */
  dlc_ast_block *block;  /* the block being parsed, or NULL */
  dlc_parse_hooks hooks;
} dlc_parse_state;

/* Parses a .dsl text, handing each block and model statement to the hooks.
 * A statement with a syntax error comes as DLC_STMT_BROKEN after the error
 * is reported. Returns the model, or NULL when not even the model header
 * could be read. */
dlc_ast_model *dlc_parse(dlc_arena *a, dlc_diag *d, const char *file,
                         const char *text, size_t len,
                         const dlc_parse_hooks *hooks);

/* Tree constructors for the parser (ast.c). */
dlc_ast *dlc_ast_new(dlc_parse_state *P, dlc_ast_kind kind, dlc_loc loc);
dlc_ast *dlc_ast_neg(dlc_parse_state *P, dlc_loc loc, dlc_ast *e);
dlc_ast *dlc_ast_binary(dlc_parse_state *P, dlc_op op, dlc_loc loc,
                        dlc_ast *l, dlc_ast *r);
dlc_ast *dlc_ast_call(dlc_parse_state *P, dlc_loc loc, const char *name,
                      dlc_ast_seq args);
dlc_ast *dlc_ast_kwarg(dlc_parse_state *P, dlc_loc loc, const char *key,
                       dlc_ast *value);
dlc_ast *dlc_ast_list(dlc_parse_state *P, dlc_loc loc, dlc_ast_seq items);
void dlc_ast_seq_push(dlc_ast_seq *s, dlc_ast *e);
dlc_ast_stmt *dlc_ast_stmt_add(dlc_parse_state *P, dlc_stmt_kind kind,
                               const char *name, dlc_loc loc);
/* A NAME node. */
dlc_ast *dlc_ast_name(dlc_parse_state *P, dlc_loc loc, const char *name);
/* Starts a block (it becomes P->block, collecting the statements) and
 * hands it on when it ends. name may be NULL after a syntax error. */
dlc_ast_block *dlc_ast_block_begin(dlc_parse_state *P, const char *name,
                                   dlc_loc loc, dlc_ast_seq params);
void dlc_ast_block_end(dlc_parse_state *P, bool broken);
/* Literal nodes from the scanner. */
dlc_ast *dlc_ast_int(dlc_parse_state *P, dlc_loc loc, const char *text,
                     size_t len);
dlc_ast *dlc_ast_float(dlc_parse_state *P, dlc_loc loc, const char *text,
                       size_t len);
/* True when e is a literal (INT or FLOAT). */
bool dlc_ast_is_literal(const dlc_ast *e);
/* A short printable form of s for messages: at most 40 bytes of it. */
int dlc_ast_textlen(const char *s);

/* A literal's value converted to a dtype. Reports (at the literal) and
 * returns false when it does not fit: an integer out of range, a
 * floating-point literal for an integer dtype or bool, an infinite value;
 * bool takes the integers 0 and 1. */
typedef union dlc_scalar {
  float f32;
  double f64;
  int32_t i32;
  int64_t i64;
  uint8_t b;
} dlc_scalar;
bool dlc_literal_convert(dlc_diag *d, const dlc_ast *lit, dlc_dtype dt,
                         dlc_scalar *out);
/* An integer literal as int64; reports and returns false when it is not an
 * integer or does not fit. what names it in the message ("dimension"). */
bool dlc_literal_int(dlc_diag *d, const dlc_ast *lit, const char *what,
                     int64_t *out);

/* Weight initialization (weights.c). */
typedef struct dlc_weights dlc_weights;
/* dir: the .dsl file's folder for load() paths ("" for the current one).
 * bound (may be NULL): the --weights file. */
dlc_weights *dlc_weights_new(dlc_diag *d, const char *dir,
                             dlc_safetensors *bound);
/* Warns about tensors of the bound file that no weight used. */
void dlc_weights_warn_unused(dlc_weights *w);
void dlc_weights_free(dlc_weights *w); /* NULL is harmless */
/* The data of weight `name` of type t declared at loc, from init (NULL:
 * from the bound file): dlc_type_bytes(t) bytes, or NULL after reporting
 * an error. When *owned is set the caller frees it once the data has been
 * copied; otherwise the data lives as long as w. */
const void *dlc_weights_data(dlc_weights *w, const char *name, dlc_loc loc,
                             const dlc_type *t, const dlc_ast *init,
                             void **owned);

/* Lowering to the graph IR (lower.c), one statement at a time. The hooks
 * for dlc_parse: ctx is the dlc_lowerer. */
typedef struct dlc_lowerer dlc_lowerer;
dlc_lowerer *dlc_lower_new(dlc_weights *w, dlc_diag *d);
dlc_stmt_fn dlc_lower_stmt;
dlc_block_fn dlc_lower_block;
dlc_model_fn dlc_lower_model;
/* Checks the model as a whole and frees L. Returns the graph, or NULL
 * when errors were reported since dlc_lower_new (m NULL: no model). */
dlc_graph *dlc_lower_finish(dlc_lowerer *L, const dlc_ast_model *m);

#endif
