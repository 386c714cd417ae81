/* The shape and type rules of the CNN and transformer operators (ir/shape.c
 * through dlc_graph_build): dtype classes from the operator flags, result
 * types on ordinary and awkward cases, the attributes each rule normalizes
 * for the evaluator and the lowering, and the exact text of every error. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static dlc_type ty(dlc_dtype dt, int rank, ...) {
  dlc_type t = {.dtype = dt, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++)
    t.dims[i] = va_arg(ap, int64_t);
  va_end(ap);
  return t;
}

/* dims are passed as int64_t: T(F32, 2, 3) is f32[2,3] */
#define T(dt, ...) ty(DLC_##dt, NARGS(__VA_ARGS__), ARGS64(__VA_ARGS__))
#define NARGS(...) NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define NARGS_(a, b, c, d, e, f, g, h, n, ...) n
#define ARGS64(...) MAP64_(NARGS(__VA_ARGS__), __VA_ARGS__)
#define MAP64_(n, ...) MAP64__(n, __VA_ARGS__)
#define MAP64__(n, ...) M##n(__VA_ARGS__)
#define M1(a) (int64_t)(a)
#define M2(a, ...) (int64_t)(a), M1(__VA_ARGS__)
#define M3(a, ...) (int64_t)(a), M2(__VA_ARGS__)
#define M4(a, ...) (int64_t)(a), M3(__VA_ARGS__)
#define M5(a, ...) (int64_t)(a), M4(__VA_ARGS__)
#define M6(a, ...) (int64_t)(a), M5(__VA_ARGS__)
#define M7(a, ...) (int64_t)(a), M6(__VA_ARGS__)
#define M8(a, ...) (int64_t)(a), M7(__VA_ARGS__)
#define SCALAR(dt) ty(DLC_##dt, 0)

static dlc_node *build(dlc_op op, const dlc_attrs *attrs, int nin,
                       dlc_node **ins) {
  int errs = dlc_diag_errors(tu_fx.sink.d);
  dlc_node *n = tu_build(op, tu_at(1, 1), nin, ins, attrs);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), errs);
  return n;
}

/* Building op(ins...) at t.dsl:3:7 fails with exactly `want` (the only
 * text it reports), counts one error and adds nothing. */
static void fails(dlc_op op, const dlc_attrs *attrs, int nin, dlc_node **ins,
                  const char *want) {
  int before = tu_fx.g->nnodes, errs = dlc_diag_errors(tu_fx.sink.d);
  size_t old = strlen(tu_sink_text(&tu_fx.sink));
  dlc_node *n =
      dlc_graph_build(tu_fx.g, op, tu_at(3, 7), nin, ins, attrs, tu_fx.sink.d);
  ck_assert_ptr_null(n);
  char full[1024];
  snprintf(full, sizeof full, "t.dsl:3:7: error: %s\n", want);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink) + old, full);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), errs + 1);
  ck_assert_int_eq(tu_fx.g->nnodes, before);
}

#define OPS(...) (dlc_node *[]){__VA_ARGS__}
#define NOPS(...) (int)(sizeof(OPS(__VA_ARGS__)) / sizeof(dlc_node *))
/* OP(DLC_OP_ADD, attrs, a, b) builds and must succeed; ERR(..., want, a, b)
 * must fail with want. */
#define OP(op, attrs, ...) build(op, attrs, NOPS(__VA_ARGS__), OPS(__VA_ARGS__))
#define ERR(op, attrs, want, ...)                                              \
  fails(op, attrs, NOPS(__VA_ARGS__), OPS(__VA_ARGS__), want)

static void expect_ints(const int64_t *v, int n, const char *want) {
  char buf[256];
  size_t k = (size_t)snprintf(buf, sizeof buf, "[");
  for (int i = 0; i < n; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%lld", i ? "," : "",
                          (long long)v[i]);
  snprintf(buf + k, sizeof buf - k, "]");
  ck_assert_str_eq(buf, want);
}

#define EXPECT_AXES(node, want) expect_ints((node)->attr.ints, (node)->attr.nints, want)

static dlc_attrs axes(int64_t *v, int n, bool keepdims) {
  return (dlc_attrs){.nints = n, .ints = v, .keepdims = keepdims};
}

static dlc_attrs axis(int64_t a) { return (dlc_attrs){.axis = a}; }

static dlc_attrs eps(double e) { return (dlc_attrs){.eps = e}; }

static dlc_attrs ln_attr(int64_t a, double e) {
  return (dlc_attrs){.axis = a, .eps = e};
}

/* conv2d attributes as the frontend writes them */
static dlc_attrs conv(int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                      int64_t pb, int64_t pr, int64_t dh, int64_t dw,
                      int64_t groups) {
  return (dlc_attrs){.stride = {sh, sw}, .pad = {pt, pl, pb, pr},
                     .dilation = {dh, dw}, .groups = groups};
}

static dlc_attrs conv1(void) { return conv(1, 1, 0, 0, 0, 0, 1, 1, 1); }

static dlc_attrs pool(int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                      int64_t pt, int64_t pl, int64_t pb, int64_t pr) {
  return (dlc_attrs){.kernel = {kh, kw}, .stride = {sh, sw},
                     .pad = {pt, pl, pb, pr}};
}

static dlc_attrs slice(int64_t ax, int64_t start, int64_t end, int64_t step) {
  return (dlc_attrs){.axis = ax, .start = start, .end = end, .step = step};
}

/* ---- elementwise: dtype classes, compare, where, cast ------------------ */

START_TEST(numeric_ops_take_ints_not_bool) {
  dlc_node *i = tu_in("i", T(I32, 2, 3));
  dlc_node *l = tu_in("l", T(I64, 3));
  dlc_node *b = tu_in("b", T(BOOL, 3));
  tu_expect_type(OP(DLC_OP_ADD, NULL, i, i), "i32[2,3]");
  tu_expect_type(OP(DLC_OP_DIV, NULL, l, l), "i64[3]");
  tu_expect_type(OP(DLC_OP_ABS, NULL, l), "i64[3]");
  tu_expect_type(OP(DLC_OP_CLIP, &(dlc_attrs){.has_lo = true}, i), "i32[2,3]");
  ERR(DLC_OP_ADD, NULL, "add: expects a numeric operand, got bool[3]", b, b);
  ERR(DLC_OP_MAXIMUM, NULL, "maximum: expects a numeric operand, got bool[3]",
      b, b);
  ERR(DLC_OP_NEG, NULL, "neg: expects a numeric operand, got bool[3]", b);
  ERR(DLC_OP_RELU, NULL, "relu: expects a numeric operand, got bool[3]", b);
  ERR(DLC_OP_CLIP, NULL, "clip: expects a numeric operand, got bool[3]", b);
  dlc_node *bm = tu_in("bm", T(BOOL, 2, 2));
  ERR(DLC_OP_MATMUL, NULL, "matmul: expects a numeric operand, got bool[2,2]",
      bm, bm);
  /* operand dtypes are compared before the class */
  ERR(DLC_OP_SUB, NULL, "sub: operand types differ: bool[3] and i64[3]", b, l);
}
END_TEST

START_TEST(float_ops_reject_ints_and_bool) {
  dlc_node *f = tu_in("f", T(F64, 4));
  dlc_node *i = tu_in("i", T(I32, 4));
  dlc_node *b = tu_in("b", T(BOOL, 4));
  tu_expect_type(OP(DLC_OP_POW, NULL, f, f), "f64[4]");
  tu_expect_type(OP(DLC_OP_LEAKY_RELU, &(dlc_attrs){.alpha = 0.1}, f),
                 "f64[4]");
  tu_expect_type(OP(DLC_OP_GELU, &(dlc_attrs){.approximate = true}, f),
                 "f64[4]");
  tu_expect_type(OP(DLC_OP_ERF, NULL, f), "f64[4]");
  ERR(DLC_OP_POW, NULL, "pow: expects a floating-point operand, got i32[4]",
      i, i);
  ERR(DLC_OP_LEAKY_RELU, NULL,
      "leaky_relu: expects a floating-point operand, got i32[4]", i);
  ERR(DLC_OP_RSQRT, NULL, "rsqrt: expects a floating-point operand, got bool[4]",
      b);
  ERR(DLC_OP_RECIPROCAL, NULL,
      "reciprocal: expects a floating-point operand, got i32[4]", i);
  ERR(DLC_OP_SILU, NULL, "silu: expects a floating-point operand, got i32[4]",
      i);
}
END_TEST

START_TEST(comparisons_give_bool) {
  dlc_node *a = tu_in("a", T(F32, 2, 1));
  dlc_node *c = tu_in("c", T(F32, 3));
  dlc_node *i = tu_in("i", T(I64, 3));
  dlc_node *b = tu_in("b", T(BOOL, 2, 3));
  tu_expect_type(OP(DLC_OP_EQUAL, NULL, a, c), "bool[2,3]");
  tu_expect_type(OP(DLC_OP_LESS, NULL, c, a), "bool[2,3]");
  tu_expect_type(OP(DLC_OP_GREATER, NULL, i, i), "bool[3]");
  /* equal takes any dtype, bool included */
  tu_expect_type(OP(DLC_OP_EQUAL, NULL, b, b), "bool[2,3]");
  ERR(DLC_OP_LESS, NULL, "less: expects a numeric operand, got bool[2,3]", b,
      b);
  ERR(DLC_OP_GREATER, NULL, "greater: operand types differ: f32[3] and i64[3]",
      c, i);
  dlc_node *d = tu_in("d", T(F32, 4));
  ERR(DLC_OP_EQUAL, NULL, "equal: shapes do not broadcast: f32[3] and f32[4]",
      c, d);
}
END_TEST

