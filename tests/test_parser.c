/* Programs in the graph language that must parse and lower: the graph's
 * inputs, outputs, node operators, attributes and weight data are checked
 * (comments, ';', newlines in brackets, precedence, associativity, literal
 * typing, the first operators' call forms, initializers, bool). The other
 * call forms are test_calls', blocks test_blocks'. */
#define _GNU_SOURCE
#include <string.h>

#include "frontend/frontend.h"
#include "tests/testutil.h"

/* Locations in a graph point into the sink, so it lives as long as the
 * test (a checked fixture). */
static tu_sink sink;
static void setup(void) { tu_sink_open(&sink); }
static void teardown(void) { tu_sink_close(&sink); }

/* Compiles src as "t.dsl"; it must succeed without any diagnostic. */
static dlc_graph *compile(const char *src) {
  dlc_graph *g = dlc_frontend_compile("t.dsl", src, strlen(src), NULL, sink.d);
  ck_assert_msg(g != NULL, "compile failed:\n%s", tu_sink_text(&sink));
  ck_assert_str_eq(tu_sink_text(&sink), "");
  return g;
}

static char *tstr(const dlc_type *t) {
  static char buf[4][DLC_TYPE_STRLEN];
  static int k;
  return dlc_type_str(t, buf[k++ % 4], DLC_TYPE_STRLEN);
}

/* The node of output i. */
static dlc_node *out(dlc_graph *g, int i) {
  ck_assert_int_lt(i, g->noutputs);
  return g->outputs[i].node;
}

static dlc_node *input_named(dlc_graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->name && !strcmp(g->nodes[i]->name, name))
      return g->nodes[i];
  ck_abort_msg("no node named %s", name);
  return NULL;
}

/* n is op(...) of the given type. */
static void is_op(const dlc_node *n, dlc_op op, const char *type) {
  ck_assert_msg(n->op == op, "got %s, want %s", dlc_ops[n->op].name,
                dlc_ops[op].name);
  ck_assert_str_eq(tstr(&n->type), type);
}

/* n is a scalar constant of dtype dt holding v. */
static void is_const(const dlc_node *n, dlc_dtype dt, double v) {
  ck_assert_int_eq(n->op, DLC_OP_CONST);
  ck_assert_int_eq(n->type.dtype, dt);
  ck_assert_int_eq(n->type.rank, 0);
  double got = 0;
  switch (dt) {
  case DLC_F32: got = *(float *)n->data; break;
  case DLC_F64: got = *(double *)n->data; break;
  case DLC_I32: got = *(int32_t *)n->data; break;
  case DLC_I64: got = (double)*(int64_t *)n->data; break;
  default: ck_abort();
  }
  ck_assert_double_eq(got, v);
}

START_TEST(mlp) {
  dlc_graph *g = compile("# comments run from # to the end of the line\n"
                         "model mlp {\n"
                         "  input  x  : f32[1, 784]\n"
                         "  weight w1 : f32[784, 256] = zeros\n"
                         "  weight b1 : f32[256] = zeros\n"
                         "  weight w2 : f32[256, 10] = zeros\n"
                         "  weight b2 : f32[10] = zeros\n"
                         "\n"
                         "  h = relu(x @ w1 + b1)\n"
                         "  output y = softmax(h @ w2 + b2, axis=-1)\n"
                         "}\n");
  ck_assert_str_eq(g->name, "mlp");
  ck_assert_int_eq(g->ninputs, 1);
  ck_assert_str_eq(g->inputs[0]->name, "x");
  ck_assert_str_eq(tstr(&g->inputs[0]->type), "f32[1,784]");
  ck_assert_int_eq(g->inputs[0]->loc.line, 3);
  ck_assert_int_eq(g->inputs[0]->loc.col, 10);
  ck_assert_int_eq(g->noutputs, 1);
  ck_assert_str_eq(g->outputs[0].name, "y");
  dlc_node *y = out(g, 0);
  is_op(y, DLC_OP_SOFTMAX, "f32[1,10]");
  ck_assert_int_eq(y->attr.axis, 1); /* -1, normalized by the shape rule */
  is_op(y->in[0], DLC_OP_ADD, "f32[1,10]");
  is_op(y->in[0]->in[0], DLC_OP_MATMUL, "f32[1,10]");
  dlc_node *h = y->in[0]->in[0]->in[0];
  is_op(h, DLC_OP_RELU, "f32[1,256]");
  is_op(h->in[0], DLC_OP_ADD, "f32[1,256]");
  dlc_node *mm = h->in[0]->in[0];
  is_op(mm, DLC_OP_MATMUL, "f32[1,256]");
  /* an expression's location is its first token: the x of x @ w1 */
  ck_assert_int_eq(mm->loc.line, 9);
  ck_assert_int_eq(mm->loc.col, 12);
  ck_assert_str_eq(mm->loc.file, "t.dsl");
  ck_assert_ptr_eq(mm->in[0], g->inputs[0]);
  is_op(mm->in[1], DLC_OP_WEIGHT, "f32[784,256]");
  ck_assert_str_eq(mm->in[1]->name, "w1");
  dlc_node *b2 = y->in[0]->in[1];
  ck_assert_str_eq(b2->name, "b2");
  for (int i = 0; i < 10; i++)
    ck_assert_float_eq(((float *)b2->data)[i], 0);
  dlc_graph_free(g);
}
END_TEST

