#define _GNU_SOURCE
/* fold_bn and fuse, and what lowering makes of their result.
 *
 * First the passes alone, as golden text: graphs built node by node, one
 * pass run with the verifier on, dlc_graph_print compared exactly; fold_bn
 * also numerically (the evaluator before and after the pass).
 *
 * Then end to end: small programs whose fused chains (matmul and
 * convolution epilogues, elementwise chains on the flat and the nested
 * path) are compiled at -O2 and -O0, run through the runtime with 1, 2 and
 * 3 threads, compared with the reference evaluator on the unoptimized
 * graph, and the thread counts with each other bit for bit. Each program
 * also names the kernels lowering must make of it, so a chain that silently
 * stops fusing fails here instead of only running slower. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/graph.h"
#include "passes/passes.h"
#include "tests/e2e.h"
#include "tests/testutil.h"

/* ==== the passes, as golden text ========================================= */

static dlc_attrs conv_attrs(int stride, int pad, int groups) {
  dlc_attrs a = {.stride = {stride, stride}, .dilation = {1, 1},
                 .pad = {pad, pad, pad, pad}, .groups = groups};
  return a;
}

/* conv2d(x, w[, b]) */
static dlc_node *conv(dlc_node *x, dlc_node *w, dlc_node *b, dlc_attrs a) {
  dlc_node *ins[3] = {x, w, b};
  return tu_opn(DLC_OP_CONV2D, b ? 3 : 2, ins, &a);
}

static dlc_node *bnorm(dlc_node *x, dlc_node *s, dlc_node *b, dlc_node *mu, dlc_node *v,
                       double eps) {
  dlc_node *ins[5] = {x, s, b, mu, v};
  dlc_attrs a = {.eps = eps};
  return tu_opn(DLC_OP_BATCH_NORM, 5, ins, &a);
}

/* ---- fold_bn: golden text ----
 * eps = 0.25 and var = [0, 0.75, 3.75] make sqrt(var + eps) = [0.5, 1, 2]
 * exactly, so with scale = [1, 3, 2] each output channel's weights are
 * multiplied by [2, 3, 1] and the printed constants are exact:
 * bias = (conv bias - mean) * [2, 3, 1] + bn bias. */
static const float bn_s[] = {1, 3, 2}, bn_b[] = {0.5f, -1, 0}, bn_mu[] = {1, 2, -1},
                   bn_v[] = {0, 0.75f, 3.75f};

static dlc_node *bn_of(dlc_node *c) {
  dlc_node *s = tu_weight("s", tu_ty(DLC_F32, 1, 3), bn_s);
  dlc_node *b = tu_weight("bb", tu_ty(DLC_F32, 1, 3), bn_b);
  dlc_node *mu = tu_weight("mu", tu_ty(DLC_F32, 1, 3), bn_mu);
  dlc_node *v = tu_weight("v", tu_ty(DLC_F32, 1, 3), bn_v);
  return bnorm(c, s, b, mu, v, 0.25);
}

START_TEST(fold_bn_conv_without_bias) {
  float w[] = {1, 2, 3, 4, 5, 6};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1), w);
  dlc_node *c = conv(x, nw, NULL, conv_attrs(1, 0, 1));
  tu_out("y", bn_of(c));
  tu_expect_passes("fold_bn",
                   "model t {\n"
                   "  input x : f32[1,2,3,3]\n"
                   "  weight w : f32[3,2,1,1]\n"
                   "  %0 = const [2, 4, 9, 12, 5, 6] : f32[3,2,1,1]\n"
                   "  %1 = const [-1.5, -7, 1] : f32[3]\n"
                   "  %2 = conv2d(x, %0, %1, stride=[1,1], pad=[0,0,0,0], dilation=[1,1], "
                   "groups=1) : f32[1,3,3,3]\n"
                   "  weight s : f32[3]\n"
                   "  weight bb : f32[3]\n"
                   "  weight mu : f32[3]\n"
                   "  weight v : f32[3]\n"
                   "  output y = %2\n"
                   "}\n");
  /* the parameters are unread now; dce takes them */
  tu_expect_passes("dce",
                   "model t {\n"
                   "  input x : f32[1,2,3,3]\n"
                   "  %0 = const [2, 4, 9, 12, 5, 6] : f32[3,2,1,1]\n"
                   "  %1 = const [-1.5, -7, 1] : f32[3]\n"
                   "  %2 = conv2d(x, %0, %1, stride=[1,1], pad=[0,0,0,0], dilation=[1,1], "
                   "groups=1) : f32[1,3,3,3]\n"
                   "  output y = %2\n"
                   "}\n");
}
END_TEST

START_TEST(fold_bn_conv_with_bias_and_readers_after) {
  /* the conv's own bias folds in; nodes after the batch_norm keep reading
   * its value (now the convolution's), and stay in order after it */
  float w[] = {1, 2, 3, 4, 5, 6}, cb[] = {1, -1, 0.5f};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1), w);
  dlc_node *nb = tu_weight("cb", tu_ty(DLC_F32, 1, 3), cb);
  dlc_node *c = conv(x, nw, nb, conv_attrs(1, 0, 1));
  tu_out("y", tu_op1(DLC_OP_RELU, bn_of(c), NULL));
  tu_expect_passes("fold_bn,dce",
                   "model t {\n"
                   "  input x : f32[1,2,3,3]\n"
                   "  %0 = const [2, 4, 9, 12, 5, 6] : f32[3,2,1,1]\n"
                   "  %1 = const [0.5, -10, 1.5] : f32[3]\n"
                   "  %2 = conv2d(x, %0, %1, stride=[1,1], pad=[0,0,0,0], dilation=[1,1], "
                   "groups=1) : f32[1,3,3,3]\n"
                   "  %3 = relu(%2) : f32[1,3,3,3]\n"
                   "  output y = %3\n"
                   "}\n");
}
END_TEST

START_TEST(fold_bn_depthwise) {
  /* groups = channels: each channel's 2x2 kernel scales by its factor */
  float w[12];
  for (int i = 0; i < 12; i++)
    w[i] = (float)(i + 1);
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 3, 4, 4));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 1, 2, 2), w);
  dlc_node *c = conv(x, nw, NULL, conv_attrs(2, 1, 3));
  tu_out("y", bn_of(c));
  tu_expect_passes("fold_bn,dce",
                   "model t {\n"
                   "  input x : f32[1,3,4,4]\n"
                   "  %0 = const [2, 4, 6, 8, 15, 18, 21, 24, 9, 10, 11, 12] : f32[3,1,2,2]\n"
                   "  %1 = const [-1.5, -7, 1] : f32[3]\n"
                   "  %2 = conv2d(x, %0, %1, stride=[2,2], pad=[1,1,1,1], dilation=[1,1], "
                   "groups=3) : f32[1,3,3,3]\n"
                   "  output y = %2\n"
                   "}\n");
}
END_TEST

/* The same graph printed before and after: the pass must change nothing. */
static void expect_unchanged(const char *pipeline) {
  char *before = tu_graph_text(tu_fx.g);
  tu_expect_passes(pipeline, before);
  free(before);
}

START_TEST(fold_bn_not_when_conv_read_twice) {
  float w[] = {1, 2, 3, 4, 5, 6};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1), w);
  dlc_node *c = conv(x, nw, NULL, conv_attrs(1, 0, 1));
  tu_out("y", bn_of(c));
  tu_out("z", tu_op1(DLC_OP_RELU, c, NULL));
  expect_unchanged("fold_bn");
}
END_TEST

START_TEST(fold_bn_not_when_conv_is_an_output) {
  float w[] = {1, 2, 3, 4, 5, 6};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1), w);
  dlc_node *c = conv(x, nw, NULL, conv_attrs(1, 0, 1));
  tu_out("y", bn_of(c));
  tu_out("c", c);
  expect_unchanged("fold_bn");
}
END_TEST