START_TEST(where_broadcasts_three_ways) {
  dlc_node *c = tu_in("c", T(BOOL, 3, 1));
  dlc_node *a = tu_in("a", T(F32, 1, 4));
  dlc_node *s = tu_in("s", SCALAR(F32));
  tu_expect_type(OP(DLC_OP_WHERE, NULL, c, a, s), "f32[3,4]");
  dlc_node *c3 = tu_in("c3", T(BOOL, 2, 1, 1));
  dlc_node *i1 = tu_in("i1", T(I64, 3, 1));
  dlc_node *i2 = tu_in("i2", T(I64, 4));
  tu_expect_type(OP(DLC_OP_WHERE, NULL, c3, i1, i2), "i64[2,3,4]");
  /* the condition alone can give the shape; bool values are fine */
  dlc_node *cb = tu_in("cb", T(BOOL, 5));
  dlc_node *bs = tu_in("bs", SCALAR(BOOL));
  tu_expect_type(OP(DLC_OP_WHERE, NULL, cb, bs, bs), "bool[5]");
}
END_TEST

START_TEST(where_errors) {
  dlc_node *c = tu_in("c", T(BOOL, 3));
  dlc_node *f = tu_in("f", T(F32, 3));
  dlc_node *i = tu_in("i", T(I32, 3));
  dlc_node *f4 = tu_in("f4", T(F32, 4));
  dlc_node *c2 = tu_in("c2", T(BOOL, 2, 1));
  ERR(DLC_OP_WHERE, NULL, "where: condition must be bool, got i32[3]", i, f, f);
  ERR(DLC_OP_WHERE, NULL, "where: operand types differ: f32[3] and i32[3]", c,
      f, i);
  ERR(DLC_OP_WHERE, NULL,
      "where: shapes do not broadcast: bool[3], f32[3] and f32[4]", c, f, f4);
  ERR(DLC_OP_WHERE, NULL,
      "where: shapes do not broadcast: bool[2,1], f32[4] and f32[3]", c2, f4,
      f);
  ERR(DLC_OP_WHERE, NULL, "where: expects 3 operands, got 2", c, f);
}
END_TEST

START_TEST(cast_any_to_any) {
  dlc_node *f = tu_in("f", T(F32, 2, 3));
  dlc_node *b = tu_in("b", SCALAR(BOOL));
  dlc_node *n = OP(DLC_OP_CAST, &(dlc_attrs){.to = DLC_I32}, f);
  tu_expect_type(n, "i32[2,3]");
  ck_assert_int_eq(n->attr.to, DLC_I32);
  tu_expect_type(OP(DLC_OP_CAST, &(dlc_attrs){.to = DLC_BOOL}, f), "bool[2,3]");
  tu_expect_type(OP(DLC_OP_CAST, &(dlc_attrs){.to = DLC_F64}, b), "f64[]");
  tu_expect_type(OP(DLC_OP_CAST, &(dlc_attrs){.to = DLC_F32}, f), "f32[2,3]");
  ERR(DLC_OP_CAST, &(dlc_attrs){.to = DLC_NUM_DTYPES},
      "cast: target dtype 5 is not a dtype", f);
}
END_TEST

/* ---- reductions ------------------------------------------------------- */

START_TEST(reduce_axes_normalized_and_sorted) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 4));
  int64_t a1[] = {-1};
  dlc_attrs a = axes(a1, 1, true);
  dlc_node *n = OP(DLC_OP_SUM, &a, x);
  tu_expect_type(n, "f32[2,3,1]");
  EXPECT_AXES(n, "[2]");
  ck_assert(n->attr.keepdims);
  ck_assert_int_eq(a1[0], -1); /* the caller's array is not touched */

  int64_t a2[] = {2, -3};
  a = axes(a2, 2, false);
  n = OP(DLC_OP_MEAN, &a, x);
  tu_expect_type(n, "f32[3]");
  EXPECT_AXES(n, "[0,2]");

  a = axes(a2, 2, true);
  tu_expect_type(OP(DLC_OP_MAX, &a, x), "f32[1,3,1]");

  int64_t a3[] = {1, 0, 2};
  a = axes(a3, 3, false);
  n = OP(DLC_OP_MIN, &a, x);
  tu_expect_type(n, "f32[]");
  EXPECT_AXES(n, "[0,1,2]");
}
END_TEST

START_TEST(reduce_without_axes_reduces_all) {
  dlc_node *x = tu_in("x", T(I32, 2, 3, 4));
  dlc_attrs a = axes(NULL, 0, false);
  dlc_node *n = OP(DLC_OP_SUM, &a, x);
  tu_expect_type(n, "i32[]");
  EXPECT_AXES(n, "[0,1,2]");
  a.keepdims = true;
  n = OP(DLC_OP_MAX, &a, x);
  tu_expect_type(n, "i32[1,1,1]");
  EXPECT_AXES(n, "[0,1,2]");
  /* a scalar reduces over nothing */
  dlc_node *s = tu_in("s", SCALAR(I64));
  n = OP(DLC_OP_MEAN, &a, s);
  tu_expect_type(n, "i64[]");
  ck_assert_int_eq(n->attr.nints, 0);
  /* NULL attrs: all axes, keepdims 0 */
  tu_expect_type(OP(DLC_OP_MIN, NULL, x), "i32[]");
}
END_TEST

START_TEST(reduce_errors) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 4));
  dlc_node *b = tu_in("b", T(BOOL, 3));
  int64_t big[] = {0, 3};
  dlc_attrs a = axes(big, 2, true);
  ERR(DLC_OP_SUM, &a, "sum: axis 3 is out of range for f32[2,3,4] (rank 3)", x);
  int64_t neg[] = {-4};
  a = axes(neg, 1, true);
  ERR(DLC_OP_MAX, &a, "max: axis -4 is out of range for f32[2,3,4] (rank 3)",
      x);
  int64_t rep[] = {1, -2};
  a = axes(rep, 2, false);
  ERR(DLC_OP_MEAN, &a,
      "mean: axes [1,-2] repeat axis 1 of f32[2,3,4] (rank 3)", x);
  int64_t zero[] = {0};
  dlc_node *s = tu_in("s", SCALAR(F32));
  a = axes(zero, 1, false);
  ERR(DLC_OP_SUM, &a, "sum: axis 0 is out of range for f32[] (rank 0)", s);
  ERR(DLC_OP_MIN, NULL, "min: expects a numeric operand, got bool[3]", b);
}
END_TEST

START_TEST(global_avg_pool_is_a_mean_over_spatial_dims) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 5, 7));
  dlc_node *n = OP(DLC_OP_GLOBAL_AVG_POOL, NULL, x);
  tu_expect_type(n, "f32[2,3,1,1]");
  EXPECT_AXES(n, "[2,3]");
  ck_assert(n->attr.keepdims);
  /* whatever axes the caller left are replaced */
  int64_t junk[] = {0, 1, 9};
  dlc_attrs a = axes(junk, 3, false);
  dlc_node *y = tu_in("y", T(F64, 1, 4, 6));
  n = OP(DLC_OP_GLOBAL_AVG_POOL, &a, y);
  tu_expect_type(n, "f64[1,4,1]");
  EXPECT_AXES(n, "[2]");
  dlc_node *z = tu_in("z", T(F32, 1, 2, 2, 2, 2));
  n = OP(DLC_OP_GLOBAL_AVG_POOL, NULL, z);
  tu_expect_type(n, "f32[1,2,1,1,1]");
  EXPECT_AXES(n, "[2,3,4]");
}
END_TEST

START_TEST(global_avg_pool_errors) {
  dlc_node *x = tu_in("x", T(F32, 2, 3));
  dlc_node *i = tu_in("i", T(I32, 1, 2, 3, 3));
  ERR(DLC_OP_GLOBAL_AVG_POOL, NULL,
      "global_avg_pool: expects rank 3 or more (N, C, ...), got f32[2,3]", x);
  ERR(DLC_OP_GLOBAL_AVG_POOL, NULL,
      "global_avg_pool: expects a floating-point operand, got i32[1,2,3,3]", i);
}
END_TEST

/* ---- normalizations ---------------------------------------------------- */

START_TEST(batch_norm_types) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 4, 4));
  dlc_node *p = tu_in("p", T(F32, 3));
  dlc_attrs a = eps(1e-5);
  dlc_node *n = OP(DLC_OP_BATCH_NORM, &a, x, p, p, p, p);
  tu_expect_type(n, "f32[2,3,4,4]");
  ck_assert(n->attr.eps == 1e-5);
  dlc_node *x2 = tu_in("x2", T(F64, 5, 7));
  dlc_node *p2 = tu_in("p2", T(F64, 7));
  a = eps(0);
  tu_expect_type(OP(DLC_OP_BATCH_NORM, &a, x2, p2, p2, p2, p2), "f64[5,7]");
}
END_TEST

START_TEST(batch_norm_errors) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 4, 4));
  dlc_node *p = tu_in("p", T(F32, 3));
  dlc_node *q = tu_in("q", T(F32, 4));
  dlc_node *pd = tu_in("pd", T(F64, 3));
  dlc_node *p13 = tu_in("p13", T(F32, 1, 3));
  dlc_node *v = tu_in("v", T(F32, 3));
  dlc_node *xi = tu_in("xi", T(I32, 2, 3));
  dlc_attrs a = eps(1e-5);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: mean must be f32[3] (one per channel of f32[2,3,4,4]), got "
      "f32[4]",
      x, p, p, q, p);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: scale must be f32[3] (one per channel of f32[2,3,4,4]), got "
      "f64[3]",
      x, pd, p, p, p);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: var must be f32[3] (one per channel of f32[2,3,4,4]), got "
      "f32[1,3]",
      x, p, p, p, p13);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: expects rank 2 or more (N, C, ...), got f32[3]", v, p, p, p,
      p);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: expects a floating-point operand, got i32[2,3]", xi, p, p,
      p, p);
  ERR(DLC_OP_BATCH_NORM, &a, "batch_norm: expects 5 operands, got 4", x, p, p,
      p);
  a = eps(-1e-3);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: eps must be a non-negative number, got -0.001", x, p, p, p,
      p);
  a = eps(NAN);
  ERR(DLC_OP_BATCH_NORM, &a,
      "batch_norm: eps must be a non-negative number, got nan", x, p, p, p, p);
}
END_TEST

