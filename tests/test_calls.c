/* The call form of every operator (frontend/calls.def): each call lowers
 * to the right operator with the right attributes, defaults included, and
 * literal operands take the dtype of the other operands; every mistake in
 * a call is reported with its exact text. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tests/testutil.h"

/* Graphs point into the sink: both live as long as the test. */
static tu_sink sink;
static dlc_graph *graphs[128];
static int ngraphs;
static void setup(void) { tu_sink_open(&sink); }
static void teardown(void) {
  for (int i = 0; i < ngraphs; i++)
    dlc_graph_free(graphs[i]);
  ngraphs = 0;
  tu_sink_close(&sink);
}

/* The values every call below works on. */
#define HEADER                                                                 \
  "model m {\n"                                                                \
  "  input x : f32[2, 3, 8, 8]; input v : f32[2, 6]; input k : i32[2, 6]\n"   \
  "  input c : bool[2, 6]; input idx : i64[3]; input q : f32[1, 6, 1]\n"      \
  "  input d : f64[2, 6]\n"                                                    \
  "  weight w : f32[4, 3, 3, 3] = ones; weight w3 : f32[3, 1, 3, 3] = ones\n" \
  "  weight b : f32[4] = zeros; weight s : f32[3] = ones\n"                    \
  "  weight g6 : f32[6] = ones; weight g88 : f32[8, 8] = ones\n"

static char *tstr(const dlc_type *t) {
  static char buf[4][DLC_TYPE_STRLEN];
  static int k;
  return dlc_type_str(t, buf[k++ % 4], DLC_TYPE_STRLEN);
}

static dlc_graph *compile(const char *src) {
  dlc_graph *g = dlc_frontend_compile("t.dsl", src, strlen(src), NULL, sink.d);
  ck_assert_msg(g != NULL, "compile failed:\n%s\n%s", src,
                tu_sink_text(&sink));
  ck_assert_str_eq(tu_sink_text(&sink), "");
  ck_assert_int_lt(ngraphs, 128);
  graphs[ngraphs++] = g;
  return g;
}

/* `output y = expr` in the common model: its node, which must be op of
 * the given type. */
static dlc_node *call(const char *expr, dlc_op op, const char *type) {
  char *src = NULL;
  ck_assert_int_gt(asprintf(&src, HEADER "  output y = %s\n}\n", expr), 0);
  dlc_graph *g = compile(src);
  free(src);
  dlc_node *n = g->outputs[0].node;
  ck_assert_msg(n->op == op, "%s: got %s, want %s", expr, dlc_ops[n->op].name,
                dlc_ops[op].name);
  ck_assert_msg(!strcmp(tstr(&n->type), type), "%s: type %s, want %s", expr,
                tstr(&n->type), type);
  return n;
}

static void ints_are(const dlc_node *n, int count, const int64_t *want) {
  ck_assert_int_eq(n->attr.nints, count);
  for (int i = 0; i < count; i++)
    ck_assert_int_eq(n->attr.ints[i], want[i]);
}
#define INTS(n, ...)                                                           \
  ints_are(n, (int)(sizeof(int64_t[]){__VA_ARGS__} / sizeof(int64_t)),        \
           (int64_t[]){__VA_ARGS__})

static void pair_is(const int64_t *v, int64_t a, int64_t b) {
  ck_assert_int_eq(v[0], a);
  ck_assert_int_eq(v[1], b);
}

static void pad_is(const int64_t *v, int64_t t, int64_t l, int64_t b,
                   int64_t r) {
  ck_assert_int_eq(v[0], t);
  ck_assert_int_eq(v[1], l);
  ck_assert_int_eq(v[2], b);
  ck_assert_int_eq(v[3], r);
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
  case DLC_BOOL: got = *(uint8_t *)n->data; break;
  default: ck_abort();
  }
  ck_assert_double_eq(got, v);
}

START_TEST(conv2d) {
  dlc_node *n = call("conv2d(x, w)", DLC_OP_CONV2D, "f32[2,4,6,6]");
  ck_assert_int_eq(n->nin, 2);
  pair_is(n->attr.stride, 1, 1);
  pad_is(n->attr.pad, 0, 0, 0, 0);
  pair_is(n->attr.dilation, 1, 1);
  ck_assert_int_eq(n->attr.groups, 1);
  n = call("conv2d(x, w, b, stride=2, pad=[1, 2])", DLC_OP_CONV2D,
           "f32[2,4,4,5]");
  ck_assert_int_eq(n->nin, 3);
  ck_assert_str_eq(n->in[2]->name, "b");
  pair_is(n->attr.stride, 2, 2);
  pad_is(n->attr.pad, 1, 2, 1, 2);
  n = call("conv2d(x, w, pad=[0, 1, 2, 3], dilation=[1, 2], stride=[1, 1])",
           DLC_OP_CONV2D, "f32[2,4,8,8]");
  pad_is(n->attr.pad, 0, 1, 2, 3);
  pair_is(n->attr.dilation, 1, 2);
  n = call("conv2d(x, w3, groups=3, pad=1)", DLC_OP_CONV2D, "f32[2,3,8,8]");
  ck_assert_int_eq(n->attr.groups, 3);
}
END_TEST

