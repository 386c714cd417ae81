#define _GNU_SOURCE
/* Matrix products and convolutions done as matrix products, end to end.
 *
 * The tiles are DLC_GEMM_MR x DLC_GEMM_NR (8 x 48) with vectors of 16 f32
 * lanes, and K runs in blocks of at most 256 (a divisor of K when one is
 * near). The sizes below cover each remainder: M = 1, 7, 8, 9, 11, 12, 13,
 * 16, 17, 25 (row tiles: none full, one, several, with and without a
 * remainder); N = 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 65, 96, 97, 100
 * (column tiles and the vector remainder inside a tile); K = 1, 7, 64,
 * 100, 255, 256, 257, 300, 512, 523, 600, 1031 (one block, one block and a
 * remainder, several blocks exactly, several and a remainder). Each shape
 * runs with its weights as inputs and as constants (packed at compile
 * time), batched and broadcast, in f32, f64 and i32.
 *
 * Convolutions with one group and constant weights go through im2col (or
 * read the input itself for a 1x1, stride 1, no padding) and the same
 * tiles: 1x1, 3x3 with padding, stride 2, 7x7 stride 2 pad 3, dilation 2,
 * batch 2, output channels 1, 13, 33, K = C*kH*kW past 256 with and
 * without a remainder; groups > 1 and depthwise keep the direct loops.
 *
 * Every program is compiled at -O2 and -O0, run with 1 thread against the
 * reference evaluator, and with 2 and 3 threads bit for bit against 1 (at
 * -O0 through $DLCC_NUM_THREADS). Output buffers start as NaN bytes so an
 * element left unwritten fails. */
#include <dlcc/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/eval.h"
#include "ir/graph.h"
#include "ir/loop.h"
#include "passes/lower.h"
#include "passes/passes.h"
#include "tests/testutil.h"
#include "tools/driver.h"

typedef struct ecase {
  const char *name;
  const char *body;    /* statements inside model m { } */
  const char *kernels; /* the kernels lowering makes, in order, or NULL */
  double lo, hi;       /* input range */
  double rtol, atol;
} ecase;

/* The kernels of src after the default pipeline, space-separated, each
 * with the constants packed at compile time it reads:
 * "k0_matmul[w.packed] k1_matmul". */
static char *kernel_names(const char *dsl, const char *text, tu_sink *s) {
  dlc_graph *pg = dlc_frontend_compile(dsl, text, strlen(text), NULL, s->d);
  ck_assert_msg(pg != NULL, "%s", tu_sink_text(s));
  ck_assert_int_eq(dlc_run_passes(pg, NULL, &(dlc_pass_options){.verify_each = true}, s->d),
                   DLC_OK);
  dlc_lmodule *lm = dlc_lower_to_loops(pg, s->d);
  ck_assert_msg(lm != NULL, "%s", tu_sink_text(s));
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  for (int i = 0; i < lm->nkernels; i++) {
    const dlc_kernel *k = lm->kernels[i];
    fprintf(f, "%s%s", i ? " " : "", k->name);
    int np = 0;
    for (int p = 0; p < k->nparams; p++) {
      const char *nm = k->params[p]->name;
      size_t len = strlen(nm);
      if (k->params[p]->kind == DLC_BUF_CONST && len > 7 && strcmp(nm + len - 7, ".packed") == 0)
        fprintf(f, "%s%s", np++ ? "," : "[", nm);
    }
    if (np)
      fputc(']', f);
  }
  fclose(f);
  dlc_lmodule_free(lm);
  dlc_graph_free(pg);
  return buf;
}

/* Runs the model with n threads into fresh output buffers filled with 0xff
 * bytes (NaN for floats), so an element no kernel writes cannot pass. With
 * by_env the model is loaded anew under DLCC_NUM_THREADS=n (the runtime
 * reads it at load); otherwise *m is loaded once and set to n threads. */