START_TEST(layer_norm_axis_normalized) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 4));
  dlc_node *g4 = tu_in("g4", T(F32, 4));
  dlc_node *g34 = tu_in("g34", T(F32, 3, 4));
  dlc_node *g234 = tu_in("g234", T(F32, 2, 3, 4));
  dlc_attrs a = ln_attr(-1, 1e-5);
  dlc_node *n = OP(DLC_OP_LAYER_NORM, &a, x, g4, g4);
  tu_expect_type(n, "f32[2,3,4]");
  ck_assert_int_eq(n->attr.axis, 2);
  a = ln_attr(-2, 1e-6);
  n = OP(DLC_OP_LAYER_NORM, &a, x, g34, g34);
  ck_assert_int_eq(n->attr.axis, 1);
  ck_assert(n->attr.eps == 1e-6);
  a = ln_attr(0, 1e-5);
  n = OP(DLC_OP_LAYER_NORM, &a, x, g234, g234);
  ck_assert_int_eq(n->attr.axis, 0);
  a = ln_attr(-3, 1e-5);
  ck_assert_int_eq(OP(DLC_OP_LAYER_NORM, &a, x, g234, g234)->attr.axis, 0);
}
END_TEST

START_TEST(layer_norm_errors) {
  dlc_node *x = tu_in("x", T(F32, 2, 3, 4));
  dlc_node *g4 = tu_in("g4", T(F32, 4));
  dlc_node *g34 = tu_in("g34", T(F32, 3, 4));
  dlc_node *b4 = tu_in("b4", T(F64, 4));
  dlc_node *s = tu_in("s", SCALAR(F32));
  dlc_node *xi = tu_in("xi", T(I64, 4));
  dlc_attrs a = ln_attr(-1, 1e-5);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: gamma must be f32[4] (the dims of f32[2,3,4] from axis 2), "
      "got f32[3,4]",
      x, g34, g4);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: beta must be f32[4] (the dims of f32[2,3,4] from axis 2), "
      "got f64[4]",
      x, g4, b4);
  a = ln_attr(-2, 1e-5);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: gamma must be f32[3,4] (the dims of f32[2,3,4] from axis "
      "1), got f32[4]",
      x, g4, g34);
  a = ln_attr(3, 1e-5);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: axis 3 is out of range for f32[2,3,4] (rank 3)", x, g4, g4);
  a = ln_attr(-4, 1e-5);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: axis -4 is out of range for f32[2,3,4] (rank 3)", x, g4, g4);
  a = ln_attr(-1, 1e-5);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: axis -1 is out of range for f32[] (rank 0)", s, s, s);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: expects a floating-point operand, got i64[4]", xi, g4, g4);
  a = ln_attr(-1, -1);
  ERR(DLC_OP_LAYER_NORM, &a,
      "layer_norm: eps must be a non-negative number, got -1", x, g4, g4);
}
END_TEST

/* ---- conv2d ------------------------------------------------------------ */

START_TEST(conv2d_types) {
  dlc_node *x = tu_in("x", T(F32, 1, 3, 8, 8));
  dlc_node *w = tu_in("w", T(F32, 16, 3, 3, 3));
  dlc_node *b = tu_in("b", T(F32, 16));
  dlc_attrs a = conv1();
  dlc_node *n = OP(DLC_OP_CONV2D, &a, x, w);
  tu_expect_type(n, "f32[1,16,6,6]");
  expect_ints(n->attr.kernel, 2, "[3,3]");
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w, b), "f32[1,16,6,6]");
  /* pad 1 keeps the size; stride 2 halves it */
  a = conv(1, 1, 1, 1, 1, 1, 1, 1, 1);
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w, b), "f32[1,16,8,8]");
  a = conv(2, 2, 1, 1, 1, 1, 1, 1, 1);
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w, b), "f32[1,16,4,4]");
  /* dilation 2: the 3x3 kernel spans 5; (8 - 5) / 1 + 1 = 4 */
  a = conv(1, 1, 0, 0, 0, 0, 2, 2, 1);
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w), "f32[1,16,4,4]");
  /* asymmetric everything: H' = (8+0+2-1*(3-1)-1)/2+1 = 4,
   * W' = (8+1+3-3*(3-1)-1)/1+1 = 6 */
  a = conv(2, 1, 0, 1, 2, 3, 1, 3, 1);
  n = OP(DLC_OP_CONV2D, &a, x, w);
  tu_expect_type(n, "f32[1,16,4,6]");
  /* the attributes stay as written */
  expect_ints(n->attr.stride, 2, "[2,1]");
  expect_ints(n->attr.pad, 4, "[0,1,2,3]");
  expect_ints(n->attr.dilation, 2, "[1,3]");
  ck_assert_int_eq(n->attr.groups, 1);
  /* a kernel as large as the padded input gives 1 */
  dlc_node *wr = tu_in("wr", T(F32, 2, 3, 8, 5));
  a = conv1();
  n = OP(DLC_OP_CONV2D, &a, x, wr);
  tu_expect_type(n, "f32[1,2,1,4]");
  expect_ints(n->attr.kernel, 2, "[8,5]");
  /* a huge stride gives 1 */
  a = conv(1 << 30, 1, 0, 0, 0, 0, 1, 1, 1);
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w), "f32[1,16,1,6]");
}
END_TEST

START_TEST(conv2d_groups_and_depthwise) {
  dlc_node *x = tu_in("x", T(F64, 2, 4, 5, 5));
  dlc_node *w = tu_in("w", T(F64, 6, 2, 3, 3));
  dlc_attrs a = conv(1, 1, 0, 0, 0, 0, 1, 1, 2);
  dlc_node *n = OP(DLC_OP_CONV2D, &a, x, w);
  tu_expect_type(n, "f64[2,6,3,3]");
  ck_assert_int_eq(n->attr.groups, 2);
  /* depthwise: groups = C, one input channel per group, multiplier 2 */
  dlc_node *wd = tu_in("wd", T(F64, 8, 1, 3, 3));
  dlc_node *bd = tu_in("bd", T(F64, 8));
  a = conv(1, 1, 1, 1, 1, 1, 1, 1, 4);
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, wd, bd), "f64[2,8,5,5]");
  /* 1x1 kernel */
  dlc_node *w1 = tu_in("w1", T(F64, 3, 4, 1, 1));
  a = conv1();
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w1), "f64[2,3,5,5]");
}
END_TEST

START_TEST(conv2d_operand_errors) {
  dlc_node *x = tu_in("x", T(F32, 1, 3, 8, 8));
  dlc_node *w = tu_in("w", T(F32, 16, 3, 3, 3));
  dlc_node *b = tu_in("b", T(F32, 16));
  dlc_node *x3 = tu_in("x3", T(F32, 3, 8, 8));
  dlc_node *w3 = tu_in("w3", T(F32, 16, 3, 3));
  dlc_node *wd = tu_in("wd", T(F64, 16, 3, 3, 3));
  dlc_node *xi = tu_in("xi", T(I32, 1, 3, 8, 8));
  dlc_node *wi = tu_in("wi", T(I32, 16, 3, 3, 3));
  dlc_node *b8 = tu_in("b8", T(F32, 8));
  dlc_node *bd = tu_in("bd", T(F64, 16));
  dlc_attrs a = conv1();
  ERR(DLC_OP_CONV2D, &a, "conv2d: expects 2 or 3 operands, got 1", x);
  ERR(DLC_OP_CONV2D, &a, "conv2d: expects 2 or 3 operands, got 4", x, w, b, b);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: input must have rank 4 (N, C, H, W), got f32[3,8,8]", x3, w);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: weight must have rank 4 (M, C/groups, kH, kW), got f32[16,3,3]",
      x, w3);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: operand types differ: f32[1,3,8,8] and f64[16,3,3,3]", x, wd);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: expects a floating-point operand, got i32[1,3,8,8]", xi, wi);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: bias must be f32[16] (one per output channel of "
      "f32[16,3,3,3]), got f32[8]",
      x, w, b8);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: bias must be f32[16] (one per output channel of "
      "f32[16,3,3,3]), got f64[16]",
      x, w, bd);
}
END_TEST

START_TEST(conv2d_attribute_errors) {
  dlc_node *x = tu_in("x", T(F32, 1, 3, 8, 8));
  dlc_node *w = tu_in("w", T(F32, 16, 3, 3, 3));
  dlc_attrs a = conv(0, 1, 0, 0, 0, 0, 1, 1, 1);
  ERR(DLC_OP_CONV2D, &a, "conv2d: strides must be at least 1, got [0,1]", x,
      w);
  a = conv(1, -2, 0, 0, 0, 0, 1, 1, 1);
  ERR(DLC_OP_CONV2D, &a, "conv2d: strides must be at least 1, got [1,-2]", x,
      w);
  a = conv(1, 1, 0, 0, 0, 0, 1, 0, 1);
  ERR(DLC_OP_CONV2D, &a, "conv2d: dilations must be at least 1, got [1,0]", x,
      w);
  a = conv(1, 1, 0, 0, -1, 0, 1, 1, 1);
  ERR(DLC_OP_CONV2D, &a, "conv2d: pads must not be negative, got [0,0,-1,0]",
      x, w);
  a = conv(1, 1, 0, 0, 0, 0, 1, 1, 0);
  ERR(DLC_OP_CONV2D, &a, "conv2d: groups must be at least 1, got 0", x, w);
  /* NULL attributes: the frontend's defaults are missing */
  ERR(DLC_OP_CONV2D, NULL, "conv2d: strides must be at least 1, got [0,0]", x,
      w);
  a = conv(((int64_t)1 << 40) + 1, 1, 0, 0, 0, 0, 1, 1, 1);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: strides must be at most 2^40, got [1099511627777,1]", x, w);
  a = conv(1, 1, 0, INT64_MAX, 0, 0, 1, 1, 1);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: pads must be at most 2^40, got [0,9223372036854775807,0,0]", x,
      w);
}
END_TEST

