/* The loop IR and the lowering to it (passes/lower_loops.c): the printed
 * module of a small network compared with the exact expected text, the
 * workspace plan (slots reused by lifetime, never while still live), copy
 * kernels for outputs that are not computed in place, and the loop
 * verifier's message for each hand-broken module. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/loop.h"
#include "passes/lower.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static dlc_lmodule *m;

static void setup(void) {
  tu_fx_setup();
  m = NULL;
}

static void teardown(void) {
  dlc_lmodule_free(m);
  m = NULL;
  tu_fx_teardown();
}

static char *print_module(const dlc_lmodule *mod) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dlc_lmodule_print(mod, f);
  fclose(f);
  /* a copy: GCC's -Wdangling-pointer takes pointers into the stream's
   * buffer for pointers to the local `buf` */
  char *text = strdup(buf);
  free(buf);
  return text;
}

/* Compares printed text with the expected text. Check cannot carry a whole
 * module in a failure message, so a mismatch names the first differing
 * line and the full text goes to stderr. */
static void expect_text(const char *got, const char *want) {
  if (strcmp(got, want) == 0)
    return;
  fprintf(stderr, "---- got ----\n%s---- end ----\n", got);
  int line = 1;
  const char *g1 = got, *w1 = want;
  while (*g1 && *g1 == *w1) {
    if (*g1 == '\n') {
      line++;
      got = g1 + 1;
      want = w1 + 1;
    }
    g1++;
    w1++;
  }
  int gl = (int)strcspn(got, "\n"), wl = (int)strcspn(want, "\n");
  ck_abort_msg("text differs at line %d:\n  got:  %.*s\n  want: %.*s", line,
               gl > 200 ? 200 : gl, got, wl > 200 ? 200 : wl, want);
}

/* Lowers tu_fx.g into m, tiles its matrix products and places its
 * temporaries (the tile and plan passes; the loop kinds stay as lowering
 * and tile proposed them); m must verify, with no diagnostics. */
static void lower(void) {
  ck_assert_int_eq(dlc_graph_verify(tu_fx.g, tu_fx.sink.d), DLC_OK);
  m = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_msg(m != NULL, "%s", tu_sink_text(&tu_fx.sink));
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  dlc_loop_pass_tile(m);
  dlc_loop_pass_plan(m);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
}

static dlc_kernel *kernel(const char *name) {
  for (int i = 0; i < m->nkernels; i++)
    if (strcmp(m->kernels[i]->name, name) == 0)
      return m->kernels[i];
  ck_abort_msg("no kernel %s", name);
  return NULL;
}

static dlc_lbuf *buf(const char *name) {
  for (int i = 0; i < m->nbufs; i++)
    if (strcmp(m->bufs[i]->name, name) == 0)
      return m->bufs[i];
  ck_abort_msg("no buffer %s", name);
  return NULL;
}

static bool is_param(const dlc_kernel *k, const dlc_lbuf *b) {
  for (int i = 0; i < k->nparams; i++)
    if (k->params[i] == b)
      return true;
  return false;
}

static int64_t align64(int64_t v) { return (v + 63) / 64 * 64; }

/* The lifetime of every temp, from the kernel order: written first by
 * kernel def, read last by kernel last (params[0] is what a kernel writes).
 * Temps whose lifetimes overlap must not share bytes, except a value
 * written in place over an operand whose last reader is its own kernel
 * (same slot); each must lie in the workspace. Returns the number of temps. */
static int check_no_live_overlap(void) {
  int n = m->nbufs;
  int *def = calloc((size_t)n, sizeof *def);
  int *last = calloc((size_t)n, sizeof *last);
  for (int b = 0; b < n; b++)
    def[b] = last[b] = -1;
  for (int k = 0; k < m->nkernels; k++) {
    const dlc_kernel *kk = m->kernels[k];
    for (int p = 0; p < kk->nparams; p++) {
      int id = kk->params[p]->id;
      if (def[id] < 0)
        def[id] = k;
      last[id] = k;
    }
  }
  int temps = 0;
  for (int a = 0; a < n; a++) {
    const dlc_lbuf *A = m->bufs[a];
    if (A->kind != DLC_BUF_TEMP)
      continue;
    temps++;
    ck_assert_int_ge(def[a], 0);
    ck_assert_msg(m->kernels[def[a]]->params[0] == A,
                  "temp %s read before it is written", A->name);
    ck_assert_int_ge(A->offset, 0);
    ck_assert_int_eq(A->offset % 64, 0);
    ck_assert_int_le(A->offset + (int64_t)dlc_type_bytes(&A->type),
                     m->workspace_size);
    for (int b = a + 1; b < n; b++) {
      const dlc_lbuf *B = m->bufs[b];
      if (B->kind != DLC_BUF_TEMP)
        continue;
      bool live_together = def[a] <= last[b] && def[b] <= last[a];
      bool bytes_overlap =
          A->offset < B->offset + (int64_t)dlc_type_bytes(&B->type) &&
          B->offset < A->offset + (int64_t)dlc_type_bytes(&A->type);
      bool in_place = A->offset == B->offset && (last[a] == def[b] || last[b] == def[a]);
      ck_assert_msg(!(live_together && bytes_overlap) || in_place,
                    "%s (kernels %d..%d @%lld) and %s (kernels %d..%d @%lld) "
                    "share workspace while both live",
                    A->name, def[a], last[a], (long long)A->offset, B->name,
                    def[b], last[b], (long long)B->offset);
    }
  }
  free(def);
  free(last);
  return temps;
}

/* ---- golden text --------------------------------------------------------- */

/* x:f32[2,3] @ w:f32[3,4] + bias:f32[4], relu, softmax(-1), transpose. */
static void small_net(void) {
  float w[12], b[4];
  for (int i = 0; i < 12; i++)
    w[i] = (float)i;
  for (int i = 0; i < 4; i++)
    b[i] = (float)i / 2;
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 2, 3));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 2, 3, 4), w);
  dlc_node *nb = tu_weight("bias", tu_ty(DLC_F32, 1, 4), b);
  dlc_node *mm = tu_op2(DLC_OP_MATMUL, x, nw);
  dlc_node *a = tu_op2(DLC_OP_ADD, mm, nb);
  dlc_node *r = tu_op1(DLC_OP_RELU, a, NULL);
  dlc_attrs ax = {.axis = -1};
  dlc_node *s = tu_op1(DLC_OP_SOFTMAX, r, &ax);
  tu_out("y", tu_op1(DLC_OP_TRANSPOSE, s, NULL));
}

START_TEST(golden_small_net) {
  small_net();
  lower();
  char *got = print_module(m);
  expect_text(
      got,
      "module t {\n"
      "  input x : f32[2,3] #0\n"
      "  output out.y : f32[4,2] #0\n"
      "  const w : f32[3,4]\n"
      "  const bias : f32[4]\n"
      "  temp t3 : f32[2,4] @0\n"
      "  temp t4 : f32[2,4] @0\n"
      "  temp t5 : f32[2,4] @0\n"
      "  temp t6 : f32[2,4] @64\n"
      "  const w.packed : f32[144]\n"
      "  local acc : f32[384]\n"
      "  workspace 128 bytes (live at once: at most 128)\n"
      "\n"
      "  kernel k0_matmul(t3, x, acc, w.packed) {\n"
      "    for %i17 in 0..2 unrolled(2) {\n"
      "      for %i18 in 0..16 vectorized {\n"
      "        acc[((%i17 * 48) + %i18)] = 0\n"
      "      }\n"
      "    }\n"
      "    for %i19 in 0..2 unrolled(2) {\n"
      "      for %i20 in 0..4 vectorized {\n"
      "        acc[((%i19 * 48) + %i20)] = 0\n"
      "      }\n"
      "    }\n"
      "    for %i21 in 0..3 serial {\n"
      "      for %i22 in 0..2 unrolled(2) {\n"
      "        for %i23 in 0..16 vectorized {\n"
      "          acc[((%i22 * 48) + %i23)] = (acc[((%i22 * 48) + %i23)] + (x[((%i22 * 3) + %i21)] * w.packed[((%i21 * 48) + %i23)]))\n"
      "        }\n"
      "      }\n"
      "    }\n"
      "    for %i24 in 0..2 unrolled(2) {\n"
      "      for %i25 in 0..4 vectorized {\n"
      "        t3[((%i24 * 4) + %i25)] = acc[((%i24 * 48) + %i25)]\n"
      "      }\n"
      "    }\n"
      "  }\n"
      "\n"
      "  kernel k1_add(t4, t3, bias) {\n"
      "    for %i4 in 0..2 parallel {\n"
      "      for %i5 in 0..4 vectorized {\n"
      "        t4[(%i5 + (%i4 * 4))] = (t3[(%i5 + (%i4 * 4))] + bias[%i5])\n"
      "      }\n"
      "    }\n"
      "  }\n"
      "\n"
      "  kernel k2_relu(t5, t4) {\n"
      "    for %i6 in 0..8 vectorized {\n"
      "      t5[%i6] = max(t4[%i6], 0)\n"
      "    }\n"
      "  }\n"
      "\n"
      "  kernel k3_softmax(t6, t5) {\n"
      "    local %v12 : f32\n"
      "    local %v13 : f32\n"
      "    local %v14 : f32\n"
      "    for %i7 in 0..2 parallel {\n"
      "      for %i8 in 0..1 serial {\n"
      "        %v12 = t5[((%i7 * 4) + %i8)]\n"
      "        for %i9 in 0..4 vectorized {\n"
      "          %v12 = max(%v12, t5[(((%i7 * 4) + %i9) + %i8)])\n"
      "        }\n"
      "        %v13 = 0\n"
      "        for %i10 in 0..4 vectorized {\n"
      "          %v14 = exp((t5[(((%i7 * 4) + %i10) + %i8)] - %v12))\n"
      "          t6[(((%i7 * 4) + %i10) + %i8)] = %v14\n"
      "          %v13 = (%v13 + %v14)\n"
      "        }\n"
      "        for %i11 in 0..4 vectorized {\n"
      "          t6[(((%i7 * 4) + %i11) + %i8)] = (t6[(((%i7 * 4) + %i11) + %i8)] / %v13)\n"
      "        }\n"
      "      }\n"
      "    }\n"
      "  }\n"
      "\n"
      "  kernel k4_transpose(out.y, t6) {\n"
      "    for %i15 in 0..4 parallel {\n"
      "      for %i16 in 0..2 vectorized {\n"
      "        out.y[(%i16 + (%i15 * 2))] = t6[(%i15 + (%i16 * 4))]\n"
      "      }\n"
      "    }\n"
      "  }\n"
      "}\n");
  free(got);
  /* the module's tables agree with the text */
  ck_assert_int_eq(m->ninputs, 1);
  ck_assert_int_eq(m->noutputs, 1);
  ck_assert_ptr_eq(m->inputs[0], buf("x"));
  ck_assert_ptr_eq(m->outputs[0], buf("out.y"));
  ck_assert_int_eq(m->nkernels, 5);
  ck_assert_int_eq(check_no_live_overlap(), 4);
  /* constants point at the graph's data */
  ck_assert_ptr_eq(buf("w")->data, tu_fx.g->nodes[1]->data);
  ck_assert_float_eq(((const float *)buf("bias")->data)[3], 1.5f);
}
END_TEST

