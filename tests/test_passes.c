/* Golden-text tests of the graph passes: build a graph, run one pass, and
 * compare dlc_graph_print's text with the exact expected text; then the
 * pass manager's printing, verification and error messages. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/graph.h"
#include "passes/passes.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static dlc_type ty(dlc_dtype dt, int rank, ...) {
  dlc_type t = {.dtype = dt, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++)
    t.dims[i] = va_arg(ap, int);
  va_end(ap);
  return t;
}

static tu_sink sink;
static dlc_graph *g;

static void setup(void) {
  tu_sink_open(&sink);
  g = dlc_graph_new("t");
}

static void teardown(void) {
  dlc_graph_free(g);
  g = NULL;
  tu_sink_close(&sink);
}

static dlc_node *in(const char *name, dlc_type t) {
  return dlc_graph_add_input(g, name, &t, dlc_noloc());
}

static dlc_node *weight(const char *name, dlc_type t, const void *data) {
  return dlc_graph_add_weight(g, name, &t, data, dlc_noloc());
}

static dlc_node *cnst(dlc_type t, const void *data) {
  return dlc_graph_add_const(g, &t, data, dlc_noloc());
}

static dlc_node *op1(dlc_op op, dlc_node *a, const dlc_attrs *at) {
  dlc_node *n = dlc_graph_build(g, op, dlc_noloc(), 1, &a, at, sink.d);
  ck_assert_msg(n != NULL, "%s", tu_sink_text(&sink));
  return n;
}

static dlc_node *op2(dlc_op op, dlc_node *a, dlc_node *b) {
  dlc_node *ab[2] = {a, b};
  dlc_node *n = dlc_graph_build(g, op, dlc_noloc(), 2, ab, NULL, sink.d);
  ck_assert_msg(n != NULL, "%s", tu_sink_text(&sink));
  return n;
}

static void out(const char *name, dlc_node *n) {
  dlc_graph_add_output(g, name, n, dlc_noloc());
}

static char *print_graph(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dlc_graph_print(g, f);
  fclose(f);
  return buf;
}

/* Runs the pipeline with the verifier on and checks the printed graph. */
static void run_expect(const char *pipeline, const char *want) {
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(g, pipeline, &o, sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&sink), "");
  char *got = print_graph();
  ck_assert_str_eq(got, want);
  free(got);
}

/* ---- fold -------------------------------------------------------------- */