START_TEST(conv2d_shape_errors) {
  dlc_node *x = tu_in("x", T(F32, 1, 3, 8, 8));
  dlc_node *w = tu_in("w", T(F32, 16, 3, 3, 3));
  dlc_node *x4 = tu_in("x4", T(F32, 1, 4, 8, 8));
  dlc_node *w6 = tu_in("w6", T(F32, 6, 1, 3, 3));
  dlc_node *w4 = tu_in("w4", T(F32, 16, 4, 3, 3));
  dlc_node *w9 = tu_in("w9", T(F32, 2, 3, 9, 3));
  dlc_attrs a = conv(1, 1, 0, 0, 0, 0, 1, 1, 2);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: input channels 3 are not divisible by groups 2: f32[1,3,8,8]",
      x, w);
  a = conv(1, 1, 0, 0, 0, 0, 1, 1, 4);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: output channels 6 are not divisible by groups 4: weight "
      "f32[6,1,3,3]",
      x4, w6);
  a = conv1();
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: weight f32[16,4,3,3] has 4 input channels per group, but input "
      "f32[1,3,8,8] with groups 1 needs 3",
      x, w4);
  a = conv(1, 1, 0, 0, 0, 0, 1, 1, 2);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: weight f32[16,3,3,3] has 3 input channels per group, but input "
      "f32[1,4,8,8] with groups 2 needs 2",
      x4, w);
  a = conv1();
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: the window 9x3 is larger than the padded input 8x8: "
      "f32[1,3,8,8]",
      x, w9);
  /* padding makes it fit */
  a = conv(1, 1, 1, 0, 0, 0, 1, 1, 1);
  tu_expect_type(OP(DLC_OP_CONV2D, &a, x, w9), "f32[1,2,1,6]");
  /* dilation 4: span 4*(3-1)+1 = 9 */
  a = conv(1, 1, 0, 0, 0, 0, 1, 4, 1);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: the window 3x9 is larger than the padded input 8x8: "
      "f32[1,3,8,8]",
      x, w);
  /* a dilation at the limit does not overflow */
  a = conv(1, 1, 0, 0, 0, 0, (int64_t)1 << 40, 1, 1);
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: the window 2199023255553x3 is larger than the padded input "
      "8x8: f32[1,3,8,8]",
      x, w);
}
END_TEST

/* ---- pools ------------------------------------------------------------- */

START_TEST(pool_types) {
  dlc_node *x = tu_in("x", T(F32, 1, 2, 4, 4));
  dlc_attrs a = pool(2, 2, 2, 2, 0, 0, 0, 0);
  dlc_node *n = OP(DLC_OP_MAX_POOL2D, &a, x);
  tu_expect_type(n, "f32[1,2,2,2]");
  expect_ints(n->attr.kernel, 2, "[2,2]");
  a = pool(3, 3, 1, 1, 1, 1, 1, 1);
  tu_expect_type(OP(DLC_OP_AVG_POOL2D, &a, x), "f32[1,2,4,4]");
  a.count_include_pad = true;
  n = OP(DLC_OP_AVG_POOL2D, &a, x);
  ck_assert(n->attr.count_include_pad);
  /* asymmetric pads: H' = (5+0+1-2)/2+1 = 3, W' = (5+1+1-3)/2+1 = 3 */
  dlc_node *y = tu_in("y", T(F64, 2, 3, 5, 5));
  a = pool(2, 3, 2, 2, 0, 1, 1, 1);
  n = OP(DLC_OP_AVG_POOL2D, &a, y);
  tu_expect_type(n, "f64[2,3,3,3]");
  expect_ints(n->attr.pad, 4, "[0,1,1,1]");
  /* a stride larger than the kernel skips elements */
  a = pool(1, 1, 3, 2, 0, 0, 0, 0);
  tu_expect_type(OP(DLC_OP_MAX_POOL2D, &a, y), "f64[2,3,2,3]");
  /* max_pool2d is numeric: integers are fine */
  dlc_node *i = tu_in("i", T(I32, 1, 1, 3, 3));
  a = pool(3, 3, 1, 1, 0, 0, 0, 0);
  tu_expect_type(OP(DLC_OP_MAX_POOL2D, &a, i), "i32[1,1,1,1]");
  /* dilation is not used by pools */
  a.dilation[0] = 0;
  a.dilation[1] = 7;
  n = OP(DLC_OP_MAX_POOL2D, &a, i);
  tu_expect_type(n, "i32[1,1,1,1]");
  ck_assert_int_eq(n->attr.dilation[1], 7);
}
END_TEST

START_TEST(pool_errors) {
  dlc_node *x = tu_in("x", T(F32, 1, 2, 4, 4));
  dlc_node *x3 = tu_in("x3", T(F32, 2, 4, 4));
  dlc_node *i = tu_in("i", T(I32, 1, 2, 4, 4));
  dlc_node *b = tu_in("b", T(BOOL, 1, 2, 4, 4));
  dlc_attrs a = pool(2, 2, 1, 1, 0, 0, 0, 0);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: input must have rank 4 (N, C, H, W) or 5 (N, C/b, H, W, b), got f32[2,4,4]", x3);
  ERR(DLC_OP_AVG_POOL2D, &a,
      "avg_pool2d: expects a floating-point operand, got i32[1,2,4,4]", i);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: expects a numeric operand, got bool[1,2,4,4]", b);
  ERR(DLC_OP_MAX_POOL2D, NULL,
      "max_pool2d: kernel must be at least 1, got [0,0]", x);
  a = pool(2, 0, 1, 1, 0, 0, 0, 0);
  ERR(DLC_OP_AVG_POOL2D, &a, "avg_pool2d: kernel must be at least 1, got [2,0]",
      x);
  a = pool(2, 2, 0, 1, 0, 0, 0, 0);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: strides must be at least 1, got [0,1]", x);
  a = pool(2, 2, 1, 1, 0, -1, 0, 0);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: pads must not be negative, got [0,-1,0,0]", x);
  a = pool(2, 3, 1, 1, 0, 0, 0, 3);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: pads [0,0,0,3] must be smaller than the kernel [2,3]", x);
  a = pool(2, 3, 1, 1, 0, 0, 2, 0);
  ERR(DLC_OP_AVG_POOL2D, &a,
      "avg_pool2d: pads [0,0,2,0] must be smaller than the kernel [2,3]", x);
  a = pool(5, 2, 1, 1, 0, 0, 0, 0);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: the window 5x2 is larger than the padded input 4x4: "
      "f32[1,2,4,4]",
      x);
  a = pool(((int64_t)1 << 40) + 1, 2, 1, 1, 0, 0, 0, 0);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: kernel must be at most 2^40, got [1099511627777,2]", x);
}
END_TEST

/* ---- blocked channel layout (NCHWc) ------------------------------------ */

static dlc_attrs blk(int64_t b) { return (dlc_attrs){.block = b}; }

/* conv2d_nchwc attributes: conv()'s with the result's block */
static dlc_attrs conv_nchwc(int64_t stride, int64_t pad, int64_t groups,
                            int64_t block) {
  dlc_attrs a = conv(stride, stride, pad, pad, pad, pad, 1, 1, groups);
  a.block = block;
  return a;
}

START_TEST(layout_conversion_types) {
  dlc_node *x = tu_in("x", T(F32, 2, 32, 5, 7));
  dlc_attrs a = blk(16);
  dlc_node *n = OP(DLC_OP_TO_NCHWC, &a, x);
  tu_expect_type(n, "f32[2,2,5,7,16]");
  ck_assert_int_eq(n->attr.block, 16);
  a = blk(8);
  tu_expect_type(OP(DLC_OP_TO_NCHWC, &a, x), "f32[2,4,5,7,8]");
  /* the whole channel count as one block; one channel per block */
  a = blk(32);
  tu_expect_type(OP(DLC_OP_TO_NCHWC, &a, x), "f32[2,1,5,7,32]");
  a = blk(1);
  tu_expect_type(OP(DLC_OP_TO_NCHWC, &a, x), "f32[2,32,5,7,1]");
  /* data movement only: any dtype */
  dlc_node *i = tu_in("i", T(I32, 1, 8, 3, 3));
  a = blk(4);
  dlc_node *ib = OP(DLC_OP_TO_NCHWC, &a, i);
  tu_expect_type(ib, "i32[1,2,3,3,4]");
  tu_expect_type(OP(DLC_OP_TO_NCHW, NULL, ib), "i32[1,8,3,3]");
  dlc_node *y = tu_in("y", T(F32, 1, 3, 4, 4, 8));
  tu_expect_type(OP(DLC_OP_TO_NCHW, NULL, y), "f32[1,24,4,4]");
  /* a round trip gives the type back */
  a = blk(16);
  tu_expect_type(OP(DLC_OP_TO_NCHW, NULL, OP(DLC_OP_TO_NCHWC, &a, x)),
                 "f32[2,32,5,7]");
}
END_TEST

START_TEST(layout_conversion_errors) {
  dlc_node *x = tu_in("x", T(F32, 2, 32, 5, 7));
  dlc_node *x3 = tu_in("x3", T(F32, 32, 5, 7));
  dlc_attrs a = blk(16);
  ERR(DLC_OP_TO_NCHWC, &a,
      "to_nchwc: input must have rank 4 (N, C, H, W), got f32[32,5,7]", x3);
  a = blk(0);
  ERR(DLC_OP_TO_NCHWC, &a, "to_nchwc: block must be at least 1, got 0", x);
  a = blk(-8);
  ERR(DLC_OP_TO_NCHWC, &a, "to_nchwc: block must be at least 1, got -8", x);
  /* NULL attributes: the block is missing */
  ERR(DLC_OP_TO_NCHWC, NULL, "to_nchwc: block must be at least 1, got 0", x);
  a = blk(12);
  ERR(DLC_OP_TO_NCHWC, &a,
      "to_nchwc: channels 32 are not divisible by block 12: f32[2,32,5,7]", x);
  a = blk(64);
  ERR(DLC_OP_TO_NCHWC, &a,
      "to_nchwc: channels 32 are not divisible by block 64: f32[2,32,5,7]", x);
  ERR(DLC_OP_TO_NCHW, NULL,
      "to_nchw: input must have rank 5 (N, C/b, H, W, b), got f32[2,32,5,7]",
      x);
  ERR(DLC_OP_TO_NCHW, NULL,
      "to_nchw: input must have rank 5 (N, C/b, H, W, b), got f32[32,5,7]",
      x3);
}
END_TEST