START_TEST(separators) {
  dlc_graph *g = compile("\n\n# leading comment\nmodel m\n{\r\n"
                         "  input a : f32[2,\n   3]; input b : f32[3] # c\n"
                         "  ;;\n"
                         "  c = maximum(a,\n"
                         "              b) ; output c\n"
                         "  output d = (a\n    + b)\n"
                         "}  # trailing\n\n");
  ck_assert_int_eq(g->ninputs, 2);
  ck_assert_str_eq(g->inputs[1]->name, "b");
  ck_assert_int_eq(g->noutputs, 2);
  ck_assert_str_eq(g->outputs[0].name, "c");
  ck_assert_str_eq(g->outputs[1].name, "d");
  is_op(out(g, 0), DLC_OP_MAXIMUM, "f32[2,3]");
  is_op(out(g, 1), DLC_OP_ADD, "f32[2,3]");
  dlc_graph_free(g);
}
END_TEST

START_TEST(single_line) {
  dlc_graph *g = compile("model m { input x : f64[]; output y = x }");
  ck_assert_str_eq(tstr(&g->inputs[0]->type), "f64[]");
  ck_assert_ptr_eq(out(g, 0), g->inputs[0]);
  dlc_graph_free(g);
}
END_TEST

START_TEST(precedence) {
  dlc_graph *g = compile("model m {\n"
                         "  input a : f32[2,2]; input b : f32[2,2]\n"
                         "  input c : f32[2,2]\n"
                         "  output r1 = a - b - c\n"
                         "  output r2 = -a @ b\n"
                         "  output r3 = a + b * c\n"
                         "  output r4 = a * b @ c\n"
                         "  output r5 = (a + b) * c\n"
                         "  output r6 = a / b / c\n"
                         "  output r7 = a @ b - -c\n"
                         "}\n");
  dlc_node *a = input_named(g, "a"), *b = input_named(g, "b"),
           *c = input_named(g, "c");
  dlc_node *r = out(g, 0); /* (a - b) - c */
  is_op(r, DLC_OP_SUB, "f32[2,2]");
  ck_assert_ptr_eq(r->in[1], c);
  is_op(r->in[0], DLC_OP_SUB, "f32[2,2]");
  ck_assert_ptr_eq(r->in[0]->in[0], a);
  ck_assert_ptr_eq(r->in[0]->in[1], b);
  r = out(g, 1); /* (-a) @ b */
  is_op(r, DLC_OP_MATMUL, "f32[2,2]");
  is_op(r->in[0], DLC_OP_NEG, "f32[2,2]");
  ck_assert_ptr_eq(r->in[0]->in[0], a);
  ck_assert_int_eq(r->loc.col, 15); /* the '-' */
  r = out(g, 2); /* a + (b * c) */
  is_op(r, DLC_OP_ADD, "f32[2,2]");
  is_op(r->in[1], DLC_OP_MUL, "f32[2,2]");
  r = out(g, 3); /* (a * b) @ c */
  is_op(r, DLC_OP_MATMUL, "f32[2,2]");
  is_op(r->in[0], DLC_OP_MUL, "f32[2,2]");
  r = out(g, 4); /* (a + b) * c, located at the '(' */
  is_op(r, DLC_OP_MUL, "f32[2,2]");
  is_op(r->in[0], DLC_OP_ADD, "f32[2,2]");
  ck_assert_int_eq(r->loc.col, 15);
  ck_assert_int_eq(r->in[0]->loc.col, 16);
  r = out(g, 5); /* (a / b) / c */
  is_op(r, DLC_OP_DIV, "f32[2,2]");
  ck_assert_ptr_eq(r->in[1], c);
  r = out(g, 6); /* (a @ b) - (-c) */
  is_op(r, DLC_OP_SUB, "f32[2,2]");
  is_op(r->in[0], DLC_OP_MATMUL, "f32[2,2]");
  is_op(r->in[1], DLC_OP_NEG, "f32[2,2]");
  dlc_graph_free(g);
}
END_TEST

