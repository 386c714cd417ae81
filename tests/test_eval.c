/* The reference evaluator against hand-computed values for every operator
 * (broadcasting, integer division rules, NaN, batch matmul, softmax on each
 * axis, reshape with -1, transpose), and against numpy-made golden cases in
 * tests/golden (written by tests/golden/make_golden.py). */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/graph.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static void *run2(dlc_op op, dlc_type ta, const void *a, dlc_type tb,
                  const void *b, dlc_type *rt) {
  dlc_type t[2] = {ta, tb};
  const void *d[2] = {a, b};
  return tu_eval_op(op, 2, t, d, NULL, NULL, rt, NULL);
}

static void *run1(dlc_op op, dlc_type ta, const void *a,
                  const dlc_attrs *attrs, dlc_type *rt) {
  const void *d[1] = {a};
  return tu_eval_op(op, 1, &ta, d, attrs, NULL, rt, NULL);
}

#define F32_EXACT(what, got, ...)                                              \
  do {                                                                         \
    const float want_[] = {__VA_ARGS__};                                       \
    tu_assert_close(what, DLC_F32, got, want_,                                 \
                    (int64_t)(sizeof want_ / sizeof want_[0]), 0, 0);          \
  } while (0)

/* ---- elementwise binary ------------------------------------------------ */

START_TEST(add_broadcast_rows) {
  float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30};
  dlc_type rt;
  float *y = run2(DLC_OP_ADD, tu_ty(DLC_F32, 2, 2, 3), a, tu_ty(DLC_F32, 1, 3), b, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F32, 2, 2, 3));
  F32_EXACT("add", y, 11, 22, 33, 14, 25, 36);
  free(y);
}
END_TEST

START_TEST(sub_broadcast_both) {
  /* [3,1] - [1,2] -> [3,2]: both operands stretch. */
  float a[] = {1, 2, 3}, b[] = {10, 100};
  dlc_type rt;
  float *y = run2(DLC_OP_SUB, tu_ty(DLC_F32, 2, 3, 1), a, tu_ty(DLC_F32, 2, 1, 2), b, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F32, 2, 3, 2));
  F32_EXACT("sub", y, -9, -99, -8, -98, -7, -97);
  free(y);
}
END_TEST

START_TEST(mul_scalar_broadcast) {
  double a = 2.5, b[] = {1, -2, 4, 0.5};
  dlc_type rt;
  double *y = run2(DLC_OP_MUL, tu_ty(DLC_F64, 0), &a, tu_ty(DLC_F64, 2, 2, 2), b, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F64, 2, 2, 2));
  double want[] = {2.5, -5, 10, 1.25};
  tu_assert_close("mul", DLC_F64, y, want, 4, 0, 0);
  free(y);
}
END_TEST

START_TEST(mul_leading_broadcast) {
  /* [2,1,3] * [2,1] -> [2,2,3] */
  int32_t a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, -1};
  dlc_type rt;
  int32_t *y = run2(DLC_OP_MUL, tu_ty(DLC_I32, 3, 2, 1, 3), a, tu_ty(DLC_I32, 2, 2, 1), b, &rt);
  tu_assert_type(&rt, tu_ty(DLC_I32, 3, 2, 2, 3));
  int32_t want[] = {10, 20, 30, -1, -2, -3, 40, 50, 60, -4, -5, -6};
  tu_assert_close("mul", DLC_I32, y, want, 12, 0, 0);
  free(y);
}
END_TEST

START_TEST(int_wraps) {
  int32_t a[] = {INT32_MAX, INT32_MIN, 65536, -3};
  int32_t b[] = {1, 1, 65536, 5};
  int32_t *y = run2(DLC_OP_ADD, tu_ty(DLC_I32, 1, 4), a, tu_ty(DLC_I32, 1, 4), b, NULL);
  int32_t want_add[] = {INT32_MIN, INT32_MIN + 1, 131072, 2};
  tu_assert_close("add", DLC_I32, y, want_add, 4, 0, 0);
  free(y);
  y = run2(DLC_OP_SUB, tu_ty(DLC_I32, 1, 4), a, tu_ty(DLC_I32, 1, 4), b, NULL);
  int32_t want_sub[] = {INT32_MAX - 1, INT32_MAX, 0, -8};
  tu_assert_close("sub", DLC_I32, y, want_sub, 4, 0, 0);
  free(y);
  y = run2(DLC_OP_MUL, tu_ty(DLC_I32, 1, 4), a, tu_ty(DLC_I32, 1, 4), b, NULL);
  int32_t want_mul[] = {INT32_MAX, INT32_MIN, 0, -15}; /* 2^32 wraps to 0 */
  tu_assert_close("mul", DLC_I32, y, want_mul, 4, 0, 0);
  free(y);
  int64_t c[] = {INT64_MAX, INT64_MIN}, e[] = {1, -1};
  int64_t *z = run2(DLC_OP_ADD, tu_ty(DLC_I64, 1, 2), c, tu_ty(DLC_I64, 1, 2), e, NULL);
  int64_t want64[] = {INT64_MIN, INT64_MAX};
  tu_assert_close("add64", DLC_I64, z, want64, 2, 0, 0);
  free(z);
}
END_TEST