START_TEST(conv2d_nchwc_types) {
  /* 16 input channels, blocked by 8 or plain; 32 output channels */
  dlc_node *x5 = tu_in("x5", T(F32, 2, 2, 5, 7, 8));
  dlc_node *x4 = tu_in("x4", T(F32, 2, 16, 5, 7));
  dlc_node *w = tu_in("w", T(F32, 32, 16, 3, 3));
  dlc_node *b = tu_in("b", T(F32, 32));
  dlc_attrs a = conv_nchwc(1, 0, 1, 16);
  dlc_node *n = OP(DLC_OP_CONV2D_NCHWC, &a, x5, w);
  tu_expect_type(n, "f32[2,2,3,5,16]");
  expect_ints(n->attr.kernel, 2, "[3,3]");
  ck_assert_int_eq(n->attr.block, 16);
  /* an NCHW input gives the same result */
  n = OP(DLC_OP_CONV2D_NCHWC, &a, x4, w, b);
  tu_expect_type(n, "f32[2,2,3,5,16]");
  ck_assert_int_eq(n->nin, 3);
  /* the result's block need not be the input's */
  a = conv_nchwc(1, 0, 1, 8);
  tu_expect_type(OP(DLC_OP_CONV2D_NCHWC, &a, x5, w, b), "f32[2,4,3,5,8]");
  /* pad 1 keeps the size; stride 2: (5+2-3)/2+1 = 3, (7+2-3)/2+1 = 4 */
  a = conv_nchwc(1, 1, 1, 16);
  tu_expect_type(OP(DLC_OP_CONV2D_NCHWC, &a, x5, w, b), "f32[2,2,5,7,16]");
  a = conv_nchwc(2, 1, 1, 16);
  n = OP(DLC_OP_CONV2D_NCHWC, &a, x5, w, b);
  tu_expect_type(n, "f32[2,2,3,4,16]");
  expect_ints(n->attr.stride, 2, "[2,2]");
  expect_ints(n->attr.pad, 4, "[1,1,1,1]");
  a = conv_nchwc(2, 0, 1, 32);
  tu_expect_type(OP(DLC_OP_CONV2D_NCHWC, &a, x4, w), "f32[2,1,2,3,32]");
  /* depthwise: groups = C = M, the input blocked as the result */
  dlc_node *wd = tu_in("wd", T(F32, 16, 1, 3, 3));
  dlc_node *bd = tu_in("bd", T(F32, 16));
  a = conv_nchwc(1, 1, 16, 8);
  n = OP(DLC_OP_CONV2D_NCHWC, &a, x5, wd, bd);
  tu_expect_type(n, "f32[2,2,5,7,8]");
  ck_assert_int_eq(n->attr.groups, 16);
  /* f64 is a floating-point dtype too */
  dlc_node *xd = tu_in("xd", T(F64, 1, 1, 4, 4, 4));
  dlc_node *wf = tu_in("wf", T(F64, 4, 4, 1, 1));
  a = conv_nchwc(1, 0, 1, 2);
  tu_expect_type(OP(DLC_OP_CONV2D_NCHWC, &a, xd, wf), "f64[1,2,4,4,2]");
}
END_TEST

START_TEST(conv2d_nchwc_errors) {
  dlc_node *x = tu_in("x", T(F32, 1, 16, 8, 8));
  dlc_node *x5 = tu_in("x5", T(F32, 1, 2, 8, 8, 8));
  dlc_node *x3 = tu_in("x3", T(F32, 16, 8, 8));
  dlc_node *w = tu_in("w", T(F32, 32, 16, 3, 3));
  dlc_node *w12 = tu_in("w12", T(F32, 12, 16, 3, 3));
  dlc_node *wg = tu_in("wg", T(F32, 32, 8, 3, 3));
  dlc_node *wd = tu_in("wd", T(F32, 16, 1, 3, 3));
  dlc_attrs a = conv_nchwc(1, 0, 1, 0);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: block must be at least 1, got 0", x, w);
  /* conv2d's attributes, no block */
  a = conv1();
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: block must be at least 1, got 0", x5, w);
  a = conv_nchwc(1, 0, 1, 8);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: output channels 12 are not divisible by block 8", x, w12);
  a = conv_nchwc(1, 0, 1, 64);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: output channels 32 are not divisible by block 64", x5, w);
  /* grouped but not depthwise */
  a = conv_nchwc(1, 0, 2, 16);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: groups must be 1, or the channel count with the input's "
      "block equal to the result's (depthwise); got groups 2, input "
      "f32[1,16,8,8], block 16",
      x, wg);
  /* depthwise, but the input's block is 8 and the result's 16 */
  a = conv_nchwc(1, 1, 16, 16);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: groups must be 1, or the channel count with the input's "
      "block equal to the result's (depthwise); got groups 16, input "
      "f32[1,2,8,8,8], block 16",
      x5, wd);
  /* depthwise on an NCHW input (a block of 1) */
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: groups must be 1, or the channel count with the input's "
      "block equal to the result's (depthwise); got groups 16, input "
      "f32[1,16,8,8], block 16",
      x, wd);
  a = conv_nchwc(1, 0, 1, 16);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: input must have rank 4 (N, C, H, W) or 5 (N, C/b, H, W, "
      "b), got f32[16,8,8]",
      x3, w);
  /* conv2d itself takes no blocked input */
  a = conv1();
  ERR(DLC_OP_CONV2D, &a,
      "conv2d: input must have rank 4 (N, C, H, W), got f32[1,2,8,8,8]", x5, w);
  /* the channels of a blocked input are C/b * b */
  dlc_node *w8 = tu_in("w8", T(F32, 16, 8, 3, 3));
  a = conv_nchwc(1, 0, 1, 16);
  ERR(DLC_OP_CONV2D_NCHWC, &a,
      "conv2d_nchwc: weight f32[16,8,3,3] has 8 input channels per group, but "
      "input f32[1,2,8,8,8] with groups 1 needs 16",
      x5, w8);
}
END_TEST

START_TEST(pool_on_blocks) {
  /* a rank-5 input pools H and W and keeps its blocks */
  dlc_node *x = tu_in("x", T(F32, 1, 2, 4, 4, 8));
  dlc_attrs a = pool(2, 2, 2, 2, 0, 0, 0, 0);
  dlc_node *n = OP(DLC_OP_MAX_POOL2D, &a, x);
  tu_expect_type(n, "f32[1,2,2,2,8]");
  expect_ints(n->attr.kernel, 2, "[2,2]");
  a = pool(3, 3, 1, 1, 1, 1, 1, 1);
  tu_expect_type(OP(DLC_OP_AVG_POOL2D, &a, x), "f32[1,2,4,4,8]");
  dlc_node *i = tu_in("i", T(I32, 2, 1, 5, 3, 16));
  a = pool(2, 3, 2, 1, 0, 0, 0, 0);
  tu_expect_type(OP(DLC_OP_MAX_POOL2D, &a, i), "i32[2,1,2,1,16]");
  a = pool(5, 2, 1, 1, 0, 0, 0, 0);
  ERR(DLC_OP_MAX_POOL2D, &a,
      "max_pool2d: the window 5x2 is larger than the padded input 4x4: "
      "f32[1,2,4,4,8]",
      x);
  dlc_node *x6 = tu_in("x6", T(F32, 1, 2, 4, 4, 8, 1));
  a = pool(2, 2, 1, 1, 0, 0, 0, 0);
  ERR(DLC_OP_AVG_POOL2D, &a,
      "avg_pool2d: input must have rank 4 (N, C, H, W) or 5 (N, C/b, H, W, b), "
      "got f32[1,2,4,4,8,1]",
      x6);
}
END_TEST

START_TEST(blocked_graph_verifies) {
  /* the verifier re-runs the rules on a blocked chain */
  float z[32 * 16 * 9] = {0};
  dlc_node *x = tu_in("x", T(F32, 1, 16, 8, 8));
  dlc_type wt = T(F32, 32, 16, 3, 3);
  dlc_node *w = dlc_graph_add_weight(tu_fx.g, "w", &wt, z, dlc_noloc());
  dlc_type dt = T(F32, 32, 1, 3, 3);
  dlc_node *wd = dlc_graph_add_weight(tu_fx.g, "wd", &dt, z, dlc_noloc());
  dlc_attrs ba = blk(16);
  dlc_node *xb = OP(DLC_OP_TO_NCHWC, &ba, x);
  dlc_attrs ca = conv_nchwc(1, 1, 1, 16);
  dlc_node *c = OP(DLC_OP_CONV2D_NCHWC, &ca, xb, w);
  dlc_node *r = OP(DLC_OP_RELU, NULL, c);
  dlc_attrs da = conv_nchwc(2, 1, 32, 16);
  dlc_node *dw = OP(DLC_OP_CONV2D_NCHWC, &da, r, wd);
  dlc_attrs pa = pool(2, 2, 2, 2, 0, 0, 0, 0);
  dlc_node *mp = OP(DLC_OP_MAX_POOL2D, &pa, dw);
  dlc_node *y = OP(DLC_OP_TO_NCHW, NULL, mp);
  tu_expect_type(xb, "f32[1,1,8,8,16]");
  tu_expect_type(c, "f32[1,2,8,8,16]");
  tu_expect_type(dw, "f32[1,2,4,4,16]");
  tu_expect_type(mp, "f32[1,2,2,2,16]");
  tu_expect_type(y, "f32[1,32,2,2]");
  dlc_graph_add_output(tu_fx.g, "y", y, dlc_noloc());
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  ck_assert_int_eq(xb->attr.block, 16);
  ck_assert_int_eq(dw->attr.block, 16);
}
END_TEST

