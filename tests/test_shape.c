/* The shape and type rules (ir/shape.c through dlc_graph_build) and the
 * graph verifier (ir/verify.c): result types and normalized attributes of
 * well-typed operators, the exact text of every type error, and the
 * verifier's internal error for each broken invariant. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static dlc_node *build(dlc_op op, int nin, dlc_node *a, dlc_node *b,
                       const dlc_attrs *attrs) {
  dlc_node *ab[2] = {a, b};
  dlc_node *n = tu_build(op, tu_at(1, 1), nin, ab, attrs);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  return n;
}

static dlc_node *op1(dlc_op op, dlc_node *a, const dlc_attrs *attrs) {
  return build(op, 1, a, NULL, attrs);
}

static dlc_node *op2(dlc_op op, dlc_node *a, dlc_node *b) {
  return build(op, 2, a, b, NULL);
}

/* Building op(a[, b]) at t.dsl:3:7 fails with exactly `want` (one line, no
 * source shown), one error is counted, and the node list is unchanged. */
static void expect_error(dlc_op op, int nin, dlc_node *a, dlc_node *b,
                         const dlc_attrs *attrs, const char *want) {
  dlc_node *ab[2] = {a, b};
  int before = tu_fx.g->nnodes, ids = tu_fx.g->next_id,
      errs = dlc_diag_errors(tu_fx.sink.d);
  dlc_node *n =
      dlc_graph_build(tu_fx.g, op, tu_at(3, 7), nin, ab, attrs, tu_fx.sink.d);
  ck_assert_ptr_null(n);
  char full[512];
  snprintf(full, sizeof full, "t.dsl:3:7: error: %s\n", want);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), full);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), errs + 1);
  ck_assert_int_eq(tu_fx.g->nnodes, before);
  for (int i = 0; i < tu_fx.g->nnodes; i++)
    ck_assert_int_lt(tu_fx.g->nodes[i]->id, ids);
}

static dlc_attrs ints_attr(int64_t *v, int n) {
  return (dlc_attrs){.nints = n, .ints = v};
}

static dlc_attrs axis_attr(int64_t axis) { return (dlc_attrs){.axis = axis}; }

/* ---- result types ------------------------------------------------------ */

START_TEST(broadcast_types) {
  dlc_node *a = tu_in("a", tu_ty(DLC_F32, 2, 3, 1));
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 2, 1, 17));
  tu_expect_type(op2(DLC_OP_ADD, a, b), "f32[3,17]");
  tu_expect_type(op2(DLC_OP_SUB, b, a), "f32[3,17]");

  dlc_node *s = tu_in("s", tu_ty(DLC_F64, 0));
  dlc_node *m = tu_in("m", tu_ty(DLC_F64, 2, 2, 3));
  tu_expect_type(op2(DLC_OP_MUL, s, m), "f64[2,3]");
  tu_expect_type(op2(DLC_OP_DIV, m, s), "f64[2,3]");
  tu_expect_type(op2(DLC_OP_MAXIMUM, s, s), "f64[]");

  dlc_node *r3 = tu_in("r3", tu_ty(DLC_I32, 3, 2, 3, 4));
  dlc_node *r1 = tu_in("r1", tu_ty(DLC_I32, 1, 4));
  tu_expect_type(op2(DLC_OP_MINIMUM, r3, r1), "i32[2,3,4]");
  tu_expect_type(op2(DLC_OP_ADD, r1, r3), "i32[2,3,4]");

  /* 1 against 1 stays 1; a rank-1 [1] against a rank 3 */
  dlc_node *o = tu_in("o", tu_ty(DLC_I64, 3, 1, 5, 1));
  dlc_node *p = tu_in("p", tu_ty(DLC_I64, 1, 1));
  tu_expect_type(op2(DLC_OP_ADD, o, p), "i64[1,5,1]");
}
END_TEST