START_TEST(literals) {
  dlc_graph *g = compile("model m {\n"
                         "  input x : f64[3]; input k : i32[3]\n"
                         "  output a = x * 2\n"
                         "  output b = 2 - k\n"
                         "  output c = -2 * x\n"
                         "  output d = 1.5\n"
                         "  output e = 3\n"
                         "  output f = x * (2 + 3)\n"
                         "  output g = 1 + 2.5\n"
                         "  output h = k / -2147483648\n"
                         "  output i = maximum(k, 0)\n"
                         "  output j = x + .5e1\n"
                         "}\n");
  dlc_node *r = out(g, 0);
  is_op(r, DLC_OP_MUL, "f64[3]");
  is_const(r->in[1], DLC_F64, 2);
  r = out(g, 1);
  is_op(r, DLC_OP_SUB, "i32[3]");
  is_const(r->in[0], DLC_I32, 2);
  r = out(g, 2); /* a negated literal is a literal */
  is_op(r, DLC_OP_MUL, "f64[3]");
  is_const(r->in[0], DLC_F64, -2);
  is_const(out(g, 3), DLC_F32, 1.5);
  is_const(out(g, 4), DLC_I64, 3);
  r = out(g, 5);
  is_op(r->in[1], DLC_OP_ADD, "f64[]");
  is_const(r->in[1]->in[0], DLC_F64, 2);
  is_const(r->in[1]->in[1], DLC_F64, 3);
  r = out(g, 6); /* no typed operand: f32 as one literal is a float */
  is_op(r, DLC_OP_ADD, "f32[]");
  is_const(r->in[0], DLC_F32, 1);
  is_const(out(g, 7)->in[1], DLC_I32, -2147483648.0);
  r = out(g, 8);
  is_op(r, DLC_OP_MAXIMUM, "i32[3]");
  is_const(r->in[1], DLC_I32, 0);
  is_const(out(g, 9)->in[1], DLC_F64, 5);
  dlc_graph_free(g);
}
END_TEST

START_TEST(int64_extremes) {
  dlc_graph *g = compile("model m { input x : i64[2]\n"
                         "  output a = x + 9223372036854775807\n"
                         "  output b = x + -9223372036854775808 }\n");
  ck_assert_int_eq(*(int64_t *)out(g, 0)->in[1]->data, INT64_MAX);
  ck_assert_int_eq(*(int64_t *)out(g, 1)->in[1]->data, INT64_MIN);
  dlc_graph_free(g);
}
END_TEST

START_TEST(calls) {
  dlc_graph *g = compile("model m {\n"
                         "  input x : f32[2, 3, 4]\n"
                         "  output a = softmax(x)\n"
                         "  output b = softmax(x, axis=0)\n"
                         "  output c = reshape(x, [4, -1])\n"
                         "  output d = transpose(x)\n"
                         "  output e = transpose(x, perm=[1, 0, 2])\n"
                         "  output f = sigmoid(tanh(exp(log(sqrt(relu(x))))))\n"
                         "  output g = minimum(add(x, 1), mul(sub(x, 2), "
                         "div(x, neg(x))))\n"
                         "  output h = matmul(x, transpose(x, perm=[0,2,1]))\n"
                         "  output i = reshape(reshape(x, [24]), [2, 12])\n"
                         "}\n");
  dlc_node *r = out(g, 0);
  is_op(r, DLC_OP_SOFTMAX, "f32[2,3,4]");
  ck_assert_int_eq(r->attr.axis, 2);
  ck_assert_int_eq(out(g, 1)->attr.axis, 0);
  r = out(g, 2);
  is_op(r, DLC_OP_RESHAPE, "f32[4,6]");
  ck_assert_int_eq(r->nin, 1);
  ck_assert_int_eq(r->attr.nints, 2);
  ck_assert_int_eq(r->attr.ints[1], 6); /* resolved by the shape rule */
  r = out(g, 3);
  is_op(r, DLC_OP_TRANSPOSE, "f32[4,3,2]");
  r = out(g, 4);
  is_op(r, DLC_OP_TRANSPOSE, "f32[3,2,4]");
  ck_assert_int_eq(r->attr.nints, 3);
  ck_assert_int_eq(r->attr.ints[0], 1);
  r = out(g, 5);
  is_op(r, DLC_OP_SIGMOID, "f32[2,3,4]");
  is_op(r->in[0], DLC_OP_TANH, "f32[2,3,4]");
  is_op(r->in[0]->in[0]->in[0]->in[0]->in[0], DLC_OP_RELU, "f32[2,3,4]");
  r = out(g, 6);
  is_op(r, DLC_OP_MINIMUM, "f32[2,3,4]");
  is_const(r->in[0]->in[1], DLC_F32, 1);
  is_op(r->in[1]->in[1], DLC_OP_DIV, "f32[2,3,4]");
  is_op(r->in[1]->in[1]->in[1], DLC_OP_NEG, "f32[2,3,4]");
  is_op(out(g, 7), DLC_OP_MATMUL, "f32[2,3,3]");
  is_op(out(g, 8), DLC_OP_RESHAPE, "f32[2,12]");
  dlc_graph_free(g);
}
END_TEST