START_TEST(lowering_is_deterministic) {
  small_net();
  lower();
  char *a = print_module(m);
  dlc_lmodule *m2 = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m2);
  dlc_loop_pass_tile(m2);
  dlc_loop_pass_plan(m2);
  char *b = print_module(m2);
  expect_text(b, a);
  /* and a fresh copy of the same graph lowers to the same text */
  dlc_lmodule_free(m2);
  dlc_graph_free(tu_fx.g);
  tu_fx.g = dlc_graph_new("t");
  small_net();
  m2 = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m2);
  dlc_loop_pass_tile(m2);
  dlc_loop_pass_plan(m2);
  char *c = print_module(m2);
  expect_text(c, a);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  dlc_lmodule_free(m2);
  free(a);
  free(b);
  free(c);
}
END_TEST

/* ---- workspace planning ------------------------------------------------ */

#define N1000 4032 /* f32[1000]: 4000 bytes rounded up to 64 */

START_TEST(workspace_chain_runs_in_place) {
  dlc_node *v = tu_in("x", tu_ty(DLC_F32, 1, 1000));
  static const dlc_op chain[] = {DLC_OP_EXP,  DLC_OP_NEG,  DLC_OP_TANH,
                                 DLC_OP_RELU, DLC_OP_SQRT, DLC_OP_SIGMOID,
                                 DLC_OP_LOG,  DLC_OP_EXP};
  for (size_t i = 0; i < sizeof chain / sizeof *chain; i++)
    v = tu_op1(chain[i], v, NULL);
  tu_out("y", v);
  lower();
  ck_assert_int_eq(align64(4000), N1000);
  /* seven temps (the last op writes the output); each elementwise op
   * writes over the operand it is the last reader of: one slot */
  ck_assert_int_eq(check_no_live_overlap(), 7);
  ck_assert_int_eq(m->workspace_size, N1000);
  ck_assert_int_eq(m->workspace_bound, N1000); /* the plan meets the bound */
  for (int i = 0; i < m->nbufs; i++)
    if (m->bufs[i]->kind == DLC_BUF_TEMP)
      ck_assert_int_eq(m->bufs[i]->offset, 0);
  ck_assert_int_eq(m->nkernels, 8);
  ck_assert_ptr_eq(m->kernels[7]->params[0], m->outputs[0]);
}
END_TEST

/* Before the plan pass a temporary has no offset and the module no
 * workspace line; one that takes over an operand's bytes names it. */
START_TEST(workspace_unplanned_print) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 1000));
  dlc_node *a = tu_op1(DLC_OP_EXP, x, NULL);
  dlc_node *b = tu_op1(DLC_OP_NEG, a, NULL);
  tu_out("y", tu_op1(DLC_OP_TANH, b, NULL));
  m = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  char *got = print_module(m);
  char want[128];
  snprintf(want, sizeof want, "  temp t%d : f32[1000]\n  temp t%d : f32[1000] in t%d\n\n", a->id,
           b->id, a->id);
  ck_assert_msg(strstr(got, want) != NULL, "%s", got);
  free(got);
  dlc_loop_pass_plan(m);
  got = print_module(m);
  snprintf(want, sizeof want,
           "  temp t%d : f32[1000] @0\n  temp t%d : f32[1000] @0\n"
           "  workspace 4032 bytes (live at once: at most 4032)\n",
           a->id, b->id);
  ck_assert_msg(strstr(got, want) != NULL, "%s", got);
  free(got);
}
END_TEST

START_TEST(workspace_value_used_far_apart_stays_live) {
  /* a = exp(x) is read by the next op and again four ops later */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 1000));
  dlc_node *a = tu_op1(DLC_OP_EXP, x, NULL);
  dlc_node *b = tu_op1(DLC_OP_NEG, a, NULL);
  dlc_node *c = tu_op1(DLC_OP_TANH, b, NULL);
  dlc_node *d = tu_op1(DLC_OP_EXP, c, NULL);
  dlc_node *e = tu_op1(DLC_OP_SQRT, d, NULL);
  tu_out("y", tu_op2(DLC_OP_ADD, e, a));
  lower();
  ck_assert_int_eq(check_no_live_overlap(), 5);
  char name[16];
  snprintf(name, sizeof name, "t%d", a->id);
  int64_t oa = buf(name)->offset;
  const dlc_node *later[] = {b, c, d, e};
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "t%d", later[i]->id);
    ck_assert_int_ne(buf(name)->offset, oa);
  }
  /* a's slot, and one the chain b..e computes in place */
  ck_assert_int_eq(m->workspace_size, 2 * N1000);
  ck_assert_int_eq(m->workspace_bound, 2 * N1000);
}
END_TEST

START_TEST(workspace_operand_used_twice_by_one_node) {
  /* add(a, a) is a's last use once, not twice */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 1000));
  dlc_node *a = tu_op1(DLC_OP_EXP, x, NULL);
  dlc_node *b = tu_op2(DLC_OP_ADD, a, a);
  dlc_node *c = tu_op1(DLC_OP_NEG, b, NULL);
  tu_out("y", tu_op1(DLC_OP_TANH, c, NULL));
  lower();
  ck_assert_int_eq(check_no_live_overlap(), 3);
  /* add(a, a) and neg write in place: one slot */
  ck_assert_int_eq(m->workspace_size, N1000);
  ck_assert_int_eq(kernel("k1_add")->nparams, 2);
}
END_TEST

START_TEST(workspace_unread_value_is_freed_at_once) {
  /* u is never read: its slot is free for the next value */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 1, 1000));
  dlc_node *u = tu_op1(DLC_OP_EXP, x, NULL);
  dlc_node *a = tu_op1(DLC_OP_NEG, x, NULL);
  tu_out("y", tu_op1(DLC_OP_TANH, a, NULL));
  lower();
  char name[16];
  snprintf(name, sizeof name, "t%d", u->id);
  ck_assert_int_eq(buf(name)->offset, 0);
  snprintf(name, sizeof name, "t%d", a->id);
  ck_assert_int_eq(buf(name)->offset, 0);
  ck_assert_int_eq(m->workspace_size, N1000);
  ck_assert_int_eq(check_no_live_overlap(), 2);
}
END_TEST

/* A reshape of a temporary read by nothing after it is the same bytes
 * under another type: no kernel. Reshapes of an input, or into an output,
 * copy. */
START_TEST(reshape_of_a_temporary_takes_its_bytes) {
  int64_t flat[] = {1000};
  dlc_attrs to_flat = {.nints = 1, .ints = flat};
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 4, 250));
  dlc_node *a = tu_op1(DLC_OP_EXP, x, NULL);
  dlc_node *r = tu_op1(DLC_OP_RESHAPE, a, &to_flat);
  tu_out("y", tu_op1(DLC_OP_TANH, r, NULL));
  tu_out("y2", tu_op1(DLC_OP_TANH, tu_op1(DLC_OP_RESHAPE, x, &to_flat), NULL));
  tu_out("y3", tu_op1(DLC_OP_RESHAPE, tu_op1(DLC_OP_NEG, x, NULL), &to_flat));
  /* a transpose moving only axes of size 1 is a reshape; others are not */
  int64_t p021[] = {0, 2, 1}, p210[] = {2, 1, 0};
  dlc_attrs unit = {.nints = 3, .ints = p021}, real = {.nints = 3, .ints = p210};
  dlc_node *u = tu_in("u", tu_ty(DLC_F32, 3, 4, 1, 250));
  tu_out("y4", tu_op1(DLC_OP_TANH, tu_op1(DLC_OP_TRANSPOSE, tu_op1(DLC_OP_EXP, u, NULL), &unit), NULL));
  tu_out("y5", tu_op1(DLC_OP_TANH, tu_op1(DLC_OP_TRANSPOSE, tu_op1(DLC_OP_EXP, u, NULL), &real), NULL));
  lower();
  const char *want[] = {"k0_exp", "k1_tanh", "k2_reshape", "k3_tanh", "k4_neg",       "k5_reshape",
                        "k6_exp", "k7_tanh", "k8_exp",     "k9_transpose", "k10_tanh"};
  ck_assert_int_eq(m->nkernels, 11);
  for (int i = 0; i < 11; i++)
    ck_assert_str_eq(m->kernels[i]->name, want[i]);
  char ta[16], tr[16];
  snprintf(ta, sizeof ta, "t%d", a->id);
  snprintf(tr, sizeof tr, "t%d", r->id);
  ck_assert_int_eq(buf(tr)->offset, buf(ta)->offset);
  /* two values live at once: the real transpose's operand and result */
  ck_assert_int_eq(m->workspace_size, 2 * N1000);
}
END_TEST