START_TEST(int_division_rules) {
  int32_t a[] = {7, -7, 7, -7, 5, 0, INT32_MIN, INT32_MIN, -1};
  int32_t b[] = {2, 2, -2, -2, 0, 3, -1, 1, 5};
  int32_t *y = run2(DLC_OP_DIV, tu_ty(DLC_I32, 1, 9), a, tu_ty(DLC_I32, 1, 9), b, NULL);
  /* truncation toward zero; x/0 = 0; INT_MIN/-1 = INT_MIN */
  int32_t want[] = {3, -3, -3, 3, 0, 0, INT32_MIN, INT32_MIN, 0};
  tu_assert_close("div i32", DLC_I32, y, want, 9, 0, 0);
  free(y);
  int64_t c[] = {INT64_MIN, -9, 9, 4}, e[] = {-1, 4, 0, -4};
  int64_t *z = run2(DLC_OP_DIV, tu_ty(DLC_I64, 1, 4), c, tu_ty(DLC_I64, 1, 4), e, NULL);
  int64_t want64[] = {INT64_MIN, -2, 0, -1};
  tu_assert_close("div i64", DLC_I64, z, want64, 4, 0, 0);
  free(z);
}
END_TEST

START_TEST(float_division) {
  float a[] = {1, -3, 1, 0}, b[] = {4, 2, 0, 0};
  float *y = run2(DLC_OP_DIV, tu_ty(DLC_F32, 1, 4), a, tu_ty(DLC_F32, 1, 4), b, NULL);
  ck_assert(y[0] == 0.25f && y[1] == -1.5f);
  ck_assert(isinf(y[2]) && y[2] > 0);
  ck_assert(isnan(y[3]));
  free(y);
}
END_TEST

START_TEST(maximum_minimum_nan) {
  float a[] = {1, NAN, 3, NAN, -2}, b[] = {2, 5, NAN, NAN, -1};
  float *y = run2(DLC_OP_MAXIMUM, tu_ty(DLC_F32, 1, 5), a, tu_ty(DLC_F32, 1, 5), b, NULL);
  ck_assert(y[0] == 2 && isnan(y[1]) && isnan(y[2]) && isnan(y[3]) && y[4] == -1);
  free(y);
  y = run2(DLC_OP_MINIMUM, tu_ty(DLC_F32, 1, 5), a, tu_ty(DLC_F32, 1, 5), b, NULL);
  ck_assert(y[0] == 1 && isnan(y[1]) && isnan(y[2]) && isnan(y[3]) && y[4] == -2);
  free(y);
  int64_t c[] = {-5, 7}, e[] = {3};
  int64_t *z = run2(DLC_OP_MAXIMUM, tu_ty(DLC_I64, 1, 2), c, tu_ty(DLC_I64, 1, 1), e, NULL);
  ck_assert(z[0] == 3 && z[1] == 7);
  free(z);
  z = run2(DLC_OP_MINIMUM, tu_ty(DLC_I64, 1, 2), c, tu_ty(DLC_I64, 1, 1), e, NULL);
  ck_assert(z[0] == -5 && z[1] == 3);
  free(z);
}
END_TEST

/* ---- elementwise unary ------------------------------------------------- */

START_TEST(neg_all_dtypes) {
  float a[] = {1.5f, -2, 0};
  float *y = run1(DLC_OP_NEG, tu_ty(DLC_F32, 1, 3), a, NULL, NULL);
  F32_EXACT("neg f32", y, -1.5f, 2, -0.0f);
  free(y);
  int32_t b[] = {5, INT32_MIN, -7};
  int32_t *z = run1(DLC_OP_NEG, tu_ty(DLC_I32, 1, 3), b, NULL, NULL);
  int32_t want[] = {-5, INT32_MIN, 7};
  tu_assert_close("neg i32", DLC_I32, z, want, 3, 0, 0);
  free(z);
  int64_t c[] = {INT64_MIN, 3};
  int64_t *w = run1(DLC_OP_NEG, tu_ty(DLC_I64, 1, 2), c, NULL, NULL);
  int64_t want64[] = {INT64_MIN, -3};
  tu_assert_close("neg i64", DLC_I64, w, want64, 2, 0, 0);
  free(w);
}
END_TEST

