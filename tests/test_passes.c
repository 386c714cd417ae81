/* Golden-text tests of the graph passes: build a graph, run one pass, and
 * compare dlc_graph_print's text with the exact expected text; then the
 * pass manager's printing, verification and error messages. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/graph.h"
#include "passes/passes.h"
#include "tests/testutil.h"

/* ---- fold -------------------------------------------------------------- */

START_TEST(fold_chain) {
  /* (w * 3 + 3) folds in one run; add(x, ...) stays. */
  float w[] = {1, 2}, three = 3;
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 1, 2), w);
  dlc_node *c = tu_cnst(tu_ty(DLC_F32, 0), &three);
  dlc_node *t = tu_op2(DLC_OP_MUL, nw, c);
  t = tu_op2(DLC_OP_ADD, t, c);
  tu_out("y", tu_op2(DLC_OP_ADD, x, t));
  tu_expect_passes("fold", "model t {\n"
                           "  input x : f32[2]\n"
                           "  weight w : f32[2]\n"
                           "  %0 = const 3 : f32[]\n"
                           "  %1 = const [3, 6] : f32[2]\n"
                           "  %2 = const [6, 9] : f32[2]\n"
                           "  %3 = add(x, %2) : f32[2]\n"
                           "  output y = %3\n"
                           "}\n");
}
END_TEST

START_TEST(fold_leaves_non_constant_parts) {
  /* relu(x) * exp(c): only exp(c) folds; an output that is itself
   * constant becomes the constant. */
  double zero = 0;
  dlc_node *x = tu_in("x", tu_ty(DLC_F64, 1, 3));
  dlc_node *c = tu_cnst(tu_ty(DLC_F64, 0), &zero);
  dlc_node *e = tu_op1(DLC_OP_EXP, c, NULL);
  tu_out("y", tu_op2(DLC_OP_MUL, tu_op1(DLC_OP_RELU, x, NULL), e));
  tu_out("k", e);
  tu_expect_passes("fold", "model t {\n"
                           "  input x : f64[3]\n"
                           "  %0 = const 0 : f64[]\n"
                           "  %1 = const 1 : f64[]\n"
                           "  %2 = relu(x) : f64[3]\n"
                           "  %3 = mul(%2, %1) : f64[3]\n"
                           "  output y = %3\n"
                           "  output k = %1\n"
                           "}\n");
}
END_TEST

START_TEST(fold_data_movement_and_ints) {
  /* transpose of a weight, then an integer division with the C rules. */
  int32_t w[] = {7, -7, 5, 1, 2, 3}, dv[] = {2, 0};
  tu_in("x", tu_ty(DLC_I32, 1, 2));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_I32, 2, 3, 2), w);
  dlc_node *t = tu_op1(DLC_OP_TRANSPOSE, nw, NULL); /* [[7,5,2],[-7,1,3]] */
  dlc_node *d = tu_cnst(tu_ty(DLC_I32, 2, 2, 1), dv);
  tu_out("q", tu_op2(DLC_OP_DIV, t, d));
  tu_expect_passes("fold,dce", "model t {\n"
                               "  input x : i32[2]\n"
                               "  %0 = const [3, 2, 1, 0, 0, 0] : i32[2,3]\n"
                               "  output q = %0\n"
                               "}\n");
}
END_TEST

/* ---- cse --------------------------------------------------------------- */

/* mean, x - mean, pow 2, mean, + eps, sqrt, div, * gamma, + beta (ONNX
 * opset 14's LayerNormalization) becomes one layer_norm in place of the
 * last add; the pieces it no longer needs are left to dce */