START_TEST(unary_types) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 5));
  tu_expect_type(op1(DLC_OP_EXP, x, NULL), "f32[4,5]");
  tu_expect_type(op1(DLC_OP_SIGMOID, x, NULL), "f32[4,5]");
  /* relu and neg are allowed on integers */
  dlc_node *i = tu_in("i", tu_ty(DLC_I32, 1, 7));
  tu_expect_type(op1(DLC_OP_RELU, i, NULL), "i32[7]");
  tu_expect_type(op1(DLC_OP_NEG, i, NULL), "i32[7]");
}
END_TEST

START_TEST(matmul_types) {
  dlc_node *a = tu_in("a", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 2, 3, 5));
  tu_expect_type(op2(DLC_OP_MATMUL, a, b), "f32[2,5]");

  dlc_node *ba = tu_in("ba", tu_ty(DLC_F32, 4, 2, 1, 3, 4));
  dlc_node *bb = tu_in("bb", tu_ty(DLC_F32, 3, 3, 4, 5));
  tu_expect_type(op2(DLC_OP_MATMUL, ba, bb), "f32[2,3,3,5]");

  /* batch on one side only */
  dlc_node *c = tu_in("c", tu_ty(DLC_F64, 3, 7, 2, 3));
  dlc_node *d = tu_in("d", tu_ty(DLC_F64, 2, 3, 1));
  tu_expect_type(op2(DLC_OP_MATMUL, c, d), "f64[7,2,1]");
  dlc_node *e = tu_in("e", tu_ty(DLC_F64, 2, 4, 2));
  tu_expect_type(op2(DLC_OP_MATMUL, e, c), "f64[7,4,3]");
}
END_TEST

START_TEST(softmax_axis_normalized) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  dlc_attrs a = axis_attr(-1);
  dlc_node *n = op1(DLC_OP_SOFTMAX, x, &a);
  tu_expect_type(n, "f32[2,3,4]");
  ck_assert_int_eq(n->attr.axis, 2);
  a = axis_attr(-3);
  ck_assert_int_eq(op1(DLC_OP_SOFTMAX, x, &a)->attr.axis, 0);
  a = axis_attr(1);
  ck_assert_int_eq(op1(DLC_OP_SOFTMAX, x, &a)->attr.axis, 1);
  /* no attrs: axis 0 */
  ck_assert_int_eq(op1(DLC_OP_SOFTMAX, x, NULL)->attr.axis, 0);
}
END_TEST

START_TEST(reshape_types) {
  dlc_node *x = tu_in("x", tu_ty(DLC_I32, 3, 2, 3, 4));
  int64_t v1[] = {4, -1};
  dlc_attrs a = ints_attr(v1, 2);
  dlc_node *n = op1(DLC_OP_RESHAPE, x, &a);
  tu_expect_type(n, "i32[4,6]");
  /* the -1 is resolved in the node's own copy, not in the caller's array */
  ck_assert_int_eq(n->attr.nints, 2);
  ck_assert_int_eq(n->attr.ints[1], 6);
  ck_assert_ptr_ne(n->attr.ints, v1);
  ck_assert_int_eq(v1[1], -1);

  int64_t v2[] = {-1};
  a = ints_attr(v2, 1);
  tu_expect_type(op1(DLC_OP_RESHAPE, x, &a), "i32[24]");
  int64_t v3[] = {1, 2, -1, 1, 3};
  a = ints_attr(v3, 5);
  tu_expect_type(op1(DLC_OP_RESHAPE, x, &a), "i32[1,2,4,1,3]");
  int64_t v4[] = {24};
  a = ints_attr(v4, 1);
  tu_expect_type(op1(DLC_OP_RESHAPE, x, &a), "i32[24]");
}
END_TEST

START_TEST(reshape_to_scalar_and_back) {
  /* an empty target list through the API: no ints at all */
  dlc_node *s = tu_in("s", tu_ty(DLC_F32, 2, 1, 1));
  dlc_attrs a = ints_attr(NULL, 0);
  dlc_node *sc = op1(DLC_OP_RESHAPE, s, &a);
  tu_expect_type(sc, "f32[]");
  int64_t v5[] = {-1, 1};
  a = ints_attr(v5, 2);
  tu_expect_type(op1(DLC_OP_RESHAPE, sc, &a), "f32[1,1]");
}
END_TEST