START_TEST(relu_values) {
  float a[] = {-1, 0, 2.5f, NAN, -INFINITY, INFINITY};
  float *y = run1(DLC_OP_RELU, tu_ty(DLC_F32, 2, 2, 3), a, NULL, NULL);
  ck_assert(y[0] == 0 && y[1] == 0 && y[2] == 2.5f && isnan(y[3]));
  ck_assert(y[4] == 0 && isinf(y[5]));
  free(y);
}
END_TEST

START_TEST(math_functions) {
  double x[] = {0, 1, 4, -2};
  struct {
    dlc_op op;
    double want[4];
  } cases[] = {
      {DLC_OP_SIGMOID, {0.5, 1 / (1 + exp(-1.0)), 1 / (1 + exp(-4.0)), 1 / (1 + exp(2.0))}},
      {DLC_OP_TANH, {0, tanh(1.0), tanh(4.0), tanh(-2.0)}},
      {DLC_OP_EXP, {1, M_E, exp(4.0), exp(-2.0)}},
      {DLC_OP_LOG, {-INFINITY, 0, log(4.0), NAN}},
      {DLC_OP_SQRT, {0, 1, 2, NAN}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double *y = run1(cases[i].op, tu_ty(DLC_F64, 1, 4), x, NULL, NULL);
    tu_assert_close(dlc_ops[cases[i].op].name, DLC_F64, y, cases[i].want, 4,
                    1e-15, 0);
    free(y);
  }
  float xf[] = {0, 1};
  float *yf = run1(DLC_OP_SIGMOID, tu_ty(DLC_F32, 1, 2), xf, NULL, NULL);
  F32_EXACT("sigmoid f32", yf, 0.5f, (float)(1 / (1 + exp(-1.0))));
  free(yf);
}
END_TEST

/* ---- matmul ------------------------------------------------------------ */

START_TEST(matmul_2d) {
  float a[] = {1, 2, 3, 4, 5, 6};    /* [2,3] */
  float b[] = {7, 8, 9, 10, 11, 12}; /* [3,2] */
  dlc_type rt;
  float *y = run2(DLC_OP_MATMUL, tu_ty(DLC_F32, 2, 2, 3), a, tu_ty(DLC_F32, 2, 3, 2), b, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F32, 2, 2, 2));
  F32_EXACT("matmul", y, 58, 64, 139, 154);
  free(y);
}
END_TEST

START_TEST(matmul_batch_broadcast) {
  /* [2,1,1,2] @ [3,2,1] -> [2,3,1,1]: a's batch [2,1] and b's [3]
   * broadcast to [2,3]. out[i,j] = a[i] . b[j]. */
  float a[] = {1, 2, 3, 4};
  float b[] = {1, 0, 0, 1, 1, 1};
  dlc_type rt;
  float *y = run2(DLC_OP_MATMUL, tu_ty(DLC_F32, 4, 2, 1, 1, 2), a,
                  tu_ty(DLC_F32, 3, 3, 2, 1), b, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F32, 4, 2, 3, 1, 1));
  F32_EXACT("matmul", y, 1, 2, 3, 3, 4, 7);
  free(y);
  /* a rank-2 matrix against a batch: [2,2] @ [2,2,1] -> [2,2,1] */
  float c[] = {1, 2, 3, 4}, e[] = {1, 1, 2, -1};
  y = run2(DLC_OP_MATMUL, tu_ty(DLC_F32, 2, 2, 2), c, tu_ty(DLC_F32, 3, 2, 2, 1), e, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F32, 3, 2, 2, 1));
  F32_EXACT("matmul", y, 3, 7, 0, 2);
  free(y);
}
END_TEST

START_TEST(matmul_int_wraps) {
  int32_t a[] = {65536, 1}, b[] = {65536, 5}; /* [1,2] @ [2,1] */
  int32_t *y = run2(DLC_OP_MATMUL, tu_ty(DLC_I32, 2, 1, 2), a, tu_ty(DLC_I32, 2, 2, 1), b, NULL);
  ck_assert_int_eq(y[0], 5); /* 2^32 + 5 wraps to 5 */
  free(y);
  int64_t c[] = {3, -4, 5, 6}, e[] = {2, 1, 0, -1}; /* [2,2] @ [2,2] */
  int64_t *z = run2(DLC_OP_MATMUL, tu_ty(DLC_I64, 2, 2, 2), c, tu_ty(DLC_I64, 2, 2, 2), e, NULL);
  int64_t want[] = {6, 7, 10, -1};
  tu_assert_close("matmul i64", DLC_I64, z, want, 4, 0, 0);
  free(z);
}
END_TEST

START_TEST(matmul_accumulates_in_double) {
  /* 1e8 + 1 - 1e8 is 0 in float arithmetic but 1 in double. */
  float a[] = {1e8f, 1, -1e8f}, b[] = {1, 1, 1};
  float *y = run2(DLC_OP_MATMUL, tu_ty(DLC_F32, 2, 1, 3), a, tu_ty(DLC_F32, 2, 3, 1), b, NULL);
  ck_assert(y[0] == 1.0f);
  free(y);
}
END_TEST