START_TEST(layouts) {
  dlc_node *n = call("to_nchwc(x, block=3)", DLC_OP_TO_NCHWC, "f32[2,1,8,8,3]");
  ck_assert_int_eq(n->nin, 1);
  ck_assert_str_eq(n->in[0]->name, "x");
  ck_assert_int_eq(n->attr.block, 3);
  n = call("to_nchwc(x, block=1)", DLC_OP_TO_NCHWC, "f32[2,3,8,8,1]");
  ck_assert_int_eq(n->attr.block, 1);
  n = call("to_nchw(to_nchwc(x, block=3))", DLC_OP_TO_NCHW, "f32[2,3,8,8]");
  ck_assert_int_eq(n->nin, 1);
  ck_assert_int_eq(n->in[0]->op, DLC_OP_TO_NCHWC);
  ck_assert_int_eq(n->in[0]->attr.block, 3);
  /* an NCHW input; the defaults of conv2d */
  n = call("conv2d_nchwc(x, w, block=4)", DLC_OP_CONV2D_NCHWC,
           "f32[2,1,6,6,4]");
  ck_assert_int_eq(n->nin, 2);
  ck_assert_int_eq(n->attr.block, 4);
  pair_is(n->attr.stride, 1, 1);
  pad_is(n->attr.pad, 0, 0, 0, 0);
  pair_is(n->attr.dilation, 1, 1);
  ck_assert_int_eq(n->attr.groups, 1);
  pair_is(n->attr.kernel, 3, 3);
  n = call("conv2d_nchwc(x, w, b, stride=2, pad=1, block=2)",
           DLC_OP_CONV2D_NCHWC, "f32[2,2,4,4,2]");
  ck_assert_int_eq(n->nin, 3);
  ck_assert_str_eq(n->in[2]->name, "b");
  pair_is(n->attr.stride, 2, 2);
  pad_is(n->attr.pad, 1, 1, 1, 1);
  ck_assert_int_eq(n->attr.block, 2);
  /* a blocked input, and block before the other keywords */
  n = call("conv2d_nchwc(to_nchwc(x, block=1), w, block=4, pad=[0, 1], "
           "dilation=[2, 1])",
           DLC_OP_CONV2D_NCHWC, "f32[2,1,4,8,4]");
  ck_assert_int_eq(n->in[0]->op, DLC_OP_TO_NCHWC);
  pad_is(n->attr.pad, 0, 1, 0, 1);
  pair_is(n->attr.dilation, 2, 1);
  /* depthwise on blocks of 3 */
  n = call("conv2d_nchwc(to_nchwc(x, block=3), w3, groups=3, pad=1, block=3)",
           DLC_OP_CONV2D_NCHWC, "f32[2,1,8,8,3]");
  ck_assert_int_eq(n->attr.groups, 3);
  ck_assert_int_eq(n->attr.block, 3);
  /* back to NCHW after a pooling on blocks */
  n = call("to_nchw(max_pool2d(conv2d_nchwc(x, w, block=2), kernel=2, "
           "stride=2))",
           DLC_OP_TO_NCHW, "f32[2,4,3,3]");
  ck_assert_int_eq(n->in[0]->op, DLC_OP_MAX_POOL2D);
  tu_expect_type(n->in[0], "f32[2,2,3,3,2]");
}
END_TEST

START_TEST(pools) {
  dlc_node *n = call("max_pool2d(x, kernel=3, stride=2, pad=1)",
                     DLC_OP_MAX_POOL2D, "f32[2,3,4,4]");
  pair_is(n->attr.kernel, 3, 3);
  pair_is(n->attr.stride, 2, 2);
  pad_is(n->attr.pad, 1, 1, 1, 1);
  n = call("max_pool2d(x, kernel=[2, 4])", DLC_OP_MAX_POOL2D, "f32[2,3,7,5]");
  pair_is(n->attr.kernel, 2, 4);
  pair_is(n->attr.stride, 1, 1);
  pad_is(n->attr.pad, 0, 0, 0, 0);
  n = call("avg_pool2d(x, kernel=2, stride=2)", DLC_OP_AVG_POOL2D,
           "f32[2,3,4,4]");
  ck_assert(!n->attr.count_include_pad);
  n = call("avg_pool2d(x, kernel=3, pad=[1, 1], count_include_pad=1)",
           DLC_OP_AVG_POOL2D, "f32[2,3,8,8]");
  ck_assert(n->attr.count_include_pad);
  pad_is(n->attr.pad, 1, 1, 1, 1);
  call("global_avg_pool(x)", DLC_OP_GLOBAL_AVG_POOL, "f32[2,3,1,1]");
}
END_TEST