START_TEST(transpose_types) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  dlc_node *n = op1(DLC_OP_TRANSPOSE, x, NULL);
  tu_expect_type(n, "f32[4,3,2]");
  ck_assert_int_eq(n->attr.nints, 3);
  ck_assert_int_eq(n->attr.ints[0], 2);
  ck_assert_int_eq(n->attr.ints[1], 1);
  ck_assert_int_eq(n->attr.ints[2], 0);

  int64_t p[] = {1, 2, 0};
  dlc_attrs a = ints_attr(p, 3);
  n = op1(DLC_OP_TRANSPOSE, x, &a);
  tu_expect_type(n, "f32[3,4,2]");
  ck_assert_int_eq(n->attr.ints[0], 1);
  ck_assert_int_eq(n->attr.ints[2], 0);

  int64_t q[] = {2, 0, 1};
  a = ints_attr(q, 3);
  tu_expect_type(op1(DLC_OP_TRANSPOSE, x, &a), "f32[4,2,3]");

  dlc_node *m = tu_in("m", tu_ty(DLC_I64, 2, 5, 7));
  tu_expect_type(op1(DLC_OP_TRANSPOSE, m, NULL), "i64[7,5]");
}
END_TEST

START_TEST(successful_builds_are_listed_in_order) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 4));
  dlc_node *a = op1(DLC_OP_EXP, x, NULL);
  dlc_node *b = op2(DLC_OP_ADD, a, x);
  ck_assert_int_eq(tu_fx.g->nnodes, 3);
  ck_assert_ptr_eq(tu_fx.g->nodes[1], a);
  ck_assert_ptr_eq(tu_fx.g->nodes[2], b);
  ck_assert_ptr_eq(b->in[0], a);
  ck_assert_ptr_eq(b->in[1], x);
  ck_assert_int_eq(b->op, DLC_OP_ADD);
  ck_assert_int_eq(b->loc.line, 1);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

START_TEST(error_shows_source_line_and_caret) {
  const char *src = "input x: f32[2,3]\n"
                    "y = x + z\n"
                    "output y\n";
  const char *file =
      dlc_diag_add_source(tu_fx.sink.d, "t.dsl", src, strlen(src));
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *z = tu_in("z", tu_ty(DLC_I32, 2, 2, 3));
  dlc_node *xz[2] = {x, z};
  int before = tu_fx.g->nnodes;
  dlc_loc loc = {file, 2, 7};
  ck_assert_ptr_null(
      dlc_graph_build(tu_fx.g, DLC_OP_ADD, loc, 2, xz, NULL, tu_fx.sink.d));
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "t.dsl:2:7: error: add: operand types differ: f32[2,3] and "
                   "i32[2,3]\n"
                   "y = x + z\n"
                   "      ^\n");
  ck_assert_int_eq(tu_fx.g->nnodes, before);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), 1);
}
END_TEST

START_TEST(binary_errors) {
  dlc_node *f = tu_in("f", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *i = tu_in("i", tu_ty(DLC_I32, 2, 2, 3));
  expect_error(DLC_OP_ADD, 2, f, i, NULL,
               "add: operand types differ: f32[2,3] and i32[2,3]");
}
END_TEST

START_TEST(binary_dtype_checked_before_shape) {
  dlc_node *f = tu_in("f", tu_ty(DLC_F64, 1, 2));
  dlc_node *i = tu_in("i", tu_ty(DLC_F32, 1, 3));
  expect_error(DLC_OP_MUL, 2, f, i, NULL,
               "mul: operand types differ: f64[2] and f32[3]");
}
END_TEST

START_TEST(broadcast_errors) {
  dlc_node *a = tu_in("a", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 1, 4));
  expect_error(DLC_OP_SUB, 2, a, b, NULL,
               "sub: shapes do not broadcast: f32[2,3] and f32[4]");
}
END_TEST