/* ---- softmax ----------------------------------------------------------- */

START_TEST(softmax_each_axis) {
  /* [[0, ln3], [ln3, 0]]: along axis 1 gives 1/4, 3/4 per row; along axis
   * 0 the same per column. */
  double l3 = log(3.0);
  double x[] = {0, l3, l3, 0};
  dlc_type t = tu_ty(DLC_F64, 2, 2, 2);
  dlc_attrs at = {0};
  for (int axis = -2; axis < 2; axis++) {
    at.axis = axis;
    dlc_attrs norm;
    const void *d[1] = {x};
    double *y = tu_eval_op(DLC_OP_SOFTMAX, 1, &t, d, &at, NULL, NULL, &norm);
    ck_assert_int_eq(norm.axis, axis < 0 ? axis + 2 : axis);
    double want[] = {0.25, 0.75, 0.75, 0.25};
    tu_assert_close("softmax", DLC_F64, y, want, 4, 1e-15, 1e-16);
    free(y);
  }
  /* axis 0 differs from axis 1 on a non-symmetric input */
  double z[] = {0, 0, l3, 0};
  at.axis = 0;
  double *y = run1(DLC_OP_SOFTMAX, t, z, &at, NULL);
  double want0[] = {0.25, 0.5, 0.75, 0.5};
  tu_assert_close("softmax axis 0", DLC_F64, y, want0, 4, 1e-15, 1e-16);
  free(y);
  at.axis = 1;
  y = run1(DLC_OP_SOFTMAX, t, z, &at, NULL);
  double want1[] = {0.5, 0.5, 0.75, 0.25};
  tu_assert_close("softmax axis 1", DLC_F64, y, want1, 4, 1e-15, 1e-16);
  free(y);
}
END_TEST

START_TEST(softmax_large_values_middle_axis) {
  /* [1,3,2] along axis 1 (-2): subtracting the max keeps 1000 finite. */
  float x[] = {1000, 0, 1000, 0, 1000, 0};
  dlc_attrs at = {.axis = -2};
  float *y = run1(DLC_OP_SOFTMAX, tu_ty(DLC_F32, 3, 1, 3, 2), x, &at, NULL);
  float third = (float)(1.0 / 3.0);
  F32_EXACT("softmax", y, third, third, third, third, third, third);
  free(y);
}
END_TEST

/* ---- data movement ----------------------------------------------------- */

START_TEST(reshape_minus_one) {
  int32_t x[] = {1, 2, 3, 4, 5, 6};
  int64_t shape[] = {3, -1};
  dlc_attrs at = {.nints = 2, .ints = shape};
  dlc_type rt;
  int32_t *y = run1(DLC_OP_RESHAPE, tu_ty(DLC_I32, 2, 2, 3), x, &at, &rt);
  tu_assert_type(&rt, tu_ty(DLC_I32, 2, 3, 2));
  tu_assert_close("reshape", DLC_I32, y, x, 6, 0, 0);
  free(y);
}
END_TEST

START_TEST(transpose_perm_and_default) {
  /* x[i,j,k] = 100i + 10j + k over [2,3,4]; perm [1,2,0] gives y of shape
   * [3,4,2] with y[a,b,c] = x[c,a,b]. */
  int64_t x[24];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        x[i * 12 + j * 4 + k] = 100 * i + 10 * j + k;
  int64_t perm[] = {1, 2, 0};
  dlc_attrs at = {.nints = 3, .ints = perm};
  dlc_type rt;
  int64_t *y = run1(DLC_OP_TRANSPOSE, tu_ty(DLC_I64, 3, 2, 3, 4), x, &at, &rt);
  tu_assert_type(&rt, tu_ty(DLC_I64, 3, 3, 4, 2));
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 2; c++)
        ck_assert_int_eq(y[a * 8 + b * 2 + c], 100 * c + 10 * a + b);
  free(y);
  /* the default perm reverses the dims: a plain matrix transpose */
  float m[] = {1, 2, 3, 4, 5, 6};
  float *z = run1(DLC_OP_TRANSPOSE, tu_ty(DLC_F32, 2, 2, 3), m, NULL, &rt);
  tu_assert_type(&rt, tu_ty(DLC_F32, 2, 3, 2));
  F32_EXACT("transpose", z, 1, 4, 2, 5, 3, 6);
  free(z);
}
END_TEST

/* ---- single nodes and whole graphs ------------------------------------- */