START_TEST(norm_recognizes_layer_norm) {
  static const float two = 2, eps = 1e-3f, g[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  int64_t ax[] = {1};
  dlc_attrs mean = {.nints = 1, .ints = ax, .keepdims = true};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *m = tu_op1(DLC_OP_MEAN, x, &mean);
  dlc_node *d = tu_op2(DLC_OP_SUB, x, m);
  dlc_node *v = tu_op1(DLC_OP_MEAN, tu_op2(DLC_OP_POW, d, tu_cnst(tu_ty(DLC_F32, 0), &two)), &mean);
  dlc_node *s = tu_op1(DLC_OP_SQRT, tu_op2(DLC_OP_ADD, v, tu_cnst(tu_ty(DLC_F32, 0), &eps)), NULL);
  dlc_node *y = tu_op2(DLC_OP_MUL, tu_op2(DLC_OP_DIV, d, s), tu_weight("g", tu_ty(DLC_F32, 1, 3), g));
  tu_out("y", tu_op2(DLC_OP_ADD, tu_weight("b", tu_ty(DLC_F32, 1, 3), b), y));
  tu_expect_passes("norm", "model t {\n"
                           "  input x : f32[2,3]\n"
                           "  %0 = const 2 : f32[]\n"
                           "  %1 = const 0.001 : f32[]\n"
                           "  weight g : f32[3]\n"
                           "  weight b : f32[3]\n"
                           "  %2 = layer_norm(x, g, b, axis=1, eps=0.001) : f32[2,3]\n"
                           "  output y = %2\n"
                           "}\n");
}
END_TEST

START_TEST(cse_merges_duplicates_and_commutative_pairs) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 4));
  dlc_node *y = tu_in("y", tu_ty(DLC_F32, 1, 4));
  dlc_node *a = tu_op2(DLC_OP_ADD, x, y);
  dlc_node *b = tu_op2(DLC_OP_ADD, y, x); /* commutative: same as a */
  dlc_node *c = tu_op2(DLC_OP_SUB, x, y);
  dlc_node *d = tu_op2(DLC_OP_SUB, y, x); /* not commutative: stays */
  dlc_node *e = tu_op2(DLC_OP_SUB, x, y); /* same as c */
  dlc_node *p = tu_op2(DLC_OP_MUL, a, c);
  dlc_node *q = tu_op2(DLC_OP_MUL, e, b); /* same as p once b, e merge */
  tu_out("p", p);
  tu_out("q", q);
  tu_out("d", d);
  tu_expect_passes("cse", "model t {\n"
                          "  input x : f32[4]\n"
                          "  input y : f32[4]\n"
                          "  %0 = add(x, y) : f32[4]\n"
                          "  %1 = sub(x, y) : f32[4]\n"
                          "  %2 = sub(y, x) : f32[4]\n"
                          "  %3 = mul(%0, %1) : f32[4]\n"
                          "  output p = %3\n"
                          "  output q = %3\n"
                          "  output d = %2\n"
                          "}\n");
}
END_TEST

START_TEST(cse_respects_attributes) {
  /* softmax axis 0 and 1 differ; axis -1 is axis 1 after the shape rule.
   * transposes with different perms differ; reshapes to the same shape
   * (one written with -1) are the same. */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  dlc_attrs a0 = {.axis = 0}, a1 = {.axis = 1}, am1 = {.axis = -1};
  tu_out("s0", tu_op1(DLC_OP_SOFTMAX, x, &a0));
  tu_out("s1", tu_op1(DLC_OP_SOFTMAX, x, &a1));
  tu_out("s2", tu_op1(DLC_OP_SOFTMAX, x, &am1));
  int64_t r1[] = {3, 2}, r2[] = {-1, 2}, r3[] = {6};
  dlc_attrs ra = {.nints = 2, .ints = r1}, rb = {.nints = 2, .ints = r2},
            rc = {.nints = 1, .ints = r3};
  tu_out("r1", tu_op1(DLC_OP_RESHAPE, x, &ra));
  tu_out("r2", tu_op1(DLC_OP_RESHAPE, x, &rb));
  tu_out("r3", tu_op1(DLC_OP_RESHAPE, x, &rc));
  dlc_node *x3 = tu_in("x3", tu_ty(DLC_F32, 3, 2, 2, 2));
  int64_t p1[] = {1, 0, 2}, p2[] = {0, 2, 1};
  dlc_attrs pa = {.nints = 3, .ints = p1}, pb = {.nints = 3, .ints = p2};
  tu_out("t1", tu_op1(DLC_OP_TRANSPOSE, x3, &pa));
  tu_out("t2", tu_op1(DLC_OP_TRANSPOSE, x3, &pb));
  tu_expect_passes("cse", "model t {\n"
                          "  input x : f32[2,3]\n"
                          "  %0 = softmax(x, axis=0) : f32[2,3]\n"
                          "  %1 = softmax(x, axis=1) : f32[2,3]\n"
                          "  %2 = reshape(x, shape=[3,2]) : f32[3,2]\n"
                          "  %3 = reshape(x, shape=[6]) : f32[6]\n"
                          "  input x3 : f32[2,2,2]\n"
                          "  %4 = transpose(x3, perm=[1,0,2]) : f32[2,2,2]\n"
                          "  %5 = transpose(x3, perm=[0,2,1]) : f32[2,2,2]\n"
                          "  output s0 = %0\n"
                          "  output s1 = %1\n"
                          "  output s2 = %1\n"
                          "  output r1 = %2\n"
                          "  output r2 = %2\n"
                          "  output r3 = %3\n"
                          "  output t1 = %4\n"
                          "  output t2 = %5\n"
                          "}\n");
}
END_TEST