START_TEST(norms) {
  dlc_node *n = call("batch_norm(x, s, s, s, s)", DLC_OP_BATCH_NORM,
                     "f32[2,3,8,8]");
  ck_assert_int_eq(n->nin, 5);
  ck_assert_double_eq(n->attr.eps, 1e-5);
  n = call("batch_norm(x, s, s, s, s, eps=0.001)", DLC_OP_BATCH_NORM,
           "f32[2,3,8,8]");
  ck_assert_double_eq(n->attr.eps, 0.001);
  n = call("layer_norm(v, g6, g6)", DLC_OP_LAYER_NORM, "f32[2,6]");
  ck_assert_int_eq(n->nin, 3);
  ck_assert_int_eq(n->attr.axis, 1); /* -1, normalized */
  ck_assert_double_eq(n->attr.eps, 1e-5);
  n = call("layer_norm(x, g88, g88, axis=2, eps=1e-6)", DLC_OP_LAYER_NORM,
           "f32[2,3,8,8]");
  ck_assert_int_eq(n->attr.axis, 2);
  ck_assert_double_eq(n->attr.eps, 1e-6);
  n = call("softmax(v)", DLC_OP_SOFTMAX, "f32[2,6]");
  ck_assert_int_eq(n->attr.axis, 1);
  n = call("log_softmax(v, axis=0)", DLC_OP_LOG_SOFTMAX, "f32[2,6]");
  ck_assert_int_eq(n->attr.axis, 0);
  n = call("log_softmax(v)", DLC_OP_LOG_SOFTMAX, "f32[2,6]");
  ck_assert_int_eq(n->attr.axis, 1);
}
END_TEST

START_TEST(unary) {
  static const struct {
    const char *name;
    dlc_op op;
  } ops[] = {{"erf", DLC_OP_ERF},       {"silu", DLC_OP_SILU},
             {"abs", DLC_OP_ABS},       {"reciprocal", DLC_OP_RECIPROCAL},
             {"rsqrt", DLC_OP_RSQRT},   {"sigmoid", DLC_OP_SIGMOID},
             {"tanh", DLC_OP_TANH},     {"exp", DLC_OP_EXP},
             {"log", DLC_OP_LOG},       {"sqrt", DLC_OP_SQRT},
             {"neg", DLC_OP_NEG},       {"relu", DLC_OP_RELU}};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    char *e = NULL;
    ck_assert_int_gt(asprintf(&e, "%s(v)", ops[i].name), 0);
    dlc_node *n = call(e, ops[i].op, "f32[2,6]");
    ck_assert_int_eq(n->nin, 1);
    free(e);
  }
  call("abs(k)", DLC_OP_ABS, "i32[2,6]");
  dlc_node *n = call("gelu(v)", DLC_OP_GELU, "f32[2,6]");
  ck_assert(!n->attr.approximate);
  n = call("gelu(v, approximate=\"tanh\")", DLC_OP_GELU, "f32[2,6]");
  ck_assert(n->attr.approximate);
  n = call("gelu(v, approximate=\"none\")", DLC_OP_GELU, "f32[2,6]");
  ck_assert(!n->attr.approximate);
  n = call("leaky_relu(v)", DLC_OP_LEAKY_RELU, "f32[2,6]");
  ck_assert_double_eq(n->attr.alpha, 0.01);
  n = call("leaky_relu(v, alpha=0.2)", DLC_OP_LEAKY_RELU, "f32[2,6]");
  ck_assert_double_eq(n->attr.alpha, 0.2);
  n = call("leaky_relu(v, alpha=-1)", DLC_OP_LEAKY_RELU, "f32[2,6]");
  ck_assert_double_eq(n->attr.alpha, -1);
}
END_TEST

START_TEST(clip) {
  dlc_node *n = call("clip(v, min=0)", DLC_OP_CLIP, "f32[2,6]");
  ck_assert(n->attr.has_lo && !n->attr.has_hi);
  ck_assert_double_eq(n->attr.lo, 0);
  n = call("clip(v, max=6.5)", DLC_OP_CLIP, "f32[2,6]");
  ck_assert(!n->attr.has_lo && n->attr.has_hi);
  ck_assert_double_eq(n->attr.hi, 6.5);
  n = call("clip(k, max=10, min=-3)", DLC_OP_CLIP, "i32[2,6]");
  ck_assert(n->attr.has_lo && n->attr.has_hi);
  ck_assert_double_eq(n->attr.lo, -3);
  ck_assert_double_eq(n->attr.hi, 10);
  n = call("clip(v)", DLC_OP_CLIP, "f32[2,6]");
  ck_assert(!n->attr.has_lo && !n->attr.has_hi);
}
END_TEST