START_TEST(workspace_mixed_sizes_first_fit) {
  /* a big value, then small ones: small temps fill the gap the big one
   * leaves, and none overlaps a live one */
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 16, 64)); /* 4096 bytes */
  dlc_node *w = tu_weight("w", tu_ty(DLC_F32, 2, 64, 2), NULL);
  dlc_node *big = tu_op1(DLC_OP_EXP, x, NULL);  /* @0, 4096 */
  dlc_node *mm = tu_op2(DLC_OP_MATMUL, big, w); /* f32[16,2] 128 */
  dlc_node *s1 = tu_op1(DLC_OP_NEG, mm, NULL);
  dlc_node *s2 = tu_op2(DLC_OP_ADD, s1, mm);
  dlc_node *s3 = tu_op1(DLC_OP_TANH, s2, NULL);
  tu_out("y", tu_op2(DLC_OP_MUL, s3, s1));
  lower();
  ck_assert_int_eq(check_no_live_overlap(), 5);
  char name[16];
  snprintf(name, sizeof name, "t%d", big->id);
  ck_assert_int_eq(buf(name)->offset, 0);
  snprintf(name, sizeof name, "t%d", mm->id);
  ck_assert_int_eq(buf(name)->offset, 4096);
  /* after big dies, the rest fit below 4096 + 128 */
  ck_assert_int_eq(m->workspace_size, 4096 + 128);
}
END_TEST

/* ---- copy kernels for outputs ------------------------------------------ */

START_TEST(outputs_needing_copies) {
  int32_t kd[3] = {7, 8, 9};
  dlc_node *x = tu_in("x", tu_ty(DLC_I32, 1, 3));
  dlc_node *x2 = tu_in("x2", tu_ty(DLC_I32, 1, 3));
  dlc_type kt = tu_ty(DLC_I32, 1, 3);
  dlc_node *k = dlc_graph_add_const(tu_fx.g, &kt, kd, dlc_noloc());
  dlc_node *r = tu_op1(DLC_OP_RELU, x, NULL);
  tu_out("id", x2); /* a graph input */
  tu_out("a", r);   /* computed in place */
  tu_out("b", r);   /* the same value again */
  tu_out("k", k);   /* a constant */
  lower();
  char *got = print_module(m);
  expect_text(got, "module t {\n"
                   "  input x : i32[3] #0\n"
                   "  input x2 : i32[3] #1\n"
                   "  output out.id : i32[3] #0\n"
                   "  output out.a : i32[3] #1\n"
                   "  output out.b : i32[3] #2\n"
                   "  output out.k : i32[3] #3\n"
                   "  const c2 : i32[3]\n"
                   "  workspace 0 bytes\n"
                   "\n"
                   "  kernel k0_relu(out.a, x) {\n"
                   "    for %i0 in 0..3 vectorized {\n"
                   "      out.a[%i0] = max(x[%i0], 0)\n"
                   "    }\n"
                   "  }\n"
                   "\n"
                   "  kernel k1_copy(out.id, x2) {\n"
                   "    for %i1 in 0..3 vectorized {\n"
                   "      out.id[%i1] = x2[%i1]\n"
                   "    }\n"
                   "  }\n"
                   "\n"
                   "  kernel k2_copy(out.b, out.a) {\n"
                   "    for %i2 in 0..3 vectorized {\n"
                   "      out.b[%i2] = out.a[%i2]\n"
                   "    }\n"
                   "  }\n"
                   "\n"
                   "  kernel k3_copy(out.k, c2) {\n"
                   "    for %i3 in 0..3 vectorized {\n"
                   "      out.k[%i3] = c2[%i3]\n"
                   "    }\n"
                   "  }\n"
                   "}\n");
  free(got);
  ck_assert_int_eq(m->ninputs, 2);
  ck_assert_int_eq(m->noutputs, 4);
  for (int i = 0; i < m->ninputs; i++) {
    ck_assert_int_eq(m->inputs[i]->kind, DLC_BUF_INPUT);
    ck_assert_int_eq(m->inputs[i]->index, i);
  }
  static const char *const names[] = {"out.id", "out.a", "out.b", "out.k"};
  for (int i = 0; i < m->noutputs; i++) {
    ck_assert_int_eq(m->outputs[i]->kind, DLC_BUF_OUTPUT);
    ck_assert_int_eq(m->outputs[i]->index, i);
    ck_assert_str_eq(m->outputs[i]->name, names[i]);
  }
  ck_assert_str_eq(m->inputs[1]->name, "x2");
  ck_assert_ptr_eq(buf("c2")->data, k->data);
  ck_assert_int_eq(buf("c2")->kind, DLC_BUF_CONST);
}
END_TEST

START_TEST(output_of_an_input_used_twice) {
  /* the same input as two outputs, and a weight as an output */
  dlc_node *x = tu_in("x", tu_ty(DLC_F64, 2, 2, 2));
  dlc_node *w = tu_weight("w", tu_ty(DLC_F64, 0), NULL);
  tu_out("p", x);
  tu_out("q", x);
  tu_out("r", w);
  lower();
  ck_assert_int_eq(m->nkernels, 3);
  const char *want[3][3] = {{"k0_copy", "out.p", "x"},
                            {"k1_copy", "out.q", "x"},
                            {"k2_copy", "out.r", "w"}};
  for (int i = 0; i < 3; i++) {
    const dlc_kernel *k = m->kernels[i];
    ck_assert_str_eq(k->name, want[i][0]);
    ck_assert_int_eq(k->nparams, 2);
    ck_assert_str_eq(k->params[0]->name, want[i][1]);
    ck_assert_str_eq(k->params[1]->name, want[i][2]);
    ck_assert_ptr_eq(k->params[0], m->outputs[i]);
  }
  /* the scalar weight's copy still runs once */
  ck_assert_int_eq(m->kernels[2]->body->extent, 1);
  ck_assert_int_eq(m->kernels[0]->body->extent, 4);
  ck_assert_int_eq(m->workspace_size, 0);
}
END_TEST

/* ---- the loop verifier on hand-built modules --------------------------- */

/* h: kernel k(b, a) { for i in 0..4 vectorized { b[i] = a[i] } } with a
 * an input, b an output, c a constant and t a temp that k does not use. */
static dlc_lbuf *ha, *hb, *hc, *ht;
static dlc_kernel *hk;
static dlc_lvar *hi;

static void hand_module(void) {
  m = dlc_lmodule_new("h", 1, 1);
  dlc_type t = tu_ty(DLC_F32, 1, 4);
  ha = dlc_lmodule_add_buf(m, DLC_BUF_INPUT, "a", &t);
  hb = dlc_lmodule_add_buf(m, DLC_BUF_OUTPUT, "b", &t);
  hc = dlc_lmodule_add_buf(m, DLC_BUF_CONST, "c", &t);
  ht = dlc_lmodule_add_buf(m, DLC_BUF_TEMP, "t", &t);
  m->inputs[0] = ha;
  m->outputs[0] = hb;
  m->workspace_size = 64;
  m->planned = true;
  hk = dlc_lmodule_add_kernel(m, "k");
  dlc_kernel_use(hk, hb);
  dlc_kernel_use(hk, ha);
  dlc_kernel_use(hk, ha); /* a second use adds nothing */
  ck_assert_int_eq(hk->nparams, 2);
  hi = dlc_lvar_new(m, DLC_I64, "i");
}

/* Makes the kernel's body `for i in 0..4 vectorized { s }`. */
static void hand_body(dlc_lstmt *s) {
  hk->body = dlc_ls_loop(m, hi, 4, DLC_LOOP_VECTORIZED, s);
}

static dlc_lexpr *I(void) { return dlc_lx_var(m, hi); }

static void expect_loop_error(const char *what) {
  char want[256];
  snprintf(want, sizeof want, "error: internal: loop verifier: kernel k: %s\n",
           what);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), want);
  ck_assert_int_eq(dlc_diag_errors(tu_fx.sink.d), 1);
}

START_TEST(verify_hand_module_ok) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  char *got = print_module(m);
  expect_text(got, "module h {\n"
                   "  input a : f32[4] #0\n"
                   "  output b : f32[4] #0\n"
                   "  const c : f32[4]\n"
                   "  temp t : f32[4] @0\n"
                   "  workspace 64 bytes\n"
                   "\n"
                   "  kernel k(b, a) {\n"
                   "    for %i0 in 0..4 vectorized {\n"
                   "      b[%i0] = a[%i0]\n"
                   "    }\n"
                   "  }\n"
                   "}\n");
  free(got);
}
END_TEST

START_TEST(verify_store_to_input) {
  hand_module();
  hand_body(dlc_ls_store(m, ha, I(), dlc_lx_load(m, ha, I())));
  expect_loop_error("store to a read-only buffer");
}
END_TEST

START_TEST(verify_assign_to_loop_index) {
  hand_module();
  dlc_lstmt *a = dlc_ls_assign(m, hi, dlc_lx_int(m, 3));
  a->next = dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I()));
  hand_body(a);
  expect_loop_error("assignment to a variable that is not a local");
}
END_TEST

START_TEST(verify_store_to_const) {
  hand_module();
  dlc_kernel_use(hk, hc);
  hand_body(dlc_ls_store(m, hc, I(), dlc_lx_load(m, ha, I())));
  expect_loop_error("store to a read-only buffer");
}
END_TEST

START_TEST(verify_store_to_non_param) {
  hand_module();
  hand_body(dlc_ls_store(m, ht, I(), dlc_lx_load(m, ha, I())));
  expect_loop_error("store to a buffer that is not a parameter");
}
END_TEST

START_TEST(verify_load_from_non_param) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, hc, I())));
  expect_loop_error("load from a buffer that is not a parameter");
}
END_TEST