START_TEST(outputs) {
  dlc_graph *g = compile("model m {\n"
                         "  input x : i64[4]\n"
                         "  h = x + 1\n"
                         "  output h\n"
                         "  output x\n"
                         "  output z = h\n"
                         "}\n");
  ck_assert_int_eq(g->noutputs, 3);
  ck_assert_str_eq(g->outputs[0].name, "h");
  ck_assert_str_eq(g->outputs[1].name, "x");
  ck_assert_str_eq(g->outputs[2].name, "z");
  ck_assert_ptr_eq(out(g, 0), out(g, 2));
  ck_assert_ptr_eq(out(g, 1), g->inputs[0]);
  ck_assert_int_eq(g->outputs[0].loc.line, 4);
  ck_assert_int_eq(g->outputs[0].loc.col, 10);
  dlc_graph_free(g);
}
END_TEST

START_TEST(initializers) {
  dlc_graph *g = compile("model m {\n"
                         "  weight a : f32[2, 3] = ones\n"
                         "  weight b : i32[4] = -7\n"
                         "  weight c : f64[2] = 2.5\n"
                         "  weight d : f32[5, 7] = random(seed=42)\n"
                         "  weight e : f64[9] = random(seed=7, scale=0.25)\n"
                         "  weight f : i64[100] = random(seed=1, scale=3)\n"
                         "  weight h : i32[50] = random(seed=2)\n"
                         "  weight k : f32[3] = random(scale=2, seed=0)\n"
                         "  weight z : i64[3] = zeros\n"
                         "  output y = a\n"
                         "}\n");
  dlc_node *a = input_named(g, "a");
  ck_assert_int_eq(a->op, DLC_OP_WEIGHT);
  for (int i = 0; i < 6; i++)
    ck_assert_float_eq(((float *)a->data)[i], 1);
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(((int32_t *)input_named(g, "b")->data)[i], -7);
  ck_assert_double_eq(((double *)input_named(g, "c")->data)[1], 2.5);
  ck_assert_int_eq(((int64_t *)input_named(g, "z")->data)[2], 0);

  /* random() is splitmix64 as documented: the test helper draws the same */
  float fd[35];
  tu_fill_random(DLC_F32, fd, 35, 42, -1, 1);
  tu_assert_close("d", DLC_F32, input_named(g, "d")->data, fd, 35, 0, 0);
  double fe[9];
  tu_fill_random(DLC_F64, fe, 9, 7, -0.25, 0.25);
  tu_assert_close("e", DLC_F64, input_named(g, "e")->data, fe, 9, 0, 0);
  int64_t ff[100];
  tu_fill_random(DLC_I64, ff, 100, 1, -3, 3);
  tu_assert_close("f", DLC_I64, input_named(g, "f")->data, ff, 100, 0, 0);
  bool seen[7] = {0};
  for (int i = 0; i < 100; i++) {
    ck_assert(ff[i] >= -3 && ff[i] <= 3);
    seen[ff[i] + 3] = true;
  }
  for (int i = 0; i < 7; i++)
    ck_assert_msg(seen[i], "value %d never drawn", i - 3);
  int32_t fh[50];
  tu_fill_random(DLC_I32, fh, 50, 2, -1, 1);
  tu_assert_close("h", DLC_I32, input_named(g, "h")->data, fh, 50, 0, 0);
  float fk[3];
  tu_fill_random(DLC_F32, fk, 3, 0, -2, 2);
  tu_assert_close("k", DLC_F32, input_named(g, "k")->data, fk, 3, 0, 0);
  float *d = input_named(g, "d")->data;
  for (int i = 0; i < 35; i++)
    ck_assert(d[i] >= -1 && d[i] < 1);
  dlc_graph_free(g);
}
END_TEST