/* Literal operands take the dtype of the other operands. */
START_TEST(literal_operands) {
  dlc_node *n = call("pow(v, 2)", DLC_OP_POW, "f32[2,6]");
  is_const(n->in[1], DLC_F32, 2);
  n = call("pow(2, d)", DLC_OP_POW, "f64[2,6]");
  is_const(n->in[0], DLC_F64, 2);
  n = call("maximum(k, 0)", DLC_OP_MAXIMUM, "i32[2,6]");
  is_const(n->in[1], DLC_I32, 0);
  n = call("where(c, d, 0)", DLC_OP_WHERE, "f64[2,6]");
  is_const(n->in[2], DLC_F64, 0);
  n = call("where(c, 1, k)", DLC_OP_WHERE, "i32[2,6]");
  is_const(n->in[1], DLC_I32, 1);
  n = call("where(c, 0, 2.5)", DLC_OP_WHERE, "f32[2,6]");
  is_const(n->in[1], DLC_F32, 0);
  is_const(n->in[2], DLC_F32, 2.5);
  n = call("where(1, v, v)", DLC_OP_WHERE, "f32[2,6]");
  is_const(n->in[0], DLC_BOOL, 1);
  n = call("less(k, 3)", DLC_OP_LESS, "bool[2,6]");
  is_const(n->in[1], DLC_I32, 3);
  n = call("equal(c, true)", DLC_OP_EQUAL, "bool[2,6]");
  is_const(n->in[1], DLC_BOOL, 1);
  n = call("equal(c, 0)", DLC_OP_EQUAL, "bool[2,6]");
  is_const(n->in[1], DLC_BOOL, 0);
  n = call("greater(d, 0.5)", DLC_OP_GREATER, "bool[2,6]");
  is_const(n->in[1], DLC_F64, 0.5);
  n = call("gather(v, 1)", DLC_OP_GATHER, "f32[6]");
  is_const(n->in[1], DLC_I64, 1);
  n = call("where(c, false, c)", DLC_OP_WHERE, "bool[2,6]");
  is_const(n->in[1], DLC_BOOL, 0);
}
END_TEST

START_TEST(reductions) {
  dlc_node *n = call("sum(v)", DLC_OP_SUM, "f32[1,1]");
  INTS(n, 0, 1);
  ck_assert(n->attr.keepdims);
  n = call("sum(v, axis=1, keepdims=0)", DLC_OP_SUM, "f32[2]");
  INTS(n, 1);
  ck_assert(!n->attr.keepdims);
  n = call("mean(x, axis=[2, 3])", DLC_OP_MEAN, "f32[2,3,1,1]");
  INTS(n, 2, 3);
  n = call("max(v, axis=-1)", DLC_OP_MAX, "f32[2,1]");
  INTS(n, 1);
  n = call("min(k, axis=[0], keepdims=0)", DLC_OP_MIN, "i32[6]");
  INTS(n, 0);
  n = call("sum(v, axis=[], keepdims=0)", DLC_OP_SUM, "f32[]");
  INTS(n, 0, 1);
}
END_TEST