START_TEST(fold_bn_not_with_non_constant_params) {
  /* each of the four parameters in turn is an input */
  for (int k = 0; k < 4; k++) {
    dlc_graph_free(tu_fx.g);
    tu_fx.g = dlc_graph_new("t");
    float w[] = {1, 2, 3, 4, 5, 6};
    dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
    dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1), w);
    dlc_node *p[4];
    const float *data[4] = {bn_s, bn_b, bn_mu, bn_v};
    for (int i = 0; i < 4; i++) {
      char name[8];
      snprintf(name, sizeof name, "p%d", i);
      p[i] = i == k ? tu_in(name, tu_ty(DLC_F32, 1, 3)) : tu_weight(name, tu_ty(DLC_F32, 1, 3), data[i]);
    }
    dlc_node *c = conv(x, nw, NULL, conv_attrs(1, 0, 1));
    tu_out("y", bnorm(c, p[0], p[1], p[2], p[3], 0.25));
    expect_unchanged("fold_bn");
  }
}
END_TEST

START_TEST(fold_bn_not_with_non_constant_weight_or_bias) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
  dlc_node *w = tu_in("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1));
  tu_out("y", bn_of(conv(x, w, NULL, conv_attrs(1, 0, 1))));
  expect_unchanged("fold_bn");

  dlc_graph_free(tu_fx.g);
  tu_fx.g = dlc_graph_new("t");
  float wd[] = {1, 2, 3, 4, 5, 6};
  x = tu_in("x", tu_ty(DLC_F32, 4, 1, 2, 3, 3));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 4, 3, 2, 1, 1), wd);
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 1, 3));
  tu_out("y", bn_of(conv(x, nw, b, conv_attrs(1, 0, 1))));
  expect_unchanged("fold_bn");
}
END_TEST

START_TEST(fold_bn_not_after_other_operators) {
  /* batch_norm of something else than a convolution stays */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 3, 2, 2));
  tu_out("y", bn_of(tu_op1(DLC_OP_RELU, x, NULL)));
  expect_unchanged("fold_bn");
}
END_TEST

/* ---- fold_bn: values ----
 * Random weights and parameters, eps 1e-5: the graph computes the same
 * before and after the pass (the folded weights are rounded to f32 once). */
static void fold_bn_values(int groups, bool bias, bool second) {
  int C = 4, M = groups == 4 ? 4 : 6;
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 2, C, 7, 6));
  float w[6 * 4 * 3 * 3], b[6], s[6], bb[6], mu[6], v[6];
  int nw = M * (C / groups) * 9;
  tu_fill_random(DLC_F32, w, nw, 11, -1, 1);
  tu_fill_random(DLC_F32, b, M, 12, -1, 1);
  tu_fill_random(DLC_F32, s, M, 13, -2, 2);
  tu_fill_random(DLC_F32, bb, M, 14, -1, 1);
  tu_fill_random(DLC_F32, mu, M, 15, -1, 1);
  tu_fill_random(DLC_F32, v, M, 16, 0.01, 3);
  v[0] = 0; /* eps alone */
  dlc_node *wn = tu_weight("w", tu_ty(DLC_F32, 4, M, C / groups, 3, 3), w);
  dlc_node *cb = bias ? tu_weight("b", tu_ty(DLC_F32, 1, M), b) : NULL;
  dlc_attrs a = conv_attrs(2, 1, groups);
  a.pad[2] = 0; /* asymmetric */
  dlc_node *c = conv(x, wn, cb, a);
  dlc_node *ps[4] = {tu_weight("s", tu_ty(DLC_F32, 1, M), s), tu_weight("bb", tu_ty(DLC_F32, 1, M), bb),
                     tu_weight("mu", tu_ty(DLC_F32, 1, M), mu), tu_weight("v", tu_ty(DLC_F32, 1, M), v)};
  dlc_node *y = bnorm(c, ps[0], ps[1], ps[2], ps[3], 1e-5);
  if (second) /* a 1x1 conv + batch_norm after the first, same parameters */
    y = bnorm(conv(tu_op1(DLC_OP_RELU, y, NULL), tu_weight("w2", tu_ty(DLC_F32, 4, M, M / groups, 1, 1), w),
                   NULL, conv_attrs(1, 0, groups)),
              ps[0], ps[1], ps[2], ps[3], 1e-3);
  tu_out("y", y);
  int64_t n = dlc_type_numel(&x->type);
  float *xd = malloc(sizeof *xd * (size_t)n);
  tu_fill_random(DLC_F32, xd, n, 17, -2, 2);
  const void *ins[1] = {xd};
  void *before[1], *after[1];
  ck_assert_int_eq(dlc_eval_graph(tu_fx.g, ins, before, tu_fx.sink.d), DLC_OK);
  int nn = tu_fx.g->nnodes;
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, "fold_bn,dce", &o, tu_fx.sink.d), DLC_OK);
  /* every batch_norm went */
  for (int i = 0; i < tu_fx.g->nnodes; i++)
    ck_assert_int_ne(tu_fx.g->nodes[i]->op, DLC_OP_BATCH_NORM);
  ck_assert_int_lt(tu_fx.g->nnodes, nn);
  ck_assert_int_eq(dlc_eval_graph(tu_fx.g, ins, after, tu_fx.sink.d), DLC_OK);
  tu_assert_close("fold_bn", DLC_F32, after[0], before[0],
                  dlc_type_numel(&tu_fx.g->outputs[0].node->type), 1e-5, 1e-5);
  free(before[0]);
  free(after[0]);
  free(xd);
}

START_TEST(fold_bn_values_dense) { fold_bn_values(1, false, false); }
END_TEST
START_TEST(fold_bn_values_dense_bias) { fold_bn_values(1, true, false); }
END_TEST
START_TEST(fold_bn_values_depthwise) { fold_bn_values(4, false, false); }
END_TEST
START_TEST(fold_bn_values_depthwise_bias) { fold_bn_values(4, true, false); }
END_TEST
START_TEST(fold_bn_values_groups2_bias) { fold_bn_values(2, true, false); }
END_TEST
START_TEST(fold_bn_values_two_in_a_row) { fold_bn_values(1, true, true); }
END_TEST

/* ---- fuse: golden text ---- */

START_TEST(fuse_matmul_bias_relu) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *b = tu_weight("b", tu_ty(DLC_F32, 1, 5), NULL);
  tu_out("y", tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_ADD, tu_op2(DLC_OP_MATMUL, x, w), b), NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  weight b : f32[5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = add(%0, b) : f32[4,5]  ; fused into %0\n"
                           "  %2 = relu(%1) : f32[4,5]  ; fused into %0\n"
                           "  output y = %2\n"
                           "}\n");
  /* running it again gives the same marks (they are recomputed) */
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  weight b : f32[5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = add(%0, b) : f32[4,5]  ; fused into %0\n"
                           "  %2 = relu(%1) : f32[4,5]  ; fused into %0\n"
                           "  output y = %2\n"
                           "}\n");
  /* and any other pass clears them */
  tu_expect_passes("dce", "model t {\n"
                          "  input x : f32[4,8]\n"
                          "  weight w : f32[8,5]\n"
                          "  weight b : f32[5]\n"
                          "  %0 = matmul(x, w) : f32[4,5]\n"
                          "  %1 = add(%0, b) : f32[4,5]\n"
                          "  %2 = relu(%1) : f32[4,5]\n"
                          "  output y = %2\n"
                          "}\n");
}
END_TEST

