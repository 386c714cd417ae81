/* Blocks (fn NAME(params) { ... return ... }): inlining, keyword
 * parameters with their defaults and overrides, nested blocks, several
 * results, the locality of names, and every error in a definition or a
 * call with its exact text; errors found while inlining point into the
 * block and then, as notes, at each call. Hostile programs (deep, wide,
 * exponential) fail cleanly. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tests/testutil.h"

static tu_sink sink;
static dlc_graph *graph;
static void setup(void) { tu_sink_open(&sink); }
static void teardown(void) {
  dlc_graph_free(graph);
  graph = NULL;
  tu_sink_close(&sink);
}

/* Compiles src as "t.dsl"; it must succeed without any diagnostic. The
 * graph is freed after the test. */
static dlc_graph *compile(const char *src) {
  dlc_graph_free(graph);
  graph = dlc_frontend_compile("t.dsl", src, strlen(src), NULL, sink.d);
  ck_assert_msg(graph != NULL, "compile failed:\n%s", tu_sink_text(&sink));
  ck_assert_str_eq(tu_sink_text(&sink), "");
  return graph;
}

/* src must fail with exactly the diagnostics want. */
static void expect(const char *src, const char *want) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_frontend_compile("t.dsl", src, strlen(src), NULL, s.d);
  ck_assert_msg(g == NULL, "compiled without errors:\n%s", src);
  ck_assert_str_eq(tu_sink_text(&s), want);
  tu_sink_close(&s);
}

static char *tstr(const dlc_type *t) {
  static char buf[4][DLC_TYPE_STRLEN];
  static int k;
  return dlc_type_str(t, buf[k++ % 4], DLC_TYPE_STRLEN);
}

/* The graph's ops in order, sources left out: "conv2d batch_norm relu". */
static char *ops(const dlc_graph *g) {
  static char buf[1024];
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < g->nnodes && n < sizeof buf; i++)
    if (dlc_ops[g->nodes[i]->op].kind != DLC_KIND_SOURCE)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "",
                            dlc_ops[g->nodes[i]->op].name);
  return buf;
}

static dlc_node *out(const dlc_graph *g, int i) {
  ck_assert_int_lt(i, g->noutputs);
  return g->outputs[i].node;
}

static void is_op(const dlc_node *n, dlc_op op, const char *type) {
  ck_assert_msg(n->op == op, "got %s, want %s", dlc_ops[n->op].name,
                dlc_ops[op].name);
  ck_assert_str_eq(tstr(&n->type), type);
}

/* The block of the issue, called with its default stride and with
 * stride=2: each call is inlined, its nodes located in the block. */
START_TEST(inlining) {
  dlc_graph *g = compile(
      "fn conv_bn_relu(x, w, scale, bias, mean, var, stride=1) {\n"
      "  y = conv2d(x, w, stride=stride, pad=1)\n"
      "  return relu(batch_norm(y, scale, bias, mean, var))\n"
      "}\n"
      "\n"
      "model m {\n"
      "  input x : f32[1, 3, 8, 8]\n"
      "  weight w : f32[4, 3, 3, 3] = ones\n"
      "  weight s : f32[4] = ones; weight b : f32[4] = zeros\n"
      "  output a = conv_bn_relu(x, w, s, b, b, s)\n"
      "  output c = conv_bn_relu(x, w, s, b, b, s, stride=2)\n"
      "}\n");
  ck_assert_str_eq(ops(g), "conv2d batch_norm relu conv2d batch_norm relu");
  dlc_node *a = out(g, 0), *c = out(g, 1);
  is_op(a, DLC_OP_RELU, "f32[1,4,8,8]");
  is_op(c, DLC_OP_RELU, "f32[1,4,4,4]");
  dlc_node *bn = a->in[0], *conv = bn->in[0];
  is_op(bn, DLC_OP_BATCH_NORM, "f32[1,4,8,8]");
  ck_assert_str_eq(bn->in[1]->name, "s");
  ck_assert_str_eq(bn->in[2]->name, "b");
  ck_assert_str_eq(bn->in[3]->name, "b");
  ck_assert_str_eq(bn->in[4]->name, "s");
  is_op(conv, DLC_OP_CONV2D, "f32[1,4,8,8]");
  ck_assert_str_eq(conv->in[0]->name, "x");
  ck_assert_int_eq(conv->attr.stride[0], 1);
  ck_assert_int_eq(conv->attr.pad[3], 1);
  ck_assert_int_eq(conv->loc.line, 2);
  ck_assert_int_eq(conv->loc.col, 7);
  ck_assert_int_eq(a->loc.line, 3);
  dlc_node *conv2 = c->in[0]->in[0];
  ck_assert_int_eq(conv2->attr.stride[0], 2);
  ck_assert_int_eq(conv2->attr.stride[1], 2);
  ck_assert_ptr_ne(conv2, conv);
}
END_TEST