START_TEST(broadcast_errors_leading_dim) {
  dlc_node *a = tu_in("a", tu_ty(DLC_I64, 3, 2, 1, 3));
  dlc_node *b = tu_in("b", tu_ty(DLC_I64, 3, 5, 4, 3));
  expect_error(DLC_OP_MAXIMUM, 2, a, b, NULL,
               "maximum: shapes do not broadcast: i64[2,1,3] and i64[5,4,3]");
}
END_TEST

START_TEST(float_only_errors) {
  dlc_node *i = tu_in("i", tu_ty(DLC_I32, 1, 4));
  expect_error(DLC_OP_EXP, 1, i, NULL, NULL,
               "exp: expects a floating-point operand, got i32[4]");
}
END_TEST

START_TEST(float_only_errors_other_ops) {
  dlc_node *i = tu_in("i", tu_ty(DLC_I64, 0));
  expect_error(DLC_OP_SQRT, 1, i, NULL, NULL,
               "sqrt: expects a floating-point operand, got i64[]");
}
END_TEST

START_TEST(softmax_on_ints) {
  dlc_node *i = tu_in("i", tu_ty(DLC_I32, 2, 2, 3));
  dlc_attrs a = axis_attr(-1);
  expect_error(DLC_OP_SOFTMAX, 1, i, NULL, &a,
               "softmax: expects a floating-point operand, got i32[2,3]");
}
END_TEST

START_TEST(matmul_rank_error) {
  dlc_node *v = tu_in("v", tu_ty(DLC_F32, 1, 3));
  dlc_node *m = tu_in("m", tu_ty(DLC_F32, 2, 3, 4));
  expect_error(DLC_OP_MATMUL, 2, v, m, NULL,
               "matmul: operands must have rank 2 or more: f32[3] @ f32[3,4]");
}
END_TEST

START_TEST(matmul_rank_error_right) {
  dlc_node *m = tu_in("m", tu_ty(DLC_F32, 2, 3, 4));
  dlc_node *s = tu_in("s", tu_ty(DLC_F32, 0));
  expect_error(DLC_OP_MATMUL, 2, m, s, NULL,
               "matmul: operands must have rank 2 or more: f32[3,4] @ f32[]");
}
END_TEST

START_TEST(matmul_inner_error) {
  dlc_node *a = tu_in("a", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 2, 4, 5));
  expect_error(DLC_OP_MATMUL, 2, a, b, NULL,
               "matmul: inner dimensions differ: f32[2,3] @ f32[4,5]");
}
END_TEST

START_TEST(matmul_batch_error) {
  dlc_node *a = tu_in("a", tu_ty(DLC_F32, 3, 2, 3, 4));
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 3, 3, 4, 5));
  expect_error(DLC_OP_MATMUL, 2, a, b, NULL,
               "matmul: batch dimensions do not broadcast: f32[2,3,4] @ "
               "f32[3,4,5]");
}
END_TEST

START_TEST(matmul_dtype_error) {
  dlc_node *a = tu_in("a", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *b = tu_in("b", tu_ty(DLC_F64, 2, 3, 4));
  expect_error(DLC_OP_MATMUL, 2, a, b, NULL,
               "matmul: operand types differ: f32[2,3] @ f64[3,4]");
}
END_TEST

START_TEST(softmax_axis_too_large) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  dlc_attrs a = axis_attr(3);
  expect_error(DLC_OP_SOFTMAX, 1, x, NULL, &a,
               "softmax: axis 3 is out of range for f32[2,3,4] (rank 3)");
}
END_TEST

START_TEST(softmax_axis_too_negative) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  dlc_attrs a = axis_attr(-4);
  expect_error(DLC_OP_SOFTMAX, 1, x, NULL, &a,
               "softmax: axis -4 is out of range for f32[2,3,4] (rank 3)");
}
END_TEST

START_TEST(softmax_of_scalar) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F64, 0));
  expect_error(DLC_OP_SOFTMAX, 1, x, NULL, NULL,
               "softmax: axis 0 is out of range for f64[] (rank 0)");
}
END_TEST