START_TEST(fuse_follows_two_readers_that_meet) {
  /* a = mm + b is read by relu and exp, and both meet in mul: the whole
   * diamond is the matrix product's epilogue (a is used twice there) */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *b = tu_weight("b", tu_ty(DLC_F32, 1, 5), NULL);
  dlc_node *a = tu_op2(DLC_OP_ADD, tu_op2(DLC_OP_MATMUL, x, w), b);
  dlc_node *r = tu_op1(DLC_OP_RELU, a, NULL), *e = tu_op1(DLC_OP_EXP, a, NULL);
  tu_out("y", tu_op2(DLC_OP_MUL, r, e));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  weight b : f32[5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = add(%0, b) : f32[4,5]  ; fused into %0\n"
                           "  %2 = relu(%1) : f32[4,5]  ; fused into %0\n"
                           "  %3 = exp(%1) : f32[4,5]  ; fused into %0\n"
                           "  %4 = mul(%2, %3) : f32[4,5]  ; fused into %0\n"
                           "  output y = %4\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_chain_into_reduction) {
  /* (x - m)^2 is read only by the mean: computed in the mean's loads and
   * marked fused into it, though the mean comes after it */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *mu = tu_in("m", tu_ty(DLC_F32, 2, 4, 1));
  dlc_node *d = tu_op2(DLC_OP_SUB, x, mu);
  int64_t axes[1] = {1};
  dlc_attrs a = {.nints = 1, .ints = axes, .keepdims = true};
  tu_out("v", tu_op1(DLC_OP_MEAN, tu_op2(DLC_OP_MUL, d, d), &a));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  input m : f32[4,1]\n"
                           "  %0 = sub(x, m) : f32[4,8]  ; fused into %2\n"
                           "  %1 = mul(%0, %0) : f32[4,8]  ; fused into %2\n"
                           "  %2 = mean(%1, axes=[1], keepdims=1) : f32[4,1]\n"
                           "  output v = %2\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_stops_at_two_readers_that_do_not_meet) {
  /* relu(a) and exp(a) are both outputs: only one value can be the
   * chain's, so the chain ends at a; exp(a) starts its own */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *b = tu_weight("b", tu_ty(DLC_F32, 1, 5), NULL);
  dlc_node *a = tu_op2(DLC_OP_ADD, tu_op2(DLC_OP_MATMUL, x, w), b);
  tu_out("r", tu_op1(DLC_OP_RELU, a, NULL));
  tu_out("e", tu_op1(DLC_OP_NEG, tu_op1(DLC_OP_EXP, a, NULL), NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  weight b : f32[5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = add(%0, b) : f32[4,5]  ; fused into %0\n"
                           "  %2 = relu(%1) : f32[4,5]\n"
                           "  %3 = exp(%1) : f32[4,5]\n"
                           "  %4 = neg(%3) : f32[4,5]  ; fused into %3\n"
                           "  output r = %2\n"
                           "  output e = %4\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_stops_at_an_output_that_is_read) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *b = tu_weight("b", tu_ty(DLC_F32, 1, 5), NULL);
  dlc_node *a = tu_op2(DLC_OP_ADD, tu_op2(DLC_OP_MATMUL, x, w), b);
  tu_out("h", a);
  dlc_node *t = tu_op1(DLC_OP_TANH, a, NULL);
  tu_out("y", tu_op1(DLC_OP_NEG, t, NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  weight b : f32[5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = add(%0, b) : f32[4,5]  ; fused into %0\n"
                           "  %2 = tanh(%1) : f32[4,5]\n"
                           "  %3 = neg(%2) : f32[4,5]  ; fused into %2\n"
                           "  output h = %1\n"
                           "  output y = %3\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_stops_at_an_operand_defined_later) {
  /* add(mm, exp(z)): exp(z) comes after the matmul, so the add cannot join
   * the matmul's kernel; it joins exp's instead (the matmul is done by then) */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *z = tu_in("z", tu_ty(DLC_F32, 2, 4, 5));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *mm = tu_op2(DLC_OP_MATMUL, x, w);
  dlc_node *e = tu_op1(DLC_OP_EXP, z, NULL);
  tu_out("y", tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_ADD, mm, e), NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  input z : f32[4,5]\n"
                           "  weight w : f32[8,5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = exp(z) : f32[4,5]\n"
                           "  %2 = add(%0, %1) : f32[4,5]  ; fused into %1\n"
                           "  %3 = relu(%2) : f32[4,5]  ; fused into %1\n"
                           "  output y = %3\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_stops_at_a_shape_change) {
  /* mm + c with c [3,4,5] enlarges the value; so does exp(v) + z with v [5].
   * The enlarged values start chains of their own. */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *c = tu_in("c", tu_ty(DLC_F32, 3, 3, 4, 5));
  dlc_node *v = tu_in("v", tu_ty(DLC_F32, 1, 5));
  dlc_node *z = tu_in("z", tu_ty(DLC_F32, 2, 4, 5));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  tu_out("y", tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_ADD, tu_op2(DLC_OP_MATMUL, x, w), c), NULL));
  tu_out("u", tu_op1(DLC_OP_ABS, tu_op2(DLC_OP_ADD, tu_op1(DLC_OP_EXP, v, NULL), z), NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  input c : f32[3,4,5]\n"
                           "  input v : f32[5]\n"
                           "  input z : f32[4,5]\n"
                           "  weight w : f32[8,5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = add(%0, c) : f32[3,4,5]\n"
                           "  %2 = relu(%1) : f32[3,4,5]  ; fused into %1\n"
                           "  %3 = exp(v) : f32[5]\n"
                           "  %4 = add(%3, z) : f32[4,5]\n"
                           "  %5 = abs(%4) : f32[4,5]  ; fused into %4\n"
                           "  output y = %2\n"
                           "  output u = %5\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_stops_at_a_dtype_change_after_matmul) {
  /* cast to f64 and a comparison (bool) do not join a matmul; an i32
   * matmul keeps its i32 chain */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *k = tu_in("k", tu_ty(DLC_I32, 2, 4, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *wi = tu_weight("wi", tu_ty(DLC_I32, 2, 8, 5), NULL);
  dlc_node *b = tu_weight("b", tu_ty(DLC_F32, 1, 5), NULL);
  dlc_attrs to64 = {.to = DLC_F64};
  tu_out("d", tu_opn(DLC_OP_CAST, 1, (dlc_node *[]){tu_op2(DLC_OP_MATMUL, x, w)}, &to64));
  tu_out("l", tu_op2(DLC_OP_LESS, tu_op2(DLC_OP_MATMUL, x, w), b));
  tu_out("i", tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_MATMUL, k, wi), NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  input k : i32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  weight wi : i32[8,5]\n"
                           "  weight b : f32[5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = cast(%0, f64) : f64[4,5]\n"
                           "  %2 = matmul(x, w) : f32[4,5]\n"
                           "  %3 = less(%2, b) : bool[4,5]\n"
                           "  %4 = matmul(k, wi) : i32[4,5]\n"
                           "  %5 = relu(%4) : i32[4,5]  ; fused into %4\n"
                           "  output d = %1\n"
                           "  output l = %3\n"
                           "  output i = %5\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_elementwise_chain) {
  /* exp -> mul -> add -> mul(v, v) -> where: one chain from exp; a chain
   * reading the same value twice is still a chain */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 6));
  dlc_node *y = tu_in("y", tu_ty(DLC_F32, 1, 6));
  dlc_node *z = tu_in("z", tu_ty(DLC_F32, 0));
  dlc_node *c = tu_in("c", tu_ty(DLC_BOOL, 1, 6));
  dlc_node *a = tu_op2(DLC_OP_ADD, tu_op2(DLC_OP_MUL, tu_op1(DLC_OP_EXP, x, NULL), y), z);
  dlc_node *s = tu_op2(DLC_OP_MUL, a, a);
  tu_out("r", tu_opn(DLC_OP_WHERE, 3, (dlc_node *[]){c, y, s}, NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[6]\n"
                           "  input y : f32[6]\n"
                           "  input z : f32[]\n"
                           "  input c : bool[6]\n"
                           "  %0 = exp(x) : f32[6]\n"
                           "  %1 = mul(%0, y) : f32[6]  ; fused into %0\n"
                           "  %2 = add(%1, z) : f32[6]  ; fused into %0\n"
                           "  %3 = mul(%2, %2) : f32[6]  ; fused into %0\n"
                           "  %4 = where(c, y, %3) : f32[6]  ; fused into %0\n"
                           "  output r = %4\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_conv_bias_relu_residual) {
  /* a convolution done as a matrix product takes a per-channel bias
   * [C,1,1], relu and a residual add of a whole [N,C,H,W] value */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 2, 3, 5, 5));
  dlc_node *res = tu_in("res", tu_ty(DLC_F32, 4, 2, 4, 5, 5));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 4, 4, 3, 3, 3), NULL);
  dlc_node *b = tu_weight("b", tu_ty(DLC_F32, 3, 4, 1, 1), NULL);
  dlc_node *c = conv(x, w, NULL, conv_attrs(1, 1, 1));
  tu_out("y", tu_op2(DLC_OP_ADD, tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_ADD, c, b), NULL), res));
  tu_expect_passes("fuse",
                   "model t {\n"
                   "  input x : f32[2,3,5,5]\n"
                   "  input res : f32[2,4,5,5]\n"
                   "  weight w : f32[4,3,3,3]\n"
                   "  weight b : f32[4,1,1]\n"
                   "  %0 = conv2d(x, w, stride=[1,1], pad=[1,1,1,1], dilation=[1,1], groups=1) "
                   ": f32[2,4,5,5]\n"
                   "  %1 = add(%0, b) : f32[2,4,5,5]  ; fused into %0\n"
                   "  %2 = relu(%1) : f32[2,4,5,5]  ; fused into %0\n"
                   "  %3 = add(%2, res) : f32[2,4,5,5]  ; fused into %0\n"
                   "  output y = %3\n"
                   "}\n");
}
END_TEST

START_TEST(fuse_conv_operands) {
  /* Which operands a convolution's tiles can read: constant over H and W
   * ([1,4,5,5] is whole over them, with batch broadcast; a scalar) fuse;
   * varying along H only ([1,1,5,1]) or W only ([5]) do not. A conv2d that
   * is not a matrix product (weights an input; groups > 1) takes any chain
   * on its finished rows. */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 2, 4, 5, 5));
  dlc_node *h = tu_in("h", tu_ty(DLC_F32, 4, 1, 1, 5, 1));
  dlc_node *wv = tu_in("wv", tu_ty(DLC_F32, 1, 5));
  dlc_node *full = tu_in("full", tu_ty(DLC_F32, 4, 1, 4, 5, 5));
  dlc_node *k = tu_in("k", tu_ty(DLC_F32, 0));
  dlc_node *win = tu_in("win", tu_ty(DLC_F32, 4, 4, 4, 1, 1));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 4, 4, 4, 1, 1), NULL);
  dlc_node *wd = tu_weight("wd", tu_ty(DLC_F32, 4, 4, 1, 3, 3), NULL);
  dlc_attrs a = conv_attrs(1, 0, 1);
  tu_out("a", tu_op2(DLC_OP_ADD, conv(x, w, NULL, a), h));
  tu_out("b", tu_op2(DLC_OP_SUB, conv(x, w, NULL, a), wv));
  tu_out("c", tu_op2(DLC_OP_MUL, full, conv(x, w, NULL, a)));
  tu_out("d", tu_op2(DLC_OP_MAXIMUM, conv(x, w, NULL, a), k));
  tu_out("e", tu_op1(DLC_OP_RELU, conv(x, win, NULL, a), NULL));
  tu_out("f", tu_op1(DLC_OP_RELU, conv(x, wd, NULL, conv_attrs(1, 1, 4)), NULL));
  const char *cv = "stride=[1,1], pad=[0,0,0,0], dilation=[1,1], groups=1) : f32[2,4,5,5]\n";
  char *want = NULL;
  ck_assert_int_ge(
      asprintf(&want,
               "model t {\n"
               "  input x : f32[2,4,5,5]\n"
               "  input h : f32[1,1,5,1]\n"
               "  input wv : f32[5]\n"
               "  input full : f32[1,4,5,5]\n"
               "  input k : f32[]\n"
               "  input win : f32[4,4,1,1]\n"
               "  weight w : f32[4,4,1,1]\n"
               "  weight wd : f32[4,1,3,3]\n"
               "  %%0 = conv2d(x, w, %s"
               "  %%1 = add(%%0, h) : f32[2,4,5,5]\n"
               "  %%2 = conv2d(x, w, %s"
               "  %%3 = sub(%%2, wv) : f32[2,4,5,5]\n"
               "  %%4 = conv2d(x, w, %s"
               "  %%5 = mul(full, %%4) : f32[2,4,5,5]  ; fused into %%4\n"
               "  %%6 = conv2d(x, w, %s"
               "  %%7 = maximum(%%6, k) : f32[2,4,5,5]  ; fused into %%6\n"
               "  %%8 = conv2d(x, win, %s"
               "  %%9 = relu(%%8) : f32[2,4,5,5]  ; fused into %%8\n"
               "  %%10 = conv2d(x, wd, stride=[1,1], pad=[1,1,1,1], dilation=[1,1], groups=4) "
               ": f32[2,4,5,5]\n"
               "  %%11 = relu(%%10) : f32[2,4,5,5]  ; fused into %%10\n"
               "  output a = %%1\n"
               "  output b = %%3\n"
               "  output c = %%5\n"
               "  output d = %%7\n"
               "  output e = %%9\n"
               "  output f = %%11\n"
               "}\n",
               cv, cv, cv, cv, cv),
      0);
  tu_expect_passes("fuse", want);
  free(want);
}
END_TEST