START_TEST(verify_share_of_non_temp) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  ht->share = ha;
  char want[] = "error: internal: loop verifier: buffer t shares the bytes of a; both must be "
                "temporaries\n";
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), want);
}
END_TEST

START_TEST(verify_share_cycle) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  dlc_type t = tu_ty(DLC_F32, 1, 4);
  dlc_lbuf *u = dlc_lmodule_add_buf(m, DLC_BUF_TEMP, "u", &t);
  ht->share = u;
  u->share = ht;
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: internal: loop verifier: buffer t shares bytes in a cycle\n");
}
END_TEST

START_TEST(verify_prefetch_ok) {
  hand_module();
  dlc_lstmt *p = dlc_ls_prefetch(m, ha, I());
  p->next = dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I()));
  hk->body = dlc_ls_loop(m, hi, 4, DLC_LOOP_SERIAL, p);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  char *got = print_module(m);
  ck_assert_msg(strstr(got, "    for %i0 in 0..4 serial {\n"
                            "      prefetch a[%i0]\n"
                            "      b[%i0] = a[%i0]\n") != NULL, "%s", got);
  free(got);
}
END_TEST

/* A loop marked as a product must be the plain nest its record describes. */
START_TEST(verify_product_not_its_nest) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  dlc_lgemm *g = dlc_arena_alloc(m->arena, sizeof *g);
  *g = (dlc_lgemm){.M = 4, .N = 1, .K = 1, .A = ha, .B = ha, .C = hb, .i = hi};
  g->value = dlc_lx_load(m, ha, I());
  hk->body->gemm = g;
  expect_loop_error("a product loop is not the plain nest its record describes");
}
END_TEST

START_TEST(verify_conv_not_its_nest) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  dlc_lconv *r = dlc_arena_alloc(m->arena, sizeof *r);
  *r = (dlc_lconv){.X = ha, .W = ha, .Y = hb, .N = 4, .MB = 1, .n = hi};
  r->value = dlc_lx_load(m, ha, I());
  hk->body->conv = r; /* its body is a store, not the loop over blocks */
  expect_loop_error("a conv loop is not the plain nest its record describes");
}
END_TEST

START_TEST(verify_prefetch_of_non_param) {
  hand_module();
  dlc_lstmt *p = dlc_ls_prefetch(m, hc, I());
  p->next = dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I()));
  hand_body(p);
  expect_loop_error("prefetch of a buffer that is not a parameter");
}
END_TEST

START_TEST(verify_prefetch_index_not_i64) {
  hand_module();
  dlc_lstmt *p = dlc_ls_prefetch(m, ha, dlc_lx_cast(m, DLC_I32, I()));
  p->next = dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I()));
  hand_body(p);
  expect_loop_error("index is not i64");
}
END_TEST

/* ---- loop passes ---------------------------------------------------- */

/* A kernel k over a and b of 2^20 floats, for the loop passes. */
static void pass_module(void) {
  m = dlc_lmodule_new("p", 1, 1);
  dlc_type t = tu_ty(DLC_F32, 1, 1 << 20);
  ha = dlc_lmodule_add_buf(m, DLC_BUF_INPUT, "a", &t);
  hb = dlc_lmodule_add_buf(m, DLC_BUF_OUTPUT, "b", &t);
  m->inputs[0] = ha;
  m->outputs[0] = hb;
  hk = dlc_lmodule_add_kernel(m, "k");
  dlc_kernel_use(hk, hb);
  dlc_kernel_use(hk, ha);
}

static dlc_lvar *ix(void) { return dlc_lvar_new(m, DLC_I64, "i"); }
static dlc_lexpr *V(dlc_lvar *v) { return dlc_lx_var(m, v); }
static dlc_lexpr *at(dlc_lvar *i, int64_t n, dlc_lvar *j) { /* i*n + j */
  return dlc_lx_binary(m, DLC_LX_ADD, dlc_lx_binary(m, DLC_LX_MUL, V(i), dlc_lx_int(m, n)), V(j));
}
static dlc_lstmt *copy_at(dlc_lexpr *e) { return dlc_ls_store(m, hb, e, dlc_lx_load(m, ha, e)); }
static dlc_lstmt *seq2(dlc_lstmt *a, dlc_lstmt *b) {
  dlc_ls_append(&a, b);
  return a;
}

/* parallelize keeps parallel the outermost loops with enough work that
 * take no value in through a local; the others become serial. */
START_TEST(parallelize_keeps_loops_worth_threads) {
  pass_module();
  dlc_lvar *i1 = ix(), *i2 = ix(), *j2 = ix(), *i3 = ix(), *j3 = ix(), *i4 = ix(), *j4 = ix(),
           *i5 = ix(), *j5 = ix();
  dlc_lvar *x = dlc_kernel_local(m, hk, DLC_F32), *y = dlc_kernel_local(m, hk, DLC_F32);
  /* 4 iterations: too little work */
  dlc_lstmt *s1 = dlc_ls_loop(m, i1, 4, DLC_LOOP_PARALLEL, copy_at(V(i1)));
  /* nested: the outer one runs on threads, the inner one inside it */
  dlc_lstmt *in2 = dlc_ls_loop(m, j2, 256, DLC_LOOP_PARALLEL, copy_at(at(i2, 256, j2)));
  dlc_lstmt *s2 = dlc_ls_loop(m, i2, 256, DLC_LOOP_PARALLEL, in2);
  /* reads x, set before it */
  dlc_lstmt *set = dlc_ls_assign(m, x, dlc_lx_float(m, DLC_F32, 1));
  dlc_lstmt *s3 = dlc_ls_loop(
      m, i3, 1024, DLC_LOOP_PARALLEL,
      dlc_ls_loop(m, j3, 64, DLC_LOOP_SERIAL, dlc_ls_store(m, hb, at(i3, 64, j3), V(x))));
  /* one iteration: the loop inside it gets the threads */
  dlc_lstmt *in4 = dlc_ls_loop(m, j4, 65536, DLC_LOOP_PARALLEL, copy_at(V(j4)));
  dlc_lstmt *s4 = dlc_ls_loop(m, i4, 1, DLC_LOOP_PARALLEL, in4);
  /* y is set and read inside: private to each iteration */
  dlc_lstmt *s5 = dlc_ls_loop(
      m, i5, 1024, DLC_LOOP_PARALLEL,
      dlc_ls_loop(m, j5, 64, DLC_LOOP_SERIAL,
                  seq2(dlc_ls_assign(m, y, dlc_lx_load(m, ha, at(i5, 64, j5))),
                       dlc_ls_store(m, hb, at(i5, 64, j5), V(y)))));
  /* a local array stored before it and read in it */
  dlc_type lt = tu_ty(DLC_F32, 1, 64);
  dlc_lbuf *la = dlc_lmodule_add_buf(m, DLC_BUF_LOCAL, "la", &lt);
  dlc_kernel_use(hk, la);
  dlc_lvar *c6 = ix(), *i6 = ix(), *j6 = ix();
  dlc_lstmt *fill = dlc_ls_loop(m, c6, 64, DLC_LOOP_SERIAL,
                                dlc_ls_store(m, la, V(c6), dlc_lx_load(m, ha, V(c6))));
  dlc_lstmt *s6 = dlc_ls_loop(
      m, i6, 1024, DLC_LOOP_PARALLEL,
      dlc_ls_loop(m, j6, 64, DLC_LOOP_SERIAL,
                  dlc_ls_store(m, hb, at(i6, 64, j6), dlc_lx_load(m, la, V(j6)))));
  /* the same array, but each iteration writes it before reading it */
  dlc_lvar *i7 = ix(), *j7 = ix(), *c7 = ix();
  dlc_lstmt *s7 = dlc_ls_loop(
      m, i7, 1024, DLC_LOOP_PARALLEL,
      seq2(dlc_ls_loop(m, c7, 64, DLC_LOOP_SERIAL,
                       dlc_ls_store(m, la, V(c7), dlc_lx_load(m, ha, at(i7, 64, c7)))),
           dlc_ls_loop(m, j7, 64, DLC_LOOP_SERIAL,
                       dlc_ls_store(m, hb, at(i7, 64, j7), dlc_lx_load(m, la, V(j7))))));
  hk->body = seq2(seq2(seq2(seq2(seq2(s1, s2), set), s3), s4), s5);
  dlc_ls_append(&hk->body, seq2(seq2(fill, s6), s7));
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  dlc_loop_pass_parallelize(m);
  ck_assert_int_eq(s1->loop_kind, DLC_LOOP_SERIAL);
  ck_assert_int_eq(s2->loop_kind, DLC_LOOP_PARALLEL);
  ck_assert_int_eq(in2->loop_kind, DLC_LOOP_SERIAL);
  ck_assert_int_eq(s3->loop_kind, DLC_LOOP_SERIAL);
  ck_assert_int_eq(s4->loop_kind, DLC_LOOP_SERIAL);
  ck_assert_int_eq(in4->loop_kind, DLC_LOOP_PARALLEL);
  ck_assert_int_eq(s5->loop_kind, DLC_LOOP_PARALLEL);
  ck_assert_int_eq(s6->loop_kind, DLC_LOOP_SERIAL);
  ck_assert_int_eq(s7->loop_kind, DLC_LOOP_PARALLEL);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
}
END_TEST