static void **run_threads(const ecase *c, const char *so, dlcc_model **m, const dlc_graph *eg,
                          void **ins, int n, bool by_env) {
  if (by_env || !*m) {
    char v[8];
    snprintf(v, sizeof v, "%d", n);
    if (by_env)
      setenv("DLCC_NUM_THREADS", v, 1);
    dlcc_model_free(*m);
    *m = NULL;
    ck_assert_msg(dlcc_model_load(so, m) == DLCC_OK, "%s: load: %s", c->name,
                  dlcc_model_error(*m));
    ck_assert_int_eq(dlcc_model_num_inputs(*m), eg->ninputs);
    ck_assert_int_eq(dlcc_model_num_outputs(*m), eg->noutputs);
  }
  if (!by_env)
    ck_assert_int_eq(dlcc_model_set_num_threads(*m, n), DLCC_OK);
  ck_assert_int_eq(dlcc_model_num_threads(*m), n);
  void **outs = calloc((size_t)eg->noutputs + 1, sizeof *outs);
  for (int i = 0; i < eg->noutputs; i++) {
    size_t bytes = dlc_type_bytes(&eg->outputs[i].node->type);
    outs[i] = malloc(bytes + 1);
    memset(outs[i], 0xff, bytes + 1);
  }
  ck_assert_msg(dlcc_model_run(*m, (const void *const *)ins, outs) == DLCC_OK, "%s: run: %s",
                c->name, dlcc_model_error(*m));
  return outs;
}

static void free_outs(void **outs, int n) {
  for (int i = 0; i < n; i++)
    free(outs[i]);
  free(outs);
}

/* Compiles c at opt_level; checks its kernels (once, at -O2); runs it with
 * 1 thread against the evaluator, then with 2 and 3 threads bit for bit
 * against 1. At -O0 the thread count comes from $DLCC_NUM_THREADS. */
static void run_case(const ecase *c, int opt_level) {
  char *dir = tu_tmpdir(c->name);
  char *dsl = tu_path(dir, "m.dsl"), *so = tu_path(dir, "m.so");
  char *text = NULL;
  ck_assert(asprintf(&text, "model m {\n%s\n}\n", c->body) > 0);
  tu_write_file(dsl, text, strlen(text));

  tu_sink s;
  tu_sink_open(&s);
  if (c->kernels && opt_level == 2) {
    char *k = kernel_names(dsl, text, &s);
    ck_assert_msg(strcmp(k, c->kernels) == 0, "%s: kernels\n  got  %s\n  want %s", c->name, k,
                  c->kernels);
    free(k);
  }
  dlc_compile_options o = {.input = dsl, .output = so, .opt_level = opt_level};
  ck_assert_msg(dlc_compile(&o, s.d) == DLC_OK, "%s: compile failed:\n%s", c->name,
                tu_sink_text(&s));
  dlc_graph *eg = dlc_frontend_compile(dsl, text, strlen(text), NULL, s.d);
  ck_assert_msg(eg != NULL, "%s: %s", c->name, tu_sink_text(&s));

  dlcc_model *m = NULL;
  void **ins = calloc((size_t)eg->ninputs + 1, sizeof *ins);
  for (int i = 0; i < eg->ninputs; i++) {
    const dlc_type *t = &eg->inputs[i]->type;
    ins[i] = malloc(dlc_type_bytes(t) + 1);
    tu_fill_random(t->dtype, ins[i], dlc_type_numel(t), 1234 + (uint64_t)i, c->lo, c->hi);
  }
  void *want[16] = {0};
  ck_assert(eg->noutputs <= 16);
  ck_assert(dlc_eval_graph(eg, (const void *const *)ins, want, s.d) == DLC_OK);

  bool env = opt_level == 0;
  void **one = run_threads(c, so, &m, eg, ins, 1, env);
  for (int i = 0; i < eg->noutputs; i++) {
    const dlc_type *t = &eg->outputs[i].node->type;
    char what[160];
    snprintf(what, sizeof what, "%s -O%d output %s", c->name, opt_level, eg->outputs[i].name);
    tu_assert_close(what, t->dtype, one[i], want[i], dlc_type_numel(t), c->rtol, c->atol);
  }
  for (int n = 2; n <= 3; n++) {
    void **more = run_threads(c, so, &m, eg, ins, n, env);
    for (int i = 0; i < eg->noutputs; i++) {
      const dlc_type *t = &eg->outputs[i].node->type;
      size_t es = dlc_dtype_size(t->dtype);
      int64_t numel = dlc_type_numel(t);
      for (int64_t e = 0; e < numel; e++)
        ck_assert_msg(memcmp((char *)one[i] + e * (int64_t)es, (char *)more[i] + e * (int64_t)es,
                             es) == 0,
                      "%s -O%d output %s: %d threads differ from 1 at element %lld", c->name,
                      opt_level, eg->outputs[i].name, n, (long long)e);
    }
    free_outs(more, eg->noutputs);
  }
  free_outs(one, eg->noutputs);
  for (int i = 0; i < eg->noutputs; i++)
    free(want[i]);
  for (int i = 0; i < eg->ninputs; i++)
    free(ins[i]);
  free(ins);
  dlcc_model_free(m);
  dlc_graph_free(eg);
  tu_sink_close(&s);
  free(text);
  free(dsl);
  free(so);
  free(dir);
}