START_TEST(eval_node_sources) {
  dlc_graph *g = dlc_graph_new("t");
  dlc_type t = tu_ty(DLC_F32, 1, 2);
  float w[] = {1.5f, -2};
  dlc_node *wn = dlc_graph_add_weight(g, "w", &t, w, dlc_noloc());
  dlc_node *in = dlc_graph_add_input(g, "x", &t, dlc_noloc());
  float out[2] = {0, 0};
  ck_assert_int_eq(dlc_eval_node(wn, NULL, out), DLC_OK);
  F32_EXACT("weight", out, 1.5f, -2);
  ck_assert_int_eq(dlc_eval_node(in, NULL, out), DLC_ERROR);
  /* a node evaluated directly on its operands' data */
  dlc_node *ops[2] = {wn, in};
  dlc_node *n = dlc_graph_build(g, DLC_OP_MUL, dlc_noloc(), 2, ops, NULL, NULL);
  float x[] = {2, 3};
  const void *data[2] = {w, x};
  ck_assert_int_eq(dlc_eval_node(n, data, out), DLC_OK);
  F32_EXACT("mul", out, 3, -6);
  dlc_graph_free(g);
}
END_TEST

/* y = softmax(relu(x @ w1 + b1) @ w2), plus x itself and a node output
 * twice: checks the intermediate bookkeeping and output copies. */
START_TEST(eval_graph_mlp) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_graph_new("mlp");
  dlc_type tx = tu_ty(DLC_F32, 2, 2, 3), tw1 = tu_ty(DLC_F32, 2, 3, 4),
           tb1 = tu_ty(DLC_F32, 1, 4), tw2 = tu_ty(DLC_F32, 2, 4, 2);
  float w1[12], b1[4], w2[8], x[6];
  tu_fill_random(DLC_F32, w1, 12, 1, -1, 1);
  tu_fill_random(DLC_F32, b1, 4, 2, -1, 1);
  tu_fill_random(DLC_F32, w2, 8, 3, -1, 1);
  tu_fill_random(DLC_F32, x, 6, 4, -1, 1);
  dlc_node *nx = dlc_graph_add_input(g, "x", &tx, dlc_noloc());
  dlc_node *unused = dlc_graph_add_input(g, "unused", &tb1, dlc_noloc());
  (void)unused;
  dlc_node *nw1 = dlc_graph_add_weight(g, "w1", &tw1, w1, dlc_noloc());
  dlc_node *nb1 = dlc_graph_add_weight(g, "b1", &tb1, b1, dlc_noloc());
  dlc_node *nw2 = dlc_graph_add_weight(g, "w2", &tw2, w2, dlc_noloc());
  dlc_node *h = dlc_graph_build(g, DLC_OP_MATMUL, dlc_noloc(), 2,
                                (dlc_node *[]){nx, nw1}, NULL, s.d);
  h = dlc_graph_build(g, DLC_OP_ADD, dlc_noloc(), 2, (dlc_node *[]){h, nb1}, NULL, s.d);
  dlc_node *r = dlc_graph_build(g, DLC_OP_RELU, dlc_noloc(), 1, &h, NULL, s.d);
  /* a dead-end branch: evaluated or not, it must not disturb the rest */
  dlc_graph_build(g, DLC_OP_NEG, dlc_noloc(), 1, &r, NULL, s.d);
  dlc_node *l = dlc_graph_build(g, DLC_OP_MATMUL, dlc_noloc(), 2,
                                (dlc_node *[]){r, nw2}, NULL, s.d);
  dlc_attrs at = {.axis = -1};
  dlc_node *y = dlc_graph_build(g, DLC_OP_SOFTMAX, dlc_noloc(), 1, &l, &at, s.d);
  ck_assert_ptr_nonnull(y);
  dlc_graph_add_output(g, "y", y, dlc_noloc());
  dlc_graph_add_output(g, "x_again", nx, dlc_noloc());
  dlc_graph_add_output(g, "y_again", y, dlc_noloc());
  dlc_graph_add_output(g, "w1", nw1, dlc_noloc());
  float zero[4] = {0};
  const void *inputs[2] = {x, zero};
  void *outs[4];
  ck_assert_int_eq(dlc_eval_graph(g, inputs, outs, s.d), DLC_OK);
  /* by hand, in double */
  float want[4];
  for (int i = 0; i < 2; i++) {
    double hid[4], lo[2];
    for (int j = 0; j < 4; j++) {
      double acc = 0;
      for (int k = 0; k < 3; k++)
        acc += (double)x[i * 3 + k] * w1[k * 4 + j];
      float v = (float)((float)acc + b1[j]);
      hid[j] = v > 0 ? v : 0;
    }
    for (int j = 0; j < 2; j++) {
      double acc = 0;
      for (int k = 0; k < 4; k++)
        acc += hid[k] * w2[k * 2 + j];
      lo[j] = (float)acc;
    }
    double m = lo[0] > lo[1] ? lo[0] : lo[1];
    double e0 = exp(lo[0] - m), e1 = exp(lo[1] - m);
    want[i * 2] = (float)(e0 / (e0 + e1));
    want[i * 2 + 1] = (float)(e1 / (e0 + e1));
  }
  tu_assert_close("y", DLC_F32, outs[0], want, 4, 1e-6, 1e-7);
  tu_assert_close("x_again", DLC_F32, outs[1], x, 6, 0, 0);
  tu_assert_close("y_again", DLC_F32, outs[2], outs[0], 4, 0, 0);
  tu_assert_close("w1", DLC_F32, outs[3], w1, 12, 0, 0);
  ck_assert_ptr_ne(outs[0], outs[2]);
  ck_assert_ptr_ne(outs[1], (void *)x);
  for (int i = 0; i < 4; i++)
    free(outs[i]);
  ck_assert_str_eq(tu_sink_text(&s), "");
  dlc_graph_free(g);
  tu_sink_close(&s);
}
END_TEST