/* vectorize keeps vectorized the loops whose bodies run in lanes. */
START_TEST(vectorize_keeps_loops_that_run_in_lanes) {
  pass_module();
  dlc_lvar *c[6], *d = ix();
  for (int i = 0; i < 6; i++)
    c[i] = ix();
  dlc_lvar *acc = dlc_kernel_local(m, hk, DLC_F32), *t = dlc_kernel_local(m, hk, DLC_F32),
           *u = dlc_kernel_local(m, hk, DLC_F32);
  dlc_lstmt *v[6];
  /* a prefetch */
  v[0] = dlc_ls_loop(m, c[0], 48, DLC_LOOP_VECTORIZED,
                     seq2(dlc_ls_prefetch(m, ha, V(c[0])), copy_at(V(c[0]))));
  /* every iteration stores to b[0] */
  v[1] = dlc_ls_loop(m, c[1], 48, DLC_LOOP_VECTORIZED,
                     dlc_ls_store(m, hb, dlc_lx_int(m, 0), dlc_lx_load(m, ha, V(c[1]))));
  /* a reduction */
  v[2] = dlc_ls_loop(
      m, c[2], 48, DLC_LOOP_VECTORIZED,
      dlc_ls_assign(m, acc, dlc_lx_binary(m, DLC_LX_ADD, V(acc), dlc_lx_load(m, ha, V(c[2])))));
  /* a nested loop */
  v[3] = dlc_ls_loop(m, c[3], 48, DLC_LOOP_VECTORIZED,
                     dlc_ls_loop(m, d, 2, DLC_LOOP_SERIAL, copy_at(at(c[3], 2, d))));
  /* a private local, set then read */
  v[4] = dlc_ls_loop(m, c[4], 48, DLC_LOOP_VECTORIZED,
                     seq2(dlc_ls_assign(m, t, dlc_lx_load(m, ha, V(c[4]))),
                          dlc_ls_store(m, hb, V(c[4]), V(t))));
  /* a local read before it is set: carried from the iteration before */
  v[5] = dlc_ls_loop(m, c[5], 48, DLC_LOOP_VECTORIZED,
                     seq2(dlc_ls_store(m, hb, V(c[5]), V(u)),
                          dlc_ls_assign(m, u, dlc_lx_load(m, ha, V(c[5])))));
  hk->body = v[0];
  for (int i = 1; i < 6; i++)
    dlc_ls_append(&hk->body, v[i]);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  dlc_loop_pass_vectorize(m);
  static const dlc_loop_kind want[6] = {DLC_LOOP_SERIAL, DLC_LOOP_SERIAL, DLC_LOOP_VECTORIZED,
                                        DLC_LOOP_SERIAL, DLC_LOOP_VECTORIZED, DLC_LOOP_SERIAL};
  for (int i = 0; i < 6; i++)
    ck_assert_msg(v[i]->loop_kind == want[i], "loop %d", i);
}
END_TEST

/* unroll keeps unrolled the loops the backend unrolls: fully, up to 64
 * iterations. */
START_TEST(unroll_keeps_full_unrolls) {
  pass_module();
  static const int64_t ext[4] = {8, 100, 16, 64};
  static const int fac[4] = {8, 100, 4, 0};
  static const dlc_loop_kind want[4] = {DLC_LOOP_UNROLLED, DLC_LOOP_SERIAL, DLC_LOOP_SERIAL,
                                        DLC_LOOP_UNROLLED};
  dlc_lstmt *l[4];
  hk->body = NULL;
  for (int i = 0; i < 4; i++) {
    dlc_lvar *v = ix();
    l[i] = dlc_ls_loop(m, v, ext[i], DLC_LOOP_UNROLLED, copy_at(V(v)));
    l[i]->unroll = fac[i];
    dlc_ls_append(&hk->body, l[i]);
  }
  dlc_loop_pass_unroll(m);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(l[i]->loop_kind == want[i], "loop %d", i);
}
END_TEST

/* The loop passes print after themselves when asked, in order. */
START_TEST(loop_passes_print) {
  pass_module();
  dlc_lvar *i = ix();
  hk->body = dlc_ls_loop(m, i, 8, DLC_LOOP_PARALLEL, copy_at(V(i)));
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dlc_pass_options o = {.print_after_all = true, .print_out = f, .verify_each = true};
  ck_assert_int_eq(dlc_run_loop_passes(m, &o, tu_fx.sink.d), DLC_OK);
  fclose(f);
  const char *p = strstr(buf, "// -- loops after parallelize --\nmodule p {");
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_nonnull(strstr(p, "for %i0 in 0..8 serial {"));
  const char *v = strstr(p, "// -- loops after vectorize --\nmodule p {");
  ck_assert_ptr_nonnull(v);
  const char *u = strstr(v, "// -- loops after unroll --\nmodule p {");
  ck_assert_ptr_nonnull(u);
  ck_assert_ptr_nonnull(strstr(u, "// -- loops after plan --\nmodule p {"));
  ck_assert(m->planned);
  free(buf);
  ck_assert(dlc_loop_pass_exists("vectorize") && !dlc_loop_pass_exists("lower"));
}
END_TEST

/* The offset of needle in text at or after from, or -1. */
static long text_find(const char *text, long from, const char *needle) {
  const char *p = strstr(text + from, needle);
  return p ? (long)(p - text) : -1;
}

/* Matrix products with column tiles first prefetch what they read next:
 * packed constant B, the next block of its panels (k0); B from memory
 * copied per column tile (small A), rows of its next K block, and in the
 * last K block the next column tile's first (k1, 4 column tiles); K
 * blocks outside the column tiles, the next row tile of C (k2). A small
 * packed B (k3) stays in cache: no prefetch. */
START_TEST(gemm_prefetches) {
  static float w[300 * 150], ws[20 * 150];
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 203, 300));
  dlc_node *nw = tu_weight("w", tu_ty(DLC_F32, 2, 300, 150), w);
  dlc_node *b = tu_in("b", tu_ty(DLC_F32, 2, 300, 150));
  dlc_node *xl = tu_in("xl", tu_ty(DLC_F32, 2, 300, 500));
  dlc_node *bl = tu_in("bl", tu_ty(DLC_F32, 2, 500, 150));
  dlc_node *xs = tu_in("xs", tu_ty(DLC_F32, 2, 20, 20));
  dlc_node *nws = tu_weight("ws", tu_ty(DLC_F32, 2, 20, 150), ws);
  tu_out("y", tu_op2(DLC_OP_MATMUL, x, nw));
  tu_out("z", tu_op2(DLC_OP_MATMUL, x, b));
  tu_out("q", tu_op2(DLC_OP_MATMUL, xl, bl));
  tu_out("s", tu_op2(DLC_OP_MATMUL, xs, nws));
  lower();
  char *got = print_module(m);
  long k1 = text_find(got, 0, "kernel k1_"), k2 = text_find(got, 0, "kernel k2_");
  long k3 = text_find(got, 0, "kernel k3_");
  long pw = text_find(got, 0, "prefetch w.packed[min(");
  long pb = text_find(got, 0, "prefetch b[min(((");
  /* the last block (of 2) asks for the next column tile's rows 0.. */
  long wrap = pb < 0 ? -1 : text_find(got, pb, "+ 1), 3), ");
  long eol = pb < 0 ? -1 : text_find(got, pb, "\n");
  /* only the first 3 row tiles of a column tile ask for B's next block */
  long first3 = text_find(got, k1, "in 0..3 serial {");
  long rest = text_find(got, k1, "in 0..22 serial {");
  long pb2 = rest < 0 ? -1 : text_find(got, rest, "prefetch b[");
  long next_copy = rest < 0 ? -1 : text_find(got, rest, "bpanel[(("); /* the narrow tile's */
  long pc = text_find(got, 0, "prefetch out.q[min(");
  long ps = k3 < 0 ? 0 : text_find(got, k3, "prefetch");
  free(got);
  ck_assert(k1 > 0 && k2 > k1 && k3 > k2);
  ck_assert(pw > 0 && pw < k1);
  ck_assert(pb > k1 && pb < k2);
  ck_assert(wrap > pb && wrap < eol);
  ck_assert(first3 > k1 && first3 < pb && rest > pb && rest < k2);
  ck_assert(next_copy > rest && pb2 > next_copy); /* none in the later row tiles' loop */
  ck_assert(pc > k2 && pc < k3);
  ck_assert(ps < 0);
}
END_TEST

/* Threads share the tiles of a product evenly: with a small A and fewer
 * than 8 column tiles (k0: two and a narrow one), each column tile is cut
 * into blocks of rows, B packed whole first; with 10 column tiles (k1) it
 * is not. The narrow last column tile of k2 (K blocks outside the column
 * tiles) shares its 32 row tiles among the threads. */
START_TEST(gemm_shares_tiles) {
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 64, 100));
  dlc_node *w = tu_in("w", tu_ty(DLC_F32, 2, 100, 100));
  dlc_node *wn = tu_in("wn", tu_ty(DLC_F32, 2, 100, 480));
  dlc_node *xl = tu_in("xl", tu_ty(DLC_F32, 2, 300, 600));
  dlc_node *wl = tu_in("wl", tu_ty(DLC_F32, 2, 600, 130));
  tu_out("y", tu_op2(DLC_OP_MATMUL, x, w));
  tu_out("z", tu_op2(DLC_OP_MATMUL, x, wn));
  tu_out("q", tu_op2(DLC_OP_MATMUL, xl, wl));
  lower();
  char *got = print_module(m);
  long k1 = text_find(got, 0, "kernel k1_"), k2 = text_find(got, 0, "kernel k2_");
  long pack = text_find(got, 0, "k0_matmul.packed[");
  long blocks = text_find(got, 0, "in 0..4 parallel {");
  long narrow = text_find(got, blocks + 1, "in 0..2 parallel {");
  long div = text_find(got, 0, " / 2)");
  long div1 = text_find(got, k1, " / ");
  long rows = text_find(got, k2, "in 0..32 parallel {");
  free(got);
  ck_assert(k1 > 0 && k2 > k1);
  ck_assert(pack > 0 && pack < blocks && blocks < narrow && narrow < k1);
  ck_assert(div > blocks && div < narrow);
  ck_assert(div1 < 0 || div1 > k2);
  ck_assert(rows > k2);
}
END_TEST

/* Replaces the fixture graph with the program text's (model m { body }). */
static void program(const char *body) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  fprintf(f, "model m {\n%s}\n", body);
  fclose(f);
  dlc_graph_free(tu_fx.g);
  tu_fx.g = dlc_frontend_compile("m.dsl", text, len, NULL, tu_fx.sink.d);
  free(text);
  ck_assert_msg(tu_fx.g != NULL, "%s", tu_sink_text(&tu_fx.sink));
}