START_TEST(cse_constants_but_not_inputs_or_weights) {
  /* Equal constants merge (same type and bytes); a constant with the same
   * bytes but another shape does not; inputs and weights never merge. */
  float v[] = {1, 2}, v2[] = {1, 2}, other[] = {1, 3};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  dlc_node *x2 = tu_in("x2", tu_ty(DLC_F32, 1, 2));
  dlc_node *w1 = tu_weight("w1", tu_ty(DLC_F32, 1, 2), v);
  dlc_node *w2 = tu_weight("w2", tu_ty(DLC_F32, 1, 2), v);
  dlc_node *c1 = tu_cnst(tu_ty(DLC_F32, 1, 2), v);
  dlc_node *c2 = tu_cnst(tu_ty(DLC_F32, 1, 2), v2);
  dlc_node *c3 = tu_cnst(tu_ty(DLC_F32, 1, 2), other);
  dlc_node *c4 = tu_cnst(tu_ty(DLC_F32, 2, 1, 2), v);
  tu_out("a", tu_op2(DLC_OP_ADD, x, c1));
  tu_out("b", tu_op2(DLC_OP_ADD, c2, x)); /* merges with a */
  tu_out("c", tu_op2(DLC_OP_ADD, x2, c3));
  tu_out("d", tu_op2(DLC_OP_ADD, w1, w2));
  tu_out("e", c4);
  tu_expect_passes("cse", "model t {\n"
                          "  input x : f32[2]\n"
                          "  input x2 : f32[2]\n"
                          "  weight w1 : f32[2]\n"
                          "  weight w2 : f32[2]\n"
                          "  %0 = const [1, 2] : f32[2]\n"
                          "  %1 = const [1, 3] : f32[2]\n"
                          "  %2 = const [1, 2] : f32[1,2]\n"
                          "  %3 = add(x, %0) : f32[2]\n"
                          "  %4 = add(x2, %1) : f32[2]\n"
                          "  %5 = add(w1, w2) : f32[2]\n"
                          "  output a = %3\n"
                          "  output b = %3\n"
                          "  output c = %4\n"
                          "  output d = %5\n"
                          "  output e = %2\n"
                          "}\n");
}
END_TEST

START_TEST(cse_many_nodes) {
  /* 2000 copies of the same chain collapse into one (the hash table must
   * grow with the graph, and the result stays in order). */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 3));
  dlc_node *last = NULL;
  for (int i = 0; i < 2000; i++) {
    dlc_node *n = tu_op1(DLC_OP_EXP, x, NULL);
    n = tu_op2(DLC_OP_MUL, n, x);
    last = tu_op2(DLC_OP_ADD, last ? last : n, n);
  }
  tu_out("y", last);
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, "cse,dce", &o, tu_fx.sink.d),
                   DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  /* x, exp, mul, the first add(n, n), and 1999 adds of (last, n) */
  ck_assert_int_eq(tu_fx.g->nnodes, 4 + 1999);
}
END_TEST