START_TEST(eval_graph_shared_operand) {
  /* add(x, x) uses x twice; t = x*x is used by two nodes. */
  dlc_graph *g = dlc_graph_new("t");
  dlc_type t = tu_ty(DLC_I64, 1, 3);
  dlc_node *x = dlc_graph_add_input(g, "x", &t, dlc_noloc());
  dlc_node *sq = dlc_graph_build(g, DLC_OP_MUL, dlc_noloc(), 2, (dlc_node *[]){x, x}, NULL, NULL);
  dlc_node *a = dlc_graph_build(g, DLC_OP_ADD, dlc_noloc(), 2, (dlc_node *[]){sq, sq}, NULL, NULL);
  dlc_node *b = dlc_graph_build(g, DLC_OP_SUB, dlc_noloc(), 2, (dlc_node *[]){a, sq}, NULL, NULL);
  dlc_graph_add_output(g, "b", b, dlc_noloc());
  int64_t xv[] = {1, -2, 3};
  const void *in[1] = {xv};
  void *out[1];
  ck_assert_int_eq(dlc_eval_graph(g, in, out, NULL), DLC_OK);
  int64_t want[] = {1, 4, 9};
  tu_assert_close("b", DLC_I64, out[0], want, 3, 0, 0);
  free(out[0]);
  dlc_graph_free(g);
}
END_TEST

START_TEST(eval_graph_missing_input) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_graph_new("t");
  dlc_type t = tu_ty(DLC_F32, 1, 3);
  dlc_loc loc = {dlc_diag_intern(s.d, "m.dsl"), 2, 9};
  dlc_node *x = dlc_graph_add_input(g, "x", &t, loc);
  dlc_node *n = dlc_graph_build(g, DLC_OP_EXP, dlc_noloc(), 1, &x, NULL, s.d);
  dlc_graph_add_output(g, "y", n, dlc_noloc());
  const void *in[1] = {NULL};
  void *out[1] = {(void *)1};
  ck_assert_int_eq(dlc_eval_graph(g, in, out, s.d), DLC_ERROR);
  ck_assert_ptr_null(out[0]);
  ck_assert_str_eq(tu_sink_text(&s),
                   "m.dsl:2:9: error: no data given for input 'x'\n");
  dlc_graph_free(g);
  tu_sink_close(&s);
}
END_TEST

/* ---- numpy golden cases ------------------------------------------------ */

#define GOLDEN_MAXIN 8

typedef struct golden {
  char op[32];
  dlc_attrs at; /* as written; at.ints points at ints */
  int64_t ints[DLC_MAX_RANK];
  bool has_tol;
  double rtol, atol;
  int nin;
  dlc_type in_t[GOLDEN_MAXIN];
  void *in[GOLDEN_MAXIN];
  dlc_type out_t;
  void *out;
} golden;

static bool next_word(FILE *f, char *buf, size_t n) {
  int c;
  for (;;) { /* skip blanks and comment lines */
    c = fgetc(f);
    if (c == '#')
      while (c != '\n' && c != EOF)
        c = fgetc(f);
    if (c == EOF)
      return false;
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
      break;
  }
  size_t k = 0;
  while (c != EOF && c != ' ' && c != '\n' && c != '\t' && c != '\r') {
    ck_assert_uint_lt(k, n - 1);
    buf[k++] = (char)c;
    c = fgetc(f);
  }
  buf[k] = 0;
  return true;
}

static int64_t read_int(FILE *f, const char *path) {
  char w[64], *end;
  ck_assert_msg(next_word(f, w, sizeof w), "%s: unexpected end", path);
  long long v = strtoll(w, &end, 10);
  ck_assert_msg(*end == 0, "%s: bad integer '%s'", path, w);
  return v;
}