/* Keyword parameters stand for a number (in an expression or a list), a
 * list, a string or a dtype, wherever such a value can be written. */
START_TEST(keyword_parameters) {
  dlc_graph *g = compile(
      "fn pool(x, k=2, p=[0, 0], mode=\"none\", dt=f32, alpha=0.5,\n"
      "        shape=[-1]) {\n"
      "  y = max_pool2d(x, kernel=[k, k], stride=k, pad=p)\n"
      "  z = gelu(y, approximate=mode) * alpha + k\n"
      "  return reshape(cast(z, dt), shape)\n"
      "}\n"
      "model m {\n"
      "  input x : f32[1, 1, 8, 8]; input d : f64[1, 1, 8, 8]\n"
      "  output a = pool(x)\n"
      "  output b = pool(d, k=4, p=[1, 1], mode=\"tanh\", dt=f64, alpha=2,\n"
      "                  shape=[2, -1])\n"
      "}\n");
  dlc_node *a = out(g, 0), *b = out(g, 1);
  is_op(a, DLC_OP_RESHAPE, "f32[16]");
  is_op(b, DLC_OP_RESHAPE, "f64[2,2]");
  dlc_node *cast = a->in[0], *add = cast->in[0], *mul = add->in[0];
  is_op(cast, DLC_OP_CAST, "f32[1,1,4,4]");
  is_op(add, DLC_OP_ADD, "f32[1,1,4,4]");
  ck_assert_float_eq(*(float *)add->in[1]->data, 2);
  is_op(mul, DLC_OP_MUL, "f32[1,1,4,4]");
  ck_assert_float_eq(*(float *)mul->in[1]->data, 0.5);
  dlc_node *gelu = mul->in[0], *pool = gelu->in[0];
  ck_assert(!gelu->attr.approximate);
  ck_assert_int_eq(pool->attr.kernel[1], 2);
  ck_assert_int_eq(pool->attr.stride[0], 2);
  ck_assert_int_eq(pool->attr.pad[0], 0);
  /* the overrides: numbers typed by the f64 operand */
  cast = b->in[0];
  is_op(cast, DLC_OP_CAST, "f64[1,1,2,2]");
  ck_assert_int_eq(cast->attr.to, DLC_F64);
  add = cast->in[0];
  mul = add->in[0];
  ck_assert_double_eq(*(double *)add->in[1]->data, 4);
  ck_assert_double_eq(*(double *)mul->in[1]->data, 2);
  gelu = mul->in[0];
  pool = gelu->in[0];
  ck_assert(gelu->attr.approximate);
  ck_assert_int_eq(pool->attr.kernel[0], 4);
  ck_assert_int_eq(pool->attr.pad[2], 1);
}
END_TEST

/* Blocks call blocks defined before them, pass keyword parameters on, and
 * return several values, bound with a, b = ...; split too. */
START_TEST(nested_and_results) {
  dlc_graph *g = compile(
      "fn halves(x, axis=0) {\n"
      "  a, b = split(x, sizes=[2, 2], axis=axis)\n"
      "  return a, b\n"
      "}\n"
      "fn swap(x, axis=0) {\n"
      "  p, q = halves(x, axis=axis)\n"
      "  return q, p + 1\n"
      "}\n"
      "fn both(x) {\n"
      "  p, q = swap(x, axis=1)\n"
      "  return concat(p, q, axis=1), relu(x)\n"
      "}\n"
      "model m {\n"
      "  input x : f32[4, 4]\n"
      "  u, w = swap(x)\n"
      "  output u; output w\n"
      "  output r, s = both(x)\n"
      "}\n");
  ck_assert_int_eq(g->noutputs, 4);
  ck_assert_str_eq(g->outputs[2].name, "r");
  dlc_node *u = out(g, 0), *w = out(g, 1), *r = out(g, 2), *s = out(g, 3);
  is_op(u, DLC_OP_SLICE, "f32[2,4]");
  ck_assert_int_eq(u->attr.start, 2);
  ck_assert_int_eq(u->attr.axis, 0);
  is_op(w, DLC_OP_ADD, "f32[2,4]");
  is_op(w->in[0], DLC_OP_SLICE, "f32[2,4]");
  ck_assert_int_eq(w->in[0]->attr.start, 0);
  is_op(r, DLC_OP_CONCAT, "f32[4,4]");
  ck_assert_int_eq(r->in[0]->attr.axis, 1);
  ck_assert_int_eq(r->in[0]->attr.start, 2);
  is_op(s, DLC_OP_RELU, "f32[4,4]");
}
END_TEST