/* Lowering leaves a matrix product as its plain nest, marked product,
 * with the fused chain as the stored value; tile replaces the nest with
 * register tiles over the packed constant, whose stores compute that
 * value, and drops the nest's accumulator. */
START_TEST(tile_replaces_the_plain_nest) {
  program("input x : f32[3,5]\nweight w : f32[5,4] = random(seed=1)\ninput b : f32[4]\n"
          "output y = relu(x @ w + b)\n");
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, "fuse", NULL, tu_fx.sink.d), DLC_OK);
  m = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m);
  char *got = print_module(m);
  expect_text(got, "module m {\n"
                   "  input x : f32[3,5] #0\n"
                   "  input b : f32[4] #1\n"
                   "  output out.y : f32[3,4] #0\n"
                   "  const w : f32[5,4]\n"
                   "\n"
                   "  kernel k0_matmul+add+relu(out.y, x, w, b) {\n"
                   "    local %v2 : f32\n"
                   "    for %i0 in 0..3 parallel product {\n"
                   "      for %i1 in 0..4 serial {\n"
                   "        %v2 = 0\n"
                   "        for %i3 in 0..5 serial {\n"
                   "          %v2 = (%v2 + (x[((%i0 * 5) + %i3)] * w[((%i3 * 4) + %i1)]))\n"
                   "        }\n"
                   "        out.y[((%i0 * 4) + %i1)] = max((%v2 + b[%i1]), 0)\n"
                   "      }\n"
                   "    }\n"
                   "  }\n"
                   "}\n");
  free(got);
  dlc_loop_pass_tile(m);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  got = print_module(m);
  ck_assert_msg(strstr(got, " product ") == NULL && strstr(got, "local %v2") == NULL, "%s", got);
  ck_assert_msg(strstr(got, "kernel k0_matmul+add+relu(out.y, x, b, acc, w.packed) {\n") != NULL,
                "%s", got);
  /* the value of the nest's store, on the tile's elements */
  ck_assert_msg(strstr(got, "] = max((acc[") != NULL && strstr(got, "] + b[") != NULL, "%s", got);
  free(got);
}
END_TEST

/* A convolution on channel blocks is lowered as its plain nest, marked
 * conv: a depthwise one with padding reads x unpadded and tests each
 * position; bias is in the stored value. tile replaces the nest with
 * tiles over weights packed for them. */
START_TEST(tile_replaces_the_conv_nest) {
  program("input x : f32[1,4,3,3]\nweight w : f32[4,1,3,3] = random(seed=1)\n"
          "weight b : f32[4] = random(seed=2)\n"
          "output y = to_nchw(conv2d_nchwc(to_nchwc(x, block=2), w, b, groups=4, pad=1, "
          "block=2))\n");
  m = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m);
  char *got = print_module(m);
  const char *k1 = strstr(got, "  kernel k1_conv2d_nchwc");
  ck_assert_ptr_nonnull(k1);
  char *end = strstr(k1, "\n  }\n");
  ck_assert_ptr_nonnull(end);
  end[5] = 0;
  expect_text(k1,
                   "  kernel k1_conv2d_nchwc(t4, t3, w, b) {\n"
                   "    local %v15 : f32\n"
                   "    for %i5 in 0..1 serial conv {\n"
                   "      for %i6 in 0..2 parallel {\n"
                   "        for %i7 in 0..3 serial {\n"
                   "          for %i8 in 0..3 serial {\n"
                   "            for %i9 in 0..2 serial {\n"
                   "              %v15 = 0\n"
                   "              for %i11 in 0..3 serial {\n"
                   "                for %i12 in 0..3 serial {\n"
                   "                  %v15 = (%v15 + (select((((((%i7 + %i11) - 1) > -1) && (((%i7 + %i11) - 1) < 3)) && ((((%i8 + %i12) - 1) > -1) && (((%i8 + %i12) - 1) < 3))), t3[((((((((%i5 * 2) + %i6) * 3) + min(max(((%i7 + %i11) - 1), 0), 2)) * 3) + min(max(((%i8 + %i12) - 1), 0), 2)) * 2) + %i9)], 0) * w[((((((%i6 * 2) + %i9) * 3) + %i11) * 3) + %i12)]))\n"
                   "                }\n"
                   "              }\n"
                   "              t4[((((((((%i5 * 2) + %i6) * 3) + %i7) * 3) + %i8) * 2) + %i9)] = (%v15 + b[((%i6 * 2) + %i9)])\n"
                   "            }\n"
                   "          }\n"
                   "        }\n"
                   "      }\n"
                   "    }\n"
                   "  }\n");
  free(got);
  dlc_loop_pass_tile(m);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  got = print_module(m);
  ck_assert_msg(strstr(got, " conv {") == NULL && strstr(got, "local %v15") == NULL, "%s", got);
  ck_assert_msg(strstr(got, "kernel k1_conv2d_nchwc(t4, t3, b, w.nchwc, acc) {\n") != NULL, "%s",
                got);
  ck_assert_msg(strstr(got, "] = (acc[") != NULL && strstr(got, "] + b[") != NULL, "%s", got);
  free(got);
}
END_TEST

/* dlc_lx_subst rebuilds only what reads a replaced variable, with the
 * builders' folding, and keeps dtypes (casts, comparisons, selects). */
START_TEST(subst_replaces_variables) {
  m = dlc_lmodule_new("s", 0, 0);
  dlc_lvar *i = dlc_lvar_new(m, DLC_I64, "i"), *j = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *f = dlc_lvar_new(m, DLC_F32, "v");
  dlc_type t = tu_ty(DLC_F32, 1, 8);
  dlc_lbuf *b = dlc_lmodule_add_buf(m, DLC_BUF_INPUT, "b", &t);
  dlc_lexpr *I = dlc_lx_var(m, i), *J = dlc_lx_var(m, j), *F = dlc_lx_var(m, f);
  dlc_lexpr *idx = dlc_lx_binary(m, DLC_LX_ADD, dlc_lx_binary(m, DLC_LX_MUL, I, dlc_lx_int(m, 4)), J);
  dlc_lexpr *e = dlc_lx_select(
      m, dlc_lx_cmp(m, DLC_LX_LT, I, dlc_lx_int(m, 1)),
      dlc_lx_binary(m, DLC_LX_ADD, F, dlc_lx_load(m, b, idx)),
      dlc_lx_binary(m, DLC_LX_MAX, F, dlc_lx_cast(m, DLC_F32, J)));
  dlc_lvar *vars[3] = {i, j, f};
  dlc_lexpr *with[3] = {dlc_lx_int(m, 1), dlc_lx_int(m, 3), dlc_lx_float(m, DLC_F32, 2)};
  /* nothing read: the same expression */
  dlc_lvar *other = dlc_lvar_new(m, DLC_I64, "i");
  ck_assert_ptr_eq(dlc_lx_subst(m, e, 1, &other, with), e);
  /* every variable replaced; the load's index folds to 1*4 + 3 */
  dlc_lexpr *r = dlc_lx_subst(m, e, 3, vars, with);
  ck_assert_int_eq(r->kind, DLC_LX_SELECT);
  ck_assert_int_eq(r->dtype, DLC_F32);
  ck_assert_int_eq(r->a[0]->kind, DLC_LX_LT);
  ck_assert_ptr_eq(r->a[0]->a[0], with[0]);
  ck_assert_int_eq(r->a[1]->kind, DLC_LX_ADD);
  ck_assert_ptr_eq(r->a[1]->a[0], with[2]);
  ck_assert_int_eq(r->a[1]->a[1]->kind, DLC_LX_LOAD);
  ck_assert_int_eq(r->a[1]->a[1]->a[0]->i, 7);
  dlc_lexpr *mx = r->a[2];
  ck_assert_int_eq(mx->kind, DLC_LX_MAX);
  ck_assert_int_eq(mx->a[1]->kind, DLC_LX_CAST);
  ck_assert_int_eq(mx->a[1]->dtype, DLC_F32);
  ck_assert_ptr_eq(mx->a[1]->a[0], with[1]);
  /* the index folds to a constant: 1*4 + 3; min and max of constants too */
  dlc_lexpr *li = dlc_lx_subst(m, idx, 3, vars, with);
  ck_assert_int_eq(li->kind, DLC_LX_ICONST);
  ck_assert_int_eq(li->i, 7);
  ck_assert_int_eq(dlc_lx_binary(m, DLC_LX_MIN, li, dlc_lx_int(m, 5))->i, 5);
  ck_assert_int_eq(dlc_lx_binary(m, DLC_LX_MAX, li, dlc_lx_int(m, 5))->i, 7);
  /* i = j: a comparison stays a bool */
  dlc_lexpr *jj[1] = {J};
  dlc_lexpr *c = dlc_lx_subst(m, e->a[0], 1, &i, jj);
  ck_assert_int_eq(c->kind, DLC_LX_LT);
  ck_assert_int_eq(c->dtype, DLC_BOOL);
  ck_assert_ptr_eq(c->a[0], J);
}
END_TEST

/* The first product or conv loop in k's body (depth first), or NULL. */
static dlc_lstmt *marked_loop(dlc_lstmt *s) {
  for (; s; s = s->next) {
    if (s->kind != DLC_LS_LOOP)
      continue;
    if (s->gemm || s->conv)
      return s;
    dlc_lstmt *in = marked_loop(s->body);
    if (in)
      return in;
  }
  return NULL;
}

static void expect_nest_error(const char *kernel, const char *what) {
  char want[256];
  snprintf(want, sizeof want,
           "error: internal: loop verifier: kernel %s: a %s loop is not the plain nest its "
           "record describes\n",
           kernel, what);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), want);
}

/* The verifier holds a marked nest to its record: the sum's length and the
 * stored value for a product, the loops' extents for a convolution. */