START_TEST(fuse_conv_operand_computed_later) {
  /* relu(conv) + exp(x) with exp after the relu: exp's value does not
   * exist when the conv's tiles run, so the add joins exp's chain */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 4, 5, 5));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 4, 4, 4, 1, 1), NULL);
  dlc_node *r = tu_op1(DLC_OP_RELU, conv(x, w, NULL, conv_attrs(1, 0, 1)), NULL);
  dlc_node *e = tu_op1(DLC_OP_EXP, x, NULL);
  tu_out("y", tu_op2(DLC_OP_ADD, r, e));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[1,4,5,5]\n"
                           "  weight w : f32[4,4,1,1]\n"
                           "  %0 = conv2d(x, w, stride=[1,1], pad=[0,0,0,0], dilation=[1,1], "
                           "groups=1) : f32[1,4,5,5]\n"
                           "  %1 = relu(%0) : f32[1,4,5,5]  ; fused into %0\n"
                           "  %2 = exp(x) : f32[1,4,5,5]\n"
                           "  %3 = add(%1, %2) : f32[1,4,5,5]  ; fused into %2\n"
                           "  output y = %3\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_operand_after_both_roots) {
  /* exp(x) between the conv and the relu: the add can join neither the
   * conv's chain (exp comes after the conv) nor exp's (the relu comes
   * after exp), so it is a kernel of its own */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 4, 5, 5));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 4, 4, 4, 1, 1), NULL);
  dlc_node *c = conv(x, w, NULL, conv_attrs(1, 0, 1));
  dlc_node *e = tu_op1(DLC_OP_EXP, x, NULL);
  tu_out("y", tu_op2(DLC_OP_ADD, tu_op1(DLC_OP_RELU, c, NULL), e));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[1,4,5,5]\n"
                           "  weight w : f32[4,4,1,1]\n"
                           "  %0 = conv2d(x, w, stride=[1,1], pad=[0,0,0,0], dilation=[1,1], "
                           "groups=1) : f32[1,4,5,5]\n"
                           "  %1 = exp(x) : f32[1,4,5,5]\n"
                           "  %2 = relu(%0) : f32[1,4,5,5]  ; fused into %0\n"
                           "  %3 = add(%2, %1) : f32[1,4,5,5]\n"
                           "  output y = %3\n"
                           "}\n");
}
END_TEST