/* A block sees only its parameters and its own names; its names do not
 * leak out, and each call has its own. Parameters may have the names of
 * the model's values, operators' names are not reserved for values. */
START_TEST(locality) {
  dlc_graph *g = compile("fn f(x, relu=2) {\n"
                         "  h = x * relu\n"
                         "  return h\n"
                         "}\n"
                         "fn g(h) {\n"
                         "  x = f(h)\n"
                         "  return f(x, relu=3)\n"
                         "}\n"
                         "model m {\n"
                         "  input x : f32[2]; input h : f32[2]\n"
                         "  output y = g(h) + f(x)\n"
                         "}\n");
  ck_assert_str_eq(ops(g), "mul mul mul add");
  expect("fn f(a) {\n"
         "  return a + x\n"
         "}\n"
         "model m {\n"
         "  input x : f32[2]\n"
         "  y = f(x)\n"
         "  output z = h\n"
         "}\n"
         "fn late(x) { return x }\n",
         "t.dsl:2:14: error: use of undefined name 'x'\n"
         "  return a + x\n"
         "             ^\n"
         "t.dsl:7:14: error: use of undefined name 'h'\n"
         "  output z = h\n"
         "             ^\n"
         "t.dsl:9:4: error: blocks must be defined before the model\n"
         "fn late(x) { return x }\n"
         "   ^\n");
}
END_TEST

/* A block calls only blocks defined before it: no recursion, direct or
 * through another block. */
START_TEST(recursion) {
  expect("fn f(x) {\n"
         "  y = g(x)\n"
         "  return f(y)\n"
         "}\n"
         "fn g(x) {\n"
         "  return f(x)\n"
         "}\n"
         "model m {\n"
         "  input x : f32[2]\n"
         "  output y = g(x) + f(x)\n"
         "}\n",
         "t.dsl:2:7: error: block 'g' is defined after 'f'; a block can only "
         "call blocks defined before it\n"
         "  y = g(x)\n"
         "      ^\n"
         "t.dsl:5:4: note: 'g' is defined here\n"
         "fn g(x) {\n"
         "   ^\n"
         "t.dsl:3:10: error: block 'f' calls itself (recursion is not "
         "allowed)\n"
         "  return f(y)\n"
         "         ^\n");
}
END_TEST

/* Errors found while inlining: at the line in the block, then a note for
 * each call, innermost first. */
START_TEST(call_notes) {
  expect("fn linear(x, w) {\n"
         "  return x @ w\n"
         "}\n"
         "fn mlp(x, w1, w2, k=2) {\n"
         "  h = relu(linear(x, w1))\n"
         "  return linear(h, w2) * k\n"
         "}\n"
         "fn pool(x, k=2) {\n"
         "  return max_pool2d(x, kernel=k)\n"
         "}\n"
         "model m {\n"
         "  input x : f32[1, 4]; input i : i32[1, 4]\n"
         "  input im : f32[1, 1, 4, 4]\n"
         "  weight w1 : f32[4, 8] = ones; weight w2 : f32[5, 2] = ones\n"
         "  weight w3 : f32[8, 2] = ones\n"
         "  a = mlp(x, w1, w2)\n"
         "  b = mlp(x, w1, w3, k=[1])\n"
         "  c = linear(i, x)\n"
         "  d = pool(im, k=[1, 2, 3])\n"
         "  e = mlp(x, w1, w3, k=0.5) + mlp(i, w1, w3)\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:2:10: error: matmul: inner dimensions differ: f32[1,8] @ "
         "f32[5,2]\n"
         "  return x @ w\n"
         "         ^\n"
         "note: in call from t.dsl:6:10\n"
         "note: in call from t.dsl:16:7\n"
         "t.dsl:6:26: error: 'k' is used as a number, but its value is a "
         "list\n"
         "  return linear(h, w2) * k\n"
         "                         ^\n"
         "note: in call from t.dsl:17:7\n"
         "t.dsl:2:10: error: matmul: operand types differ: i32[1,4] @ "
         "f32[1,4]\n"
         "  return x @ w\n"
         "         ^\n"
         "note: in call from t.dsl:18:7\n"
         "t.dsl:9:31: error: keyword 'kernel' of 'max_pool2d' must be an "
         "integer or a list of 2 integers\n"
         "  return max_pool2d(x, kernel=k)\n"
         "                              ^\n"
         "note: in call from t.dsl:19:7\n"
         "t.dsl:2:10: error: matmul: operand types differ: i32[1,4] @ "
         "f32[4,8]\n"
         "  return x @ w\n"
         "         ^\n"
         "note: in call from t.dsl:5:12\n"
         "note: in call from t.dsl:20:31\n");
}
END_TEST