START_TEST(movement) {
  dlc_node *n = call("flatten(x)", DLC_OP_FLATTEN, "f32[2,192]");
  ck_assert_int_eq(n->attr.axis, 1);
  n = call("flatten(x, axis=0)", DLC_OP_FLATTEN, "f32[1,384]");
  ck_assert_int_eq(n->attr.axis, 0);
  n = call("concat(v, v, v, axis=0)", DLC_OP_CONCAT, "f32[6,6]");
  ck_assert_int_eq(n->nin, 3);
  ck_assert_int_eq(n->attr.axis, 0);
  n = call("concat(v, axis=-1)", DLC_OP_CONCAT, "f32[2,6]");
  ck_assert_int_eq(n->nin, 1);
  ck_assert_int_eq(n->attr.axis, 1);
  n = call("broadcast_to(v, [3, 2, 6])", DLC_OP_BROADCAST_TO, "f32[3,2,6]");
  INTS(n, 3, 2, 6);
  n = call("squeeze(q)", DLC_OP_SQUEEZE, "f32[6]");
  n = call("squeeze(q, axes=[0])", DLC_OP_SQUEEZE, "f32[6,1]");
  INTS(n, 0);
  n = call("squeeze(q, axes=2)", DLC_OP_SQUEEZE, "f32[1,6]");
  INTS(n, 2);
  n = call("unsqueeze(v, axes=[0, 3])", DLC_OP_UNSQUEEZE, "f32[1,2,6,1]");
  INTS(n, 0, 3);
  n = call("unsqueeze(v, axes=-1)", DLC_OP_UNSQUEEZE, "f32[2,6,1]");
  n = call("gather(v, idx, axis=1)", DLC_OP_GATHER, "f32[2,3]");
  ck_assert_int_eq(n->attr.axis, 1);
  n = call("gather(v, idx)", DLC_OP_GATHER, "f32[3,6]");
  ck_assert_int_eq(n->attr.axis, 0);
  n = call("cast(v, i32)", DLC_OP_CAST, "i32[2,6]");
  ck_assert_int_eq(n->attr.to, DLC_I32);
  n = call("cast(c, f64)", DLC_OP_CAST, "f64[2,6]");
  ck_assert_int_eq(n->attr.to, DLC_F64);
  n = call("cast(k, bool)", DLC_OP_CAST, "bool[2,6]");
  ck_assert_int_eq(n->attr.to, DLC_BOOL);
  n = call("reshape(v, [3, -1])", DLC_OP_RESHAPE, "f32[3,4]");
  INTS(n, 3, 4);
  n = call("transpose(v)", DLC_OP_TRANSPOSE, "f32[6,2]");
  INTS(n, 1, 0);
}
END_TEST

/* slice: the defaults of start and end follow the step's direction. */
START_TEST(slice) {
  dlc_node *n = call("slice(v, axis=1, start=1, end=5, step=2)", DLC_OP_SLICE,
                     "f32[2,2]");
  ck_assert_int_eq(n->attr.axis, 1);
  ck_assert_int_eq(n->attr.start, 1);
  ck_assert_int_eq(n->attr.step, 2);
  n = call("slice(v, axis=1)", DLC_OP_SLICE, "f32[2,6]");
  ck_assert_int_eq(n->attr.start, 0);
  ck_assert_int_eq(n->attr.step, 1);
  n = call("slice(v, axis=-1, step=-1)", DLC_OP_SLICE, "f32[2,6]");
  ck_assert_int_eq(n->attr.axis, 1);
  ck_assert_int_eq(n->attr.start, 5);
  ck_assert_int_eq(n->attr.step, -1);
  n = call("slice(v, axis=1, start=-2)", DLC_OP_SLICE, "f32[2,2]");
  ck_assert_int_eq(n->attr.start, 4);
  n = call("slice(v, axis=1, end=0, step=-2)", DLC_OP_SLICE, "f32[2,3]");
  ck_assert_int_eq(n->attr.start, 5);
  n = call("slice(v, axis=0, start=1, step=-1)", DLC_OP_SLICE, "f32[2,6]");
  ck_assert_int_eq(n->attr.start, 1);
}
END_TEST

/* split: one slice per size, bound with a, b = ...; one size is one
 * value. */
START_TEST(split) {
  dlc_graph *g = compile(HEADER "  p1, p2, p3 = split(v, sizes=[1, 2, 3], "
                         "axis=1)\n"
                         "  output p1; output p2; output p3\n"
                         "  output f = split(v, sizes=[2])\n"
                         "}\n");
  static const char *types[] = {"f32[2,1]", "f32[2,2]", "f32[2,3]",
                                "f32[2,6]"};
  static const int64_t starts[] = {0, 1, 3, 0};
  for (int i = 0; i < 4; i++) {
    dlc_node *n = g->outputs[i].node;
    ck_assert_int_eq(n->op, DLC_OP_SLICE);
    ck_assert_str_eq(tstr(&n->type), types[i]);
    ck_assert_int_eq(n->attr.axis, i < 3 ? 1 : 0);
    ck_assert_int_eq(n->attr.start, starts[i]);
    ck_assert_int_eq(n->attr.step, 1);
    ck_assert_str_eq(n->in[0]->name, "v");
  }
}
END_TEST

/* Every operator that is not a source has a call form. */
START_TEST(every_operator) {
  for (int op = 0; op < DLC_NUM_OPS; op++) {
    if (dlc_ops[op].kind == DLC_KIND_SOURCE)
      continue;
    char *src = NULL, *want = NULL;
    ck_assert_int_gt(asprintf(&src, "model m {\n  output y = %s()\n}\n",
                              dlc_ops[op].name), 0);
    ck_assert_int_gt(asprintf(&want, "t.dsl:2:14: error: '%s' expects ",
                              dlc_ops[op].name), 0);
    tu_sink s;
    tu_sink_open(&s);
    ck_assert_ptr_null(
        dlc_frontend_compile("t.dsl", src, strlen(src), NULL, s.d));
    ck_assert_msg(strstr(tu_sink_text(&s), want) == tu_sink_text(&s), "%s",
                  tu_sink_text(&s));
    tu_sink_close(&s);
    free(src);
    free(want);
  }
}
END_TEST

