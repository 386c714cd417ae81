/* End to end, operator by operator: each case is a small program that is
 * compiled to a .so by the driver, loaded through the runtime, run on
 * random inputs, and compared with the reference evaluator on the same
 * graph. Sizes 1, 3, 17 and 257 catch vector-loop remainders; broadcasting,
 * batch matmul, every softmax axis and permutations catch indexing bugs. */
#include <dlcc/runtime.h>
#include <stdlib.h>

#include "ir/eval.h"
#include "tests/e2e.h"

typedef struct ecase {
  const char *name;
  const char *body; /* statements inside model m { } */
  double lo, hi;    /* input range */
  double rtol, atol;
} ecase;

/* Compiles src at opt_level, runs it and the evaluator, compares outputs. */
static void run_case(const ecase *c, int opt_level) {
  e2e_prog p;
  e2e_open(&p, c->name, c->body);
  e2e_compile(&p, opt_level);
  const dlc_graph *g = p.g;

  dlcc_model *m = NULL;
  ck_assert_msg(dlcc_model_load(p.so, &m) == DLCC_OK, "%s: load: %s", c->name,
                dlcc_model_error(m));
  int nin = dlcc_model_num_inputs(m), nout = dlcc_model_num_outputs(m);
  ck_assert_int_eq(nin, g->ninputs);
  ck_assert_int_eq(nout, g->noutputs);
  void **ins = e2e_inputs(g, c->lo, c->hi);
  void *outs[8] = {0}, *want[8] = {0};
  for (int i = 0; i < nout; i++)
    outs[i] = calloc(1, dlc_type_bytes(&g->outputs[i].node->type) + 1);
  ck_assert_msg(dlcc_model_run(m, (const void *const *)ins, outs) == DLCC_OK,
                "%s: run: %s", c->name, dlcc_model_error(m));
  ck_assert(dlc_eval_graph(g, (const void *const *)ins, want, p.s.d) == DLC_OK);
  e2e_assert_outputs(c->name, opt_level, g, outs, want, c->rtol, c->atol);
  e2e_free_bufs(ins, nin);
  for (int i = 0; i < nout; i++) {
    free(outs[i]);
    free(want[i]);
  }
  dlcc_model_free(m);
  e2e_close(&p);
}

#define F 1e-5, 1e-6 /* f32 elementwise tolerance */
#define R 1e-4, 1e-5 /* f32 reductions (different summation order) */
#define EXACT 0, 0