/* Mistakes in definitions, each reported once, whether the block is
 * called or not; the calls of a broken block report nothing more. */
START_TEST(definition_errors) {
  expect("fn relu(x) {\n"
         "  return x\n"
         "}\n"
         "fn f(x, x, k=1, w) {\n"
         "  input i : f32[2]\n"
         "  weight q : f32[2] = ones\n"
         "  output o = x\n"
         "  output o1, o2 = split(x, sizes=[1, 1])\n"
         "  return x\n"
         "  u = x\n"
         "}\n"
         "fn g(x, d=foo, e=[1, k], s=\"a\", t=f16, ok=[1, 2.5], dt=i32) {\n"
         "  return x\n"
         "}\n"
         "fn g(x) {\n"
         "  return x\n"
         "}\n"
         "fn h(x) {\n"
         "  y = relu(x)\n"
         "}\n"
         "model m {\n"
         "  input x : f32[2]\n"
         "  y = f(x, x, x) + h(x)\n"
         "  return x\n"
         "  output z = x\n"
         "}\n",
         "t.dsl:1:4: error: block 'relu' has the name of an operator\n"
         "fn relu(x) {\n"
         "   ^\n"
         "t.dsl:4:9: error: redefinition of 'x'\n"
         "fn f(x, x, k=1, w) {\n"
         "        ^\n"
         "t.dsl:4:6: note: previous definition is here\n"
         "fn f(x, x, k=1, w) {\n"
         "     ^\n"
         "t.dsl:4:17: error: tensor parameter 'w' must come before the "
         "keyword parameters\n"
         "fn f(x, x, k=1, w) {\n"
         "                ^\n"
         "t.dsl:5:9: error: an input cannot be declared in a block; declare "
         "it in the model and pass it in\n"
         "  input i : f32[2]\n"
         "        ^\n"
         "t.dsl:6:10: error: a weight cannot be declared in a block; declare "
         "it in the model and pass it in\n"
         "  weight q : f32[2] = ones\n"
         "         ^\n"
         "t.dsl:7:10: error: a block cannot have outputs; return the values "
         "instead\n"
         "  output o = x\n"
         "         ^\n"
         "t.dsl:8:10: error: a block cannot have outputs; return the values "
         "instead\n"
         "  output o1, o2 = split(x, sizes=[1, 1])\n"
         "         ^\n"
         "t.dsl:9:3: error: 'return' must be the last statement of block "
         "'f'\n"
         "  return x\n"
         "  ^\n"
         "t.dsl:12:11: error: default of 'd' must be a number, a list of "
         "numbers, a string or a dtype\n"
         "fn g(x, d=foo, e=[1, k], s=\"a\", t=f16, ok=[1, 2.5], dt=i32) {\n"
         "          ^\n"
         "t.dsl:12:18: error: default of 'e' must be a number, a list of "
         "numbers, a string or a dtype\n"
         "fn g(x, d=foo, e=[1, k], s=\"a\", t=f16, ok=[1, 2.5], dt=i32) {\n"
         "                 ^\n"
         "t.dsl:12:35: error: dtype 'f16' is not supported yet (supported: "
         "f32, f64, i32, i64, bool)\n"
         "fn g(x, d=foo, e=[1, k], s=\"a\", t=f16, ok=[1, 2.5], dt=i32) {\n"
         "                                  ^\n"
         "t.dsl:15:4: error: redefinition of block 'g'\n"
         "fn g(x) {\n"
         "   ^\n"
         "t.dsl:12:4: note: previous definition is here\n"
         "fn g(x, d=foo, e=[1, k], s=\"a\", t=f16, ok=[1, 2.5], dt=i32) {\n"
         "   ^\n"
         "t.dsl:18:4: error: block 'h' has no 'return'\n"
         "fn h(x) {\n"
         "   ^\n"
         "t.dsl:24:3: error: 'return' outside a block\n"
         "  return x\n"
         "  ^\n");
}
END_TEST