/* ---- reshape family ---------------------------------------------------- */

START_TEST(flatten_types) {
  dlc_node *x = tu_in("x", T(I64, 2, 3, 4));
  dlc_attrs a = axis(1);
  tu_expect_type(OP(DLC_OP_FLATTEN, &a, x), "i64[2,12]");
  a = axis(0);
  tu_expect_type(OP(DLC_OP_FLATTEN, &a, x), "i64[1,24]");
  a = axis(3);
  dlc_node *n = OP(DLC_OP_FLATTEN, &a, x);
  tu_expect_type(n, "i64[24,1]");
  ck_assert_int_eq(n->attr.axis, 3);
  a = axis(-1);
  n = OP(DLC_OP_FLATTEN, &a, x);
  tu_expect_type(n, "i64[6,4]");
  ck_assert_int_eq(n->attr.axis, 2);
  a = axis(-3);
  n = OP(DLC_OP_FLATTEN, &a, x);
  tu_expect_type(n, "i64[1,24]");
  ck_assert_int_eq(n->attr.axis, 0);
  dlc_node *s = tu_in("s", SCALAR(BOOL));
  tu_expect_type(OP(DLC_OP_FLATTEN, NULL, s), "bool[1,1]");
  a = axis(4);
  ERR(DLC_OP_FLATTEN, &a, "flatten: axis 4 is out of range for i64[2,3,4] "
      "(rank 3)", x);
  a = axis(-4);
  ERR(DLC_OP_FLATTEN, &a, "flatten: axis -4 is out of range for i64[2,3,4] "
      "(rank 3)", x);
}
END_TEST

START_TEST(squeeze_types) {
  dlc_node *x = tu_in("x", T(F32, 1, 3, 1, 2));
  dlc_node *n = OP(DLC_OP_SQUEEZE, NULL, x);
  tu_expect_type(n, "f32[3,2]");
  EXPECT_AXES(n, "[0,2]");
  int64_t a1[] = {-2};
  dlc_attrs a = axes(a1, 1, false);
  n = OP(DLC_OP_SQUEEZE, &a, x);
  tu_expect_type(n, "f32[1,3,2]");
  EXPECT_AXES(n, "[2]");
  int64_t a2[] = {2, -4};
  a = axes(a2, 2, false);
  n = OP(DLC_OP_SQUEEZE, &a, x);
  tu_expect_type(n, "f32[3,2]");
  EXPECT_AXES(n, "[0,2]");
  /* all ones: a scalar; no ones: unchanged */
  dlc_node *o = tu_in("o", T(I32, 1, 1));
  tu_expect_type(OP(DLC_OP_SQUEEZE, NULL, o), "i32[]");
  dlc_node *m = tu_in("m", T(I32, 2, 3));
  n = OP(DLC_OP_SQUEEZE, NULL, m);
  tu_expect_type(n, "i32[2,3]");
  ck_assert_int_eq(n->attr.nints, 0);
}
END_TEST

START_TEST(squeeze_errors) {
  dlc_node *x = tu_in("x", T(F32, 1, 3, 1, 2));
  int64_t a1[] = {1};
  dlc_attrs a = axes(a1, 1, false);
  ERR(DLC_OP_SQUEEZE, &a,
      "squeeze: dimension 1 of f32[1,3,1,2] is 3, not 1", x);
  int64_t a2[] = {4};
  a = axes(a2, 1, false);
  ERR(DLC_OP_SQUEEZE, &a,
      "squeeze: axis 4 is out of range for f32[1,3,1,2] (rank 4)", x);
  int64_t a3[] = {0, -4};
  a = axes(a3, 2, false);
  ERR(DLC_OP_SQUEEZE, &a,
      "squeeze: axes [0,-4] repeat axis 0 of f32[1,3,1,2] (rank 4)", x);
}
END_TEST

START_TEST(unsqueeze_types) {
  dlc_node *x = tu_in("x", T(F32, 3, 4));
  int64_t a1[] = {0};
  dlc_attrs a = axes(a1, 1, false);
  tu_expect_type(OP(DLC_OP_UNSQUEEZE, &a, x), "f32[1,3,4]");
  int64_t a2[] = {-1};
  a = axes(a2, 1, false);
  dlc_node *n = OP(DLC_OP_UNSQUEEZE, &a, x);
  tu_expect_type(n, "f32[3,4,1]");
  EXPECT_AXES(n, "[2]");
  int64_t a3[] = {3, 0};
  a = axes(a3, 2, false);
  n = OP(DLC_OP_UNSQUEEZE, &a, x);
  tu_expect_type(n, "f32[1,3,4,1]");
  EXPECT_AXES(n, "[0,3]");
  int64_t a4[] = {-1, 1};
  a = axes(a4, 2, false);
  n = OP(DLC_OP_UNSQUEEZE, &a, x);
  tu_expect_type(n, "f32[3,1,4,1]");
  EXPECT_AXES(n, "[1,3]");
  int64_t a5[] = {-3, -2};
  a = axes(a5, 2, false);
  n = OP(DLC_OP_UNSQUEEZE, &a, x);
  tu_expect_type(n, "f32[3,1,1,4]");
  EXPECT_AXES(n, "[1,2]");
  dlc_node *s = tu_in("s", SCALAR(I64));
  a = axes(a1, 1, false);
  tu_expect_type(OP(DLC_OP_UNSQUEEZE, &a, s), "i64[1]");
  /* up to rank 8 */
  int64_t six[] = {0, 1, 2, 3, 4, 5};
  a = axes(six, 6, false);
  tu_expect_type(OP(DLC_OP_UNSQUEEZE, &a, x), "f32[1,1,1,1,1,1,3,4]");
}
END_TEST

START_TEST(unsqueeze_errors) {
  dlc_node *x = tu_in("x", T(F32, 3, 4));
  ERR(DLC_OP_UNSQUEEZE, NULL, "unsqueeze: expects at least one axis", x);
  int64_t a1[] = {3};
  dlc_attrs a = axes(a1, 1, false);
  ERR(DLC_OP_UNSQUEEZE, &a,
      "unsqueeze: axis 3 is out of range for the result (rank 3)", x);
  int64_t a2[] = {-4};
  a = axes(a2, 1, false);
  ERR(DLC_OP_UNSQUEEZE, &a,
      "unsqueeze: axis -4 is out of range for the result (rank 3)", x);
  int64_t a3[] = {0, -4};
  a = axes(a3, 2, false);
  ERR(DLC_OP_UNSQUEEZE, &a,
      "unsqueeze: axes [0,-4] repeat axis 0 of the result (rank 4)", x);
  int64_t seven[] = {0, 1, 2, 3, 4, 5, 6};
  a = axes(seven, 7, false);
  ERR(DLC_OP_UNSQUEEZE, &a,
      "unsqueeze: the result of f32[3,4] with axes [0,1,2,3,4,5,6] has rank "
      "9; at most 8 is supported",
      x);
}
END_TEST

/* ---- broadcast_to, concat ------------------------------------------------ */

START_TEST(broadcast_to_types) {
  dlc_node *x = tu_in("x", T(F32, 3, 1));
  int64_t d1[] = {2, 3, 4};
  dlc_attrs a = axes(d1, 3, false);
  dlc_node *n = OP(DLC_OP_BROADCAST_TO, &a, x);
  tu_expect_type(n, "f32[2,3,4]");
  EXPECT_AXES(n, "[2,3,4]");
  dlc_node *s = tu_in("s", SCALAR(BOOL));
  int64_t d2[] = {5};
  a = axes(d2, 1, false);
  tu_expect_type(OP(DLC_OP_BROADCAST_TO, &a, s), "bool[5]");
  a = axes(NULL, 0, false);
  tu_expect_type(OP(DLC_OP_BROADCAST_TO, &a, s), "bool[]");
  int64_t d3[] = {3, 1};
  a = axes(d3, 2, false);
  tu_expect_type(OP(DLC_OP_BROADCAST_TO, &a, x), "f32[3,1]");
}
END_TEST

START_TEST(broadcast_to_errors) {
  dlc_node *x = tu_in("x", T(F32, 3, 2));
  int64_t d1[] = {2};
  dlc_attrs a = axes(d1, 1, false);
  ERR(DLC_OP_BROADCAST_TO, &a, "broadcast_to: cannot broadcast f32[3,2] to [2]",
      x);
  int64_t d2[] = {3, 4};
  a = axes(d2, 2, false);
  ERR(DLC_OP_BROADCAST_TO, &a,
      "broadcast_to: cannot broadcast f32[3,2] to [3,4]", x);
  int64_t d3[] = {2, 1, 2};
  a = axes(d3, 3, false);
  ERR(DLC_OP_BROADCAST_TO, &a,
      "broadcast_to: cannot broadcast f32[3,2] to [2,1,2]", x);
  int64_t d4[] = {0, 3, 2};
  a = axes(d4, 3, false);
  ERR(DLC_OP_BROADCAST_TO, &a,
      "broadcast_to: dimension 0 at position 0 must be positive", x);
  int64_t d5[] = {1, 1, 1, 1, 1, 1, 1, 3, 2};
  a = axes(d5, 9, false);
  ERR(DLC_OP_BROADCAST_TO, &a,
      "broadcast_to: [1,1,1,1,1,1,1,3,2] has rank 9; at most 8 is supported",
      x);
  int64_t d6[] = {INT64_MAX, 3, 2};
  a = axes(d6, 3, false);
  ERR(DLC_OP_BROADCAST_TO, &a,
      "broadcast_to: result f32[9223372036854775807,3,2] has more than 2^40 "
      "elements",
      x);
}
END_TEST