START_TEST(fold_chain) {
  /* (w * 3 + 3) folds in one run; add(x, ...) stays. */
  float w[] = {1, 2}, three = 3;
  dlc_node *x = in("x", ty(DLC_F32, 1, 2));
  dlc_node *nw = weight("w", ty(DLC_F32, 1, 2), w);
  dlc_node *c = cnst(ty(DLC_F32, 0), &three);
  dlc_node *t = op2(DLC_OP_MUL, nw, c);
  t = op2(DLC_OP_ADD, t, c);
  out("y", op2(DLC_OP_ADD, x, t));
  run_expect("fold", "model t {\n"
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
  dlc_node *x = in("x", ty(DLC_F64, 1, 3));
  dlc_node *c = cnst(ty(DLC_F64, 0), &zero);
  dlc_node *e = op1(DLC_OP_EXP, c, NULL);
  out("y", op2(DLC_OP_MUL, op1(DLC_OP_RELU, x, NULL), e));
  out("k", e);
  run_expect("fold", "model t {\n"
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
  in("x", ty(DLC_I32, 1, 2));
  dlc_node *nw = weight("w", ty(DLC_I32, 2, 3, 2), w);
  dlc_node *t = op1(DLC_OP_TRANSPOSE, nw, NULL); /* [[7,5,2],[-7,1,3]] */
  dlc_node *d = cnst(ty(DLC_I32, 2, 2, 1), dv);
  out("q", op2(DLC_OP_DIV, t, d));
  run_expect("fold,dce", "model t {\n"
                         "  input x : i32[2]\n"
                         "  %0 = const [3, 2, 1, 0, 0, 0] : i32[2,3]\n"
                         "  output q = %0\n"
                         "}\n");
}
END_TEST

/* ---- cse --------------------------------------------------------------- */

START_TEST(cse_merges_duplicates_and_commutative_pairs) {
  dlc_node *x = in("x", ty(DLC_F32, 1, 4));
  dlc_node *y = in("y", ty(DLC_F32, 1, 4));
  dlc_node *a = op2(DLC_OP_ADD, x, y);
  dlc_node *b = op2(DLC_OP_ADD, y, x); /* commutative: same as a */
  dlc_node *c = op2(DLC_OP_SUB, x, y);
  dlc_node *d = op2(DLC_OP_SUB, y, x); /* not commutative: stays */
  dlc_node *e = op2(DLC_OP_SUB, x, y); /* same as c */
  dlc_node *p = op2(DLC_OP_MUL, a, c);
  dlc_node *q = op2(DLC_OP_MUL, e, b); /* same as p once b, e merge */
  out("p", p);
  out("q", q);
  out("d", d);
  run_expect("cse", "model t {\n"
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
  dlc_node *x = in("x", ty(DLC_F32, 2, 2, 3));
  dlc_attrs a0 = {.axis = 0}, a1 = {.axis = 1}, am1 = {.axis = -1};
  out("s0", op1(DLC_OP_SOFTMAX, x, &a0));
  out("s1", op1(DLC_OP_SOFTMAX, x, &a1));
  out("s2", op1(DLC_OP_SOFTMAX, x, &am1));
  int64_t r1[] = {3, 2}, r2[] = {-1, 2}, r3[] = {6};
  dlc_attrs ra = {.nints = 2, .ints = r1}, rb = {.nints = 2, .ints = r2},
            rc = {.nints = 1, .ints = r3};
  out("r1", op1(DLC_OP_RESHAPE, x, &ra));
  out("r2", op1(DLC_OP_RESHAPE, x, &rb));
  out("r3", op1(DLC_OP_RESHAPE, x, &rc));
  dlc_node *x3 = in("x3", ty(DLC_F32, 3, 2, 2, 2));
  int64_t p1[] = {1, 0, 2}, p2[] = {0, 2, 1};
  dlc_attrs pa = {.nints = 3, .ints = p1}, pb = {.nints = 3, .ints = p2};
  out("t1", op1(DLC_OP_TRANSPOSE, x3, &pa));
  out("t2", op1(DLC_OP_TRANSPOSE, x3, &pb));
  run_expect("cse", "model t {\n"
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
  dlc_node *x = in("x", ty(DLC_F32, 1, 2));
  dlc_node *x2 = in("x2", ty(DLC_F32, 1, 2));
  dlc_node *w1 = weight("w1", ty(DLC_F32, 1, 2), v);
  dlc_node *w2 = weight("w2", ty(DLC_F32, 1, 2), v);
  dlc_node *c1 = cnst(ty(DLC_F32, 1, 2), v);
  dlc_node *c2 = cnst(ty(DLC_F32, 1, 2), v2);
  dlc_node *c3 = cnst(ty(DLC_F32, 1, 2), other);
  dlc_node *c4 = cnst(ty(DLC_F32, 2, 1, 2), v);
  out("a", op2(DLC_OP_ADD, x, c1));
  out("b", op2(DLC_OP_ADD, c2, x)); /* merges with a */
  out("c", op2(DLC_OP_ADD, x2, c3));
  out("d", op2(DLC_OP_ADD, w1, w2));
  out("e", c4);
  run_expect("cse", "model t {\n"
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
  dlc_node *x = in("x", ty(DLC_F32, 1, 3));
  dlc_node *last = NULL;
  for (int i = 0; i < 2000; i++) {
    dlc_node *n = op1(DLC_OP_EXP, x, NULL);
    n = op2(DLC_OP_MUL, n, x);
    last = op2(DLC_OP_ADD, last ? last : n, n);
  }
  out("y", last);
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(g, "cse,dce", &o, sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&sink), "");
  /* x, exp, mul, the first add(n, n), and 1999 adds of (last, n) */
  ck_assert_int_eq(g->nnodes, 4 + 1999);
}
END_TEST

/* ---- dce --------------------------------------------------------------- */

START_TEST(dce_removes_dead_branches_keeps_inputs) {
  float w[] = {1, 2};
  dlc_node *x = in("x", ty(DLC_F32, 1, 2));
  in("unused", ty(DLC_I64, 2, 2, 2));
  dlc_node *nw = weight("w", ty(DLC_F32, 1, 2), w);
  weight("dead_w", ty(DLC_F32, 1, 2), w);
  dlc_node *t = op1(DLC_OP_TANH, x, NULL);
  dlc_node *dead = op2(DLC_OP_MUL, t, nw); /* used only by a dead node */
  op1(DLC_OP_NEG, dead, NULL);
  out("y", op2(DLC_OP_ADD, t, nw));
  run_expect("dce", "model t {\n"
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
  dlc_node *x = in("x", ty(DLC_F32, 1, 2));
  dlc_node *c = cnst(ty(DLC_F32, 0), &one);
  dlc_node *k = op2(DLC_OP_ADD, c, c);
  dlc_node *a = op1(DLC_OP_RELU, op2(DLC_OP_ADD, x, k), NULL);
  dlc_node *b = op1(DLC_OP_RELU, op2(DLC_OP_ADD, k, x), NULL);
  out("y", op2(DLC_OP_MUL, a, b));
}

static char *run_printing(const char *pipeline, dlc_pass_options o) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  o.print_out = f;
  ck_assert_int_eq(dlc_run_passes(g, pipeline, &o, sink.d), DLC_OK);
  fclose(f);
  ck_assert_str_eq(tu_sink_text(&sink), "");
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
  run_expect("", "model t {\n"
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
  ck_assert_int_eq(dlc_run_passes(g, NULL, NULL, sink.d), DLC_OK);
  char *got = print_graph();
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
  ck_assert_int_eq(dlc_eval_graph(g, ins, before, sink.d), DLC_OK);
  ck_assert_int_eq(dlc_run_passes(g, NULL, NULL, sink.d), DLC_OK);
  ck_assert_int_eq(dlc_eval_graph(g, ins, after, sink.d), DLC_OK);
  float want[] = {0, 6.25f};
  tu_assert_close("before", DLC_F32, before[0], want, 2, 0, 0);
  tu_assert_close("after", DLC_F32, after[0], want, 2, 0, 0);
  free(before[0]);
  free(after[0]);
}
END_TEST

START_TEST(unknown_pass_in_pipeline) {
  pipeline_graph();
  ck_assert_int_eq(dlc_run_passes(g, "fold,sce,dce", NULL, sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&sink),
                   "error: unknown pass 'sce' in the pipeline (known passes: "
                   "fold, cse, dce, fold_bn, fuse)\n");
  /* nothing ran: the constant add is still there */
  ck_assert_int_eq(g->nnodes, 8);
}
END_TEST

START_TEST(unknown_print_after_pass) {
  pipeline_graph();
  dlc_pass_options o = {.print_after = "fusion"};
  ck_assert_int_eq(dlc_run_passes(g, "fold", &o, sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&sink),
                   "error: unknown pass 'fusion' for --print-after (known "
                   "passes: fold, cse, dce, fold_bn, fuse)\n");
}
END_TEST

START_TEST(verifier_failure_names_the_pass) {
  /* A graph broken before the pipeline stays broken after dce. */
  dlc_node *x = in("x", ty(DLC_F32, 1, 2));
  dlc_node *n = op1(DLC_OP_EXP, x, NULL);
  out("y", n);
  n->type.dims[0] = 3;
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(g, "dce,cse", &o, sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&sink),
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
                   "  fold_bn  fold batch_norm into the convolution before it\n"
                   "  fuse     fuse elementwise chains into their producer's kernel\n");
  free(buf);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("passes");
  TCase *t = tcase_create("passes");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, fold_chain);
  tcase_add_test(t, fold_leaves_non_constant_parts);
  tcase_add_test(t, fold_data_movement_and_ints);
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