/* Mistakes in calls of blocks, at the call. */
START_TEST(call_errors) {
  expect("fn two(x, k=2) {\n"
         "  return x * k, x\n"
         "}\n"
         "fn one(x) {\n"
         "  a, b, c = two(x)\n"
         "  return frob(a)\n"
         "}\n"
         "model m {\n"
         "  input x : f32[2]\n"
         "  a, b = two(x, k=x)\n"
         "  c, d = two(x, j=1)\n"
         "  e, f = two(x, k=1, k=2)\n"
         "  g, h = two(x, [1])\n"
         "  i, j = two(k=1, x)\n"
         "  l = two(x)\n"
         "  n, o, p = two(x)\n"
         "  q = one(x)\n"
         "  r, r = two(x)\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:5:13: error: 'two' returns 2 values, but 3 names are given\n"
         "  a, b, c = two(x)\n"
         "            ^\n"
         "t.dsl:6:10: error: unknown operator or block 'frob'\n"
         "  return frob(a)\n"
         "         ^\n"
         "t.dsl:10:19: error: keyword 'k' of 'two' must be a number, a list, "
         "a string or a dtype\n"
         "  a, b = two(x, k=x)\n"
         "                  ^\n"
         "t.dsl:11:17: error: unknown keyword 'j' for 'two'\n"
         "  c, d = two(x, j=1)\n"
         "                ^\n"
         "t.dsl:12:22: error: keyword 'k' given twice\n"
         "  e, f = two(x, k=1, k=2)\n"
         "                     ^\n"
         "t.dsl:13:10: error: 'two' expects 1 argument, got 2\n"
         "  g, h = two(x, [1])\n"
         "         ^\n"
         "t.dsl:13:17: error: argument 2 of 'two' must be a tensor, not a "
         "list\n"
         "  g, h = two(x, [1])\n"
         "                ^\n"
         "t.dsl:14:19: error: positional argument after keyword argument\n"
         "  i, j = two(k=1, x)\n"
         "                  ^\n"
         "t.dsl:15:7: error: 'two' returns 2 values, but 1 is expected\n"
         "  l = two(x)\n"
         "      ^\n"
         "t.dsl:16:13: error: 'two' returns 2 values, but 3 names are given\n"
         "  n, o, p = two(x)\n"
         "            ^\n"
         "t.dsl:18:6: error: redefinition of 'r'\n"
         "  r, r = two(x)\n"
         "     ^\n"
         "t.dsl:18:3: note: previous definition is here\n"
         "  r, r = two(x)\n"
         "  ^\n");
}
END_TEST

/* Syntax errors in a block: its calls report nothing more. */
START_TEST(syntax_errors) {
  expect("fn f(x, {\n"
         "  return x\n"
         "}\n"
         "fn g(x) {\n"
         "  y = x +\n"
         "  return y\n"
         "}\n"
         "fn (x) { return x }\n"
         "model m {\n"
         "  input x : f32[2]\n"
         "  a = f(x)\n"
         "  b = g(x, 1)\n"
         "  c = f(q)\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:1:9: error: unexpected '{', expected name\n"
         "fn f(x, {\n"
         "        ^\n"
         "t.dsl:5:10: error: unexpected end of line, expected expression\n"
         "  y = x +\n"
         "         ^\n"
         "t.dsl:8:4: error: unexpected '(', expected name\n"
         "fn (x) { return x }\n"
         "   ^\n"
         "t.dsl:12:7: error: 'g' expects 1 argument, got 2\n"
         "  b = g(x, 1)\n"
         "      ^\n"
         "t.dsl:13:9: error: use of undefined name 'q'\n"
         "  c = f(q)\n"
         "        ^\n");
  /* fn and return are keywords */
  expect("model m {\n  input fn : f32[2]\n  output return = fn\n}\n",
         "t.dsl:2:9: error: unexpected 'fn', expected name\n"
         "  input fn : f32[2]\n"
         "        ^\n"
         "t.dsl:3:10: error: unexpected 'return', expected name\n"
         "  output return = fn\n"
         "         ^\n");
}
END_TEST