START_TEST(reshape_two_holes) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  int64_t v[] = {-1, 3, -1};
  dlc_attrs a = ints_attr(v, 3);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: at most one dimension may be -1: [-1,3,-1]");
}
END_TEST

START_TEST(reshape_zero_dim) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  int64_t v[] = {6, 0};
  dlc_attrs a = ints_attr(v, 2);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: dimension 0 at position 1 must be positive or -1");
}
END_TEST

START_TEST(reshape_minus_two) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  int64_t v[] = {-2, -3};
  dlc_attrs a = ints_attr(v, 2);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: dimension -2 at position 0 must be positive or -1");
}
END_TEST

START_TEST(reshape_size_mismatch) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  int64_t v[] = {4, 2};
  dlc_attrs a = ints_attr(v, 2);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: cannot reshape f32[2,3] (6 elements) to [4,2]");
}
END_TEST

START_TEST(reshape_size_mismatch_huge) {
  /* a dimension larger than the element count must not overflow */
  dlc_node *x = tu_in("x", tu_ty(DLC_I32, 2, 2, 3));
  int64_t v[] = {INT64_MAX, 2};
  dlc_attrs a = ints_attr(v, 2);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: cannot reshape i32[2,3] (6 elements) to "
               "[9223372036854775807,2]");
}
END_TEST

START_TEST(reshape_hole_does_not_divide) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  int64_t v[] = {4, -1};
  dlc_attrs a = ints_attr(v, 2);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: cannot reshape f32[2,3] (6 elements) to [4,-1]");
}
END_TEST

START_TEST(reshape_hole_too_large) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  int64_t v[] = {-1, 7};
  dlc_attrs a = ints_attr(v, 2);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: cannot reshape f32[2,3] (6 elements) to [-1,7]");
}
END_TEST

START_TEST(reshape_rank_too_large) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 1));
  int64_t v[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  dlc_attrs a = ints_attr(v, 9);
  expect_error(DLC_OP_RESHAPE, 1, x, NULL, &a,
               "reshape: [1,1,1,1,1,1,1,1,1] has rank 9; at most 8 is "
               "supported");
}
END_TEST

START_TEST(transpose_perm_length) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  int64_t p[] = {1, 0};
  dlc_attrs a = ints_attr(p, 2);
  expect_error(DLC_OP_TRANSPOSE, 1, x, NULL, &a,
               "transpose: perm [1,0] has 2 entries but f32[2,3,4] has rank 3");
}
END_TEST

START_TEST(transpose_perm_duplicate) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  int64_t p[] = {0, 2, 0};
  dlc_attrs a = ints_attr(p, 3);
  expect_error(DLC_OP_TRANSPOSE, 1, x, NULL, &a,
               "transpose: perm [0,2,0] is not a permutation of 0..2");
}
END_TEST

START_TEST(transpose_perm_out_of_range) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 3, 2, 3, 4));
  int64_t p[] = {0, 3, 1};
  dlc_attrs a = ints_attr(p, 3);
  expect_error(DLC_OP_TRANSPOSE, 1, x, NULL, &a,
               "transpose: perm [0,3,1] is not a permutation of 0..2");
}
END_TEST

START_TEST(transpose_perm_negative) {
  dlc_node *x = tu_in("x", tu_ty(DLC_I32, 2, 2, 3));
  int64_t p[] = {-1, 0};
  dlc_attrs a = ints_attr(p, 2);
  expect_error(DLC_OP_TRANSPOSE, 1, x, NULL, &a,
               "transpose: perm [-1,0] is not a permutation of 0..1");
}
END_TEST

START_TEST(arity_errors) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  expect_error(DLC_OP_ADD, 1, x, NULL, NULL, "add: expects 2 operands, got 1");
}
END_TEST

START_TEST(arity_errors_unary) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  expect_error(DLC_OP_RELU, 2, x, x, NULL, "relu: expects 1 operand, got 2");
}
END_TEST