static double read_double(FILE *f, const char *path) {
  char w[64], *end;
  ck_assert_msg(next_word(f, w, sizeof w), "%s: unexpected end", path);
  double v = strtod(w, &end);
  ck_assert_msg(*end == 0, "%s: bad number '%s'", path, w);
  return v;
}

static void read_ints(FILE *f, const char *path, int64_t *v, int n) {
  for (int i = 0; i < n; i++)
    v[i] = read_int(f, path);
}

/* "DTYPE RANK dims..." then numel values, into a malloc'd buffer. */
static void *read_tensor(FILE *f, const char *path, dlc_type *t) {
  char w[64], *end;
  ck_assert(next_word(f, w, sizeof w));
  ck_assert_msg(dlc_dtype_lookup(w, &t->dtype), "%s: bad dtype '%s'", path, w);
  t->rank = (int)read_int(f, path);
  ck_assert(t->rank >= 0 && t->rank <= DLC_MAX_RANK);
  for (int i = 0; i < t->rank; i++)
    t->dims[i] = read_int(f, path);
  int64_t n = dlc_type_numel(t);
  void *data = malloc(dlc_type_bytes(t) + 1);
  for (int64_t i = 0; i < n; i++) {
    ck_assert_msg(next_word(f, w, sizeof w), "%s: too few values", path);
    switch (t->dtype) {
    case DLC_F32: ((float *)data)[i] = strtof(w, &end); break;
    case DLC_F64: ((double *)data)[i] = strtod(w, &end); break;
    case DLC_I32: ((int32_t *)data)[i] = (int32_t)strtol(w, &end, 10); break;
    case DLC_I64: ((int64_t *)data)[i] = strtoll(w, &end, 10); break;
    case DLC_BOOL:
      ck_assert_msg(strcmp(w, "0") == 0 || strcmp(w, "1") == 0,
                    "%s: bad bool '%s'", path, w);
      ((uint8_t *)data)[i] = w[0] == '1';
      end = w + 1;
      break;
    default: ck_abort();
    }
    ck_assert_msg(*end == 0, "%s: bad value '%s'", path, w);
  }
  return data;
}