/* The diagnostics of src (n bytes): NULL, or a graph exactly when no
 * error was reported. */
static char *diagnose(const char *src, size_t n, bool *ok) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_frontend_compile("t.dsl", src, n, NULL, s.d);
  ck_assert_msg((g != NULL) == (dlc_diag_errors(s.d) == 0),
                "graph %p with %d errors", (void *)g, dlc_diag_errors(s.d));
  *ok = g != NULL;
  dlc_graph_free(g);
  char *text = strdup(tu_sink_text(&s));
  tu_sink_close(&s);
  return text;
}

/* A program written by a generator into a memstream. */
typedef struct text {
  char *buf;
  size_t len;
  FILE *f;
} text;
static FILE *text_open(text *t) {
  return t->f = open_memstream(&t->buf, &t->len);
}
static char *text_close(text *t, bool *ok) {
  fclose(t->f);
  char *got = diagnose(t->buf, t->len, ok);
  free(t->buf);
  return got;
}

/* 100 blocks, each calling the one before: the calls nest too deeply. */
START_TEST(deep_calls) {
  text t;
  FILE *f = text_open(&t);
  fprintf(f, "fn b0(x) {\n  return x + 1\n}\n");
  for (int i = 1; i < 100; i++)
    fprintf(f, "fn b%d(x) {\n  return b%d(x) * 2\n}\n", i, i - 1);
  fprintf(f, "model m {\n  input x : f32[2]\n  output y = b99(x)\n}\n");
  bool ok;
  char *got = text_close(&t, &ok);
  ck_assert(!ok);
  ck_assert_msg(strstr(got, "t.dsl:110:10: error: block calls nested too "
                            "deeply (more than 64 levels)\n"
                            "  return b35(x) * 2\n"
                            "         ^\n"
                            "note: in call from t.dsl:113:10\n") == got,
                "%.300s", got);
  ck_assert(strstr(got, "\nnote: in call from t.dsl:303:14\n"));
  free(got);
}
END_TEST

/* Each block calls the one before twice: 2^40 operations are refused. */
START_TEST(exponential) {
  text t;
  FILE *f = text_open(&t);
  fprintf(f, "fn e0(x) {\n  return x + 1\n}\n");
  for (int i = 1; i < 40; i++)
    fprintf(f, "fn e%d(x) {\n  return e%d(x) + e%d(x)\n}\n", i, i - 1,
            i - 1);
  fprintf(f, "model m {\n  input x : f32[2]\n  output y = e39(x)\n}\n");
  bool ok;
  char *got = text_close(&t, &ok);
  ck_assert(!ok);
  ck_assert_msg(strstr(got, "t.dsl:2:10: error: the model is too large after "
                            "inlining blocks (more than 200000 operations)\n")
                    == got, "%.300s", got);
  int errors = 0; /* reported once */
  for (const char *p = got; (p = strstr(p, "error: ")); p++)
    errors++;
  ck_assert_int_eq(errors, 1);
  free(got);
}
END_TEST

/* Deep expressions in nested blocks: bounded across the calls. */
START_TEST(deep_expressions) {
  text t;
  FILE *f = text_open(&t);
  fprintf(f, "fn d0(x) {\n  return x\n}\n");
  for (int i = 1; i < 40; i++) {
    fprintf(f, "fn d%d(x) {\n  return d%d(x)", i, i - 1);
    for (int k = 0; k < 990; k++)
      fputs(" + x", f);
    fputs("\n}\n", f);
  }
  fprintf(f, "model m {\n  input x : f32[2]\n  output y = d39(x)\n}\n");
  bool ok;
  char *got = text_close(&t, &ok);
  ck_assert(!ok);
  ck_assert_msg(strstr(got, ": error: expressions nested too deeply through "
                            "block calls (more than 2500 levels)\n"),
                "%.300s", got);
  free(got);
}
END_TEST