/* bool: inputs, weights (0/1 literals, ones, random as u < 0.5),
 * comparisons, true and false. */
START_TEST(bools) {
  dlc_graph *g = compile("model m {\n"
                         "  input m : bool[3]; input x : f32[3]\n"
                         "  weight a : bool[3] = ones\n"
                         "  weight b : bool[2] = 0\n"
                         "  weight r : bool[64] = random(seed=9)\n"
                         "  output y = where(m, x, 0)\n"
                         "  output z = equal(less(x, 1), greater(x, 2))\n"
                         "  output t = equal(m, true)\n"
                         "  output f = where(false, a, m)\n"
                         "  output r\n"
                         "}\n");
  ck_assert_int_eq(g->inputs[0]->type.dtype, DLC_BOOL);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(((uint8_t *)input_named(g, "a")->data)[i], 1);
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(((uint8_t *)input_named(g, "b")->data)[i], 0);
  uint8_t want[64];
  tu_fill_random(DLC_BOOL, want, 64, 9, 0, 1);
  tu_assert_close("r", DLC_BOOL, input_named(g, "r")->data, want, 64, 0, 0);
  int ones = 0;
  for (int i = 0; i < 64; i++)
    ones += want[i];
  ck_assert(ones > 16 && ones < 48);
  is_op(out(g, 0), DLC_OP_WHERE, "f32[3]");
  is_const(out(g, 0)->in[2], DLC_F32, 0);
  is_op(out(g, 1), DLC_OP_EQUAL, "bool[3]");
  is_op(out(g, 1)->in[0], DLC_OP_LESS, "bool[3]");
  is_op(out(g, 2), DLC_OP_EQUAL, "bool[3]");
  ck_assert_int_eq(out(g, 2)->in[1]->type.dtype, DLC_BOOL);
  ck_assert_int_eq(*(uint8_t *)out(g, 2)->in[1]->data, 1);
  is_op(out(g, 3), DLC_OP_WHERE, "bool[3]");
  ck_assert_int_eq(*(uint8_t *)out(g, 3)->in[0]->data, 0);
  dlc_graph_free(g);
}
END_TEST

/* Same text, same graph: nothing depends on addresses or time. */
START_TEST(deterministic) {
  const char *src = "model m { weight w : f32[8] = random(seed=5)\n"
                    "  input x : f32[8]; output y = x * w }";
  dlc_graph *g1 = compile(src), *g2 = compile(src);
  ck_assert_int_eq(g1->nnodes, g2->nnodes);
  ck_assert_mem_eq(input_named(g1, "w")->data, input_named(g2, "w")->data,
                   8 * sizeof(float));
  dlc_graph_free(g1);
  dlc_graph_free(g2);
}
END_TEST

/* Names of operators, dtypes and initializers are not reserved. */
START_TEST(names) {
  dlc_graph *g = compile("model model_1 {\n"
                         "  input relu : f32[2]; input f32 : f32[2]\n"
                         "  zeros_ = relu(relu) + f32\n"
                         "  output _out9 = zeros_\n"
                         "}\n");
  ck_assert_str_eq(g->name, "model_1");
  is_op(out(g, 0), DLC_OP_ADD, "f32[2]");
  dlc_graph_free(g);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("parser");
  TCase *t = tcase_create("parse");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, mlp);
  tcase_add_test(t, separators);
  tcase_add_test(t, single_line);
  tcase_add_test(t, precedence);
  tcase_add_test(t, literals);
  tcase_add_test(t, int64_extremes);
  tcase_add_test(t, calls);
  tcase_add_test(t, outputs);
  tcase_add_test(t, initializers);
  tcase_add_test(t, bools);
  tcase_add_test(t, deterministic);
  tcase_add_test(t, names);
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