START_TEST(fuse_constants_created_later) {
  /* A constant has no kernel: it exists before any chain runs, wherever it
   * stands in the node list. The frontend places a literal's constant just
   * before its operator, after the chain's root, as in relu(x @ w * 0.5). */
  float half = 0.5f;
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 8, 5), NULL);
  dlc_node *mm = tu_op2(DLC_OP_MATMUL, x, w);
  dlc_node *c = dlc_graph_add_const(tu_fx.g, &(dlc_type){.dtype = DLC_F32}, &half, dlc_noloc());
  tu_out("y", tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_MUL, mm, c), NULL));
  tu_expect_passes("fuse", "model t {\n"
                           "  input x : f32[4,8]\n"
                           "  weight w : f32[8,5]\n"
                           "  %0 = matmul(x, w) : f32[4,5]\n"
                           "  %1 = const 0.5 : f32[]\n"
                           "  %2 = mul(%0, %1) : f32[4,5]  ; fused into %0\n"
                           "  %3 = relu(%2) : f32[4,5]  ; fused into %0\n"
                           "  output y = %3\n"
                           "}\n");
}
END_TEST

START_TEST(default_pipeline_conv_bn_relu_residual) {
  /* the default pipeline: fold_bn makes conv+bn one conv with a bias,
   * fuse hangs relu and the residual add on it */
  float wd[4 * 4];
  for (int i = 0; i < 16; i++)
    wd[i] = (float)(i % 5);
  float s[] = {1, 3, 2, 1}, b[] = {0.5f, -1, 0, 0}, mu[] = {1, 2, -1, 0};
  float v[] = {0, 0.75f, 3.75f, 0.75f}; /* eps 0.25: factors 2, 3, 1, 1 */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 4, 3, 3));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 4, 4, 4, 1, 1), wd);
  dlc_node *ps[4] = {tu_weight("s", tu_ty(DLC_F32, 1, 4), s), tu_weight("bb", tu_ty(DLC_F32, 1, 4), b),
                     tu_weight("mu", tu_ty(DLC_F32, 1, 4), mu), tu_weight("v", tu_ty(DLC_F32, 1, 4), v)};
  dlc_node *c = conv(x, w, NULL, conv_attrs(1, 0, 1));
  dlc_node *y = tu_op1(DLC_OP_RELU, bnorm(c, ps[0], ps[1], ps[2], ps[3], 0.25), NULL);
  tu_out("y", tu_op2(DLC_OP_ADD, y, x));
  tu_expect_passes(NULL,
                   "model t {\n"
                   "  input x : f32[1,4,3,3]\n"
                   "  %0 = const [0, 2, 4, 6, 12, 0, 3, 6, 3, 4, 0, 1, 2, 3, 4, 0] : f32[4,4,1,1]\n"
                   "  %1 = const [-1.5, -7, 1, 0] : f32[4]\n"
                   "  %2 = conv2d(x, %0, %1, stride=[1,1], pad=[0,0,0,0], dilation=[1,1], "
                   "groups=1) : f32[1,4,3,3]\n"
                   "  %3 = relu(%2) : f32[1,4,3,3]  ; fused into %2\n"
                   "  %4 = add(%3, x) : f32[1,4,3,3]  ; fused into %2\n"
                   "  output y = %4\n"
                   "}\n");
}
END_TEST

/* ---- layout: golden text ----
 * Convolutions with 32 output channels run on blocks of 16; the relu, the
 * residual add and the pooling between them follow onto the blocks, so the
 * layout changes only at the edges: one to_nchwc of x, one to_nchw before
 * the output. dce drops the conversions the sweep made and then cancelled. */
START_TEST(layout_conv_chain_on_blocks) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 16, 8, 8));
  dlc_node *w1 = tu_weight("w1", tu_ty(DLC_F32, 4, 32, 16, 3, 3), NULL);
  dlc_node *w2 = tu_weight("w2", tu_ty(DLC_F32, 4, 32, 32, 3, 3), NULL);
  dlc_node *y1 = tu_op1(DLC_OP_RELU, conv(x, w1, NULL, conv_attrs(1, 1, 1)), NULL);
  dlc_node *y2 = tu_op2(DLC_OP_ADD, conv(y1, w2, NULL, conv_attrs(1, 1, 1)), y1);
  dlc_attrs pa = {.kernel = {2, 2}, .stride = {2, 2}};
  tu_out("out", tu_op1(DLC_OP_MAX_POOL2D, tu_op1(DLC_OP_RELU, y2, NULL), &pa));
  tu_expect_passes("layout,dce",
                   "model t {\n"
                   "  input x : f32[1,16,8,8]\n"
                   "  weight w1 : f32[32,16,3,3]\n"
                   "  weight w2 : f32[32,32,3,3]\n"
                   "  %0 = to_nchwc(x, block=16) : f32[1,1,8,8,16]\n"
                   "  %1 = conv2d_nchwc(%0, w1, stride=[1,1], pad=[1,1,1,1], dilation=[1,1], "
                   "groups=1, block=16) : f32[1,2,8,8,16]\n"
                   "  %2 = relu(%1) : f32[1,2,8,8,16]\n"
                   "  %3 = conv2d_nchwc(%2, w2, stride=[1,1], pad=[1,1,1,1], dilation=[1,1], "
                   "groups=1, block=16) : f32[1,2,8,8,16]\n"
                   "  %4 = add(%3, %2) : f32[1,2,8,8,16]\n"
                   "  %5 = relu(%4) : f32[1,2,8,8,16]\n"
                   "  %6 = max_pool2d(%5, kernel=[2,2], stride=[2,2], pad=[0,0,0,0]) "
                   ": f32[1,2,4,4,16]\n"
                   "  %7 = to_nchw(%6) : f32[1,32,4,4]\n"
                   "  output out = %7\n"
                   "}\n");
}
END_TEST

START_TEST(layout_not_when_channels_do_not_block) {
  /* 12 output channels are neither 16s nor 8s: nothing changes */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 4, 1, 16, 8, 8));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 4, 12, 16, 3, 3), NULL);
  dlc_node *c = conv(x, w, NULL, conv_attrs(1, 1, 1));
  tu_out("y", tu_op1(DLC_OP_RELU, c, NULL));
  expect_unchanged("layout");
}
END_TEST

/* ==== end to end ========================================================= */

#define R 1e-4, 1e-4 /* f32 after a matrix product (FMA contraction, sum order) */
#define EW 1e-5, 1e-6
#define EXACT 0, 0
#define F64 1e-12, 1e-12