/* ---- errors --------------------------------------------------------- */

/* src must fail with exactly the diagnostics want. */
static void expect(const char *src, const char *want) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_frontend_compile("t.dsl", src, strlen(src), NULL, s.d);
  ck_assert_msg(g == NULL, "compiled without errors:\n%s", src);
  ck_assert_str_eq(tu_sink_text(&s), want);
  tu_sink_close(&s);
}

#define EHEADER                                                                \
  "model m {\n"                                                                \
  "  input x : f32[1, 3, 8, 8]; input v : f32[2, 6]; input k : i32[2, 6]\n"   \
  "  weight w : f32[4, 3, 3, 3] = ones\n"

START_TEST(keyword_errors) {
  expect(EHEADER
         "  a = conv2d(x, w, strides=2)\n"
         "  b = max_pool2d(x, kernel=2, kernel=3)\n"
         "  c = conv2d(x, w, stride=[1, 2, 3], pad=[1, 2, 3])\n"
         "  d = sum(v, axis=1.5, keepdims=2)\n"
         "  e = batch_norm(x, w, w, w, w, eps=\"small\")\n"
         "  f = gelu(v, approximate=\"fast\")\n"
         "  g = leaky_relu(v, alpha=[1])\n"
         "  h = sum(v, keepdims=-1)\n"
         "  i = conv2d(x, w, pad=99999999999999999999)\n"
         "  j = clip(v, min=1e999)\n"
         "  l = transpose(v, perm=[1, x])\n"
         "  output y = v\n"
         "}\n",
         "t.dsl:4:20: error: unknown keyword 'strides' for 'conv2d'\n"
         "  a = conv2d(x, w, strides=2)\n"
         "                   ^\n"
         "t.dsl:5:31: error: keyword 'kernel' given twice\n"
         "  b = max_pool2d(x, kernel=2, kernel=3)\n"
         "                              ^\n"
         "t.dsl:6:27: error: keyword 'stride' of 'conv2d' must be an integer "
         "or a list of 2 integers\n"
         "  c = conv2d(x, w, stride=[1, 2, 3], pad=[1, 2, 3])\n"
         "                          ^\n"
         "t.dsl:6:42: error: keyword 'pad' of 'conv2d' must be an integer or "
         "a list of 2 or 4 integers\n"
         "  c = conv2d(x, w, stride=[1, 2, 3], pad=[1, 2, 3])\n"
         "                                         ^\n"
         "t.dsl:7:19: error: keyword 'axis' of 'sum' must be an integer or a "
         "list of integers\n"
         "  d = sum(v, axis=1.5, keepdims=2)\n"
         "                  ^\n"
         "t.dsl:7:33: error: keyword 'keepdims' of 'sum' must be 0 or 1\n"
         "  d = sum(v, axis=1.5, keepdims=2)\n"
         "                                ^\n"
         "t.dsl:8:37: error: keyword 'eps' of 'batch_norm' must be a number\n"
         "  e = batch_norm(x, w, w, w, w, eps=\"small\")\n"
         "                                    ^\n"
         "t.dsl:9:27: error: keyword 'approximate' of 'gelu' must be \"none\" "
         "or \"tanh\"\n"
         "  f = gelu(v, approximate=\"fast\")\n"
         "                          ^\n"
         "t.dsl:10:27: error: keyword 'alpha' of 'leaky_relu' must be a "
         "number\n"
         "  g = leaky_relu(v, alpha=[1])\n"
         "                          ^\n"
         "t.dsl:11:23: error: keyword 'keepdims' of 'sum' must be 0 or 1\n"
         "  h = sum(v, keepdims=-1)\n"
         "                      ^\n"
         "t.dsl:12:24: error: integer literal is too large\n"
         "  i = conv2d(x, w, pad=99999999999999999999)\n"
         "                       ^\n"
         "t.dsl:13:19: error: literal '1e999' is out of range for f64\n"
         "  j = clip(v, min=1e999)\n"
         "                  ^\n"
         "t.dsl:14:29: error: list entry must be an integer\n"
         "  l = transpose(v, perm=[1, x])\n"
         "                            ^\n");
}
END_TEST