START_TEST(verify_nest_against_record) {
  program("input x : f32[3,5]\ninput w : f32[5,4]\noutput y = x @ w\n");
  m = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m);
  dlc_lstmt *p = marked_loop(m->kernels[0]->body);
  ck_assert(p && p->gemm);
  p->gemm->K = 6;
  expect_nest_error("k0_matmul", "product");
  p->gemm->K = 5;
  tu_sink_close(&tu_fx.sink);
  tu_sink_open(&tu_fx.sink);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  dlc_lexpr *v = p->gemm->value;
  p->gemm->value = dlc_lx_unary(m, DLC_LX_NEG, v);
  expect_nest_error("k0_matmul", "product");
  dlc_lmodule_free(m);
  tu_sink_close(&tu_fx.sink);
  tu_sink_open(&tu_fx.sink);
  program("input x : f32[1,4,3,3]\nweight w : f32[4,1,3,3] = random(seed=1)\n"
          "output y = to_nchw(conv2d_nchwc(to_nchwc(x, block=2), w, groups=4, pad=1, "
          "block=2))\n");
  m = dlc_lower_to_loops(tu_fx.g, tu_fx.sink.d);
  ck_assert_ptr_nonnull(m);
  p = marked_loop(m->kernels[1]->body);
  ck_assert(p && p->conv);
  p->conv->OW = 4;
  expect_nest_error("k1_conv2d_nchwc", "conv");
}
END_TEST

/* The products a kernel runs one after another share what tile makes for
 * them: a convolution of two images through im2col is a product per
 * image, which read one packed copy of the weights and copy B into one
 * run-time buffer (rows first: 32 channels over 64 positions). In a
 * parallel loop (batched matmul) no run-time buffer is made. Kernels
 * reading one weight share its packed copy. A batched matmul's threads
 * share its first batch dim with more than one batch. */
START_TEST(tile_shares_packs_within_a_kernel) {
  program("input x : f32[2,16,8,8]\nweight w : f32[32,16,3,3] = random(seed=1)\n"
          "input a : f32[4,64,128]\ninput c : f32[4,128,96]\n"
          "input u : f32[5,144]\ninput v : f32[7,144]\nweight wm : f32[144,20] = random(seed=2)\n"
          "output y = conv2d(x, w, pad=1)\noutput z = a @ c\n"
          "output p = u @ wm\noutput q = v @ wm\n"
          "input e : f32[1,3,20,30]\ninput f : f32[1,3,30,40]\noutput h = e @ f\n");
  lower();
  int products = 0, packed = 0, scratch = 0;
  for (int i = 0; i < m->nbufs; i++) {
    packed += strcmp(m->bufs[i]->name, "w.packed") == 0;
    scratch += strstr(m->bufs[i]->name, ".packed") != NULL && m->bufs[i]->kind == DLC_BUF_TEMP;
  }
  char *got = print_module(m);
  for (const char *p = got; (p = strstr(p, "k0_conv2d.packed[")) != NULL; p++)
    products++;
  free(got);
  ck_assert_int_eq(packed, 1);
  ck_assert_int_eq(scratch, 1);
  /* two kernels reading one weight share its packed copy */
  int wm = 0;
  for (int i = 0; i < m->nbufs; i++)
    wm += strcmp(m->bufs[i]->name, "wm.packed") == 0;
  ck_assert_int_eq(wm, 1);
  ck_assert(is_param(kernel("k2_matmul"), buf("wm.packed")));
  ck_assert(is_param(kernel("k3_matmul"), buf("wm.packed")));
  /* threads share the first batch dim with more than one batch */
  const dlc_lstmt *b0 = kernel("k4_matmul")->body;
  ck_assert(b0->kind == DLC_LS_LOOP && b0->extent == 1 && b0->loop_kind == DLC_LOOP_SERIAL);
  ck_assert(b0->body->extent == 3 && b0->body->loop_kind == DLC_LOOP_PARALLEL);
  dlc_lbuf *pb = buf("k0_conv2d.packed");
  ck_assert_int_eq(dlc_type_numel(&pb->type), 144 * 96); /* K x N rounded to the tile */
  ck_assert_int_ge(products, 2);
  ck_assert(!is_param(kernel("k0_conv2d"), buf("w")));
  const dlc_kernel *k1 = kernel("k1_matmul");
  for (int i = 0; i < k1->nparams; i++)
    ck_assert_int_ne(k1->params[i]->kind, DLC_BUF_TEMP);
}
END_TEST

/* A matmul packs an A read from memory when its rows lie a multiple of 4
 * KiB apart (they would evict each other from L1: k0 at 8 KiB, k3 at 4)
 * or B is a constant (k2); otherwise it reads A in place (k1: 4000 bytes,
 * k4: 2 KiB). */
START_TEST(gemm_packs_aliasing_a) {
  static float wc[1000 * 100];
  dlc_node *x = tu_in("x", tu_ty(DLC_F32, 2, 40, 2048));
  dlc_node *w = tu_in("w", tu_ty(DLC_F32, 2, 2048, 100));
  dlc_node *x2 = tu_in("x2", tu_ty(DLC_F32, 2, 40, 1000));
  dlc_node *w2 = tu_in("w2", tu_ty(DLC_F32, 2, 1000, 100));
  dlc_node *w3 = tu_weight("w3", tu_ty(DLC_F32, 2, 1000, 100), wc);
  dlc_node *x4 = tu_in("x4", tu_ty(DLC_F32, 2, 40, 1024));
  dlc_node *w4 = tu_in("w4", tu_ty(DLC_F32, 2, 1024, 100));
  dlc_node *x5 = tu_in("x5", tu_ty(DLC_F32, 2, 40, 512));
  dlc_node *w5 = tu_in("w5", tu_ty(DLC_F32, 2, 512, 100));
  tu_out("y", tu_op2(DLC_OP_MATMUL, x, w));
  tu_out("z", tu_op2(DLC_OP_MATMUL, x2, w2));
  tu_out("q", tu_op2(DLC_OP_MATMUL, x2, w3));
  tu_out("r", tu_op2(DLC_OP_MATMUL, x4, w4));
  tu_out("s", tu_op2(DLC_OP_MATMUL, x5, w5));
  lower();
  bool packs[5];
  for (int k = 0; k < 5; k++) {
    dlc_kernel *kk = m->kernels[k];
    packs[k] = false;
    for (int i = 0; i < kk->nparams; i++)
      packs[k] |= strstr(kk->params[i]->name, "apacked") != NULL;
  }
  ck_assert(packs[0]);
  ck_assert(!packs[1]);
  ck_assert(packs[2]);
  ck_assert(packs[3]);
  ck_assert(!packs[4]);
}
END_TEST

START_TEST(verify_load_index_not_i64) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(),
                         dlc_lx_load(m, ha, dlc_lx_const(m, DLC_I32, 1))));
  expect_loop_error("index is not i64");
}
END_TEST

START_TEST(verify_store_index_not_i64) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, dlc_lx_cast(m, DLC_I32, I()),
                         dlc_lx_load(m, ha, I())));
  expect_loop_error("index is not i64");
}
END_TEST

START_TEST(verify_stored_dtype_differs) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_float(m, DLC_F64, 1)));
  expect_loop_error("stored value's dtype differs from the buffer's");
}
END_TEST

START_TEST(verify_load_dtype_differs) {
  hand_module();
  dlc_lexpr *ld = dlc_lx_load(m, ha, I());
  ld->dtype = DLC_F64;
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_cast(m, DLC_F32, ld)));
  expect_loop_error("load dtype differs from the buffer's");
}
END_TEST

START_TEST(verify_operand_dtypes_differ) {
  hand_module();
  dlc_lexpr *e = dlc_lx_binary(m, DLC_LX_ADD, dlc_lx_load(m, ha, I()),
                               dlc_lx_float(m, DLC_F32, 1));
  e->a[1] = dlc_lx_float(m, DLC_F64, 1);
  hand_body(dlc_ls_store(m, hb, I(), e));
  expect_loop_error("operand dtypes differ");
}
END_TEST

START_TEST(verify_rem_on_floats) {
  hand_module();
  dlc_lexpr *e = dlc_lx_binary(m, DLC_LX_REM, dlc_lx_load(m, ha, I()),
                               dlc_lx_float(m, DLC_F32, 2));
  hand_body(dlc_ls_store(m, hb, I(), e));
  expect_loop_error("rem on floats");
}
END_TEST

START_TEST(verify_var_outside_loop) {
  hand_module();
  dlc_lvar *j = dlc_lvar_new(m, DLC_I64, "i");
  hand_body(dlc_ls_store(m, hb, dlc_lx_var(m, j), dlc_lx_load(m, ha, I())));
  expect_loop_error("variable used outside its loop");
}
END_TEST

START_TEST(verify_var_after_its_loop) {
  /* a loop index is bound only inside its own loop */
  hand_module();
  dlc_lvar *j = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lexpr *J = dlc_lx_var(m, j);
  dlc_lstmt *first = dlc_ls_loop(
      m, j, 4, DLC_LOOP_SERIAL, dlc_ls_store(m, hb, J, dlc_lx_load(m, ha, J)));
  dlc_ls_append(&first, dlc_ls_store(m, hb, dlc_lx_var(m, j),
                                     dlc_lx_float(m, DLC_F32, 0)));
  hk->body = first;
  expect_loop_error("variable used outside its loop");
}
END_TEST

START_TEST(verify_var_wrong_dtype) {
  hand_module();
  dlc_lexpr *v = I();
  v->dtype = DLC_I32;
  hand_body(dlc_ls_store(m, hb, dlc_lx_cast(m, DLC_I64, v),
                         dlc_lx_load(m, ha, I())));
  expect_loop_error("variable read with the wrong dtype");
}
END_TEST

START_TEST(verify_loop_extent) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  hk->body->extent = 0;
  expect_loop_error("loop extent below 1");
}
END_TEST