START_TEST(concat_types) {
  dlc_node *a = tu_in("a", T(F32, 2, 3));
  dlc_node *b = tu_in("b", T(F32, 4, 3));
  dlc_node *c = tu_in("c", T(F32, 1, 3));
  dlc_attrs at0 = axis(0);
  dlc_node *n = OP(DLC_OP_CONCAT, &at0, a, b, c);
  tu_expect_type(n, "f32[7,3]");
  ck_assert_int_eq(n->attr.axis, 0);
  dlc_node *p = tu_in("p", T(I32, 2, 1, 5));
  dlc_node *q = tu_in("q", T(I32, 2, 4, 5));
  dlc_attrs am2 = axis(-2);
  n = OP(DLC_OP_CONCAT, &am2, p, q, p);
  tu_expect_type(n, "i32[2,6,5]");
  ck_assert_int_eq(n->attr.axis, 1);
  dlc_attrs am1 = axis(-1);
  tu_expect_type(OP(DLC_OP_CONCAT, &am1, a), "f32[2,3]");
}
END_TEST

START_TEST(concat_errors) {
  dlc_node *a = tu_in("a", T(F32, 2, 3));
  dlc_node *b = tu_in("b", T(F32, 2, 4));
  dlc_node *d = tu_in("d", T(F64, 2, 3));
  dlc_node *r = tu_in("r", T(F32, 6));
  dlc_node *s = tu_in("s", SCALAR(F32));
  dlc_attrs a0 = axis(0);
  fails(DLC_OP_CONCAT, &a0, 0, NULL,
        "concat: expects at least 1 operand, got 0");
  ERR(DLC_OP_CONCAT, &a0,
      "concat: operand types differ: f32[2,3] and f64[2,3]", a, a, d);
  ERR(DLC_OP_CONCAT, &a0, "concat: operand ranks differ: f32[2,3] and f32[6]",
      a, r);
  ERR(DLC_OP_CONCAT, &a0,
      "concat: operand shapes differ outside axis 0: f32[2,3] and f32[2,4]", a,
      b);
  dlc_attrs a2 = axis(2);
  ERR(DLC_OP_CONCAT, &a2,
      "concat: axis 2 is out of range for f32[2,3] (rank 2)", a, a);
  ERR(DLC_OP_CONCAT, &a0, "concat: axis 0 is out of range for f32[] (rank 0)",
      s, s);
  dlc_node *h = tu_in("h", T(I32, (int64_t)1 << 39, 2));
  ERR(DLC_OP_CONCAT, &a0,
      "concat: the result has more than 2^40 elements along axis 0", h, h, h);
  dlc_node *big = tu_in("big", T(I32, (int64_t)1 << 40));
  ERR(DLC_OP_CONCAT, &a0,
      "concat: the result has more than 2^40 elements along axis 0", big, big);
}
END_TEST

/* ---- slice ------------------------------------------------------------- */

/* slice x along ax; checks the result type and the normalized start */
static void sliced(dlc_node *x, dlc_attrs a, const char *want,
                   int64_t want_start) {
  dlc_node *n = OP(DLC_OP_SLICE, &a, x);
  tu_expect_type(n, want);
  ck_assert_int_eq(n->attr.start, want_start);
  ck_assert_int_eq(n->attr.step, a.step);
  ck_assert_int_eq(n->attr.end, a.end); /* as written */
}

START_TEST(slice_positive_step) {
  dlc_node *x = tu_in("x", T(F32, 10));
  sliced(x, slice(0, 2, 8, 3), "f32[2]", 2);       /* 2, 5 */
  sliced(x, slice(0, 0, INT64_MAX, 1), "f32[10]", 0); /* x[:] */
  sliced(x, slice(0, -100, 100, 1), "f32[10]", 0); /* clamped */
  sliced(x, slice(0, -3, INT64_MAX, 1), "f32[3]", 7);
  sliced(x, slice(0, 1, -1, 1), "f32[8]", 1);
  sliced(x, slice(0, 9, 10, 5), "f32[1]", 9);
  sliced(x, slice(0, 0, INT64_MAX, INT64_MAX), "f32[1]", 0);
  sliced(x, slice(0, 0, 10, 4), "f32[3]", 0); /* 0, 4, 8 */
  dlc_node *m = tu_in("m", T(I32, 2, 10));
  dlc_attrs a = slice(-1, 3, 7, 2);
  dlc_node *n = OP(DLC_OP_SLICE, &a, m);
  tu_expect_type(n, "i32[2,2]");
  ck_assert_int_eq(n->attr.axis, 1);
}
END_TEST

START_TEST(slice_negative_step) {
  dlc_node *x = tu_in("x", T(F32, 10));
  sliced(x, slice(0, INT64_MAX, INT64_MIN, -1), "f32[10]", 9); /* x[::-1] */
  sliced(x, slice(0, -1, -4, -1), "f32[3]", 9);                /* 9, 8, 7 */
  sliced(x, slice(0, 100, INT64_MIN, -2), "f32[5]", 9);        /* 9..1 */
  sliced(x, slice(0, 8, 2, -3), "f32[2]", 8);                  /* 8, 5 */
  sliced(x, slice(0, 3, -100, -1), "f32[4]", 3);               /* 3..0 */
  sliced(x, slice(0, INT64_MAX, INT64_MIN, INT64_MIN), "f32[1]", 9);
  sliced(x, slice(0, 0, INT64_MIN, -1), "f32[1]", 0);
  dlc_node *m = tu_in("m", T(I64, 3, 4, 5));
  dlc_attrs a = slice(-2, -1, 0, -2);
  dlc_node *n = OP(DLC_OP_SLICE, &a, m);
  tu_expect_type(n, "i64[3,2,5]"); /* 3, 1 */
  ck_assert_int_eq(n->attr.axis, 1);
  ck_assert_int_eq(n->attr.start, 3);
}
END_TEST

START_TEST(slice_errors) {
  dlc_node *x = tu_in("x", T(F32, 8));
  dlc_node *s = tu_in("s", SCALAR(F32));
  dlc_attrs a = slice(0, 0, INT64_MAX, 0);
  ERR(DLC_OP_SLICE, &a, "slice: step must not be 0", x);
  a = slice(0, 5, 2, 1);
  ERR(DLC_OP_SLICE, &a, "slice: result is empty: [5:2:1] along axis 0 of f32[8]",
      x);
  a = slice(0, 10, INT64_MAX, 1);
  ERR(DLC_OP_SLICE, &a, "slice: result is empty: [10::1] along axis 0 of f32[8]",
      x);
  a = slice(0, 2, 5, -1);
  ERR(DLC_OP_SLICE, &a,
      "slice: result is empty: [2:5:-1] along axis 0 of f32[8]", x);
  a = slice(0, INT64_MAX, 100, -1);
  ERR(DLC_OP_SLICE, &a,
      "slice: result is empty: [:100:-1] along axis 0 of f32[8]", x);
  a = slice(0, -100, INT64_MIN, -1);
  ERR(DLC_OP_SLICE, &a, "slice: result is empty: [-100::-1] along axis 0 of "
      "f32[8]", x);
  a = slice(0, -1, -1, 1);
  ERR(DLC_OP_SLICE, &a, "slice: result is empty: [-1:-1:1] along axis 0 of "
      "f32[8]", x);
  /* Python's x[:-1:-1]: end -1 is the last index, so nothing */
  a = slice(0, INT64_MAX, -1, -1);
  ERR(DLC_OP_SLICE, &a, "slice: result is empty: [:-1:-1] along axis 0 of "
      "f32[8]", x);
  a = slice(1, 0, 1, 1);
  ERR(DLC_OP_SLICE, &a, "slice: axis 1 is out of range for f32[8] (rank 1)", x);
  ERR(DLC_OP_SLICE, &a, "slice: axis 1 is out of range for f32[] (rank 0)", s);
}
END_TEST

/* ---- gather ------------------------------------------------------------ */

START_TEST(gather_types) {
  dlc_node *x = tu_in("x", T(F32, 5, 6, 7));
  dlc_node *i2 = tu_in("i2", T(I64, 2, 3));
  dlc_attrs a = axis(1);
  tu_expect_type(OP(DLC_OP_GATHER, &a, x, i2), "f32[5,2,3,7]");
  a = axis(0);
  tu_expect_type(OP(DLC_OP_GATHER, &a, x, i2), "f32[2,3,6,7]");
  a = axis(-1);
  dlc_node *n = OP(DLC_OP_GATHER, &a, x, i2);
  tu_expect_type(n, "f32[5,6,2,3]");
  ck_assert_int_eq(n->attr.axis, 2);
  /* a scalar index drops the axis; x of any dtype */
  dlc_node *si = tu_in("si", SCALAR(I32));
  dlc_node *b = tu_in("b", T(BOOL, 4, 2));
  a = axis(0);
  tu_expect_type(OP(DLC_OP_GATHER, &a, b, si), "bool[2]");
  dlc_node *v = tu_in("v", T(I64, 9));
  tu_expect_type(OP(DLC_OP_GATHER, &a, v, si), "i64[]");
  /* an embedding lookup */
  dlc_node *emb = tu_in("emb", T(F32, 1000, 64));
  dlc_node *tok = tu_in("tok", T(I32, 1, 17));
  tu_expect_type(OP(DLC_OP_GATHER, &a, emb, tok), "f32[1,17,64]");
}
END_TEST

