/* The parser of the graph language: a pure bison parser building the
 * syntax tree (ast.h) in the parse arena: blocks (fn), then the model. It
 * recovers from a syntax error at the end of the statement, so independent
 * errors are all reported;
 * a statement that failed still names the value it meant to define, so
 * lowering does not report its uses as undefined. */
%code requires {
#include "frontend/ast.h"
typedef void *yyscan_t;
}

%code provides {
int dlc_yylex(DLC_YYSTYPE *yylval, DLC_YYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <stdio.h>
#include <string.h>

#include "ir/util.h"

#define LOC(l) ((dlc_loc){P->file, (l).first_line, (l).first_column})

static void dlc_yyerror(DLC_YYLTYPE *l, yyscan_t scanner, dlc_parse_state *P,
                        const char *msg);

/* Ends a statement: hands it on, or adds it to the block being parsed;
 * the depth report is per statement. */
static void end_stmt(dlc_parse_state *P) {
  dlc_ast_stmt *s = P->pending;
  dlc_ast_block *b = P->block;
  if (s && b) {
    if (b->tail)
      b->tail->next = s;
    else
      b->body = s;
    b->tail = s;
    b->nbody++;
  } else if (s && P->hooks.stmt) {
    P->hooks.stmt(P->hooks.ctx, P->model, s);
  }
  P->pending = NULL;
  P->deep_reported = false;
}

static dlc_ast_stmt *typed(dlc_parse_state *P, dlc_stmt_kind kind,
                           const char *name, dlc_loc loc, dlc_ast_type t) {
  dlc_ast_stmt *s = dlc_ast_stmt_add(P, kind, name, loc);
  s->type = t;
  return s;
}

static dlc_ast_stmt *broken(dlc_parse_state *P, const char *name, dlc_loc loc,
                            bool output) {
  dlc_ast_stmt *s = dlc_ast_stmt_add(P, DLC_STMT_BROKEN, name, loc);
  s->output = output;
  return s;
}

/* a, b, ... = : the first name, then the others. */
static dlc_ast_stmt *multi(dlc_parse_state *P, dlc_stmt_kind kind,
                           const char *first, dlc_loc loc, dlc_ast_seq rest) {
  dlc_ast_stmt *s = dlc_ast_stmt_add(P, kind, first, loc);
  dlc_ast *n = dlc_ast_name(P, loc, first);
  n->next = rest.head;
  s->targets = n;
  s->ntargets = rest.n + 1;
  return s;
}

static dlc_ast_seq one(dlc_ast *e) {
  dlc_ast_seq s = {0};
  dlc_ast_seq_push(&s, e);
  return s;
}
}

%define api.pure full
%define api.prefix {dlc_yy}
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.lac full
%locations
%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {dlc_parse_state *P}

%union {
  char *str;
  dlc_ast *node;
  dlc_ast_seq seq;
  dlc_ast_type type;
}

%token END 0 "end of file"
%token MODEL "'model'" INPUT "'input'" WEIGHT "'weight'" OUTPUT "'output'"
%token FN "'fn'" RETURN "'return'"
%token NEWLINE "end of line"
%token <str> NAME "name"
%token <node> INT "integer" FLOAT "number" STRING "string"
%token LEXERROR "invalid token"

%type <node> expr term unary primary arg kwval list number item param
%type <seq> args arglist items dims names exprs params paramlist
%type <type> type

%%

/* file = newline* (block newline*)* "model" NAME newline* "{" stmts "}"
 *        newline* (block newline*)*
 * where a block after the model is an error (reported when it ends). */
file: newlines blocks header newlines '{' stmts '}' newlines blocks
    ;

/* header = "model" NAME: the model exists from here on */
header: MODEL NAME {
          P->model = dlc_arena_alloc(P->arena, sizeof *P->model);
          P->model->name = $2;
          P->model->loc = LOC(@2);
          if (P->hooks.model)
            P->hooks.model(P->hooks.ctx, P->model);
        }
      ;

blocks: %empty | blocks block newlines ;

/* block = "fn" NAME "(" params? ")" newline* "{" stmts "}". A syntax error
 * in the header skips the whole block; one in a statement only that
 * statement. */
block: block_head stmts '}'  { dlc_ast_block_end(P, false); }
     | FN NAME error '}'     {
         dlc_ast_block_begin(P, $2, LOC(@2), (dlc_ast_seq){0});
         dlc_ast_block_end(P, true);
       }
     | FN error '}'          {
         dlc_ast_block_begin(P, NULL, LOC(@1), (dlc_ast_seq){0});
         dlc_ast_block_end(P, true);
       }
     ;

block_head: FN NAME '(' params ')' newlines '{' {
              dlc_ast_block_begin(P, $2, LOC(@2), $4);
            }
          ;

/* params = param ("," param)*, param = NAME | NAME "=" kwval */
params: %empty          { $$ = (dlc_ast_seq){0}; }
      | paramlist
      ;

paramlist: param        { $$ = one($1); }
         | paramlist ',' param { $$ = $1; dlc_ast_seq_push(&$$, $3); }
         ;

param: NAME             { $$ = dlc_ast_name(P, LOC(@1), $1); }
     | NAME '=' kwval   { $$ = dlc_ast_kwarg(P, LOC(@1), $1, $3); }
     ;

/* newlines = "\n"* */
newlines: %empty | newlines NEWLINE ;

/* stmts = stmt (("\n" | ";") stmt)* */
stmts: stmt               { end_stmt(P); }
     | stmts sep stmt     { end_stmt(P); }
     ;

/* A separator ends any error recovery, so that the next statement's
 * errors are reported too; having consumed a token, it cannot loop. */
sep: NEWLINE { yyerrok; }
   | ';'     { yyerrok; }
   ;

/* stmt = "input" NAME ":" type
 *      | "weight" NAME ":" type ("=" expr)?
 *      | "output" NAME ("=" expr)?
 *      | "output" NAME ("," NAME)+ "=" expr
 *      | NAME "=" expr
 *      | NAME ("," NAME)+ "=" expr
 *      | "return" expr ("," expr)*
 *      | (empty) */
stmt: %empty
    | INPUT NAME ':' type          { typed(P, DLC_STMT_INPUT, $2, LOC(@2), $4); }
    | WEIGHT NAME ':' type         { typed(P, DLC_STMT_WEIGHT, $2, LOC(@2), $4); }
    | WEIGHT NAME ':' type '=' expr {
        typed(P, DLC_STMT_WEIGHT, $2, LOC(@2), $4)->expr = $6;
      }
    | NAME '=' expr {
        dlc_ast_stmt_add(P, DLC_STMT_LET, $1, LOC(@1))->expr = $3;
      }
    | NAME ',' names '=' expr {
        multi(P, DLC_STMT_MULTI, $1, LOC(@1), $3)->expr = $5;
      }
    | RETURN exprs {
        dlc_ast_stmt *s = dlc_ast_stmt_add(P, DLC_STMT_RETURN, NULL, LOC(@1));
        s->exprs = $2.head;
        s->nexprs = $2.n;
      }
    | OUTPUT NAME '=' expr {
        dlc_ast_stmt_add(P, DLC_STMT_OUTPUT, $2, LOC(@2))->expr = $4;
      }
    | OUTPUT NAME { dlc_ast_stmt_add(P, DLC_STMT_OUTPUT, $2, LOC(@2)); }
    | OUTPUT NAME ',' names '=' expr {
        dlc_ast_stmt *s = multi(P, DLC_STMT_MULTI, $2, LOC(@2), $4);
        s->expr = $6;
        s->output = true;
      }
    /* recovery: skip to the end of the statement, keeping its name */
    | INPUT NAME error             { broken(P, $2, LOC(@2), false); }
    | WEIGHT NAME error            { broken(P, $2, LOC(@2), false); }
    | NAME '=' error               { broken(P, $1, LOC(@1), false); }
    | NAME ',' error               { broken(P, $1, LOC(@1), false); }
    | NAME ',' names error {
        multi(P, DLC_STMT_BROKEN, $1, LOC(@1), $3);
      }
    | NAME ',' names '=' error {
        multi(P, DLC_STMT_BROKEN, $1, LOC(@1), $3);
      }
    | RETURN error                 { broken(P, NULL, LOC(@1), false); }
    | OUTPUT NAME '=' error        { broken(P, $2, LOC(@2), true); }
    | OUTPUT NAME error            { broken(P, $2, LOC(@2), true); }
    | OUTPUT NAME ',' names error {
        multi(P, DLC_STMT_BROKEN, $2, LOC(@2), $4)->output = true;
      }
    | OUTPUT NAME ',' names '=' error {
        multi(P, DLC_STMT_BROKEN, $2, LOC(@2), $4)->output = true;
      }
    | error                        { broken(P, NULL, LOC(@1), false); }
    ;

/* type = NAME "[" dims? "]"
 * dims = dim ("," dim)*, dim = "-"? INT (the sign for a better error) */
type: NAME '[' ']'      { $$ = (dlc_ast_type){$1, LOC(@1), NULL, 0}; }
    | NAME '[' dims ']' { $$ = (dlc_ast_type){$1, LOC(@1), $3.head, $3.n}; }
    ;

dims: INT               { $$ = (dlc_ast_seq){0}; dlc_ast_seq_push(&$$, $1); }
    | '-' INT           {
        $$ = (dlc_ast_seq){0};
        dlc_ast_seq_push(&$$, dlc_ast_neg(P, LOC(@1), $2));
      }
    | dims ',' INT      { $$ = $1; dlc_ast_seq_push(&$$, $3); }
    | dims ',' '-' INT  {
        $$ = $1;
        dlc_ast_seq_push(&$$, dlc_ast_neg(P, LOC(@3), $4));
      }
    ;

/* names = NAME ("," NAME)*, after the first name of a, b = ... */
names: NAME             { $$ = one(dlc_ast_name(P, LOC(@1), $1)); }
     | names ',' NAME   {
         $$ = $1;
         dlc_ast_seq_push(&$$, dlc_ast_name(P, LOC(@3), $3));
       }
     ;

/* exprs = expr ("," expr)* */
exprs: expr             { $$ = one($1); }
     | exprs ',' expr   { $$ = $1; dlc_ast_seq_push(&$$, $3); }
     ;

/* expr = term (("+" | "-") term)* */
expr: term
    | expr '+' term     { $$ = dlc_ast_binary(P, DLC_OP_ADD, LOC(@1), $1, $3); }
    | expr '-' term     { $$ = dlc_ast_binary(P, DLC_OP_SUB, LOC(@1), $1, $3); }
    ;

/* term = unary (("*" | "/" | "@") unary)* */
term: unary
    | term '*' unary    { $$ = dlc_ast_binary(P, DLC_OP_MUL, LOC(@1), $1, $3); }
    | term '/' unary    { $$ = dlc_ast_binary(P, DLC_OP_DIV, LOC(@1), $1, $3); }
    | term '@' unary    {
        $$ = dlc_ast_binary(P, DLC_OP_MATMUL, LOC(@1), $1, $3);
      }
    ;

/* unary = "-" unary | primary */
unary: primary
     | '-' unary        { $$ = dlc_ast_neg(P, LOC(@1), $2); }
     ;

/* primary = INT | FLOAT | STRING | NAME | NAME "(" args ")" | "(" expr ")" */
primary: INT
       | FLOAT
       | STRING
       | NAME              { $$ = dlc_ast_name(P, LOC(@1), $1); }
       | NAME '(' args ')' { $$ = dlc_ast_call(P, LOC(@1), $1, $3); }
       | '(' expr ')'      { $$ = $2; }
       ;

/* args = arglist? */
args: %empty            { $$ = (dlc_ast_seq){0}; }
    | arglist
    ;

/* arglist = arg ("," arg)* */
arglist: arg            { $$ = (dlc_ast_seq){0}; dlc_ast_seq_push(&$$, $1); }
       | arglist ',' arg { $$ = $1; dlc_ast_seq_push(&$$, $3); }
       ;

/* arg = expr | list | NAME "=" kwval */
arg: expr
   | list
   | NAME '=' kwval     { $$ = dlc_ast_kwarg(P, LOC(@1), $1, $3); }
   ;

/* kwval = number | list | NAME | STRING */
kwval: number
     | list
     | NAME             { $$ = dlc_ast_name(P, LOC(@1), $1); }
     | STRING
     ;

/* list = "[" items? "]" */
list: '[' ']'           { $$ = dlc_ast_list(P, LOC(@1), (dlc_ast_seq){0}); }
    | '[' items ']'     { $$ = dlc_ast_list(P, LOC(@1), $2); }
    ;

/* items = item ("," item)*, item = number | NAME (a keyword parameter) */
items: item             { $$ = one($1); }
     | items ',' item   { $$ = $1; dlc_ast_seq_push(&$$, $3); }
     ;

item: number
    | NAME              { $$ = dlc_ast_name(P, LOC(@1), $1); }
    ;

/* number = "-"? (INT | FLOAT) */
number: INT
      | FLOAT
      | '-' INT         { $$ = dlc_ast_neg(P, LOC(@1), $2); }
      | '-' FLOAT       { $$ = dlc_ast_neg(P, LOC(@1), $2); }
      ;

%%

static bool is_closer(yysymbol_kind_t t) {
  const char *s = yysymbol_name(t);
  return s[0] == '\'' && s[1] && strchr(")]}", s[1]);
}

static bool starts_expr(yysymbol_kind_t t) {
  const char *s = yysymbol_name(t);
  return t == YYSYMBOL_NAME || t == YYSYMBOL_INT || t == YYSYMBOL_FLOAT ||
         t == YYSYMBOL_STRING || !strcmp(s, "'('") || !strcmp(s, "'-'");
}

/* Syntax errors in clang's words: "unexpected X, expected Y or Z", where
 * the tokens that start an expression count as one "expression". A
 * LEXERROR lookahead was reported by the scanner already. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner,
                                 dlc_parse_state *P) {
  yysymbol_kind_t tok = yypcontext_token(ctx);
  if (P->model)
    P->model->syntax_errors++;
  if (tok == YYSYMBOL_LEXERROR)
    return 0;
  char msg[512];
  size_t n = 0;
  if (tok == YYSYMBOL_MODEL && P->model) {
    dlc_error(P->diag, LOC(*yypcontext_location(ctx)),
              "only one model per file");
    return 0;
  }
  if (tok == YYSYMBOL_NAME && P->last_name)
    n = (size_t)snprintf(msg, sizeof msg, "unexpected name '%.*s'",
                         dlc_ast_textlen(P->last_name), P->last_name);
  else
    n = (size_t)snprintf(msg, sizeof msg, "unexpected %s", yysymbol_name(tok));
  yysymbol_kind_t exp[YYNTOKENS];
  int nexp = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
  bool expr = false;
  for (int i = 0; i < nexp; i++)
    expr |= exp[i] == YYSYMBOL_STRING;
  const char *names[YYNTOKENS + 1];
  int k = 0;
  if (expr)
    names[k++] = "expression";
  for (int i = 0; i < nexp; i++)
    if (!expr || !starts_expr(exp[i]))
      names[k++] = yysymbol_name(exp[i]);
  /* At the end of the file or a wrong closing bracket, what is missing is
   * the right closing bracket. */
  if (tok == YYSYMBOL_YYEOF || is_closer(tok))
    for (int i = 0; i < nexp; i++)
      if (is_closer(exp[i])) {
        names[0] = yysymbol_name(exp[i]);
        k = 1;
      }
  for (int i = 0; k <= 5 && i < k && n < sizeof msg; i++)
    n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s",
                          i == 0 ? ", expected " : i == k - 1 ? " or " : ", ",
                          names[i]);
  dlc_error(P->diag, LOC(*yypcontext_location(ctx)), "%s", msg);
  return 0;
}

/* Only for the parser's own failures, such as its stack overflowing. */
static void dlc_yyerror(DLC_YYLTYPE *l, yyscan_t scanner, dlc_parse_state *P,
                        const char *msg) {
  if (P->model)
    P->model->syntax_errors++;
  if (strcmp(msg, "memory exhausted") == 0)
    msg = "program nested too deeply";
  dlc_error(P->diag, LOC(*l), "%s", msg);
}