START_TEST(missing_keywords) {
  expect(EHEADER
         "  i = concat(v, v)\n"
         "  j = max_pool2d(x)\n"
         "  l = slice(v)\n"
         "  n = unsqueeze(v)\n"
         "  o = split(v)\n"
         "  p = avg_pool2d(x, stride=2)\n"
         "  output y = v\n"
         "}\n",
         "t.dsl:4:7: error: missing keyword 'axis' for 'concat'\n"
         "  i = concat(v, v)\n"
         "      ^\n"
         "t.dsl:5:7: error: missing keyword 'kernel' for 'max_pool2d'\n"
         "  j = max_pool2d(x)\n"
         "      ^\n"
         "t.dsl:6:7: error: missing keyword 'axis' for 'slice'\n"
         "  l = slice(v)\n"
         "      ^\n"
         "t.dsl:7:7: error: missing keyword 'axes' for 'unsqueeze'\n"
         "  n = unsqueeze(v)\n"
         "      ^\n"
         "t.dsl:8:7: error: missing keyword 'sizes' for 'split'\n"
         "  o = split(v)\n"
         "      ^\n"
         "t.dsl:9:7: error: missing keyword 'kernel' for 'avg_pool2d'\n"
         "  p = avg_pool2d(x, stride=2)\n"
         "      ^\n");
}
END_TEST

/* block is required by to_nchwc and conv2d_nchwc and unknown to to_nchw;
 * a block that does not fit is the shape rule's error. */
START_TEST(missing_block) {
  expect(EHEADER
         "  a = to_nchwc(x)\n"
         "  b = conv2d_nchwc(x, w, pad=1)\n"
         "  c = to_nchwc(x, block=2)\n"
         "  d = to_nchw(x)\n"
         "  e = to_nchw(x, block=3)\n"
         "  output y = v\n"
         "}\n",
         "t.dsl:4:7: error: missing keyword 'block' for 'to_nchwc'\n"
         "  a = to_nchwc(x)\n"
         "      ^\n"
         "t.dsl:5:7: error: missing keyword 'block' for 'conv2d_nchwc'\n"
         "  b = conv2d_nchwc(x, w, pad=1)\n"
         "      ^\n"
         "t.dsl:6:7: error: to_nchwc: channels 3 are not divisible by block 2: "
         "f32[1,3,8,8]\n"
         "  c = to_nchwc(x, block=2)\n"
         "      ^\n"
         "t.dsl:7:7: error: to_nchw: input must have rank 5 (N, C/b, H, W, b), "
         "got f32[1,3,8,8]\n"
         "  d = to_nchw(x)\n"
         "      ^\n"
         "t.dsl:8:18: error: unknown keyword 'block' for 'to_nchw'\n"
         "  e = to_nchw(x, block=3)\n"
         "                 ^\n");
}
END_TEST

START_TEST(argument_errors) {
  expect(EHEADER
         "  p = conv2d(x)\n"
         "  q = concat(axis=0)\n"
         "  r = batch_norm(x, w)\n"
         "  s = cast(v)\n"
         "  t = cast(v, \"f32\")\n"
         "  u = cast(v, f16)\n"
         "  z = cast(v, foo)\n"
         "  aa = cast(v, [1])\n"
         "  bb = broadcast_to(v, v)\n"
         "  cc = where(v, v)\n"
         "  dd = keepdims(v)\n"
         "  ee = conv2d(x, [1], w)\n"
         "  ff = pow(v, 2, 3)\n"
         "  output y = v\n"
         "}\n",
         "t.dsl:4:7: error: 'conv2d' expects 2 or 3 arguments, got 1\n"
         "  p = conv2d(x)\n"
         "      ^\n"
         "t.dsl:5:7: error: 'concat' expects at least 1 argument, got 0\n"
         "  q = concat(axis=0)\n"
         "      ^\n"
         "t.dsl:6:7: error: 'batch_norm' expects 5 arguments, got 2\n"
         "  r = batch_norm(x, w)\n"
         "      ^\n"
         "t.dsl:7:7: error: 'cast' expects 2 arguments, got 1\n"
         "  s = cast(v)\n"
         "      ^\n"
         "t.dsl:8:15: error: argument 2 of 'cast' must be a dtype, such as "
         "f32\n"
         "  t = cast(v, \"f32\")\n"
         "              ^\n"
         "t.dsl:9:15: error: dtype 'f16' is not supported yet (supported: "
         "f32, f64, i32, i64, bool)\n"
         "  u = cast(v, f16)\n"
         "              ^\n"
         "t.dsl:10:15: error: unknown dtype 'foo'\n"
         "  z = cast(v, foo)\n"
         "              ^\n"
         "t.dsl:11:16: error: argument 2 of 'cast' must be a dtype, such as "
         "f32\n"
         "  aa = cast(v, [1])\n"
         "               ^\n"
         "t.dsl:12:24: error: argument 2 of 'broadcast_to' must be a list of "
         "integers, such as [2, 3]\n"
         "  bb = broadcast_to(v, v)\n"
         "                       ^\n"
         "t.dsl:13:8: error: 'where' expects 3 arguments, got 2\n"
         "  cc = where(v, v)\n"
         "       ^\n"
         "t.dsl:14:8: error: unknown operator or block 'keepdims'\n"
         "  dd = keepdims(v)\n"
         "       ^\n"
         "t.dsl:15:18: error: argument 2 of 'conv2d' must be a tensor, not a "
         "list\n"
         "  ee = conv2d(x, [1], w)\n"
         "                 ^\n"
         "t.dsl:16:8: error: 'pow' expects 2 arguments, got 3\n"
         "  ff = pow(v, 2, 3)\n"
         "       ^\n");
}
END_TEST