START_TEST(gather_errors) {
  dlc_node *x = tu_in("x", T(F32, 5, 6));
  dlc_node *fi = tu_in("fi", T(F32, 3));
  dlc_node *bi = tu_in("bi", T(BOOL, 3));
  dlc_node *ii = tu_in("ii", T(I32, 3));
  dlc_node *s = tu_in("s", SCALAR(F32));
  dlc_attrs a = axis(0);
  ERR(DLC_OP_GATHER, &a, "gather: indices must be i32 or i64, got f32[3]", x,
      fi);
  ERR(DLC_OP_GATHER, &a, "gather: indices must be i32 or i64, got bool[3]", x,
      bi);
  a = axis(2);
  ERR(DLC_OP_GATHER, &a, "gather: axis 2 is out of range for f32[5,6] (rank 2)",
      x, ii);
  a = axis(-3);
  ERR(DLC_OP_GATHER, &a,
      "gather: axis -3 is out of range for f32[5,6] (rank 2)", x, ii);
  a = axis(0);
  ERR(DLC_OP_GATHER, &a, "gather: axis 0 is out of range for f32[] (rank 0)",
      s, ii);
  dlc_node *x5 = tu_in("x5", T(F32, 1, 2, 1, 2, 1));
  dlc_node *i5 = tu_in("i5", T(I64, 1, 1, 1, 1, 1));
  ERR(DLC_OP_GATHER, &a,
      "gather: the result of f32[1,2,1,2,1] indexed by i64[1,1,1,1,1] has rank "
      "9; at most 8 is supported",
      x5, i5);
  ERR(DLC_OP_GATHER, &a, "gather: expects 2 operands, got 1", x);
}
END_TEST

/* ---- sizes ------------------------------------------------------------- */

START_TEST(element_count_limits) {
  dlc_node *a = tu_in("a", T(F32, 1 << 20, 1));
  dlc_node *b = tu_in("b", T(F32, 1, 1 << 21));
  ERR(DLC_OP_ADD, NULL,
      "add: result f32[1048576,2097152] has more than 2^40 elements", a, b);
  dlc_node *c = tu_in("c", T(F32, 1, 1 << 20));
  tu_expect_type(OP(DLC_OP_MUL, NULL, a, c), "f32[1048576,1048576]");
  /* dims whose product overflows int64 */
  dlc_node *h = tu_in("h", T(F32, (int64_t)1 << 40, 1));
  dlc_node *k = tu_in("k", T(F32, 1, (int64_t)1 << 40));
  ERR(DLC_OP_SUB, NULL,
      "sub: result f32[1099511627776,1099511627776] has more than 2^40 "
      "elements",
      h, k);
  dlc_node *big = tu_in("big", T(F32, (int64_t)1 << 33, (int64_t)1 << 33));
  ERR(DLC_OP_EXP, NULL,
      "exp: operand f32[8589934592,8589934592] has more than 2^40 elements",
      big);
  dlc_node *x = tu_in("x", T(F32, 1 << 20, 1, 1, 1));
  dlc_node *w = tu_in("w", T(F32, (int64_t)1 << 40, 1, 1, 1));
  dlc_attrs at = conv1();
  ERR(DLC_OP_CONV2D, &at,
      "conv2d: result f32[1048576,1099511627776,1,1] has more than 2^40 "
      "elements",
      x, w);
}
END_TEST

/* ---- the rules are idempotent: the verifier re-runs them --------------- */

START_TEST(normalized_graph_verifies) {
  dlc_node *x = tu_in("x", T(F32, 2, 4, 9, 9));
  float z[4 * 4 * 9] = {0};
  dlc_type wt = T(F32, 4, 1, 3, 3);
  dlc_node *w = dlc_graph_add_weight(tu_fx.g, "w", &wt, z, dlc_noloc());
  dlc_type pt = T(F32, 4);
  dlc_node *p = dlc_graph_add_weight(tu_fx.g, "p", &pt, z, dlc_noloc());
  dlc_attrs ca = conv(2, 1, 1, 0, 1, 2, 1, 2, 4);
  dlc_node *c = OP(DLC_OP_CONV2D, &ca, x, w, p);
  dlc_attrs ea = eps(1e-5);
  dlc_node *bn = OP(DLC_OP_BATCH_NORM, &ea, c, p, p, p, p);
  dlc_attrs pa = pool(3, 2, 2, 1, 1, 0, 1, 1);
  dlc_node *mp = OP(DLC_OP_MAX_POOL2D, &pa, bn);
  dlc_node *gp = OP(DLC_OP_GLOBAL_AVG_POOL, NULL, mp);
  dlc_node *sq = OP(DLC_OP_SQUEEZE, NULL, gp);
  int64_t ua[] = {-1};
  dlc_attrs uq = axes(ua, 1, false);
  dlc_node *us = OP(DLC_OP_UNSQUEEZE, &uq, sq);
  int64_t ra[] = {-1, 0};
  dlc_attrs rd = axes(ra, 2, true);
  dlc_node *su = OP(DLC_OP_SUM, &rd, us);
  dlc_node *mn = OP(DLC_OP_MEAN, NULL, mp);
  dlc_attrs sl = slice(-1, INT64_MAX, INT64_MIN, -2);
  dlc_node *sc = OP(DLC_OP_SLICE, &sl, mp);
  dlc_attrs fl = axis(-2);
  dlc_node *ft = OP(DLC_OP_FLATTEN, &fl, sc);
  dlc_attrs cc = axis(-1);
  dlc_node *ct = OP(DLC_OP_CONCAT, &cc, ft, ft, ft);
  dlc_attrs lna = ln_attr(-1, 1e-5);
  dlc_type gt = ct->type;
  gt.rank = 1;
  gt.dims[0] = ct->type.dims[1];
  dlc_node *gm = tu_in("gm", gt);
  dlc_node *ln = OP(DLC_OP_LAYER_NORM, &lna, ct, gm, gm);
  dlc_node *ix = tu_in("ix", T(I64, 2, 2));
  dlc_attrs ga = axis(-1);
  dlc_node *ga_ = OP(DLC_OP_GATHER, &ga, ln, ix);
  dlc_node *cmp = OP(DLC_OP_LESS, NULL, ga_, ga_);
  dlc_node *wh = OP(DLC_OP_WHERE, NULL, cmp, ga_, ga_);
  dlc_node *cs = OP(DLC_OP_CAST, &(dlc_attrs){.to = DLC_I32}, wh);
  int64_t bt[] = {3, 8, 2, 2};
  dlc_attrs ba = axes(bt, 4, false);
  dlc_node *bc = OP(DLC_OP_BROADCAST_TO, &ba, cs);
  tu_expect_type(c, "f32[2,4,5,7]");
  tu_expect_type(mp, "f32[2,4,3,7]");
  tu_expect_type(gp, "f32[2,4,1,1]");
  tu_expect_type(sq, "f32[2,4]");
  tu_expect_type(us, "f32[2,4,1]");
  tu_expect_type(su, "f32[1,4,1]");
  tu_expect_type(mn, "f32[]");
  tu_expect_type(sc, "f32[2,4,3,4]");
  tu_expect_type(ft, "f32[8,12]");
  tu_expect_type(ct, "f32[8,36]");
  tu_expect_type(ga_, "f32[8,2,2]");
  tu_expect_type(bc, "i32[3,8,2,2]");
  EXPECT_AXES(su, "[0,2]");
  EXPECT_AXES(mn, "[0,1,2,3]");
  ck_assert_int_eq(sc->attr.start, 6);
  dlc_graph_add_output(tu_fx.g, "y", bc, dlc_noloc());
  dlc_graph_add_output(tu_fx.g, "s", su, dlc_noloc());
  dlc_graph_add_output(tu_fx.g, "m", mn, dlc_noloc());
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  /* and verification left the normalized attributes as they were */
  EXPECT_AXES(gp, "[2,3]");
  EXPECT_AXES(sq, "[2,3]");
  EXPECT_AXES(us, "[2]");
  ck_assert_int_eq(sc->attr.start, 6);
  ck_assert_int_eq(ln->attr.axis, 1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("shape_ops");
  TCase *t = tcase_create("elementwise");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, numeric_ops_take_ints_not_bool);
  tcase_add_test(t, float_ops_reject_ints_and_bool);
  tcase_add_test(t, comparisons_give_bool);
  tcase_add_test(t, where_broadcasts_three_ways);
  tcase_add_test(t, where_errors);
  tcase_add_test(t, cast_any_to_any);
  suite_add_tcase(s, t);

  t = tcase_create("reductions");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, reduce_axes_normalized_and_sorted);
  tcase_add_test(t, reduce_without_axes_reduces_all);
  tcase_add_test(t, reduce_errors);
  tcase_add_test(t, global_avg_pool_is_a_mean_over_spatial_dims);
  tcase_add_test(t, global_avg_pool_errors);
  suite_add_tcase(s, t);

  t = tcase_create("norms");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, batch_norm_types);
  tcase_add_test(t, batch_norm_errors);
  tcase_add_test(t, layer_norm_axis_normalized);
  tcase_add_test(t, layer_norm_errors);
  suite_add_tcase(s, t);

  t = tcase_create("conv_pool");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, conv2d_types);
  tcase_add_test(t, conv2d_groups_and_depthwise);
  tcase_add_test(t, conv2d_operand_errors);
  tcase_add_test(t, conv2d_attribute_errors);
  tcase_add_test(t, conv2d_shape_errors);
  tcase_add_test(t, pool_types);
  tcase_add_test(t, pool_errors);
  suite_add_tcase(s, t);

  t = tcase_create("layout");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, layout_conversion_types);
  tcase_add_test(t, layout_conversion_errors);
  tcase_add_test(t, conv2d_nchwc_types);
  tcase_add_test(t, conv2d_nchwc_errors);
  tcase_add_test(t, pool_on_blocks);
  tcase_add_test(t, blocked_graph_verifies);
  suite_add_tcase(s, t);

  t = tcase_create("movement");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, flatten_types);
  tcase_add_test(t, squeeze_types);
  tcase_add_test(t, squeeze_errors);
  tcase_add_test(t, unsqueeze_types);
  tcase_add_test(t, unsqueeze_errors);
  tcase_add_test(t, broadcast_to_types);
  tcase_add_test(t, broadcast_to_errors);
  tcase_add_test(t, concat_types);
  tcase_add_test(t, concat_errors);
  tcase_add_test(t, slice_positive_step);
  tcase_add_test(t, slice_negative_step);
  tcase_add_test(t, slice_errors);
  tcase_add_test(t, gather_types);
  tcase_add_test(t, gather_errors);
  suite_add_tcase(s, t);

  t = tcase_create("limits");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, element_count_limits);
  tcase_add_test(t, normalized_graph_verifies);
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