static const e2e_case cases[] = {
    /* ---- matmul epilogues ---- */
    {"mm_bias_relu",
     "input x : f32[13,70]\nweight w : f32[70,33] = random(seed=1)\nweight b : f32[33] = random(seed=2)\n"
     "output y = relu(x @ w + b)",
     "k0_matmul+add+relu", -1, 1, R, NULL},
    {"mm_gelu",
     "input x : f32[25,37]\nweight w : f32[37,49] = random(seed=1)\nweight b : f32[49] = random(seed=2)\n"
     "input w2 : f32[37,17]\n"
     "output y = gelu(x @ w + b)\noutput z = gelu(x @ w2, approximate=\"tanh\")",
     "k0_matmul+add+gelu k1_matmul+gelu", -1, 1, R, NULL},
    {"mm_residual_kblocks",
     /* K = 300 is two blocks of 150: the epilogue runs after the last */
     "input x : f32[11,300]\nweight w : f32[300,65] = random(seed=1, scale=0.2)\ninput r : f32[11,65]\n"
     "weight b : f32[65] = random(seed=2)\noutput y = relu(x @ w + b) + r",
     "k0_matmul+add+relu+add", -1, 1, R, NULL},
    {"mm_silu",
     /* h * sigmoid(h): h has two readers, which meet in the mul, so all
      * of it is the product's epilogue; GELU written out (erf form) is too */
     "input x : f32[9,20]\nweight w : f32[20,50] = random(seed=1)\nweight b : f32[50] = random(seed=2)\n"
     "weight w2 : f32[20,50] = random(seed=3)\nweight w3 : f32[20,50] = random(seed=4)\n"
     "h = x @ w + b\noutput y = h * sigmoid(h)\noutput z = silu(x @ w2)\n"
     "g = x @ w3\noutput u = g * (erf(g / 1.4142135) + 1) * 0.5",
     "k0_matmul+add+sigmoid+mul k1_matmul+silu k2_matmul+div+erf+add+mul+mul", -3, 3, R, NULL},
    {"mm_clip_where",
     "input x : f32[17,8]\ninput w : f32[8,97]\ninput w2 : f32[8,97]\ninput w3 : f32[8,97]\n"
     "input mask : bool[17,97]\nweight two : f32[] = 2\nweight one : f32[] = 1\nweight zero : f32[] = 0\n"
     "output y = clip(x @ w, min=-0.5, max=0.5)\n"
     "output z = where(mask, zero, x @ w2 * two)\noutput q = leaky_relu(x @ w3 - one, alpha=0.1)",
     "k0_matmul+clip k1_matmul+mul+where k2_matmul+sub+leaky_relu", -1, 1, R, NULL},
    {"mm_bcast_operands",
     /* the chain's other operand broadcast along rows, along columns; with
      * the matmul's batch dims broadcast; one computed after the matmul
      * (so not fused). xb @ w1 folds its batches into rows of one product,
      * where a per-row [3,13,1] operand cannot be read: that chain stays
      * out of the matmul */
     "input x : f32[13,21]\nweight w1 : f32[21,50] = random(seed=1)\nweight w2 : f32[21,50] = random(seed=2)\n"
     "weight w3 : f32[21,50] = random(seed=3)\n"
     "input rowv : f32[13,1]\ninput colv : f32[50]\ninput both : f32[1,1]\n"
     "input xb : f32[3,13,21]\ninput rb : f32[3,13,1]\ninput cb : f32[3,1,50]\ninput sb : f32[3,1,1]\n"
     "input x4 : f32[2,1,5,21]\ninput w4 : f32[3,21,17]\ninput r4 : f32[3,5,1]\n"
     "output a = x @ w1 * rowv\noutput b = x @ w2 - colv\noutput c = (x @ w3) / both\n"
     "output d = (xb @ w1 + rb) * cb - sb\noutput e = tanh(x4 @ w4 + r4)\n"
     "output f = (xb @ w2) * exp(both)",
     "k0_matmul+mul k1_matmul+sub k2_matmul+div k3_matmul k4_add+mul+sub k5_matmul+add+tanh "
     "k6_matmul k7_exp k8_mul",
     -1, 1, R, NULL},
    {"mm_folded_batches",
     /* batches sharing one B are rows of one product: its chain reads
      * scalars, rows of N and whole values (after two K blocks of 150);
      * [7,1,300] @ [300,50] is one 7 x 50 product */
     "input xb : f32[3,13,300]\nweight w : f32[300,50] = random(seed=1, scale=0.2)\n"
     "input colv : f32[50]\ninput full : f32[3,13,50]\ninput s : f32[]\ninput x1 : f32[7,1,300]\n"
     "input wi : f32[300,50]\n"
     "weight b : f32[1,50] = random(seed=2)\ninput rb : f32[3,13,1]\n"
     "output a = relu(xb @ w + colv) * full - s\noutput g = gelu(x1 @ wi + b)\n"
     "output c = xb @ wi * rb",
     "k0_matmul+add+relu+mul+sub k1_matmul+add+gelu k2_matmul k3_mul", -1, 1, R, NULL},
    {"mm_const_lhs",
     /* a constant on the left is packed as A; the chain reads per column */
     "input x : f32[40,19]\nweight w : f32[13,40] = random(seed=1)\ninput c : f32[19]\n"
     "input xb : f32[2,40,19]\nweight tenth : f32[] = 0.1\n"
     "output y = exp(w @ x * tenth) + c\noutput z = relu(w @ xb)",
     "k0_matmul+mul+exp+add k1_matmul+relu", -1, 1, R, NULL},
    {"mm_i32_f64",
     "input a : i32[9,257]\ninput b : i32[257,49]\ninput c : i32[49]\n"
     "weight wi : i32[257,17] = random(seed=3, scale=20)\nweight seven : i32[] = 7\nweight two : i32[] = 2\n"
     "input b2 : i32[257,49]\n"
     "output y = clip(relu(a @ b + c), max=20000)\noutput z = abs(a @ wi - seven) * two\n"
     "output d = (a @ b2) / c\n"
     "input x : f64[13,600]\nweight w : f64[600,33] = random(seed=1)\ninput r : f64[13,33]\n"
     "weight tenth : f64[] = 0.1\noutput u = tanh(x @ w * tenth + r)",
     "k0_matmul+add+relu+clip k1_matmul+sub+abs+mul k2_matmul+div k3_matmul+mul+add+tanh", -20, 20,
     F64, NULL},
    {"mm_chain_spans_other_kernels",
     /* the first chain's root runs first and its last node after the
      * matmul's chain: its value must stay where it is until read */
     "input x : f32[16,48]\nweight w : f32[48,48] = random(seed=1, scale=0.2)\ninput r : f32[16,48]\n"
     "weight one : f32[] = 1\nweight three : f32[] = 3\n"
     "a = exp(x * 0.5)\nu = x @ w\nv = relu(u) - one\nt = sigmoid(v) * three\nb = a * r\n"
     "output y = b + t\noutput z = softmax(b, axis=0)",
     "k0_mul+exp+mul k1_matmul+relu+sub+sigmoid+mul k2_add k3_softmax", -1, 1, R, NULL},
    {"mm_reads_its_input",
     /* h, computed before the matmul, is its left operand and the
      * residual added in its epilogue */
     "input x : f32[21,21]\nweight w : f32[21,21] = random(seed=1, scale=0.3)\n"
     "h = exp(x)\noutput y = relu(h @ w - h)",
     "k0_exp k1_matmul+sub+relu", -1, 1, R, NULL},
    {"mm_literals",
     /* literal constants inside the chains (see fuse_constants_created_later) */
     "input x : f32[10,30]\nweight w : f32[30,20] = random(seed=1)\n"
     "output y = relu(x @ w * 0.5 - 1) + 2\noutput z = exp(x) * 3 - 1",
     NULL, -1, 1, R, NULL},
    /* ---- convolution epilogues ---- */
    {"conv_bn_relu_residual",
     /* fold_bn, then bias + relu + residual in the tiles; batch 2 */
     "input x : f32[2,16,10,9]\n"
     "weight w1 : f32[13,16,3,3] = random(seed=1, scale=0.2)\nweight b1 : f32[13] = random(seed=2)\n"
     "weight s : f32[13] = random(seed=3)\nweight bb : f32[13] = random(seed=4)\n"
     "weight mu : f32[13] = random(seed=5)\nweight v : f32[13] = 1.5\n"
     "weight w2 : f32[13,13,3,3] = random(seed=6, scale=0.2)\n"
     "y1 = relu(batch_norm(conv2d(x, w1, b1, pad=1), s, bb, mu, v))\n"
     "output y2 = relu(batch_norm(conv2d(y1, w2, pad=1), s, bb, mu, v) + y1)",
     "k0_conv2d+relu k1_conv2d+add+relu", -1, 1, R, NULL},
    {"conv_strided_bn",
     /* 7x7 stride 2 pad 3 into 33 channels, then 3x3 stride 2 into 1;
      * v * v + 0.1 folds to a constant, so batch_norm folds too */
     "input x : f32[2,5,21,19]\n"
     "weight w : f32[33,5,7,7] = random(seed=1, scale=0.1)\n"
     "weight s : f32[33] = random(seed=3)\nweight bb : f32[33] = random(seed=4)\n"
     "weight mu : f32[33] = random(seed=5)\nweight v : f32[33] = random(seed=6)\n"
     "weight w1 : f32[1,33,3,3] = random(seed=7, scale=0.1)\nweight b1 : f32[1] = 0.25\n"
     "h = relu(batch_norm(conv2d(x, w, stride=2, pad=3), s, bb, mu, v * v + 0.1))\n"
     "output y = sigmoid(conv2d(h, w1, b1, stride=2))\noutput h",
     "k0_conv2d+relu k1_conv2d+sigmoid", -1, 1, R, NULL},
    {"conv_operand_shapes",
     /* per channel [C,1,1] and [1,C,1,1], whole [1,C,H,W] over a batch of
      * 2, [H,W], a scalar, [N,1,H,W], [N,C,1,1], [C,H,W]: fused;
      * [1,1,H,1]: not (a kernel of its own) */
     "input x : f32[2,17,6,7]\nweight wa : f32[13,17,1,1] = random(seed=1)\n"
     "weight wb : f32[13,17,1,1] = random(seed=3)\n"
     "weight w3 : f32[13,17,3,3] = random(seed=2, scale=0.3)\n"
     "input pc : f32[13,1,1]\ninput pc4 : f32[1,13,1,1]\ninput full : f32[1,13,6,7]\n"
     "input hw : f32[6,7]\ninput k : f32[]\ninput hcol : f32[1,1,6,1]\n"
     "output a = relu(conv2d(x, wa) + pc) * pc4\noutput b = (conv2d(x, wb) - full) * hw + k\n"
     "output c = conv2d(x, w3, pad=1) + hcol\n"
     "weight wd : f32[13,17,1,1] = random(seed=4)\nweight we : f32[13,17,1,1] = random(seed=5)\n"
     "input pn1 : f32[2,1,6,7]\ninput pnc : f32[2,13,1,1]\ninput chw : f32[13,6,7]\n"
     "output d = conv2d(x, wd) * pn1 + pnc\noutput e = chw - conv2d(x, we, stride=1)",
     "k0_conv2d+add+relu+mul k1_conv2d+sub+mul+add k2_conv2d k3_add k4_conv2d+mul+add "
     "k5_conv2d+sub",
     -1, 1, R, NULL},
    {"conv_not_gemm",
     /* groups > 1 and depthwise take the direct path, which applies the
      * fused chain to each finished row; weights given as an input likewise */
     "input x : f32[2,8,11,10]\nweight wg : f32[6,4,3,3] = random(seed=1, scale=0.3)\n"
     "weight wd : f32[8,1,3,3] = random(seed=2)\nweight bd : f32[8] = random(seed=3)\n"
     "weight s : f32[8] = random(seed=4)\nweight bb : f32[8] = random(seed=5)\n"
     "weight mu : f32[8] = random(seed=6)\nweight v : f32[8] = 0.5\ninput wi : f32[3,8,1,1]\n"
     "output a = relu(conv2d(x, wg, groups=2, stride=2, pad=1))\n"
     "output b = relu(batch_norm(conv2d(x, wd, bd, groups=8, pad=1), s, bb, mu, v)) + x\n"
     "output c = relu(conv2d(x, wi))",
     "k0_conv2d+relu k1_conv2d+relu+add k2_conv2d+relu", -1, 1, R, "fold,cse,fold_bn,dce,fuse"},
    /* ---- elementwise chains: flat (same shapes) and nested (broadcast) ---- */
    /* each square reads the value before it twice: as expressions the
     * chain doubles every step, so it stops at MAX_CHAIN_EXPR operations
     * (256: at the ninth square) and the next chain starts */
    /* elementwise chains only a reduction reads are computed in its loads:
     * a variance, a sum of exponentials over the first axis; a value also
     * needed elsewhere is stored */
    {"reduce_consumes_chain",
     "input x : f32[5,37]\ninput m : f32[5,1]\n"
     "d = x - m\noutput v = mean(d * d, axis=1)\n"
     "output s = sum(exp(x * 0.5), axis=0, keepdims=0)\n"
     "r = relu(x)\noutput e = r\noutput t = max(r, axis=1)\n",
     "k0_sub+mul+mean k1_mul+exp+sum k2_relu k3_max", -2, 2, R, NULL},
    /* softmax and layer_norm compute an elementwise chain they alone read
     * when its other operands are of its shape or single elements; an
     * operand broadcast along rows keeps the chain a kernel of its own */
    {"norm_consumes_chain",
     "input x : f32[6,40]\ninput t : f32[]\ninput pos : f32[6,40]\ninput bias : f32[40]\n"
     "weight g : f32[40] = random(seed=1)\nweight b : f32[40] = random(seed=2)\n"
     "output s = softmax(x / t)\noutput l = layer_norm(x + pos, g, b)\n"
     "output q = log_softmax(x * 2, axis=0)\noutput n = softmax(x + bias)\n",
     "k0_div+softmax k1_add+layer_norm k2_mul+log_softmax k3_add k4_softmax", -2, 2, R, NULL},
    /* layer normalization written out becomes layer_norm (the norm pass):
     * the opset-14 export form with gamma and beta; two trailing axes, d *
     * d, rsqrt, a gamma with a leading 1 (reshaped), a scalar shift left
     * outside; f64 with reciprocal and neither gamma nor beta. Not: d also
     * an output; a mean over a leading axis; a gamma that would broadcast
     * the result; an exponent of higher rank that broadcasts the square */
    {"norm_written_out",
     "input x : f32[6,40]\ninput x3 : f32[2,5,3,7]\ninput h : f64[4,33]\n"
     "input xn : f32[6,40]\ninput xl : f32[6,40]\ninput xa : f32[1,40]\n"
     "weight g : f32[40] = random(seed=1)\nweight b : f32[40] = random(seed=2)\n"
     "weight g3 : f32[1,3,7] = random(seed=3)\n"
     "m = mean(x, axis=1)\nd = x - m\ns = sqrt(mean(pow(d, 2), axis=1) + 1e-5)\n"
     "output y = d / s * g + b\n"
     "m3 = mean(x3, axis=[2,3])\nd3 = x3 - m3\n"
     "output y3 = 0.5 + g3 * (d3 * rsqrt(mean(d3 * d3, axis=[2,3]) + 0.001))\n"
     "mh = mean(h, axis=1)\ndh = h - mh\n"
     "output yh = dh * reciprocal(sqrt(mean(dh * dh, axis=1) + 1e-6))\n"
     "mn = mean(xn, axis=1)\ndn = xn - mn\noutput dn\n"
     "output yn = dn / sqrt(mean(dn * dn, axis=1) + 1e-5)\n"
     "ml = mean(xl, axis=0)\ndl = xl - ml\noutput yl = dl / sqrt(mean(dl * dl, axis=0) + 1e-5)\n"
     "ma = mean(xa, axis=[0,1])\nda = xa - ma\n"
     "output ya = da / sqrt(mean(da * da, axis=[0,1]) + 1e-5) * g\n"
     "input xr : f32[4,8]\nweight two : f32[1,1,1] = 2\n"
     "mr = mean(xr, axis=1)\ndr = xr - mr\n"
     "output yr = dr / sqrt(mean(pow(dr, two), axis=[1,2]) + 1e-5)\n",
     "k0_layer_norm k1_layer_norm k2_add k3_layer_norm k4_mean k5_sub k6_mul+mean k7_add+sqrt "
     "k8_div k9_mean k10_sub k11_mul+mean k12_add+sqrt k13_div k14_layer_norm k15_mul "
     "k16_mean k17_sub k18_pow+mean k19_add+sqrt k20_div",
     -2, 2, R, NULL},
    {"ew_squares",
     "input x : f32[3,70]\n"
     "a1 = x * x\na2 = a1 * a1\na3 = a2 * a2\na4 = a3 * a3\na5 = a4 * a4\n"
     "a6 = a5 * a5\na7 = a6 * a6\na8 = a7 * a7\na9 = a8 * a8\noutput y = a9 * a9 + x",
     "k0_mul+mul+mul+mul+mul+mul+mul+mul k1_mul+mul+add", -1.2, 1.2, R, NULL},
    {"ew_flat",
     "input a1 : f32[1]\ninput b1 : f32[1]\ninput a15 : f32[15]\ninput b15 : f32[15]\n"
     "input a16 : f32[16]\ninput b16 : f32[16]\ninput a17 : f32[17]\ninput b17 : f32[17]\n"
     "input a1k : f32[8,125]\ninput b1k : f32[8,125]\ninput k : f32[]\n"
     "output y1 = exp(a1) * b1 + k\noutput y15 = exp(a15) * b15 + k\noutput y16 = exp(a16) * b16 + k\n"
     "output y17 = exp(a17) * b17 + k\noutput y1k = tanh(exp(a1k) * b1k + k) - a1k",
     "k0_exp+mul+add k1_exp+mul+add k2_exp+mul+add k3_exp+mul+add k4_exp+mul+add+tanh+sub",
     -2, 2, EW, NULL},
    {"ew_nest",
     "input c : f32[4,1]\ninput a1 : f32[1]\ninput a15 : f32[15]\ninput a16 : f32[16]\n"
     "input a17 : f32[17]\ninput a1k : f32[1000]\n"
     "output y1 = sigmoid(a1 * c) - a1\noutput y15 = sigmoid(a15 * c) - a15\n"
     "output y16 = sigmoid(a16 * c) - a16\noutput y17 = sigmoid(a17 * c) - a17\n"
     "output y1k = sigmoid(a1k * c) - a1k",
     "k0_mul+sigmoid+sub k1_mul+sigmoid+sub k2_mul+sigmoid+sub k3_mul+sigmoid+sub "
     "k4_mul+sigmoid+sub",
     -2, 2, EW, NULL},
    {"ew_parallel",
     /* big enough for parallel_for: 64 x 1000 elements */
     "input a : f32[64,1000]\ninput r : f32[64,1]\ninput col : f32[1000]\ninput f : f32[64,1000]\n"
     "output y = relu(a * r + col) * f\noutput z = where(less(a, f), exp(a) - f, f * 2)",
     "k0_mul+add+relu+mul k1_less k2_exp+sub k3_mul+where", -2, 2, EW, NULL},
    {"ew_int_and_casts",
     /* a cast changes the dtype: the chain ends before it and the cast
      * starts another */
     "input a : i32[3,17]\ninput b : i32[17]\ninput x : f64[1000]\nweight five : i32[] = 5\n"
     "weight half : f32[] = 0.5\nweight one64 : f64[] = 1\nweight half64 : f64[] = 0.5\n"
     "output y = abs(a * b - five) + maximum(a, 3)\noutput z = cast(relu(a - b), f32) * half\n"
     "output u = sqrt(exp(x) + one64) - log(exp(x * 2) + one64) * half64",
     "k0_mul+sub+abs k1_maximum+add k2_sub+relu k3_cast+mul k4_exp+add+sqrt "
     "k5_mul+exp+add+log+mul+sub",
     -5, 5, F64, NULL},
    {"ew_bool_and_scalars",
     /* a comparison's bool value starts a chain of bool operators; chains
      * over scalars (rank 0) and over i64 */
     "input a : f32[3,17]\ninput b : f32[17]\ninput p : bool[3,17]\ninput q : bool[17]\n"
     "input s : f32[]\ninput t : f32[]\ninput k : i64[5,33]\ninput j : i64[33]\n"
     "output y = equal(where(less(a, b), p, q), q)\noutput z = exp(s) * t - s\n"
     "output u = maximum(k * j, j) - k",
     "k0_less+where+equal k1_exp+mul+sub k2_mul+maximum+sub", -3, 3, EW, NULL},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

START_TEST(e2e_o2) { e2e_run_threaded(&cases[_i], 2, false); }
END_TEST

START_TEST(e2e_o0) { e2e_run_threaded(&cases[_i], 0, false); }
END_TEST

/* the fused chains as the stored values of the plain nests (--no-tile) */
START_TEST(plain_nests) { e2e_run_plain(&cases[_i]); }
END_TEST

int main(void) {
  Suite *s = suite_create("fusion");
  TCase *t = tcase_create("passes");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, fold_bn_conv_without_bias);
  tcase_add_test(t, fold_bn_conv_with_bias_and_readers_after);
  tcase_add_test(t, fold_bn_depthwise);
  tcase_add_test(t, fold_bn_not_when_conv_read_twice);
  tcase_add_test(t, fold_bn_not_when_conv_is_an_output);
  tcase_add_test(t, fold_bn_not_with_non_constant_params);
  tcase_add_test(t, fold_bn_not_with_non_constant_weight_or_bias);
  tcase_add_test(t, fold_bn_not_after_other_operators);
  tcase_add_test(t, fold_bn_values_dense);
  tcase_add_test(t, fold_bn_values_dense_bias);
  tcase_add_test(t, fold_bn_values_depthwise);
  tcase_add_test(t, fold_bn_values_depthwise_bias);
  tcase_add_test(t, fold_bn_values_groups2_bias);
  tcase_add_test(t, fold_bn_values_two_in_a_row);
  tcase_add_test(t, fuse_matmul_bias_relu);
  tcase_add_test(t, fuse_follows_two_readers_that_meet);
  tcase_add_test(t, fuse_stops_at_two_readers_that_do_not_meet);
  tcase_add_test(t, fuse_chain_into_reduction);
  tcase_add_test(t, fuse_stops_at_an_output_that_is_read);
  tcase_add_test(t, fuse_stops_at_an_operand_defined_later);
  tcase_add_test(t, fuse_stops_at_a_shape_change);
  tcase_add_test(t, fuse_stops_at_a_dtype_change_after_matmul);
  tcase_add_test(t, fuse_elementwise_chain);
  tcase_add_test(t, fuse_conv_bias_relu_residual);
  tcase_add_test(t, fuse_conv_operands);
  tcase_add_test(t, fuse_conv_operand_computed_later);
  tcase_add_test(t, fuse_operand_after_both_roots);
  tcase_add_test(t, fuse_constants_created_later);
  tcase_add_test(t, default_pipeline_conv_bn_relu_residual);
  tcase_add_test(t, layout_conv_chain_on_blocks);
  tcase_add_test(t, layout_not_when_channels_do_not_block);
  suite_add_tcase(s, t);
  suite_add_tcase(s, e2e_loop_tcase("e2e", e2e_o2, e2e_o0, NCASES));
  TCase *plain = tcase_create("plain");
  tcase_set_timeout(plain, 120);
  tcase_add_loop_test(plain, plain_nests, 0, NCASES);
  suite_add_tcase(s, plain);
  return e2e_run_suite(s);
}