START_TEST(verify_loop_var_not_i64) {
  hand_module();
  dlc_lvar *f = dlc_lvar_new(m, DLC_I32, "i");
  hk->body = dlc_ls_loop(m, f, 4, DLC_LOOP_SERIAL,
                         dlc_ls_store(m, hb, dlc_lx_int(m, 0),
                                      dlc_lx_float(m, DLC_F32, 0)));
  expect_loop_error("loop variable is not i64");
}
END_TEST

START_TEST(verify_assign_to_non_local) {
  hand_module();
  dlc_lvar *v = dlc_lvar_new(m, DLC_F32, "t"); /* not a kernel local */
  hand_body(dlc_ls_assign(m, v, dlc_lx_load(m, ha, I())));
  expect_loop_error("assignment to a variable that is not a local");
}
END_TEST

START_TEST(verify_assign_dtype_differs) {
  hand_module();
  dlc_lvar *v = dlc_kernel_local(m, hk, DLC_F64);
  hand_body(dlc_ls_assign(m, v, dlc_lx_load(m, ha, I())));
  expect_loop_error("assigned value's dtype differs from the variable's");
}
END_TEST

START_TEST(verify_local_assign_ok) {
  hand_module();
  dlc_lvar *v = dlc_kernel_local(m, hk, DLC_F32);
  dlc_lstmt *s = dlc_ls_assign(m, v, dlc_lx_load(m, ha, I()));
  dlc_lexpr *e = dlc_lx_unary(m, DLC_LX_EXP, dlc_lx_var(m, v));
  dlc_ls_append(&s, dlc_ls_store(m, hb, I(), e));
  hand_body(s);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
}
END_TEST

START_TEST(verify_missing_expression) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), NULL));
  expect_loop_error("missing expression");
}
END_TEST

START_TEST(verify_first_error_only) {
  /* two broken kernels: one message, naming the first */
  hand_module();
  hand_body(dlc_ls_store(m, ha, I(), dlc_lx_load(m, ha, I())));
  dlc_kernel *k2 = dlc_lmodule_add_kernel(m, "k2");
  dlc_kernel_use(k2, hb);
  dlc_lvar *j = dlc_lvar_new(m, DLC_I64, "i");
  k2->body = dlc_ls_loop(m, j, 4, DLC_LOOP_SERIAL,
                         dlc_ls_store(m, hb, dlc_lx_var(m, j),
                                      dlc_lx_load(m, hc, dlc_lx_var(m, j))));
  expect_loop_error("store to a read-only buffer");
}
END_TEST

START_TEST(verify_second_kernel_named) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  dlc_kernel *k2 = dlc_lmodule_add_kernel(m, "k2");
  dlc_kernel_use(k2, hb);
  dlc_lvar *j = dlc_lvar_new(m, DLC_I64, "i");
  k2->body = dlc_ls_loop(m, j, 4, DLC_LOOP_SERIAL,
                         dlc_ls_store(m, hb, dlc_lx_var(m, j),
                                      dlc_lx_load(m, hc, dlc_lx_var(m, j))));
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: internal: loop verifier: kernel k2: load from a "
                   "buffer that is not a parameter\n");
}
END_TEST

START_TEST(verify_temp_outside_workspace) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  ht->offset = 56; /* 56 + 16 > 64 */
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: internal: loop verifier: buffer t lies outside "
                   "the workspace\n");
}
END_TEST

START_TEST(verify_temp_negative_offset) {
  hand_module();
  hand_body(dlc_ls_store(m, hb, I(), dlc_lx_load(m, ha, I())));
  ht->offset = -64;
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_ERROR);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink),
                   "error: internal: loop verifier: buffer t lies outside "
                   "the workspace\n");
  /* exactly at the end is fine */
  tu_sink_close(&tu_fx.sink);
  tu_sink_open(&tu_fx.sink);
  ht->offset = 48;
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
}
END_TEST

/* ---- the printer on forms lowering does not make ----------------------- */

START_TEST(print_hand_forms) {
  hand_module();
  dlc_lvar *u = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *acc = dlc_kernel_local(m, hk, DLC_F32);
  dlc_lexpr *idx = dlc_lx_binary(
      m, DLC_LX_REM,
      dlc_lx_binary(m, DLC_LX_SUB, dlc_lx_var(m, u), dlc_lx_int(m, 1)),
      dlc_lx_int(m, 4));
  dlc_lexpr *val = dlc_lx_binary(
      m, DLC_LX_MIN,
      dlc_lx_cast(m, DLC_F32, dlc_lx_binary(m, DLC_LX_DIV, dlc_lx_var(m, u),
                                            dlc_lx_int(m, 2))),
      dlc_lx_unary(m, DLC_LX_SQRT, dlc_lx_var(m, acc)));
  dlc_lstmt *s = dlc_ls_assign(m, acc, dlc_lx_float(m, DLC_F32, 0.25));
  dlc_ls_append(&s, dlc_ls_store(m, hb, idx, val));
  dlc_lstmt *loop = dlc_ls_loop(m, u, 8, DLC_LOOP_UNROLLED, s);
  loop->unroll = 4;
  hk->body = dlc_ls_loop(m, hi, 2, DLC_LOOP_PARALLEL, loop);
  /* constant index arithmetic folds in the builders */
  dlc_lexpr *f = dlc_lx_binary(m, DLC_LX_MUL, dlc_lx_int(m, 3), dlc_lx_int(m, 5));
  f = dlc_lx_binary(m, DLC_LX_ADD, f, dlc_lx_int(m, -2));
  ck_assert_int_eq(f->kind, DLC_LX_ICONST);
  ck_assert_int_eq(f->i, 13);
  ck_assert_int_eq(dlc_lmodule_verify(m, tu_fx.sink.d), DLC_OK);
  char *got = print_module(m);
  expect_text(got, "module h {\n"
                   "  input a : f32[4] #0\n"
                   "  output b : f32[4] #0\n"
                   "  const c : f32[4]\n"
                   "  temp t : f32[4] @0\n"
                   "  workspace 64 bytes\n"
                   "\n"
                   "  kernel k(b, a) {\n"
                   "    local %v2 : f32\n"
                   "    for %i0 in 0..2 parallel {\n"
                   "      for %i1 in 0..8 unrolled(4) {\n"
                   "        %v2 = 0.25\n"
                   "        b[((%i1 - 1) % 4)] = min(cast<f32>((%i1 / 2)), sqrt(%v2))\n"
                   "      }\n"
                   "    }\n"
                   "  }\n"
                   "}\n");
  free(got);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("lower");
  TCase *t = tcase_create("lower");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, golden_small_net);
  tcase_add_test(t, lowering_is_deterministic);
  tcase_add_test(t, workspace_chain_runs_in_place);
  tcase_add_test(t, workspace_unplanned_print);
  tcase_add_test(t, workspace_value_used_far_apart_stays_live);
  tcase_add_test(t, workspace_operand_used_twice_by_one_node);
  tcase_add_test(t, workspace_unread_value_is_freed_at_once);
  tcase_add_test(t, workspace_mixed_sizes_first_fit);
  tcase_add_test(t, outputs_needing_copies);
  tcase_add_test(t, output_of_an_input_used_twice);
  suite_add_tcase(s, t);

  t = tcase_create("verify");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, verify_hand_module_ok);
  tcase_add_test(t, verify_store_to_input);
  tcase_add_test(t, verify_assign_to_loop_index);
  tcase_add_test(t, verify_store_to_const);
  tcase_add_test(t, verify_store_to_non_param);
  tcase_add_test(t, verify_load_from_non_param);
  tcase_add_test(t, verify_prefetch_ok);
  tcase_add_test(t, verify_prefetch_of_non_param);
  tcase_add_test(t, verify_prefetch_index_not_i64);
  tcase_add_test(t, verify_share_of_non_temp);
  tcase_add_test(t, verify_share_cycle);
  tcase_add_test(t, parallelize_keeps_loops_worth_threads);
  tcase_add_test(t, vectorize_keeps_loops_that_run_in_lanes);
  tcase_add_test(t, unroll_keeps_full_unrolls);
  tcase_add_test(t, loop_passes_print);
  tcase_add_test(t, gemm_prefetches);
  tcase_add_test(t, gemm_shares_tiles);
  tcase_add_test(t, reshape_of_a_temporary_takes_its_bytes);
  tcase_add_test(t, gemm_packs_aliasing_a);
  tcase_add_test(t, tile_replaces_the_plain_nest);
  tcase_add_test(t, tile_replaces_the_conv_nest);
  tcase_add_test(t, tile_shares_packs_within_a_kernel);
  tcase_add_test(t, subst_replaces_variables);
  tcase_add_test(t, verify_nest_against_record);
  tcase_add_test(t, verify_product_not_its_nest);
  tcase_add_test(t, verify_conv_not_its_nest);
  tcase_add_test(t, verify_load_index_not_i64);
  tcase_add_test(t, verify_store_index_not_i64);
  tcase_add_test(t, verify_stored_dtype_differs);
  tcase_add_test(t, verify_load_dtype_differs);
  tcase_add_test(t, verify_operand_dtypes_differ);
  tcase_add_test(t, verify_rem_on_floats);
  tcase_add_test(t, verify_var_outside_loop);
  tcase_add_test(t, verify_var_after_its_loop);
  tcase_add_test(t, verify_var_wrong_dtype);
  tcase_add_test(t, verify_loop_extent);
  tcase_add_test(t, verify_loop_var_not_i64);
  tcase_add_test(t, verify_assign_to_non_local);
  tcase_add_test(t, verify_assign_dtype_differs);
  tcase_add_test(t, verify_local_assign_ok);
  tcase_add_test(t, verify_missing_expression);
  tcase_add_test(t, verify_first_error_only);
  tcase_add_test(t, verify_second_kernel_named);
  tcase_add_test(t, verify_temp_outside_workspace);
  tcase_add_test(t, verify_temp_negative_offset);
  tcase_add_test(t, print_hand_forms);
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