/* ---- dce --------------------------------------------------------------- */

START_TEST(dce_removes_dead_branches_keeps_inputs) {
  float w[] = {1, 2};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  tu_in("unused", tu_ty(DLC_I64, 2, 2, 2));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 1, 2), w);
  tu_weight("dead_w", tu_ty(DLC_F32, 1, 2), w);
  dlc_node *t = tu_op1(DLC_OP_TANH, x, NULL);
  dlc_node *dead = tu_op2(DLC_OP_MUL, t, nw); /* used only by a dead node */
  tu_op1(DLC_OP_NEG, dead, NULL);
  tu_out("y", tu_op2(DLC_OP_ADD, t, nw));
  tu_expect_passes("dce", "model t {\n"
                          "  input x : f32[2]\n"
                          "  input unused : i64[2,2]\n"
                          "  weight w : f32[2]\n"
                          "  %0 = tanh(x) : f32[2]\n"
                          "  %1 = add(%0, w) : f32[2]\n"
                          "  output y = %1\n"
                          "}\n");
}
END_TEST

/* ---- the pipeline ------------------------------------------------------- */

/* relu(x + (c + c)) with a duplicate of the whole thing. */
static void pipeline_graph(void) {
  float one = 1;
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  dlc_node *c = tu_cnst(tu_ty(DLC_F32, 0), &one);
  dlc_node *k = tu_op2(DLC_OP_ADD, c, c);
  dlc_node *a = tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_ADD, x, k), NULL);
  dlc_node *b = tu_op1(DLC_OP_RELU, tu_op2(DLC_OP_ADD, k, x), NULL);
  tu_out("y", tu_op2(DLC_OP_MUL, a, b));
}

static char *run_printing(const char *pipeline, dlc_pass_options o) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  o.print_out = f;
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, pipeline, &o, tu_fx.sink.d), DLC_OK);
  fclose(f);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  return buf;
}

START_TEST(print_after_all) {
  pipeline_graph();
  char *text = run_printing(NULL, (dlc_pass_options){.print_after_all = true,
                                                     .verify_each = true});
  ck_assert_str_eq(text, "// -- graph after fold --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 1 : f32[]\n"
                         "  %1 = const 2 : f32[]\n"
                         "  %2 = add(x, %1) : f32[2]\n"
                         "  %3 = relu(%2) : f32[2]\n"
                         "  %4 = add(%1, x) : f32[2]\n"
                         "  %5 = relu(%4) : f32[2]\n"
                         "  %6 = mul(%3, %5) : f32[2]\n"
                         "  output y = %6\n"
                         "}\n"
                         "// -- graph after cse --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 1 : f32[]\n"
                         "  %1 = const 2 : f32[]\n"
                         "  %2 = add(x, %1) : f32[2]\n"
                         "  %3 = relu(%2) : f32[2]\n"
                         "  %4 = mul(%3, %3) : f32[2]\n"
                         "  output y = %4\n"
                         "}\n"
                         "// -- graph after norm --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 1 : f32[]\n"
                         "  %1 = const 2 : f32[]\n"
                         "  %2 = add(x, %1) : f32[2]\n"
                         "  %3 = relu(%2) : f32[2]\n"
                         "  %4 = mul(%3, %3) : f32[2]\n"
                         "  output y = %4\n"
                         "}\n"
                         "// -- graph after fold_bn --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 1 : f32[]\n"
                         "  %1 = const 2 : f32[]\n"
                         "  %2 = add(x, %1) : f32[2]\n"
                         "  %3 = relu(%2) : f32[2]\n"
                         "  %4 = mul(%3, %3) : f32[2]\n"
                         "  output y = %4\n"
                         "}\n"
                         "// -- graph after layout --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 1 : f32[]\n"
                         "  %1 = const 2 : f32[]\n"
                         "  %2 = add(x, %1) : f32[2]\n"
                         "  %3 = relu(%2) : f32[2]\n"
                         "  %4 = mul(%3, %3) : f32[2]\n"
                         "  output y = %4\n"
                         "}\n"
                         "// -- graph after dce --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 2 : f32[]\n"
                         "  %1 = add(x, %0) : f32[2]\n"
                         "  %2 = relu(%1) : f32[2]\n"
                         "  %3 = mul(%2, %2) : f32[2]\n"
                         "  output y = %3\n"
                         "}\n"
                         "// -- graph after fuse --\n"
                         "model t {\n"
                         "  input x : f32[2]\n"
                         "  %0 = const 2 : f32[]\n"
                         "  %1 = add(x, %0) : f32[2]\n"
                         "  %2 = relu(%1) : f32[2]  ; fused into %1\n"
                         "  %3 = mul(%2, %2) : f32[2]  ; fused into %1\n"
                         "  output y = %3\n"
                         "}\n");
  free(text);
}
END_TEST