/* Literal values must fit the dtype they take from the other operands. */
START_TEST(literal_errors) {
  expect(EHEADER
         "  input c : bool[2]\n"
         "  a = clip(k, min=0.5)\n"
         "  b = maximum(k, 1.5)\n"
         "  d = where(c, k, 3000000000)\n"
         "  e = where(2, v, v)\n"
         "  output y = v\n"
         "}\n",
         "t.dsl:5:19: error: floating-point literal '0.5' used as i32 (an "
         "integer type)\n"
         "  a = clip(k, min=0.5)\n"
         "                  ^\n"
         "t.dsl:6:18: error: floating-point literal '1.5' used as i32 (an "
         "integer type)\n"
         "  b = maximum(k, 1.5)\n"
         "                 ^\n"
         "t.dsl:7:19: error: literal '3000000000' is out of range for i32\n"
         "  d = where(c, k, 3000000000)\n"
         "                  ^\n"
         "t.dsl:8:13: error: literal '2' is out of range for bool (0 or 1)\n"
         "  e = where(2, v, v)\n"
         "            ^\n");
}
END_TEST

/* split's sizes are positive and add up to the dimension; its values are
 * bound by as many names. */
START_TEST(split_errors) {
  expect(EHEADER
         "  a, b = split(v, sizes=[2, 2], axis=1)\n"
         "  c, d = split(v, sizes=[0, 6], axis=1)\n"
         "  e, f = split(v, sizes=[1, 1], axis=2)\n"
         "  g, h = split(v, sizes=[1, 1, 4], axis=1)\n"
         "  i = split(v, sizes=[1, 1])\n"
         "  j, l = relu(v)\n"
         "  n, o = v + v\n"
         "  p, q = split(v, sizes=[9223372036854775807, 2])\n"
         "  output y = v\n"
         "}\n",
         "t.dsl:4:10: error: split: sizes [2,2] do not add up to 6, the size "
         "of axis 1 of f32[2,6]\n"
         "  a, b = split(v, sizes=[2, 2], axis=1)\n"
         "         ^\n"
         "t.dsl:5:10: error: split: sizes must be positive: [0,6]\n"
         "  c, d = split(v, sizes=[0, 6], axis=1)\n"
         "         ^\n"
         "t.dsl:6:10: error: split: axis 2 is out of range for f32[2,6] "
         "(rank 2)\n"
         "  e, f = split(v, sizes=[1, 1], axis=2)\n"
         "         ^\n"
         "t.dsl:7:10: error: 'split' returns 3 values, but 2 names are "
         "given\n"
         "  g, h = split(v, sizes=[1, 1, 4], axis=1)\n"
         "         ^\n"
         "t.dsl:8:7: error: 'split' returns 2 values, but 1 is expected\n"
         "  i = split(v, sizes=[1, 1])\n"
         "      ^\n"
         "t.dsl:9:10: error: 'relu' returns 1 value, but 2 names are given\n"
         "  j, l = relu(v)\n"
         "         ^\n"
         "t.dsl:10:10: error: expected a call that returns 2 values (a block "
         "or split)\n"
         "  n, o = v + v\n"
         "         ^\n"
         "t.dsl:11:10: error: split: sizes [9223372036854775807,2] do not add "
         "up to 2, the size of axis 0 of f32[2,6]\n"
         "  p, q = split(v, sizes=[9223372036854775807, 2])\n"
         "         ^\n");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("calls");
  TCase *t = tcase_create("calls");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, conv2d);
  tcase_add_test(t, layouts);
  tcase_add_test(t, pools);
  tcase_add_test(t, norms);
  tcase_add_test(t, unary);
  tcase_add_test(t, clip);
  tcase_add_test(t, literal_operands);
  tcase_add_test(t, reductions);
  tcase_add_test(t, movement);
  tcase_add_test(t, slice);
  tcase_add_test(t, split);
  tcase_add_test(t, every_operator);
  tcase_add_test(t, keyword_errors);
  tcase_add_test(t, missing_keywords);
  tcase_add_test(t, missing_block);
  tcase_add_test(t, argument_errors);
  tcase_add_test(t, literal_errors);
  tcase_add_test(t, split_errors);
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