static const ecase cases[] = {
    /* elementwise binary at awkward sizes, broadcasting, dtypes */
    {"add_1", "input a : f32[1]\ninput b : f32[1]\noutput y = a + b", -2, 2, F},
    {"add_257", "input a : f32[257]\ninput b : f32[257]\noutput y = a + b", -2, 2, F},
    {"sub_bcast", "input a : f32[3,1]\ninput b : f32[1,17]\noutput y = a - b", -2, 2, F},
    {"mul_rank3", "input a : f32[2,3,17]\ninput b : f32[17]\noutput y = a * b", -2, 2, F},
    {"div_scalar", "input a : f32[257]\noutput y = a / 3", 0.5, 2, F},
    {"div_f64", "input a : f64[17]\ninput b : f64[3,17]\noutput y = a / b", 0.5, 2, 1e-12, 0},
    {"max_min", "input a : f32[3,17]\ninput b : f32[3,1]\noutput y = maximum(a, b)\noutput z = minimum(a, b)", -2, 2, EXACT},
    {"int_ops", "input a : i32[17]\ninput b : i32[17]\noutput s = a + b\noutput d = a - b\noutput p = a * b\noutput q = a / b\noutput mx = maximum(a, b)\noutput n = -a", -5, 5, EXACT},
    {"i64_bcast", "input a : i64[3,1]\ninput b : i64[257]\noutput y = a * b + 7", -1000, 1000, EXACT},
    /* unary at awkward sizes */
    {"unary_17", "input x : f32[17]\noutput r = relu(x)\noutput s = sigmoid(x)\noutput t = tanh(x)\noutput e = exp(x)\noutput n = neg(x)", -3, 3, F},
    {"unary_pos_257", "input x : f32[257]\noutput l = log(x)\noutput q = sqrt(x)", 0.01, 10, F},
    {"unary_f64", "input x : f64[3,3]\noutput y = tanh(x) + exp(x) * sigmoid(x)", -3, 3, 1e-12, 1e-14},
    /* matmul */
    {"matmul_1x1", "input a : f32[1,1]\ninput b : f32[1,1]\noutput y = a @ b", -1, 1, R},
    {"matmul_17x3x257", "input a : f32[17,3]\ninput b : f32[3,257]\noutput y = a @ b", -1, 1, R},
    {"matmul_257", "input a : f32[3,257]\ninput b : f32[257,17]\noutput y = a @ b", -1, 1, R},
    {"matmul_batch", "input a : f32[2,3,5]\ninput b : f32[2,5,7]\noutput y = a @ b", -1, 1, R},
    {"matmul_bcast", "input a : f32[2,1,3,4]\ninput b : f32[3,4,5]\noutput y = a @ b", -1, 1, R},
    {"matmul_i32", "input a : i32[3,17]\ninput b : i32[17,3]\noutput y = a @ b", -50, 50, EXACT},
    {"matmul_f64", "input a : f64[5,17]\ninput b : f64[17,3]\noutput y = matmul(a, b)", -1, 1, 1e-12, 1e-12},
    /* softmax on every axis */
    {"softmax_last", "input x : f32[3,17]\noutput y = softmax(x)", -5, 5, R},
    {"softmax_axes", "input x : f32[3,17,5]\noutput a = softmax(x, axis=0)\noutput b = softmax(x, axis=1)\noutput c = softmax(x, axis=-1)\noutput d = softmax(x, axis=-3)", -5, 5, R},
    {"softmax_1", "input x : f32[1]\noutput y = softmax(x)", -5, 5, R},
    {"softmax_257", "input x : f64[2,257]\noutput y = softmax(x, axis=1)", -30, 30, 1e-12, 1e-15},
    /* data movement */
    {"reshape", "input x : f32[3,17]\noutput y = reshape(x, [17,-1])\noutput z = reshape(x, [51])", -1, 1, EXACT},
    /* reshapes of temporaries take their bytes (no kernel): in a row,
     * around a transpose, one whose operand is read again after it;
     * transposes that only move axes of size 1 are reshapes (of an input:
     * a copy) */
    {"reshape_in_place", "input x : f32[3,17,5]\ninput u : f32[1,7,1,9]\n"
                         "a = reshape(exp(x), [51,5])\nb = transpose(reshape(a, [5,51]))\n"
                         "c = flatten(tanh(b))\noutput y = c * 2\n"
                         "s = neg(x)\nr = reshape(s, [15,17])\noutput z = r + 1\noutput w = s - 1\n"
                         "output v = transpose(exp(u), perm=[2,1,0,3]) * 3\n"
                         "output v2 = transpose(u, perm=[1,0,2,3]) - 1\n"
                         "output v3 = transpose(exp(u), perm=[0,3,2,1]) + 1",
     -1, 1, F},
    {"transpose_default", "input x : f32[3,17,5]\noutput y = transpose(x)", -1, 1, EXACT},
    {"transpose_perm", "input x : i64[2,3,5,7]\noutput y = transpose(x, perm=[2,0,3,1])", -9, 9, EXACT},
    {"transpose_2d", "input x : f32[257,3]\noutput y = transpose(x, perm=[1,0])", -1, 1, EXACT},
    /* whole programs: an MLP, shared values, outputs that name inputs */
    {"mlp", "input x : f32[3,17]\nweight w1 : f32[17,257] = random(seed=1)\nweight b1 : f32[257] = 0.5\n"
            "weight w2 : f32[257,3] = random(seed=2, scale=0.1)\nh = relu(x @ w1 + b1)\n"
            "output y = softmax(h @ w2, axis=-1)\noutput h", -1, 1, R},
    {"passthrough", "input x : f32[17]\nweight w : f32[3] = ones\noutput a = x\noutput b = x\noutput w\noutput c = exp(x)\noutput d = c", -1, 1, F},
    {"folded", "input x : f32[3]\nweight w : f32[3] = 2\noutput y = x * (w * w + 1) - (w - w)", -1, 1, F},
    /* new elementwise operators, dtypes and bool */
    {"unary_nn_17", "input x : f32[17]\noutput a = gelu(x)\noutput b = gelu(x, approximate=\"tanh\")\n"
                    "output c = erf(x)\noutput d = silu(x)\noutput e = abs(x)\noutput f = leaky_relu(x, alpha=0.2)\n"
                    "output g = clip(x, min=-0.5, max=0.7)\noutput h = clip(x, max=0)", -3, 3, F},
    {"unary_pos_17", "input x : f32[3,17]\noutput a = rsqrt(x)\noutput b = reciprocal(x)\noutput c = pow(x, 1.5)\n"
                     "input y : f32[17]\noutput d = pow(x, y)", 0.1, 3, F},
    {"int_unary", "input x : i32[257]\noutput a = abs(x)\noutput b = clip(x, min=-3, max=4)\noutput c = relu(x)", -9, 9, EXACT},
    {"compare_where", "input a : f32[3,17]\ninput b : f32[17]\noutput e = equal(a, a)\noutput l = less(a, b)\n"
                      "output g = greater(a, b)\noutput w = where(less(a, b), a, b)\noutput z = where(g, a, 0)", -2, 2, EXACT},
    {"int_compare", "input a : i64[5,1]\ninput b : i64[3]\noutput l = less(a, b)\noutput e = equal(a, b)\n"
                    "output w = where(greater(a, b), a, b)", -2, 2, EXACT},
    {"bool_io", "input c : bool[17]\ninput a : f32[17]\noutput w = where(c, a, -a)\noutput k = cast(c, f32)\n"
                "output e = equal(c, c)\noutput r = reshape(c, [1,17])", 0, 1, EXACT},
    {"casts", "input x : f32[257]\noutput a = cast(x, i32)\noutput b = cast(x, i64)\noutput c = cast(x, bool)\n"
              "output d = cast(x, f64)\noutput e = cast(cast(x, i32), f32)", -300, 300, EXACT},
    /* reductions */
    {"reduce_all", "input x : f32[3,17,5]\noutput s = sum(x)\noutput m = mean(x, keepdims=0)\noutput a = max(x)\noutput b = min(x, keepdims=0)", -1, 1, R},
    {"reduce_axes", "input x : f32[3,17,5]\noutput s = sum(x, axis=1)\noutput m = mean(x, axis=[0,2], keepdims=0)\n"
                    "output a = max(x, axis=-1, keepdims=0)\noutput b = min(x, axis=[2,0])", -1, 1, R},
    {"reduce_int", "input x : i32[4,257]\noutput s = sum(x, axis=1)\noutput m = mean(x, axis=0)\noutput a = max(x, axis=1)", -100, 100, EXACT},
    {"log_softmax", "input x : f32[3,17,5]\noutput a = log_softmax(x)\noutput b = log_softmax(x, axis=1)", -5, 5, R},
    /* normalization */
    {"batch_norm", "input x : f32[2,3,5,7]\nweight s : f32[3] = random(seed=1)\nweight b : f32[3] = random(seed=2)\n"
                   "weight mu : f32[3] = random(seed=3)\nweight v : f32[3] = 2\noutput y = batch_norm(x, s, b, mu, v, eps=0.001)", -2, 2, R},
    {"batch_norm_2d", "input x : f32[17,3]\nweight s : f32[3] = 1.5\nweight b : f32[3] = 0.5\nweight mu : f32[3] = 0.1\n"
                      "weight v : f32[3] = 0.25\noutput y = batch_norm(x, s, b, mu, v)", -2, 2, R},
    {"layer_norm", "input x : f32[3,17,257]\nweight g : f32[257] = random(seed=4)\nweight b : f32[257] = random(seed=5)\n"
                   "output y = layer_norm(x, g, b)", -2, 2, 1e-4, 1e-4},
    {"layer_norm_axis", "input x : f32[3,17,5]\nweight g : f32[17,5] = random(seed=4)\nweight b : f32[17,5] = 0.1\n"
                        "output y = layer_norm(x, g, b, axis=1, eps=0.01)", -2, 2, 1e-4, 1e-4},
    /* convolution and pooling */
    {"conv_basic", "input x : f32[1,3,17,17]\nweight w : f32[5,3,3,3] = random(seed=1)\noutput y = conv2d(x, w)", -1, 1, R},
    {"conv_pad_bias", "input x : f32[2,3,17,13]\nweight w : f32[4,3,3,3] = random(seed=1)\nweight b : f32[4] = random(seed=2)\n"
                      "output y = conv2d(x, w, b, pad=1)", -1, 1, R},
    {"conv_stride_dil", "input x : f32[1,2,17,19]\nweight w : f32[3,2,3,2] = random(seed=1)\n"
                        "output y = conv2d(x, w, stride=[2,3], pad=[1,0,2,1], dilation=[2,1])", -1, 1, R},
    {"conv_groups", "input x : f32[1,4,9,9]\nweight w : f32[6,2,3,3] = random(seed=1)\noutput y = conv2d(x, w, groups=2, stride=2, pad=1)", -1, 1, R},
    {"conv_depthwise", "input x : f32[1,8,7,7]\nweight w : f32[8,1,3,3] = random(seed=1)\nweight b : f32[8] = 0.5\n"
                       "output y = conv2d(x, w, b, groups=8, pad=1)", -1, 1, R},
    {"conv_1x1_f64", "input x : f64[1,17,3,5]\nweight w : f64[3,17,1,1] = random(seed=1)\noutput y = conv2d(x, w)", -1, 1, 1e-12, 1e-12},
    {"max_pool", "input x : f32[1,3,17,17]\noutput a = max_pool2d(x, kernel=3, stride=2, pad=1)\noutput b = max_pool2d(x, kernel=[2,3])", -1, 1, EXACT},
    {"max_pool_int", "input x : i32[1,2,7,7]\noutput a = max_pool2d(x, kernel=3, stride=2, pad=1)", -50, 50, EXACT},
    {"avg_pool", "input x : f32[2,3,17,13]\noutput a = avg_pool2d(x, kernel=3, stride=2, pad=1)\n"
                 "output b = avg_pool2d(x, kernel=3, stride=2, pad=1, count_include_pad=1)\noutput c = avg_pool2d(x, kernel=[2,4], stride=[2,1])", -1, 1, R},
    {"global_avg_pool", "input x : f32[2,17,7,5]\noutput y = global_avg_pool(x)", -1, 1, R},
    /* data movement */
    {"flatten_squeeze", "input x : f32[2,1,3,1]\noutput a = flatten(x)\noutput b = flatten(x, axis=0)\noutput c = squeeze(x)\n"
                        "output d = squeeze(x, axes=[-1])\noutput e = unsqueeze(x, axes=[0,-1])", -1, 1, EXACT},
    {"concat", "input a : f32[2,3,5]\ninput b : f32[2,1,5]\ninput c : f32[2,17,5]\noutput y = concat(a, b, c, axis=1)\n"
               "output z = concat(a, a, axis=-1)\noutput w = concat(c, axis=0)", -1, 1, EXACT},
    {"slice", "input x : f32[3,17,5]\noutput a = slice(x, axis=1, start=2, end=15, step=3)\noutput b = slice(x, axis=-1, start=-2)\n"
              "output c = slice(x, axis=1, step=-2)\noutput d = slice(x, axis=0, start=5, end=-10, step=-1)\n"
              "output e = slice(x, axis=1, start=-100, end=100)", -1, 1, EXACT},
    {"split", "input x : f32[3,17,5]\np, q, r = split(x, sizes=[1,6,10], axis=1)\noutput p\noutput q\noutput r", -1, 1, EXACT},
    {"broadcast_to", "input x : f32[3,1]\noutput y = broadcast_to(x, [2,3,17])\ninput s : i32[]\noutput z = broadcast_to(s, [5])", -5, 5, EXACT},
    {"gather", "input x : f32[17,5]\ninput i : i64[3,2]\noutput y = gather(x, i)\noutput z = gather(x, i, axis=1)", -20, 20, EXACT},
    {"gather_i32", "input x : f32[2,17,3]\ninput i : i32[257]\noutput y = gather(x, i, axis=1)", -20, 20, EXACT},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

START_TEST(test_case_o2) { run_case(&cases[_i], 2); }
END_TEST

START_TEST(test_case_o0) { run_case(&cases[_i], 0); }
END_TEST

int main(void) {
  Suite *s = suite_create("e2e_ops");
  suite_add_tcase(s, e2e_loop_tcase("ops", test_case_o2, test_case_o0, NCASES));
  return e2e_run_suite(s);
}