START_TEST(print_after_one_pass) {
  pipeline_graph();
  char *text = run_printing("fold, cse,dce,cse",
                            (dlc_pass_options){.print_after = "cse"});
  /* printed after both runs of cse, and not after the others */
  const char *after_cse1 = "// -- graph after cse --\n"
                           "model t {\n"
                           "  input x : f32[2]\n"
                           "  %0 = const 1 : f32[]\n"
                           "  %1 = const 2 : f32[]\n"
                           "  %2 = add(x, %1) : f32[2]\n"
                           "  %3 = relu(%2) : f32[2]\n"
                           "  %4 = mul(%3, %3) : f32[2]\n"
                           "  output y = %4\n"
                           "}\n";
  const char *after_cse2 = "// -- graph after cse --\n"
                           "model t {\n"
                           "  input x : f32[2]\n"
                           "  %0 = const 2 : f32[]\n"
                           "  %1 = add(x, %0) : f32[2]\n"
                           "  %2 = relu(%1) : f32[2]\n"
                           "  %3 = mul(%2, %2) : f32[2]\n"
                           "  output y = %3\n"
                           "}\n";
  char *want = NULL;
  ck_assert_int_ge(asprintf(&want, "%s%s", after_cse1, after_cse2), 0);
  ck_assert_str_eq(text, want);
  free(want);
  free(text);
}
END_TEST

START_TEST(default_pipeline_and_empty) {
  pipeline_graph();
  tu_expect_passes("", "model t {\n"
                       "  input x : f32[2]\n"
                       "  %0 = const 1 : f32[]\n"
                       "  %1 = add(%0, %0) : f32[]\n"
                       "  %2 = add(x, %1) : f32[2]\n"
                       "  %3 = relu(%2) : f32[2]\n"
                       "  %4 = add(%1, x) : f32[2]\n"
                       "  %5 = relu(%4) : f32[2]\n"
                       "  %6 = mul(%3, %5) : f32[2]\n"
                       "  output y = %6\n"
                       "}\n");
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, NULL, NULL, tu_fx.sink.d), DLC_OK);
  char *got = tu_graph_text(tu_fx.g);
  ck_assert_str_eq(got, "model t {\n"
                        "  input x : f32[2]\n"
                        "  %0 = const 2 : f32[]\n"
                        "  %1 = add(x, %0) : f32[2]\n"
                        "  %2 = relu(%1) : f32[2]  ; fused into %1\n"
                        "  %3 = mul(%2, %2) : f32[2]  ; fused into %1\n"
                        "  output y = %3\n"
                        "}\n");
  free(got);
}
END_TEST