START_TEST(arity_errors_none) {
  tu_in("x", tu_ty(DLC_F32, 1, 2));
  expect_error(DLC_OP_MATMUL, 0, NULL, NULL, NULL,
               "matmul: expects 2 operands, got 0");
}
END_TEST

START_TEST(failed_builds_add_nothing) {
  /* several failures in a row, then a success: only the success is listed
   * and the graph still verifies. */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *i = tu_in("i", tu_ty(DLC_I32, 2, 2, 3));
  dlc_node *xi[2] = {x, i};
  ck_assert_ptr_null(dlc_graph_build(tu_fx.g, DLC_OP_ADD, tu_at(1, 1), 2, xi,
                                     NULL, tu_fx.sink.d));
  ck_assert_ptr_null(dlc_graph_build(tu_fx.g, DLC_OP_EXP, tu_at(2, 1), 1, &i,
                                     NULL, tu_fx.sink.d));
  ck_assert_int_eq(tu_fx.g->nnodes, 2);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), 2);
  dlc_node *e = dlc_graph_build(tu_fx.g, DLC_OP_EXP, tu_at(3, 1), 1, &x, NULL,
                                tu_fx.sink.d);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(tu_fx.g->nnodes, 3);
  ck_assert_ptr_eq(tu_fx.g->nodes[2], e);
  dlc_graph_add_output(tu_fx.g, "y", e, dlc_noloc());
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_OK);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), 2);
}
END_TEST

/* ---- the verifier ------------------------------------------------------ */

/* x:f32[2,3], w:f32[3,4]; m = x @ w; r = relu(m); s = softmax(r, -1);
 * t = transpose(s); output y = t. */
static dlc_node *vx, *vm, *vr, *vs, *vt;

static void valid_graph(void) {
  float wd[12] = {0};
  vx = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  dlc_type wt = tu_ty(DLC_F32, 2, 3, 4);
  dlc_node *w = dlc_graph_add_weight(tu_fx.g, "w", &wt, wd, dlc_noloc());
  vm = op2(DLC_OP_MATMUL, vx, w);
  vr = op1(DLC_OP_RELU, vm, NULL);
  dlc_attrs a = axis_attr(-1);
  vs = op1(DLC_OP_SOFTMAX, vr, &a);
  vt = op1(DLC_OP_TRANSPOSE, vs, NULL);
  dlc_graph_add_output(tu_fx.g, "y", vt, dlc_noloc());
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
}

static int index_of(const dlc_node *n) {
  for (int i = 0; i < tu_fx.g->nnodes; i++)
    if (tu_fx.g->nodes[i] == n)
      return i;
  ck_abort_msg("node not listed");
  return -1;
}

static void expect_verify_error(const char *want) {
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), want);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), 1);
}

START_TEST(verify_valid_graph) {
  valid_graph();
  /* and a second run is still clean: verification changes nothing */
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_OK);
  ck_assert_int_eq(vs->attr.axis, 1);
  tu_expect_type(vt, "f32[4,2]");
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
}
END_TEST

START_TEST(verify_operand_after_use) {
  valid_graph();
  int a = index_of(vm), b = index_of(vr);
  tu_fx.g->nodes[a] = vr;
  tu_fx.g->nodes[b] = vm;
  vr->loc = tu_at(5, 3);
  expect_verify_error("t.dsl:5:3: error: internal: graph verifier: relu: "
                      "operand is not defined before its use\n");
}
END_TEST

START_TEST(verify_type_disagrees) {
  valid_graph();
  vr->type.dims[1] = 5;
  expect_verify_error("t.dsl:1:1: error: internal: graph verifier: relu: "
                      "type disagrees with the shape rule\n");
}
END_TEST

START_TEST(verify_dtype_disagrees) {
  valid_graph();
  vm->type.dtype = DLC_F64;
  vm->loc = dlc_noloc();
  expect_verify_error("error: internal: graph verifier: matmul: type "
                      "disagrees with the shape rule\n");
}
END_TEST