#define RM 1e-4, 3e-4 /* f32 sums of up to 1031 products, FMA contraction */
#define F64 1e-12, 1e-11
#define EXACT 0, 0

static const ecase cases[] = {
    /* the weights are inputs: nothing is packed at compile time */
    {"mm_direct_a",
     "input x0 : f32[1,1]\n"
     "input w0 : f32[1,1]\n"
     "input x1 : f32[11,7]\n"
     "input w1 : f32[7,15]\n"
     "input x2 : f32[12,256]\n"
     "input w2 : f32[256,16]\n"
     "input x3 : f32[13,255]\n"
     "input w3 : f32[255,33]\n"
     "input x4 : f32[25,600]\n"
     "input w4 : f32[600,65]\n"
     "input x5 : f32[1,257]\n"
     "input w5 : f32[257,17]\n"
     "output y0_1x1x1 = x0 @ w0\n"
     "output y1_11x15x7 = x1 @ w1\n"
     "output y2_12x16x256 = x2 @ w2\n"
     "output y3_13x33x255 = x3 @ w3\n"
     "output y4_25x65x600 = x4 @ w4\n"
     "output y5_1x17x257 = x5 @ w5\n",
     "k0_matmul k1_matmul k2_matmul k3_matmul k4_matmul k5_matmul",
     -1, 1, RM},
    {"mm_direct_b",
     "input x0 : f32[8,512]\n"
     "input w0 : f32[512,48]\n"
     "input x1 : f32[9,523]\n"
     "input w1 : f32[523,49]\n"
     "input x2 : f32[16,100]\n"
     "input w2 : f32[100,96]\n"
     "input x3 : f32[17,64]\n"
     "input w3 : f32[64,97]\n"
     "input x4 : f32[7,1]\n"
     "input w4 : f32[1,31]\n"
     "input x5 : f32[25,257]\n"
     "input w5 : f32[257,100]\n"
     "input x6 : f32[24,300]\n"
     "input w6 : f32[300,47]\n"
     "input x7 : f32[3,1031]\n"
     "input w7 : f32[1031,32]\n"
     "input x8 : f32[16,256]\n"
     "input w8 : f32[256,48]\n"
     "output y0_8x48x512 = x0 @ w0\n"
     "output y1_9x49x523 = x1 @ w1\n"
     "output y2_16x96x100 = x2 @ w2\n"
     "output y3_17x97x64 = x3 @ w3\n"
     "output y4_7x31x1 = x4 @ w4\n"
     "output y5_25x100x257 = x5 @ w5\n"
     "output y6_24x47x300 = x6 @ w6\n"
     "output y7_3x32x1031 = x7 @ w7\n"
     "output y8_16x48x256 = x8 @ w8\n",
     "k0_matmul k1_matmul k2_matmul k3_matmul k4_matmul k5_matmul k6_matmul k7_matmul k8_matmul",
     -1, 1, RM},
    /* the weights are constants, packed into column panels */
    {"mm_packed_a",
     "input x0 : f32[1,1]\n"
     "weight w0 : f32[1,1] = random(seed=1)\n"
     "input x1 : f32[11,7]\n"
     "weight w1 : f32[7,15] = random(seed=2)\n"
     "input x2 : f32[12,256]\n"
     "weight w2 : f32[256,16] = random(seed=3)\n"
     "input x3 : f32[13,255]\n"
     "weight w3 : f32[255,33] = random(seed=4)\n"
     "input x4 : f32[25,600]\n"
     "weight w4 : f32[600,65] = random(seed=5)\n"
     "input x5 : f32[1,257]\n"
     "weight w5 : f32[257,17] = random(seed=6)\n"
     "output y0_1x1x1 = x0 @ w0\n"
     "output y1_11x15x7 = x1 @ w1\n"
     "output y2_12x16x256 = x2 @ w2\n"
     "output y3_13x33x255 = x3 @ w3\n"
     "output y4_25x65x600 = x4 @ w4\n"
     "output y5_1x17x257 = x5 @ w5\n",
     "k0_matmul[w0.packed] k1_matmul[w1.packed] k2_matmul[w2.packed] k3_matmul[w3.packed] "
     "k4_matmul[w4.packed] k5_matmul[w5.packed]",
     -1, 1, RM},
    {"mm_packed_b",
     "input x0 : f32[8,512]\n"
     "weight w0 : f32[512,48] = random(seed=1)\n"
     "input x1 : f32[9,523]\n"
     "weight w1 : f32[523,49] = random(seed=2)\n"
     "input x2 : f32[16,100]\n"
     "weight w2 : f32[100,96] = random(seed=3)\n"
     "input x3 : f32[17,64]\n"
     "weight w3 : f32[64,97] = random(seed=4)\n"
     "input x4 : f32[7,1]\n"
     "weight w4 : f32[1,31] = random(seed=5)\n"
     "input x5 : f32[25,257]\n"
     "weight w5 : f32[257,100] = random(seed=6)\n"
     "input x6 : f32[24,300]\n"
     "weight w6 : f32[300,47] = random(seed=7)\n"
     "input x7 : f32[3,1031]\n"
     "weight w7 : f32[1031,32] = random(seed=8)\n"
     "input x8 : f32[16,256]\n"
     "weight w8 : f32[256,48] = random(seed=9)\n"
     "output y0_8x48x512 = x0 @ w0\n"
     "output y1_9x49x523 = x1 @ w1\n"
     "output y2_16x96x100 = x2 @ w2\n"
     "output y3_17x97x64 = x3 @ w3\n"
     "output y4_7x31x1 = x4 @ w4\n"
     "output y5_25x100x257 = x5 @ w5\n"
     "output y6_24x47x300 = x6 @ w6\n"
     "output y7_3x32x1031 = x7 @ w7\n"
     "output y8_16x48x256 = x8 @ w8\n",
     "k0_matmul[w0.packed] k1_matmul[w1.packed] k2_matmul[w2.packed] k3_matmul[w3.packed] "
     "k4_matmul[w4.packed] k5_matmul[w5.packed] k6_matmul[w6.packed] k7_matmul[w7.packed] "
     "k8_matmul[w8.packed]",
     -1, 1, RM},
    /* a constant on the left, packed into row panels */
    {"mm_packed_lhs",
     "weight a0 : f32[13,255] = random(seed=10)\n"
     "input b0 : f32[255,33]\n"
     "weight a1 : f32[9,523] = random(seed=11)\n"
     "input b1 : f32[523,49]\n"
     "weight a2 : f32[25,257] = random(seed=12)\n"
     "input b2 : f32[257,100]\n"
     "weight a3 : f32[1,1] = random(seed=13)\n"
     "input b3 : f32[1,1]\n"
     "weight a4 : f32[17,7] = random(seed=14)\n"
     "input b4 : f32[7,15]\n"
     "output y0_13x33x255 = a0 @ b0\n"
     "output y1_9x49x523 = a1 @ b1\n"
     "output y2_25x100x257 = a2 @ b2\n"
     "output y3_1x1x1 = a3 @ b3\n"
     "output y4_17x15x7 = a4 @ b4\n",
     "k0_matmul[a0.packed] k1_matmul[a1.packed] k2_matmul[a2.packed] k3_matmul[a3.packed] "
     "k4_matmul[a4.packed]",
     -1, 1, RM},
    /* batch dims, broadcast on either side; a constant [K,N] (or [1,K,N])
     * is packed once for every batch, a constant [3,K,N] is not packed */
    {"mm_batched",
     "input xb : f32[3,13,257]\n"
     "input wb : f32[257,49]\n"
     "weight wk : f32[257,49] = random(seed=1)\n"
     "input x4 : f32[2,1,9,7]\n"
     "input w4 : f32[3,7,17]\n"
     "weight wc4 : f32[3,7,17] = random(seed=2)\n"
     "weight wa : f32[9,7] = random(seed=3)\n"
     "input xb5 : f32[2,7,17]\n"
     "input x6 : f32[9,7]\n"
     "weight w1k : f32[1,257,49] = random(seed=4)\n"
     "weight a1k : f32[1,9,7] = random(seed=5)\n"
     "input xb7 : f32[2,3,25,65]\n"
     "input wb7 : f32[2,3,65,16]\n"
     "output a1 = xb @ wb\n"
     "output a2 = xb @ wk\n"
     "output a3 = x4 @ w4\n"
     "output a4 = x4 @ wc4\n"
     "output a5 = wa @ xb5\n"
     "output a6 = x6 @ xb5\n"
     "output a7 = xb7 @ wb7\n"
     "output a8 = xb @ w1k\n"
     "output a9 = a1k @ xb5\n",
     "k0_matmul k1_matmul[wk.packed] k2_matmul k3_matmul k4_matmul[wa.packed] k5_matmul k6_matmul "
     "k7_matmul[w1k.packed] k8_matmul[a1k.packed]",
     -1, 1, RM},
    {"mm_i32",
     "input xa : i32[13,523]\n"
     "input wa : i32[523,49]\n"
     "input xb : i32[8,1]\n"
     "weight wb : i32[1,16] = random(seed=1, scale=20)\n"
     "input xc : i32[25,257]\n"
     "weight wc : i32[257,100] = random(seed=2, scale=20)\n"
     "input xd : i32[1,64]\n"
     "input wd : i32[64,97]\n"
     "input xe : i32[3,9,300]\n"
     "weight we : i32[300,33] = random(seed=3, scale=20)\n"
     "output a = xa @ wa\n"
     "output b = xb @ wb\n"
     "output c = xc @ wc\n"
     "output d = xd @ wd\n"
     "output e = xe @ we\n",
     "k0_matmul k1_matmul[wb.packed] k2_matmul[wc.packed] k3_matmul k4_matmul[we.packed]",
     -20, 20, EXACT},
    {"mm_f64",
     "input xa : f64[11,300]\n"
     "input wa : f64[300,97]\n"
     "input xb : f64[1,7]\n"
     "weight wb : f64[7,1] = random(seed=1)\n"
     "input xc : f64[17,600]\n"
     "weight wc : f64[600,48] = random(seed=2)\n"
     "input xd : f64[2,1,12,256]\n"
     "input wd : f64[3,256,15]\n"
     "output a = xa @ wa\n"
     "output b = xb @ wb\n"
     "output c = xc @ wc\n"
     "output d = xd @ wd\n",
     "k0_matmul k1_matmul[wb.packed] k2_matmul[wc.packed] k3_matmul",
     -1, 1, F64},
    /* one input as both operands; a product of products through the workspace */
    {"mm_misc",
     "input s : f32[33,33]\n"
     "input x : f32[17,100]\n"
     "weight w1 : f32[100,65] = random(seed=1, scale=0.2)\n"
     "weight w2 : f32[65,17] = random(seed=2, scale=0.2)\n"
     "output q = s @ s\n"
     "h = x @ w1\n"
     "output y = h @ w2\n"
     "output t = transpose(h) @ x\n",
     "k0_matmul k1_matmul[w1.packed] k2_matmul[w2.packed] k3_transpose k4_matmul",
     -1, 1, RM},
    /* 1x1 stride 1 reads x itself; stride 2 and padding go through
     * im2col; a 3x3 over a 3x3 input has one position */
    {"conv_1x1",
     "input x : f32[2,17,5,7]\n"
     "weight w13 : f32[13,17,1,1] = random(seed=1)\n"
     "weight w33 : f32[33,17,1,1] = random(seed=2)\n"
     "weight b33 : f32[33] = random(seed=3)\n"
     "weight w1 : f32[1,17,1,1] = random(seed=4)\n"
     "weight ws : f32[13,17,1,1] = random(seed=5)\n"
     "output a = conv2d(x, w13)\n"
     "output b = conv2d(x, w33, b33)\n"
     "output c = conv2d(x, w1)\n"
     "output d = conv2d(x, ws, stride=2)\n"
     "weight wp : f32[13,17,1,1] = random(seed=6)\n"
     "output e = conv2d(x, wp, pad=[1,0,0,2])\n"
     "input xs : f32[1,8,3,3]\nweight wg : f32[4,8,3,3] = random(seed=7)\n"
     "output f = conv2d(xs, wg)\n",
     "k0_conv2d[w13.packed] k1_conv2d[w33.packed] k2_conv2d[w1.packed] k3_conv2d[ws.packed] "
     "k4_conv2d[wp.packed] k5_conv2d[wg.packed]",
     -1, 1, RM},
    {"conv_3x3",
     "input x : f32[1,3,9,11]\n"
     "weight w : f32[33,3,3,3] = random(seed=1)\n"
     "weight w2 : f32[13,3,3,3] = random(seed=2)\n"
     "weight w3 : f32[13,3,3,3] = random(seed=3)\n"
     "weight w4 : f32[1,3,3,2] = random(seed=4)\n"
     "weight b4 : f32[1] = 0.5\n"
     "output a = conv2d(x, w, pad=1)\n"
     "output b = conv2d(x, w2, stride=2)\n"
     "output c = conv2d(x, w3, pad=2, dilation=2)\n"
     "output d = conv2d(x, w4, b4, stride=[2,1], pad=[0,1,2,1], dilation=[1,2])\n",
     "k0_conv2d[w.packed] k1_conv2d[w2.packed] k2_conv2d[w3.packed] k3_conv2d[w4.packed]",
     -1, 1, RM},
    {"conv_7x7",
     "input x : f32[2,3,23,21]\n"
     "weight w : f32[13,3,7,7] = random(seed=1, scale=0.3)\n"
     "weight b : f32[13] = random(seed=2)\n"
     "weight w1 : f32[1,3,7,7] = random(seed=3, scale=0.3)\n"
     "output a = conv2d(x, w, b, stride=2, pad=3)\n"
     "output c = conv2d(x, w1, stride=2, pad=3)\n",
     "k0_conv2d[w.packed] k1_conv2d[w1.packed]",
     -1, 1, RM},
    /* im2col in chunks of output rows (Kc * rows * OW floats within 512 KiB):
     * Kc = 576, OW = 30 gives 7 rows a chunk; OH = 30 ends with 2 rows,
     * too few alone, so the last chunk has 9; OH = 32 ends with 4 of its own.
     * Batch 2: chunks per image. */
    {"conv_chunks",
     "input x : f32[2,64,30,30]\n"
     "input y : f32[1,64,32,30]\n"
     "weight w : f32[16,64,3,3] = random(seed=1, scale=0.1)\n"
     "weight b : f32[16] = random(seed=2)\n"
     "output a = relu(conv2d(x, w, b, pad=1))\n"
     "output c = conv2d(y, w, pad=1) + slice(y, axis=1, start=0, end=16)\n",
     NULL, -1, 1, RM},
    /* K = 37*1*7 = 259: one block of 256 and 3; K = 64*3*3 = 576: three of 192 */
    {"conv_big_k",
     "input x : f32[1,37,6,11]\n"
     "weight w : f32[13,37,1,7] = random(seed=1, scale=0.3)\n"
     "input x2 : f32[2,64,5,5]\n"
     "weight w2 : f32[33,64,3,3] = random(seed=2, scale=0.2)\n"
     "weight b2 : f32[33] = random(seed=3)\n"
     "output a = conv2d(x, w, pad=[0,3])\n"
     "output b = conv2d(x2, w2, b2, pad=1)\n",
     "k0_conv2d[w.packed] k1_conv2d[w2.packed]",
     -1, 1, RM},
    /* 1024 positions per image: many column tiles, shared among threads */
    {"conv_big_p",
     "input x : f32[2,16,32,32]\n"
     "weight w : f32[16,16,3,3] = random(seed=1, scale=0.3)\n"
     "weight w1 : f32[24,16,1,1] = random(seed=2)\n"
     "output a = conv2d(x, w, pad=1)\n"
     "output b = conv2d(x, w1)\n",
     "k0_conv2d[w.packed] k1_conv2d[w1.packed]",
     -1, 1, RM},
    /* groups > 1, depthwise, weights as an input and f64 keep the direct loops */
    {"conv_direct",
     "input x : f32[2,8,11,10]\n"
     "weight wg : f32[6,4,3,3] = random(seed=1)\n"
     "weight wd : f32[8,1,3,3] = random(seed=2)\n"
     "weight bd : f32[8] = random(seed=3)\n"
     "input wi : f32[5,8,3,1]\n"
     "input x64 : f64[1,4,7,7]\n"
     "weight w64 : f64[5,4,3,3] = random(seed=4)\n"
     "output a = conv2d(x, wg, groups=2, stride=2, pad=1)\n"
     "output b = conv2d(x, wd, bd, groups=8, pad=2, dilation=2)\n"
     "output c = conv2d(x, wi, pad=[1,0])\n"
     "output d = conv2d(x64, w64, pad=1)\n",
     "k0_conv2d k1_conv2d k2_conv2d k3_conv2d",
     -1, 1, RM},
    /* a constant that is both a packed operand and an operand of the
     * fused chain must stay a kernel parameter too */
    {"packed_and_read_in_chain",
     "input x : f32[5,5]\nweight w : f32[5,5] = random(seed=1)\ninput xc : f32[2,1,4,4]\n"
     "weight wc : f32[1,1,1,1] = 3\n"
     "output y = x @ w + w\noutput z = w @ x * w\noutput c = conv2d(xc, wc) * wc\n",
     NULL, -1, 1, RM},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

START_TEST(e2e_o2) { run_case(&cases[_i], 2); }
END_TEST

START_TEST(e2e_o0) { run_case(&cases[_i], 0); }
END_TEST

int main(void) {
  Suite *s = suite_create("gemm");
  TCase *e = tcase_create("e2e");
  tcase_set_timeout(e, 120);
  tcase_add_loop_test(e, e2e_o2, 0, NCASES);
  tcase_add_loop_test(e, e2e_o0, 0, NCASES);
  suite_add_tcase(s, e);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