START_TEST(passes_keep_values) {
  /* The default pipeline does not change what the graph computes. */
  pipeline_graph();
  float x[] = {-5, 0.5f};
  const void *ins[1] = {x};
  void *before[1], *after[1];
  ck_assert_int_eq(dlc_eval_graph(tu_fx.g, ins, before, tu_fx.sink.d), DLC_OK);
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, NULL, NULL, tu_fx.sink.d), DLC_OK);
  ck_assert_int_eq(dlc_eval_graph(tu_fx.g, ins, after, tu_fx.sink.d), DLC_OK);
  float want[] = {0, 6.25f};
  tu_assert_close("before", DLC_F32, before[0], want, 2, 0, 0);
  tu_assert_close("after", DLC_F32, after[0], want, 2, 0, 0);
  free(before[0]);
  free(after[0]);
}
END_TEST

START_TEST(unknown_pass_in_pipeline) {
  pipeline_graph();
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, "fold,sce,dce", NULL, tu_fx.sink.d),
                   DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: unknown pass 'sce' in the pipeline (known passes: "
                   "fold, cse, dce, norm, fold_bn, layout, fuse)\n");
  /* nothing ran: the constant add is still there */
  ck_assert_int_eq(tu_fx.g->nnodes, 8);
}
END_TEST

START_TEST(unknown_print_after_pass) {
  pipeline_graph();
  dlc_pass_options o = {.print_after = "fusion"};
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, "fold", &o, tu_fx.sink.d),
                   DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: unknown pass 'fusion' for --print-after (known "
                   "passes: fold, cse, dce, norm, fold_bn, layout, fuse)\n");
}
END_TEST

START_TEST(verifier_failure_names_the_pass) {
  /* A graph broken before the pipeline stays broken after dce. */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 2));
  dlc_node *n = tu_op1(DLC_OP_EXP, x, NULL);
  tu_out("y", n);
  n->type.dims[0] = 3;
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, "dce,cse", &o, tu_fx.sink.d),
                   DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: internal: graph verifier: exp: type disagrees with "
                   "the shape rule\n"
                   "error: internal: the graph is invalid after pass 'dce'\n");
}
END_TEST

START_TEST(pass_table) {
  ck_assert(dlc_pass_exists("fold"));
  ck_assert(dlc_pass_exists("cse"));
  ck_assert(dlc_pass_exists("dce"));
  ck_assert(!dlc_pass_exists("fol"));
  ck_assert(!dlc_pass_exists(""));
  ck_assert(!dlc_pass_exists(NULL));
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dlc_pass_list(f);
  fclose(f);
  ck_assert_str_eq(buf,
                   "  fold     constant folding: evaluate operators on constants\n"
                   "  cse      common subexpression elimination: merge equal nodes\n"
                   "  dce      dead code elimination: drop nodes no output needs\n"
                   "  norm     recognize layer_norm written out (mean, variance, scale, shift)\n"
                   "  fold_bn  fold batch_norm into the convolution before it\n"
                   "  layout   blocked channels (NCHWc) for convolutions; layout changes cancelled\n"
                   "  fuse     fuse elementwise chains into their producer's kernel\n");
  free(buf);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("passes");
  TCase *t = tcase_create("passes");
  tcase_add_checked_fixture(t, tu_fx_setup, tu_fx_teardown);
  tcase_add_test(t, fold_chain);
  tcase_add_test(t, fold_leaves_non_constant_parts);
  tcase_add_test(t, fold_data_movement_and_ints);
  tcase_add_test(t, norm_recognizes_layer_norm);
  tcase_add_test(t, cse_merges_duplicates_and_commutative_pairs);
  tcase_add_test(t, cse_respects_attributes);
  tcase_add_test(t, cse_constants_but_not_inputs_or_weights);
  tcase_add_test(t, cse_many_nodes);
  tcase_add_test(t, dce_removes_dead_branches_keeps_inputs);
  tcase_add_test(t, print_after_all);
  tcase_add_test(t, print_after_one_pass);
  tcase_add_test(t, default_pipeline_and_empty);
  tcase_add_test(t, passes_keep_values);
  tcase_add_test(t, unknown_pass_in_pipeline);
  tcase_add_test(t, unknown_print_after_pass);
  tcase_add_test(t, verifier_failure_names_the_pass);
  tcase_add_test(t, pass_table);
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