START_TEST(verify_dead_node_listed) {
  valid_graph();
  vs->dead = true;
  vs->loc = tu_at(9, 2);
  expect_verify_error("t.dsl:9:2: error: internal: graph verifier: softmax: "
                      "dead node still listed\n");
}
END_TEST

START_TEST(verify_output_not_listed) {
  valid_graph();
  ck_assert_ptr_eq(tu_fx.g->nodes[tu_fx.g->nnodes - 1], vt);
  tu_fx.g->nnodes--; /* drop the transpose from the list; the output keeps it */
  vt->loc = tu_at(4, 8);
  expect_verify_error("t.dsl:4:8: error: internal: graph verifier: transpose: "
                      "output refers to a node not listed\n");
}
END_TEST

START_TEST(verify_output_refers_to_unlisted_new_node) {
  /* a node made by a failed build is never listed; pointing an output at a
   * node that was never appended is caught too */
  valid_graph();
  dlc_node *extra = op1(DLC_OP_NEG, vx, NULL);
  tu_fx.g->nnodes--;
  extra->loc = dlc_noloc();
  tu_fx.g->outputs[0].node = extra;
  expect_verify_error("error: internal: graph verifier: neg: output refers to "
                      "a node not listed\n");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("shape");
  TCase *t = tcase_create("types");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, broadcast_types);
  tcase_add_test(t, unary_types);
  tcase_add_test(t, matmul_types);
  tcase_add_test(t, softmax_axis_normalized);
  tcase_add_test(t, reshape_types);
  tcase_add_test(t, reshape_to_scalar_and_back);
  tcase_add_test(t, transpose_types);
  tcase_add_test(t, successful_builds_are_listed_in_order);
  suite_add_tcase(s, t);

  t = tcase_create("errors");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, error_shows_source_line_and_caret);
  tcase_add_test(t, binary_errors);
  tcase_add_test(t, binary_dtype_checked_before_shape);
  tcase_add_test(t, broadcast_errors);
  tcase_add_test(t, broadcast_errors_leading_dim);
  tcase_add_test(t, float_only_errors);
  tcase_add_test(t, float_only_errors_other_ops);
  tcase_add_test(t, softmax_on_ints);
  tcase_add_test(t, matmul_rank_error);
  tcase_add_test(t, matmul_rank_error_right);
  tcase_add_test(t, matmul_inner_error);
  tcase_add_test(t, matmul_batch_error);
  tcase_add_test(t, matmul_dtype_error);
  tcase_add_test(t, softmax_axis_too_large);
  tcase_add_test(t, softmax_axis_too_negative);
  tcase_add_test(t, softmax_of_scalar);
  tcase_add_test(t, reshape_two_holes);
  tcase_add_test(t, reshape_zero_dim);
  tcase_add_test(t, reshape_minus_two);
  tcase_add_test(t, reshape_size_mismatch);
  tcase_add_test(t, reshape_size_mismatch_huge);
  tcase_add_test(t, reshape_hole_does_not_divide);
  tcase_add_test(t, reshape_hole_too_large);
  tcase_add_test(t, reshape_rank_too_large);
  tcase_add_test(t, transpose_perm_length);
  tcase_add_test(t, transpose_perm_duplicate);
  tcase_add_test(t, transpose_perm_out_of_range);
  tcase_add_test(t, transpose_perm_negative);
  tcase_add_test(t, arity_errors);
  tcase_add_test(t, arity_errors_unary);
  tcase_add_test(t, arity_errors_none);
  tcase_add_test(t, failed_builds_add_nothing);
  suite_add_tcase(s, t);

  t = tcase_create("verify");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, verify_valid_graph);
  tcase_add_test(t, verify_operand_after_use);
  tcase_add_test(t, verify_type_disagrees);
  tcase_add_test(t, verify_dtype_disagrees);
  tcase_add_test(t, verify_dead_node_listed);
  tcase_add_test(t, verify_output_not_listed);
  tcase_add_test(t, verify_output_refers_to_unlisted_new_node);
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