/* Many parameters and arguments. */
START_TEST(wide) {
  enum { N = 5000 };
  text t;
  FILE *f = text_open(&t);
  fputs("fn big(", f);
  for (int i = 0; i < N; i++)
    fprintf(f, "%sp%d", i ? ", " : "", i);
  fputs(", k=0) {\n  return concat(", f);
  for (int i = 0; i < N; i++)
    fprintf(f, "p%d, ", i);
  fputs("axis=k)\n}\nmodel m {\n  input x : f32[1]\n  output y = big(", f);
  for (int i = 0; i < N; i++)
    fprintf(f, "%sx", i ? ", " : "");
  fputs(")\n  output z = big(x)\n}\n", f);
  bool ok;
  char *got = text_close(&t, &ok);
  ck_assert(!ok);
  ck_assert_str_eq(got, "t.dsl:7:14: error: 'big' expects 5000 arguments, "
                        "got 1\n"
                        "  output z = big(x)\n"
                        "             ^\n");
  free(got);
}
END_TEST

/* Every prefix of a program with blocks, and random changes to it: a graph
 * exactly when there is no error, and no crash. */
START_TEST(robustness) {
  static const char prog[] =
      "fn conv_bn(x, w, s, b, stride=1, pad=[1, 1]) {\n"
      "  y = conv2d(x, w, stride=stride, pad=pad)\n"
      "  return batch_norm(y, s, b, b, s, eps=1e-3)\n"
      "}\n"
      "fn heads(x, n=2, k=2) {\n"
      "  a, b = split(x, sizes=[n, n], axis=1)\n"
      "  return max_pool2d(a, kernel=[k, k]), relu(b) * k\n"
      "}\n"
      "model m {\n"
      "  input x : f32[1, 3, 8, 8]; input c : bool[4]\n"
      "  weight w : f32[4, 3, 3, 3] = random(seed=1)\n"
      "  weight s : f32[4] = ones; weight b : f32[4] = zeros\n"
      "  h = conv_bn(x, w, s, b, stride=2)\n"
      "  p, q = heads(h)\n"
      "  output y = concat(flatten(p), flatten(q), axis=1)\n"
      "  output z = where(c, cast(c, f32), 0.5)\n"
      "}\n";
  size_t n = sizeof prog - 1;
  bool ok;
  char *got = diagnose(prog, n, &ok);
  ck_assert_msg(ok, "%s", got);
  free(got);
  for (size_t i = 0; i < n - 1; i++) {
    free(diagnose(prog, i, &ok));
    ck_assert(!ok);
  }
  uint64_t state = 777;
  char buf[sizeof prog];
  for (int round = 0; round < 600; round++) {
    memcpy(buf, prog, n);
    for (int k = 0; k < 1 + round % 4; k++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      static const char pick[] = "(),=[]{}\n-0 1xfnq\"";
      buf[(state >> 33) % n] =
          round % 3 ? pick[(state >> 20) % (sizeof pick - 1)]
                    : (char)(state >> 12);
    }
    free(diagnose(buf, n, &ok));
  }
}
END_TEST

/* The examples with blocks compile. */
START_TEST(examples) {
  static const char *const names[] = {"lenet", "resnet18", "bert_layer"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char *path = NULL;
    ck_assert_int_gt(asprintf(&path, "%s/examples/%s.dsl", DLCC_SOURCE_DIR,
                              names[i]), 0);
    dlc_graph *g = dlc_frontend_compile_file(path, NULL, sink.d);
    ck_assert_msg(g != NULL, "%s: %s", path, tu_sink_text(&sink));
    ck_assert_str_eq(tu_sink_text(&sink), "");
    dlc_graph_free(g);
    free(path);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("blocks");
  TCase *t = tcase_create("blocks");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, inlining);
  tcase_add_test(t, keyword_parameters);
  tcase_add_test(t, nested_and_results);
  tcase_add_test(t, locality);
  tcase_add_test(t, recursion);
  tcase_add_test(t, call_notes);
  tcase_add_test(t, definition_errors);
  tcase_add_test(t, call_errors);
  tcase_add_test(t, syntax_errors);
  tcase_add_test(t, deep_calls);
  tcase_add_test(t, exponential);
  tcase_add_test(t, deep_expressions);
  tcase_add_test(t, wide);
  tcase_add_test(t, robustness);
  tcase_add_test(t, examples);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