static void read_golden(const char *path, golden *c) {
  memset(c, 0, sizeof *c);
  c->at.ints = c->ints;
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char w[64];
  dlc_attrs *at = &c->at;
  while (next_word(f, w, sizeof w)) {
    if (strcmp(w, "op") == 0) {
      ck_assert(next_word(f, c->op, sizeof c->op));
    } else if (strcmp(w, "axis") == 0) {
      at->axis = read_int(f, path);
    } else if (strcmp(w, "ints") == 0) {
      at->nints = (int)read_int(f, path);
      ck_assert(at->nints >= 0 && at->nints <= DLC_MAX_RANK);
      read_ints(f, path, c->ints, at->nints);
    } else if (strcmp(w, "kernel") == 0) {
      read_ints(f, path, at->kernel, 2);
    } else if (strcmp(w, "stride") == 0) {
      read_ints(f, path, at->stride, 2);
    } else if (strcmp(w, "dilation") == 0) {
      read_ints(f, path, at->dilation, 2);
    } else if (strcmp(w, "pad") == 0) {
      read_ints(f, path, at->pad, 4);
    } else if (strcmp(w, "groups") == 0) {
      at->groups = read_int(f, path);
    } else if (strcmp(w, "block") == 0) {
      at->block = read_int(f, path);
    } else if (strcmp(w, "start") == 0) {
      at->start = read_int(f, path);
    } else if (strcmp(w, "end") == 0) {
      at->end = read_int(f, path);
    } else if (strcmp(w, "step") == 0) {
      at->step = read_int(f, path);
    } else if (strcmp(w, "keepdims") == 0) {
      at->keepdims = read_int(f, path) != 0;
    } else if (strcmp(w, "count_include_pad") == 0) {
      at->count_include_pad = read_int(f, path) != 0;
    } else if (strcmp(w, "approximate") == 0) {
      at->approximate = read_int(f, path) != 0;
    } else if (strcmp(w, "lo") == 0) {
      at->has_lo = true;
      at->lo = read_double(f, path);
    } else if (strcmp(w, "hi") == 0) {
      at->has_hi = true;
      at->hi = read_double(f, path);
    } else if (strcmp(w, "alpha") == 0) {
      at->alpha = read_double(f, path);
    } else if (strcmp(w, "eps") == 0) {
      at->eps = read_double(f, path);
    } else if (strcmp(w, "to") == 0) {
      ck_assert(next_word(f, w, sizeof w));
      ck_assert_msg(dlc_dtype_lookup(w, &at->to), "%s: bad dtype '%s'", path, w);
    } else if (strcmp(w, "tol") == 0) {
      c->has_tol = true;
      c->rtol = read_double(f, path);
      c->atol = read_double(f, path);
    } else if (strcmp(w, "in") == 0) {
      ck_assert(c->nin < GOLDEN_MAXIN);
      c->in[c->nin] = read_tensor(f, path, &c->in_t[c->nin]);
      c->nin++;
    } else if (strcmp(w, "out") == 0) {
      c->out = read_tensor(f, path, &c->out_t);
    } else {
      ck_abort_msg("%s: unexpected '%s'", path, w);
    }
  }
  fclose(f);
  ck_assert_msg(c->op[0] && c->out, "%s: incomplete case", path);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one golden case (through the shape rule, which normalizes the
 * attributes as written) and returns its operator; the default tolerance
 * allows libm and numpy to differ in the last bit of a double and sums to
 * run in another order. */
static dlc_op run_golden(const char *dir, const char *file) {
  char *path = tu_path(dir, file);
  golden c;
  read_golden(path, &c);
  dlc_op op;
  ck_assert_msg(dlc_op_lookup(c.op, &op), "%s: unknown op %s", path, c.op);
  const void *data[GOLDEN_MAXIN];
  for (int i = 0; i < c.nin; i++)
    data[i] = c.in[i];
  dlc_type rt;
  void *got = tu_eval_op(op, c.nin, c.in_t, data, &c.at, NULL, &rt, NULL);
  char a[DLC_TYPE_STRLEN], b[DLC_TYPE_STRLEN];
  ck_assert_msg(dlc_type_equal(&rt, &c.out_t), "%s: type %s, want %s", file,
                dlc_type_str(&rt, a, sizeof a), dlc_type_str(&c.out_t, b, sizeof b));
  double rtol = c.out_t.dtype == DLC_F32 ? 1e-6 : 1e-13;
  double atol = c.out_t.dtype == DLC_F32 ? 1e-7 : 1e-14;
  if (c.has_tol) {
    rtol = c.rtol;
    atol = c.atol;
  }
  tu_assert_close(file, c.out_t.dtype, got, c.out, dlc_type_numel(&c.out_t),
                  rtol, atol);
  free(got);
  for (int i = 0; i < c.nin; i++)
    free(c.in[i]);
  free(c.out);
  free(path);
  return op;
}

START_TEST(numpy_golden) {
  char *dir = tu_path(DLCC_TEST_DIR, "golden");
  DIR *dp = opendir(dir);
  ck_assert_msg(dp != NULL, "cannot open %s", dir);
  char **names = NULL;
  int n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
      continue;
    if (n == cap)
      names = realloc(names, sizeof *names * (size_t)(cap = cap ? 2 * cap : 64));
    names[n++] = strdup(e->d_name);
  }
  closedir(dp);
  qsort(names, (size_t)n, sizeof *names, compare_names);
  ck_assert_int_ge(n, 300); /* the generator writes more than 300 cases */
  bool seen[DLC_NUM_OPS] = {0};
  for (int i = 0; i < n; i++) {
    seen[run_golden(dir, names[i])] = true;
    free(names[i]);
  }
  free(names);
  free(dir);
  for (int o = 0; o < DLC_NUM_OPS; o++)
    ck_assert_msg(seen[o] || dlc_ops[o].kind == DLC_KIND_SOURCE,
                  "no golden case for %s", dlc_ops[o].name);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("eval");
  TCase *t = tcase_create("ops");
  tcase_add_test(t, add_broadcast_rows);
  tcase_add_test(t, sub_broadcast_both);
  tcase_add_test(t, mul_scalar_broadcast);
  tcase_add_test(t, mul_leading_broadcast);
  tcase_add_test(t, int_wraps);
  tcase_add_test(t, int_division_rules);
  tcase_add_test(t, float_division);
  tcase_add_test(t, maximum_minimum_nan);
  tcase_add_test(t, neg_all_dtypes);
  tcase_add_test(t, relu_values);
  tcase_add_test(t, math_functions);
  tcase_add_test(t, matmul_2d);
  tcase_add_test(t, matmul_batch_broadcast);
  tcase_add_test(t, matmul_int_wraps);
  tcase_add_test(t, matmul_accumulates_in_double);
  tcase_add_test(t, softmax_each_axis);
  tcase_add_test(t, softmax_large_values_middle_axis);
  tcase_add_test(t, reshape_minus_one);
  tcase_add_test(t, transpose_perm_and_default);
  suite_add_tcase(s, t);
  TCase *gr = tcase_create("graph");
  tcase_add_test(gr, eval_node_sources);
  tcase_add_test(gr, eval_graph_mlp);
  tcase_add_test(gr, eval_graph_shared_operand);
  tcase_add_test(gr, eval_graph_missing_input);
  suite_add_tcase(s, gr);
  TCase *gd = tcase_create("golden");
  tcase_add_test(gd, numpy_golden);
  suite_add_tcase(s, gd);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
