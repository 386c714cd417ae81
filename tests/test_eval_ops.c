/* The reference evaluator on the CNN and transformer operators, against
 * answers worked out by hand on small tensors: convolutions with known
 * kernels, pools with padding, normalizations, reductions (integer means
 * truncate), comparisons and where, cast's saturation, gather's negative and
 * out-of-range indices, slices with negative steps. Each case states the
 * arithmetic behind its expected values. Also: malformed nodes built by
 * hand return DLC_ERROR instead of reading out of bounds. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/graph.h"
#include "tests/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

/* Builds op(x0, x1, ...) as a one-node graph on inputs of the given types
 * (through the shape rule), evaluates it on data and returns the malloc'd
 * result, checking its type against want. */
static void *run(dlc_op op, int nin, const dlc_type *types,
                 const void *const *data, const dlc_attrs *attrs,
                 dlc_type want) {
  return tu_eval_op(op, nin, types, data, attrs, &want, NULL, NULL);
}

static void *run1(dlc_op op, dlc_type ta, const void *a, const dlc_attrs *at,
                  dlc_type want) {
  const void *d[1] = {a};
  return run(op, 1, &ta, d, at, want);
}

static void *run2(dlc_op op, dlc_type ta, const void *a, dlc_type tb,
                  const void *b, const dlc_attrs *at, dlc_type want) {
  dlc_type t[2] = {ta, tb};
  const void *d[2] = {a, b};
  return run(op, 2, t, d, at, want);
}

#define CHECK(dt, ctype, what, got, ...)                                       \
  do {                                                                         \
    const ctype want_[] = {__VA_ARGS__};                                       \
    void *got_ = (got); /* evaluated once */                                   \
    tu_assert_close(what, dt, got_, want_,                                     \
                    (int64_t)(sizeof want_ / sizeof want_[0]), 0, 0);          \
    free(got_);                                                                \
  } while (0)
#define F32(what, got, ...) CHECK(DLC_F32, float, what, got, __VA_ARGS__)
#define F64(what, got, ...) CHECK(DLC_F64, double, what, got, __VA_ARGS__)
#define I32(what, got, ...) CHECK(DLC_I32, int32_t, what, got, __VA_ARGS__)
#define I64(what, got, ...) CHECK(DLC_I64, int64_t, what, got, __VA_ARGS__)
#define BOOL(what, got, ...) CHECK(DLC_BOOL, uint8_t, what, got, __VA_ARGS__)

/* Like CHECK with a tolerance, for values that went through libm. */
#define F64_NEAR(what, got, ...)                                               \
  do {                                                                         \
    const double want_[] = {__VA_ARGS__};                                      \
    void *got_ = (got); /* evaluated once */                                   \
    tu_assert_close(what, DLC_F64, got_, want_,                                \
                    (int64_t)(sizeof want_ / sizeof want_[0]), 1e-15, 1e-15);  \
    free(got_);                                                                \
  } while (0)

static dlc_attrs conv_attrs(int64_t sh, int64_t sw, int64_t top, int64_t left,
                            int64_t bottom, int64_t right, int64_t dh,
                            int64_t dw, int64_t groups) {
  dlc_attrs at = {.stride = {sh, sw}, .pad = {top, left, bottom, right},
                  .dilation = {dh, dw}, .groups = groups};
  return at;
}

/* ---- conv2d ------------------------------------------------------------ */

/* x is 1..9 in a 3x3 image throughout. */
static const float X9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float ONES9[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};

START_TEST(conv_known_kernel) {
  /* w = [[1,2],[3,4]], no padding: y[i,j] = x[i,j] + 2x[i,j+1] +
   * 3x[i+1,j] + 4x[i+1,j+1]: 1+4+12+20 = 37, 2+6+15+24 = 47,
   * 4+10+21+32 = 67, 5+12+24+36 = 77; the bias adds 0.5. */
  float w[] = {1, 2, 3, 4}, b[] = {0.5f};
  dlc_attrs at = conv_attrs(1, 1, 0, 0, 0, 0, 1, 1, 1);
  dlc_type t[3] = {tu_ty(DLC_F32, 4, 1, 1, 3, 3), tu_ty(DLC_F32, 4, 1, 1, 2, 2),
                   tu_ty(DLC_F32, 1, 1)};
  const void *d[3] = {X9, w, b};
  F32("conv", run(DLC_OP_CONV2D, 2, t, d, &at, tu_ty(DLC_F32, 4, 1, 1, 2, 2)),
      37, 47, 67, 77);
  F32("conv+bias", run(DLC_OP_CONV2D, 3, t, d, &at, tu_ty(DLC_F32, 4, 1, 1, 2, 2)),
      37.5f, 47.5f, 67.5f, 77.5f);
}
END_TEST

START_TEST(conv_padding_stride_dilation) {
  dlc_type tx = tu_ty(DLC_F32, 4, 1, 1, 3, 3), tw = tu_ty(DLC_F32, 4, 1, 1, 3, 3);
  /* a 3x3 box of ones with pad 1: each output is the sum of x over the
   * 3x3 neighbourhood inside the image, e.g. the corner 1+2+4+5 = 12 and
   * the centre 45 */
  dlc_attrs at = conv_attrs(1, 1, 1, 1, 1, 1, 1, 1, 1);
  F32("box pad 1", run2(DLC_OP_CONV2D, tx, X9, tw, ONES9, &at, tu_ty(DLC_F32, 4, 1, 1, 3, 3)),
      12, 21, 16, 27, 45, 33, 24, 39, 28);
  /* stride 2 keeps the four corners of that */
  at = conv_attrs(2, 2, 1, 1, 1, 1, 1, 1, 1);
  F32("box stride 2", run2(DLC_OP_CONV2D, tx, X9, tw, ONES9, &at, tu_ty(DLC_F32, 4, 1, 1, 2, 2)),
      12, 16, 24, 28);
  /* a 2x2 kernel with dilation 2 reads the image's corners: 1+3+7+9 */
  float w4[] = {1, 1, 1, 1};
  dlc_type tw2 = tu_ty(DLC_F32, 4, 1, 1, 2, 2);
  at = conv_attrs(1, 1, 0, 0, 0, 0, 2, 2, 1);
  F32("dilation 2", run2(DLC_OP_CONV2D, tx, X9, tw2, w4, &at, tu_ty(DLC_F32, 4, 1, 1, 1, 1)),
      20);
  /* one padded row on top only: H' = (3+1-2)/1+1 = 3, W' = 2; the first
   * output row sees the padding and row 0: 1+2, 2+3 */
  at = conv_attrs(1, 1, 1, 0, 0, 0, 1, 1, 1);
  F32("pad top", run2(DLC_OP_CONV2D, tx, X9, tw2, w4, &at, tu_ty(DLC_F32, 4, 1, 1, 3, 2)),
      3, 5, 12, 16, 24, 28);
  /* pad left 2, right 1 and stride [2, 3] with w = [[1,10],[100,1000]]:
   * padded rows 0..2, columns -2..3; H' = (3-2)/2+1 = 1, W' = (6-2)/3+1 = 2;
   * the first window covers columns -2, -1, all padding: 0; the second
   * columns 1, 2: x[0,1] + 10x[0,2] + 100x[1,1] + 1000x[1,2] */
  float w10[] = {1, 10, 100, 1000};
  at = conv_attrs(2, 3, 0, 2, 0, 1, 1, 1, 1);
  F32("asymmetric", run2(DLC_OP_CONV2D, tx, X9, tw2, w10, &at, tu_ty(DLC_F32, 4, 1, 1, 1, 2)),
      0, 2 + 30 + 500 + 6000);
}
END_TEST

START_TEST(conv_groups) {
  /* x = [2, 3] as two 1x1 channels. */
  float x[] = {2, 3};
  dlc_type tx = tu_ty(DLC_F32, 4, 1, 2, 1, 1);
  /* groups 1, w = [[1, 1], [1, -1]]: y = [2+3, 2-3] */
  float w1[] = {1, 1, 1, -1};
  dlc_attrs at = conv_attrs(1, 1, 0, 0, 0, 0, 1, 1, 1);
  F32("groups 1", run2(DLC_OP_CONV2D, tx, x, tu_ty(DLC_F32, 4, 2, 2, 1, 1), w1, &at,
                       tu_ty(DLC_F32, 4, 1, 2, 1, 1)),
      5, -1);
  /* depthwise (groups 2), w = [10, 100]: each channel by its own weight */
  float w2[] = {10, 100};
  at.groups = 2;
  F32("depthwise", run2(DLC_OP_CONV2D, tx, x, tu_ty(DLC_F32, 4, 2, 1, 1, 1), w2, &at,
                        tu_ty(DLC_F32, 4, 1, 2, 1, 1)),
      20, 300);
  /* groups 2 with two outputs per group: outputs 0, 1 read channel 0, outputs
   * 2, 3 read channel 1: [2*1, 2*2, 3*3, 3*4] */
  float w4[] = {1, 2, 3, 4};
  F32("multiplier 2", run2(DLC_OP_CONV2D, tx, x, tu_ty(DLC_F32, 4, 4, 1, 1, 1), w4, &at,
                           tu_ty(DLC_F32, 4, 1, 4, 1, 1)),
      2, 4, 9, 12);
  /* groups 2 over 4 channels [1, 2, 3, 4] with w [2, 2, 1, 1] ([M=2, C/g=2]):
   * y0 = 1*1 + 2*2 (channels 0, 1), y1 = 3*3 + 4*4 */
  float x4[] = {1, 2, 3, 4}, w22[] = {1, 2, 3, 4};
  F32("groups 2", run2(DLC_OP_CONV2D, tu_ty(DLC_F32, 4, 1, 4, 1, 1), x4,
                       tu_ty(DLC_F32, 4, 2, 2, 1, 1), w22, &at, tu_ty(DLC_F32, 4, 1, 2, 1, 1)),
      5, 25);
  /* a batch of two, f64 */
  double xb[] = {1, 2, 3, 4}, wb[] = {0.5, -1};
  at.groups = 1;
  F64("batch", run2(DLC_OP_CONV2D, tu_ty(DLC_F64, 4, 2, 2, 1, 1), xb,
                    tu_ty(DLC_F64, 4, 1, 2, 1, 1), wb, &at, tu_ty(DLC_F64, 4, 2, 1, 1, 1)),
      0.5 - 2, 1.5 - 4);
}
END_TEST

/* ---- pooling ----------------------------------------------------------- */

START_TEST(max_pool_padding_never_wins) {
  /* x = [[-1, -2], [-3, -4]], kernel 2, pad 1: 3x3 windows over the padded
   * 4x4; each is the largest element of x it covers, never the padding's 0 */
  float x[] = {-1, -2, -3, -4};
  dlc_attrs at = {.kernel = {2, 2}, .stride = {1, 1}, .pad = {1, 1, 1, 1}};
  F32("max_pool", run1(DLC_OP_MAX_POOL2D, tu_ty(DLC_F32, 4, 1, 1, 2, 2), x, &at,
                       tu_ty(DLC_F32, 4, 1, 1, 3, 3)),
      -1, -1, -2, -1, -1, -2, -3, -3, -4);
  /* integers at the bottom of the range, stride 2 with pad 1: windows
   * {x00}, {x01, x02}, {x10, x20}, {x11, x12, x21, x22} */
  int32_t xi[] = {INT32_MIN, INT32_MIN, INT32_MIN + 5, INT32_MIN + 1, -7, -9,
                  INT32_MIN, -8, INT32_MIN};
  at.pad[2] = at.pad[3] = 0;
  at.stride[0] = at.stride[1] = 2;
  I32("max_pool i32", run1(DLC_OP_MAX_POOL2D, tu_ty(DLC_I32, 4, 1, 1, 3, 3), xi, &at,
                           tu_ty(DLC_I32, 4, 1, 1, 2, 2)),
      INT32_MIN, INT32_MIN + 5, INT32_MIN + 1, -7);
  /* a NaN wins the windows it is in; i64 and two channels */
  double xn[] = {1, NAN, 3, 4, 5, 6, 7, 8};
  dlc_attrs a2 = {.kernel = {1, 2}, .stride = {1, 1}, .pad = {0, 0, 0, 0}};
  double *y = run1(DLC_OP_MAX_POOL2D, tu_ty(DLC_F64, 4, 1, 2, 2, 2), xn, &a2,
                   tu_ty(DLC_F64, 4, 1, 2, 2, 1));
  ck_assert(isnan(y[0]) && y[1] == 4 && y[2] == 6 && y[3] == 8);
  free(y);
  int64_t xl[] = {5, -3, INT64_MIN, INT64_MAX};
  I64("max_pool i64", run1(DLC_OP_MAX_POOL2D, tu_ty(DLC_I64, 4, 1, 1, 2, 2), xl, &a2,
                           tu_ty(DLC_I64, 4, 1, 1, 2, 1)),
      5, INT64_MAX);
}
END_TEST

START_TEST(avg_pool_count_include_pad) {
  /* x = [[1, 2], [3, 4]], kernel 2, pad 1: the windows hold {1}, {1,2},
   * {2}, {1,3}, {1,2,3,4}, {2,4}, {3}, {3,4}, {4} */
  float x[] = {1, 2, 3, 4};
  dlc_attrs at = {.kernel = {2, 2}, .stride = {1, 1}, .pad = {1, 1, 1, 1}};
  dlc_type tx = tu_ty(DLC_F32, 4, 1, 1, 2, 2), to = tu_ty(DLC_F32, 4, 1, 1, 3, 3);
  /* divided by the number inside x */
  F32("avg", run1(DLC_OP_AVG_POOL2D, tx, x, &at, to),
      1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4);
  /* divided by kH*kW = 4 */
  at.count_include_pad = true;
  F32("avg cip", run1(DLC_OP_AVG_POOL2D, tx, x, &at, to),
      0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1);
  /* kernel [1, 3], stride [1, 2], pad left 1 right 2 on a 1x4 row
   * [1, 2, 3, 4]: padded columns -1..5, W' = (7-3)/2+1 = 3; windows
   * {-1,0,1} -> {1,2}, {1,2,3} -> {2,3,4}, {3,4,5} -> {4} */
  double r[] = {1, 2, 3, 4};
  dlc_attrs a2 = {.kernel = {1, 3}, .stride = {1, 2}, .pad = {0, 1, 0, 2}};
  dlc_type tr = tu_ty(DLC_F64, 4, 1, 1, 1, 4), tro = tu_ty(DLC_F64, 4, 1, 1, 1, 3);
  F64("avg row", run1(DLC_OP_AVG_POOL2D, tr, r, &a2, tro), 1.5, 3, 4);
  a2.count_include_pad = true;
  F64("avg row cip", run1(DLC_OP_AVG_POOL2D, tr, r, &a2, tro), 1, 3, 4.0 / 3.0);
}
END_TEST

START_TEST(global_avg_pool_means) {
  /* [1, 2, 2, 2]: channel 0 holds 1..4 (mean 2.5), channel 1 -1, -1, 0, 6
   * (mean 1) */
  float x[] = {1, 2, 3, 4, -1, -1, 0, 6};
  F32("gap", run1(DLC_OP_GLOBAL_AVG_POOL, tu_ty(DLC_F32, 4, 1, 2, 2, 2), x, NULL,
                  tu_ty(DLC_F32, 4, 1, 2, 1, 1)),
      2.5f, 1);
  /* rank 3: [2, 1, 3] */
  double y[] = {1, 2, 6, -3, 0, 0};
  F64("gap rank 3", run1(DLC_OP_GLOBAL_AVG_POOL, tu_ty(DLC_F64, 3, 2, 1, 3), y, NULL,
                         tu_ty(DLC_F64, 3, 2, 1, 1)),
      3, -1);
}
END_TEST

/* ---- normalization ----------------------------------------------------- */

START_TEST(batch_norm_values) {
  /* x [1, 2, 1, 2]: channel 0 [1, 5], channel 1 [2, -7]; eps 1, so
   * sqrt(var + eps) = sqrt(3 + 1) = 2 and sqrt(8 + 1) = 3:
   * c0: (1-0)/2*2+1 = 2, (5-0)/2*2+1 = 6; c1: (2-1)/3*3-1 = 0,
   * (-7-1)/3*3-1 = -9 */
  double x[] = {1, 5, 2, -7}, scale[] = {2, 3}, bias[] = {1, -1},
         mean[] = {0, 1}, var[] = {3, 8};
  dlc_type tp = tu_ty(DLC_F64, 1, 2);
  dlc_type t[5] = {tu_ty(DLC_F64, 4, 1, 2, 1, 2), tp, tp, tp, tp};
  const void *d[5] = {x, scale, bias, mean, var};
  dlc_attrs at = {.eps = 1};
  F64("batch_norm", run(DLC_OP_BATCH_NORM, 5, t, d, &at, t[0]), 2, 6, 0, -9);
  /* rank 2, f32 */
  float xf[] = {4, 4}, sf[] = {1, 1}, bf[] = {0, 0.5f}, mf[] = {2, 0},
        vf[] = {0, 0};
  dlc_type tq = tu_ty(DLC_F32, 1, 2);
  dlc_type tf[5] = {tu_ty(DLC_F32, 2, 1, 2), tq, tq, tq, tq};
  const void *df[5] = {xf, sf, bf, mf, vf};
  at.eps = 0.25; /* sqrt(0 + 0.25) = 0.5: (4-2)/0.5 = 4, 4/0.5+0.5 = 8.5 */
  F32("batch_norm rank 2", run(DLC_OP_BATCH_NORM, 5, tf, df, &at, tf[0]), 4, 8.5f);
}
END_TEST

START_TEST(layer_norm_population_variance) {
  /* rows [1, 2, 3, 4]: mean 2.5, population variance (2.25+0.25+0.25+2.25)/4
   * = 1.25 (the sample variance would be 5/3); eps 2.75 makes the
   * denominator sqrt(4) = 2: [-0.75, -0.25, 0.25, 0.75] * gamma + beta. The
   * second row [2, 2, 2, 2] has variance 0: y = 0 * gamma + beta. */
  double x[] = {1, 2, 3, 4, 2, 2, 2, 2}, g[] = {1, 2, 1, 2}, b[] = {0, 0, 1, 1};
  dlc_type t[3] = {tu_ty(DLC_F64, 2, 2, 4), tu_ty(DLC_F64, 1, 4), tu_ty(DLC_F64, 1, 4)};
  const void *d[3] = {x, g, b};
  dlc_attrs at = {.axis = -1, .eps = 2.75};
  F64("layer_norm", run(DLC_OP_LAYER_NORM, 3, t, d, &at, t[0]),
      -0.75, -0.5, 1.25, 2.5, 0, 0, 1, 1);
  /* over the last two dims of [1, 2, 2] (axis 1): the same four numbers */
  dlc_type t2[3] = {tu_ty(DLC_F64, 3, 1, 2, 2), tu_ty(DLC_F64, 2, 2, 2), tu_ty(DLC_F64, 2, 2, 2)};
  at.axis = 1;
  F64("layer_norm axis 1", run(DLC_OP_LAYER_NORM, 3, t2, d, &at, t2[0]),
      -0.75, -0.5, 1.25, 2.5);
}
END_TEST

START_TEST(log_softmax_values) {
  /* [0, ln 3]: softmax [1/4, 3/4], so log_softmax [ln 1/4, ln 3/4]; a row
   * of 1000s stays finite: ln(1/2) each */
  double x[] = {0, log(3.0), 1000, 1000};
  dlc_attrs at = {.axis = -1};
  F64_NEAR("log_softmax", run1(DLC_OP_LOG_SOFTMAX, tu_ty(DLC_F64, 2, 2, 2), x, &at,
                               tu_ty(DLC_F64, 2, 2, 2)),
           log(0.25), log(0.75), -log(2.0), -log(2.0));
  at.axis = 0; /* columns: [0, 1000] and [ln 3, 1000] */
  double *y = run1(DLC_OP_LOG_SOFTMAX, tu_ty(DLC_F64, 2, 2, 2), x, &at, tu_ty(DLC_F64, 2, 2, 2));
  ck_assert(y[0] == -1000 && y[2] == 0);
  ck_assert(fabs(y[1] - (log(3.0) - 1000)) < 1e-12 && y[3] == 0);
  free(y);
}
END_TEST

/* ---- reductions -------------------------------------------------------- */

START_TEST(reduce_axes_and_keepdims) {
  /* [[1, 2, 3], [4, 5, 6]] */
  float x[] = {1, 2, 3, 4, 5, 6};
  dlc_type tx = tu_ty(DLC_F32, 2, 2, 3);
  int64_t ax0[] = {0}, ax1[] = {-1}, both[] = {1, 0};
  dlc_attrs at = {.nints = 1, .ints = ax0, .keepdims = true};
  F32("sum axis 0 keep", run1(DLC_OP_SUM, tx, x, &at, tu_ty(DLC_F32, 2, 1, 3)), 5, 7, 9);
  at = (dlc_attrs){.nints = 1, .ints = ax1};
  F32("sum axis -1", run1(DLC_OP_SUM, tx, x, &at, tu_ty(DLC_F32, 1, 2)), 6, 15);
  at = (dlc_attrs){.nints = 2, .ints = both};
  F32("sum both", run1(DLC_OP_SUM, tx, x, &at, tu_ty(DLC_F32, 0)), 21);
  at = (dlc_attrs){.keepdims = true}; /* no axes: all of them */
  F32("mean all keep", run1(DLC_OP_MEAN, tx, x, &at, tu_ty(DLC_F32, 2, 1, 1)), 3.5f);
  at = (dlc_attrs){.nints = 1, .ints = ax0};
  F32("mean axis 0", run1(DLC_OP_MEAN, tx, x, &at, tu_ty(DLC_F32, 1, 3)), 2.5f, 3.5f, 4.5f);
  F32("max axis 0", run1(DLC_OP_MAX, tx, x, &at, tu_ty(DLC_F32, 1, 3)), 4, 5, 6);
  at = (dlc_attrs){.nints = 1, .ints = ax1};
  F32("min axis 1", run1(DLC_OP_MIN, tx, x, &at, tu_ty(DLC_F32, 1, 2)), 1, 4);
  /* the middle axis of [2, 2, 2] = 0..7: pairs (0,2), (1,3), (4,6), (5,7) */
  int64_t xi[] = {0, 1, 2, 3, 4, 5, 6, 7}, mid[] = {1};
  at = (dlc_attrs){.nints = 1, .ints = mid, .keepdims = true};
  I64("sum middle", run1(DLC_OP_SUM, tu_ty(DLC_I64, 3, 2, 2, 2), xi, &at,
                         tu_ty(DLC_I64, 3, 2, 1, 2)),
      2, 4, 10, 12);
}
END_TEST

START_TEST(reduce_integer_rules) {
  int64_t ax[] = {0};
  dlc_attrs at = {.nints = 1, .ints = ax};
  /* mean truncates toward zero: -7/3 is -2 (not -3), 7/3 is 2, -1/3 is 0 */
  int32_t a[] = {-7, 7, -1, 0, 0, 0, 0, 0, 0};
  I32("mean i32", run1(DLC_OP_MEAN, tu_ty(DLC_I32, 2, 3, 3), a, &at, tu_ty(DLC_I32, 1, 3)),
      -2, 2, 0);
  /* sums wrap: MAX + 1 is MIN; a mean divides the wrapped sum: (MAX + MAX)
   * wraps to -2, and -2 / 2 = -1 */
  int32_t b[] = {INT32_MAX, INT32_MAX, 1, INT32_MAX};
  I32("sum wraps", run1(DLC_OP_SUM, tu_ty(DLC_I32, 2, 2, 2), b, &at, tu_ty(DLC_I32, 1, 2)),
      INT32_MIN, -2);
  I32("mean of wrapped", run1(DLC_OP_MEAN, tu_ty(DLC_I32, 2, 2, 2), b, &at, tu_ty(DLC_I32, 1, 2)),
      INT32_MIN / 2, -1);
  int64_t c[] = {INT64_MIN, INT64_MAX, -1, INT64_MIN, 3, 0};
  I64("max i64", run1(DLC_OP_MAX, tu_ty(DLC_I64, 2, 3, 2), c, &at, tu_ty(DLC_I64, 1, 2)),
      3, INT64_MAX);
  I64("min i64", run1(DLC_OP_MIN, tu_ty(DLC_I64, 2, 3, 2), c, &at, tu_ty(DLC_I64, 1, 2)),
      INT64_MIN, INT64_MIN);
  int64_t d[] = {INT64_MIN, -1};
  /* MIN + -1 wraps to MAX, and MAX / 2 truncates to 2^62 - 1 */
  I64("mean i64", run1(DLC_OP_MEAN, tu_ty(DLC_I64, 1, 2), d, &at, tu_ty(DLC_I64, 0)),
      INT64_MAX / 2);
}
END_TEST

START_TEST(reduce_nan_wins) {
  /* NaN anywhere along the axis makes max and min NaN, first or last */
  double x[] = {NAN, 1, 2, 3, -1, NAN};
  int64_t ax[] = {1};
  dlc_attrs at = {.nints = 1, .ints = ax};
  for (int op = DLC_OP_MAX; op <= DLC_OP_MIN; op++) {
    double *y = run1((dlc_op)op, tu_ty(DLC_F64, 2, 2, 3), x, &at, tu_ty(DLC_F64, 1, 2));
    ck_assert(isnan(y[0]) && isnan(y[1]));
    free(y);
  }
  float z[] = {-INFINITY, -INFINITY};
  F32("max of -inf", run1(DLC_OP_MAX, tu_ty(DLC_F32, 1, 2), z, NULL, tu_ty(DLC_F32, 0)),
      -INFINITY);
}
END_TEST

/* ---- elementwise -------------------------------------------------------- */

START_TEST(comparisons) {
  float a[] = {1, 2, NAN, 0, -INFINITY, 3}, b[] = {2, 2, NAN, -0.0f, -INFINITY, NAN};
  dlc_type t = tu_ty(DLC_F32, 1, 6), tb = tu_ty(DLC_BOOL, 1, 6);
  BOOL("equal", run2(DLC_OP_EQUAL, t, a, t, b, NULL, tb), 0, 1, 0, 1, 1, 0);
  BOOL("less", run2(DLC_OP_LESS, t, a, t, b, NULL, tb), 1, 0, 0, 0, 0, 0);
  BOOL("greater", run2(DLC_OP_GREATER, t, a, t, b, NULL, tb), 0, 0, 0, 0, 0, 0);
  /* integers with broadcasting: [3,1] against [2] */
  int64_t c[] = {INT64_MIN, 0, INT64_MAX}, e[] = {0, INT64_MAX};
  dlc_type tc = tu_ty(DLC_I64, 2, 3, 1), te = tu_ty(DLC_I64, 1, 2), to = tu_ty(DLC_BOOL, 2, 3, 2);
  BOOL("less i64", run2(DLC_OP_LESS, tc, c, te, e, NULL, to), 1, 1, 0, 1, 0, 0);
  BOOL("greater i64", run2(DLC_OP_GREATER, tc, c, te, e, NULL, to), 0, 0, 0, 0, 1, 0);
  BOOL("equal i64", run2(DLC_OP_EQUAL, tc, c, te, e, NULL, to), 0, 0, 1, 0, 0, 1);
  /* bools compare for equality */
  uint8_t p[] = {0, 0, 1, 1}, q[] = {0, 1, 0, 1};
  dlc_type tp = tu_ty(DLC_BOOL, 1, 4);
  BOOL("equal bool", run2(DLC_OP_EQUAL, tp, p, tp, q, NULL, tp), 1, 0, 0, 1);
}
END_TEST

START_TEST(where_broadcasts) {
  /* cond [2,1], a [3], b scalar -> [2,3] */
  uint8_t c[] = {1, 0};
  int32_t a[] = {1, 2, 3}, b[] = {-9};
  dlc_type t[3] = {tu_ty(DLC_BOOL, 2, 2, 1), tu_ty(DLC_I32, 1, 3), tu_ty(DLC_I32, 0)};
  const void *d[3] = {c, a, b};
  I32("where", run(DLC_OP_WHERE, 3, t, d, NULL, tu_ty(DLC_I32, 2, 2, 3)),
      1, 2, 3, -9, -9, -9);
  /* a chooses along the last axis, a NaN passes through; bools too */
  uint8_t c2[] = {1, 0, 1};
  float fa[] = {NAN, 1, 2}, fb[] = {5, 6, 7};
  dlc_type tf[3] = {tu_ty(DLC_BOOL, 1, 3), tu_ty(DLC_F32, 1, 3), tu_ty(DLC_F32, 1, 3)};
  const void *df[3] = {c2, fa, fb};
  float *y = run(DLC_OP_WHERE, 3, tf, df, NULL, tu_ty(DLC_F32, 1, 3));
  ck_assert(isnan(y[0]) && y[1] == 6 && y[2] == 2);
  free(y);
  uint8_t ba[] = {1, 1, 1}, bb[] = {0};
  dlc_type tb[3] = {tu_ty(DLC_BOOL, 1, 3), tu_ty(DLC_BOOL, 1, 3), tu_ty(DLC_BOOL, 1, 1)};
  const void *db[3] = {c2, ba, bb};
  BOOL("where bool", run(DLC_OP_WHERE, 3, tb, db, NULL, tu_ty(DLC_BOOL, 1, 3)), 1, 0, 1);
}
END_TEST

START_TEST(pow_values) {
  double a[] = {2, -8, 0, 0, -2, 4}, b[] = {10, 1.0 / 3, 0, -1, 3, 0.5};
  dlc_type t = tu_ty(DLC_F64, 1, 6);
  double *y = run2(DLC_OP_POW, t, a, t, b, NULL, t);
  /* 2^10, a negative base to a fractional power is NaN, 0^0 = 1,
   * 0^-1 = inf, (-2)^3 = -8, 4^0.5 = 2 */
  ck_assert(y[0] == 1024 && isnan(y[1]) && y[2] == 1 && isinf(y[3]) && y[3] > 0);
  ck_assert(y[4] == -8 && y[5] == 2);
  free(y);
}
END_TEST

START_TEST(unary_integer_and_nan) {
  int32_t a[] = {INT32_MIN, -5, 0, 7, INT32_MAX};
  dlc_type t = tu_ty(DLC_I32, 1, 5);
  I32("abs", run1(DLC_OP_ABS, t, a, NULL, t), INT32_MIN, 5, 0, 7, INT32_MAX);
  I32("relu", run1(DLC_OP_RELU, t, a, NULL, t), 0, 0, 0, 7, INT32_MAX);
  int64_t b[] = {INT64_MIN, -1};
  dlc_type tb = tu_ty(DLC_I64, 1, 2);
  I64("abs i64", run1(DLC_OP_ABS, tb, b, NULL, tb), INT64_MIN, 1);
  float f[] = {-2, -0.0f, NAN, INFINITY, -INFINITY};
  dlc_type tf = tu_ty(DLC_F32, 1, 5);
  float *y = run1(DLC_OP_ABS, tf, f, NULL, tf);
  ck_assert(y[0] == 2 && y[1] == 0 && !signbit(y[1]) && isnan(y[2]));
  ck_assert(y[3] == INFINITY && y[4] == INFINITY);
  free(y);
  /* leaky_relu: x >= 0 ? x : alpha x; -0 stays -0, NaN stays NaN */
  dlc_attrs at = {.alpha = 0.25};
  y = run1(DLC_OP_LEAKY_RELU, tf, f, &at, tf);
  ck_assert(y[0] == -0.5f && y[1] == 0 && signbit(y[1]) && isnan(y[2]));
  ck_assert(y[3] == INFINITY && y[4] == -INFINITY);
  free(y);
  /* with a negative alpha the >= shows: -0 is kept (x * alpha would be +0) */
  at.alpha = -0.5;
  y = run1(DLC_OP_LEAKY_RELU, tf, f, &at, tf);
  ck_assert(y[0] == 1 && y[1] == 0 && signbit(y[1]) && y[4] == INFINITY);
  free(y);
}
END_TEST

START_TEST(clip_bounds) {
  float x[] = {-3, -1, 0, 0.5f, 2, NAN, INFINITY, -INFINITY};
  dlc_type t = tu_ty(DLC_F32, 1, 8);
  dlc_attrs at = {.has_lo = true, .lo = -1.5, .has_hi = true, .hi = 1};
  float *y = run1(DLC_OP_CLIP, t, x, &at, t);
  float want[] = {-1.5f, -1, 0, 0.5f, 1, NAN, 1, -1.5f};
  tu_assert_close("clip", DLC_F32, y, want, 8, 0, 0);
  free(y);
  at = (dlc_attrs){.has_lo = true, .lo = 0}; /* lo only: relu-like */
  y = run1(DLC_OP_CLIP, t, x, &at, t);
  float want_lo[] = {0, 0, 0, 0.5f, 2, NAN, INFINITY, 0};
  tu_assert_close("clip lo", DLC_F32, y, want_lo, 8, 0, 0);
  free(y);
  at = (dlc_attrs){.has_hi = true, .hi = 0.1}; /* 0.1 becomes the f32 0.1f */
  y = run1(DLC_OP_CLIP, t, x, &at, t);
  float want_hi[] = {-3, -1, 0, 0.1f, 0.1f, NAN, 0.1f, -INFINITY};
  tu_assert_close("clip hi", DLC_F32, y, want_hi, 8, 0, 0);
  free(y);
  at = (dlc_attrs){.has_lo = true, .lo = 2, .has_hi = true, .hi = 1};
  y = run1(DLC_OP_CLIP, t, x, &at, t); /* lo > hi: min(max(x, 2), 1) = 1 */
  float want_1[] = {1, 1, 1, 1, 1, NAN, 1, 1};
  tu_assert_close("clip lo > hi", DLC_F32, y, want_1, 8, 0, 0);
  free(y);
  /* integers: the bounds truncate toward zero (-2.5 -> -2, 7.9 -> 7) and
   * saturate (1e30 -> INT32_MAX, -1e30 -> INT32_MIN) */
  int32_t xi[] = {INT32_MIN, -3, -2, 0, 7, 8, INT32_MAX};
  dlc_type ti = tu_ty(DLC_I32, 1, 7);
  at = (dlc_attrs){.has_lo = true, .lo = -2.5, .has_hi = true, .hi = 7.9};
  I32("clip i32", run1(DLC_OP_CLIP, ti, xi, &at, ti), -2, -2, -2, 0, 7, 7, 7);
  at = (dlc_attrs){.has_lo = true, .lo = -1e30, .has_hi = true, .hi = 1e30};
  I32("clip i32 wide", run1(DLC_OP_CLIP, ti, xi, &at, ti),
      INT32_MIN, -3, -2, 0, 7, 8, INT32_MAX);
  int64_t xl[] = {-5, 5};
  dlc_type tl = tu_ty(DLC_I64, 1, 2);
  at = (dlc_attrs){.has_hi = true, .hi = -0.5}; /* -0.5 -> 0 */
  I64("clip i64", run1(DLC_OP_CLIP, tl, xl, &at, tl), -5, 0);
}
END_TEST

START_TEST(activation_functions) {
  double x[] = {0, 1, -1, 2};
  dlc_type t = tu_ty(DLC_F64, 1, 4);
  double s1 = 1 / (1 + exp(-1.0)), sm1 = 1 / (1 + exp(1.0)), s2 = 1 / (1 + exp(-2.0));
  F64_NEAR("silu", run1(DLC_OP_SILU, t, x, NULL, t), 0, s1, -sm1, 2 * s2);
  /* gelu(1) = 0.5 (1 + erf(1/sqrt 2)) = Phi(1) = 0.8413447460685429;
   * gelu(-1) = -(1 - Phi(1)); gelu(2) = 2 Phi(2) = 2 * 0.9772498680518208 */
  F64_NEAR("gelu", run1(DLC_OP_GELU, t, x, NULL, t),
           0, 0.8413447460685429, -0.15865525393145707, 1.9544997361036416);
  /* the tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
  dlc_attrs at = {.approximate = true};
  double c = sqrt(2 / M_PI);
  F64_NEAR("gelu tanh", run1(DLC_OP_GELU, t, x, &at, t), 0,
           0.5 * (1 + tanh(c * 1.044715)), -0.5 * (1 - tanh(c * 1.044715)),
           1 + tanh(c * (2 + 0.044715 * 8)));
  double y[] = {4, 0.25, 0, -0.0};
  F64("rsqrt", run1(DLC_OP_RSQRT, t, y, NULL, t), 0.5, 2, INFINITY, -INFINITY);
  F64("reciprocal", run1(DLC_OP_RECIPROCAL, t, y, NULL, t), 0.25, 4, INFINITY, -INFINITY);
  double z[] = {0, INFINITY, -INFINITY, 0.5};
  F64_NEAR("erf", run1(DLC_OP_ERF, t, z, NULL, t), 0, 1, -1, 0.5204998778130465);
}
END_TEST

/* ---- cast --------------------------------------------------------------- */

START_TEST(cast_float_to_int) {
  /* truncation toward zero, saturation, NaN -> 0 */
  float f[] = {-1.5f, -0.5f, 2.7f, NAN, 3e9f, -3e9f, INFINITY, -INFINITY,
               -2147483648.0f, 2147483520.0f};
  dlc_type tf = tu_ty(DLC_F32, 1, 10);
  dlc_attrs at = {.to = DLC_I32};
  I32("f32->i32", run1(DLC_OP_CAST, tf, f, &at, tu_ty(DLC_I32, 1, 10)),
      -1, 0, 2, 0, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN, INT32_MIN,
      2147483520);
  /* f64 at the edges of i64: 2^63 saturates, -2^63 is exact, 9.3e18 is above */
  double d[] = {9223372036854775808.0, -9223372036854775808.0, 9.3e18, -9.3e18,
                9223372036854774784.0, -0.9, NAN, 2147483647.9};
  dlc_type td = tu_ty(DLC_F64, 1, 8);
  at.to = DLC_I64;
  I64("f64->i64", run1(DLC_OP_CAST, td, d, &at, tu_ty(DLC_I64, 1, 8)),
      INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, 9223372036854774784LL, 0, 0,
      2147483647);
  at.to = DLC_I32; /* just inside and just outside i32 */
  double e[] = {2147483647.9, 2147483648.0, -2147483648.9, -2147483649.0};
  I32("f64->i32", run1(DLC_OP_CAST, tu_ty(DLC_F64, 1, 4), e, &at, tu_ty(DLC_I32, 1, 4)),
      INT32_MAX, INT32_MAX, INT32_MIN, INT32_MIN);
}
END_TEST

START_TEST(cast_bool_and_ints) {
  float f[] = {0, -0.0f, 0.1f, NAN, -INFINITY};
  dlc_attrs at = {.to = DLC_BOOL};
  BOOL("f32->bool", run1(DLC_OP_CAST, tu_ty(DLC_F32, 1, 5), f, &at, tu_ty(DLC_BOOL, 1, 5)),
       0, 0, 1, 1, 1);
  int64_t i[] = {0, -1, INT64_MIN, 4294967296LL};
  BOOL("i64->bool", run1(DLC_OP_CAST, tu_ty(DLC_I64, 1, 4), i, &at, tu_ty(DLC_BOOL, 1, 4)),
       0, 1, 1, 1);
  uint8_t b[] = {0, 1, 1};
  at.to = DLC_F32;
  F32("bool->f32", run1(DLC_OP_CAST, tu_ty(DLC_BOOL, 1, 3), b, &at, tu_ty(DLC_F32, 1, 3)), 0, 1, 1);
  at.to = DLC_I64;
  I64("bool->i64", run1(DLC_OP_CAST, tu_ty(DLC_BOOL, 1, 3), b, &at, tu_ty(DLC_I64, 1, 3)), 0, 1, 1);
  /* i64 -> i32 wraps: 2^32 + 5 -> 5, -2^31 - 1 -> INT32_MAX */
  int64_t w[] = {4294967301LL, -2147483649LL, -1};
  at.to = DLC_I32;
  I32("i64->i32", run1(DLC_OP_CAST, tu_ty(DLC_I64, 1, 3), w, &at, tu_ty(DLC_I32, 1, 3)),
      5, INT32_MAX, -1);
  int32_t n[] = {INT32_MIN, -1};
  at.to = DLC_I64;
  I64("i32->i64", run1(DLC_OP_CAST, tu_ty(DLC_I32, 1, 2), n, &at, tu_ty(DLC_I64, 1, 2)),
      INT32_MIN, -1);
  /* i64 -> f32 rounds once: 2^60 + 2^36 + 1 is just above the midpoint of
   * 2^60 and 2^60 + 2^37 and goes up; through f64 it would first lose the
   * +1 and then tie to even, down to 2^60 */
  int64_t r[] = {(1LL << 60) + (1LL << 36) + 1, 16777217};
  at.to = DLC_F32;
  F32("i64->f32", run1(DLC_OP_CAST, tu_ty(DLC_I64, 1, 2), r, &at, tu_ty(DLC_F32, 1, 2)),
      0x1.000002p60f, 16777216.0f);
  double big[] = {1e300, -1e300, 0.1};
  F32("f64->f32", run1(DLC_OP_CAST, tu_ty(DLC_F64, 1, 3), big, &at, tu_ty(DLC_F32, 1, 3)),
      INFINITY, -INFINITY, 0.1f);
}
END_TEST

/* ---- data movement ------------------------------------------------------ */

START_TEST(reshape_family_copies) {
  int32_t x[] = {1, 2, 3, 4, 5, 6};
  dlc_type t = tu_ty(DLC_I32, 3, 1, 2, 3);
  dlc_attrs at = {.axis = 0};
  I32("flatten 0", run1(DLC_OP_FLATTEN, t, x, &at, tu_ty(DLC_I32, 2, 1, 6)), 1, 2, 3, 4, 5, 6);
  at.axis = -1;
  I32("flatten -1", run1(DLC_OP_FLATTEN, t, x, &at, tu_ty(DLC_I32, 2, 2, 3)), 1, 2, 3, 4, 5, 6);
  at.axis = 3;
  I32("flatten r", run1(DLC_OP_FLATTEN, t, x, &at, tu_ty(DLC_I32, 2, 6, 1)), 1, 2, 3, 4, 5, 6);
  I32("squeeze", run1(DLC_OP_SQUEEZE, t, x, NULL, tu_ty(DLC_I32, 2, 2, 3)), 1, 2, 3, 4, 5, 6);
  int64_t ax[] = {-1, 1};
  dlc_attrs au = {.nints = 2, .ints = ax};
  I32("unsqueeze", run1(DLC_OP_UNSQUEEZE, t, x, &au, tu_ty(DLC_I32, 5, 1, 1, 2, 3, 1)),
      1, 2, 3, 4, 5, 6);
}
END_TEST

START_TEST(broadcast_to_values) {
  float x[] = {1, 2, 3};
  int64_t dims[] = {2, 3, 1};
  dlc_attrs at = {.nints = 3, .ints = dims};
  /* [3, 1] -> [2, 3, 1]: the column repeats */
  F32("broadcast_to", run1(DLC_OP_BROADCAST_TO, tu_ty(DLC_F32, 2, 3, 1), x, &at,
                           tu_ty(DLC_F32, 3, 2, 3, 1)),
      1, 2, 3, 1, 2, 3);
  int64_t d2[] = {2, 3};
  at = (dlc_attrs){.nints = 2, .ints = d2};
  F32("broadcast_to rows", run1(DLC_OP_BROADCAST_TO, tu_ty(DLC_F32, 1, 3), x, &at,
                                tu_ty(DLC_F32, 2, 2, 3)),
      1, 2, 3, 1, 2, 3);
  uint8_t b[] = {1, 0};
  int64_t d3[] = {2, 2};
  at = (dlc_attrs){.nints = 2, .ints = d3};
  BOOL("broadcast_to bool", run1(DLC_OP_BROADCAST_TO, tu_ty(DLC_BOOL, 2, 2, 1), b, &at,
                                 tu_ty(DLC_BOOL, 2, 2, 2)),
       1, 1, 0, 0);
}
END_TEST

START_TEST(concat_three) {
  /* [2,1], [2,2], [2,1] along axis 1 (-1) -> rows [a0 b0 b1 c0], ... */
  int64_t a[] = {1, 2}, b[] = {10, 11, 20, 21}, c[] = {100, 200};
  dlc_type t[3] = {tu_ty(DLC_I64, 2, 2, 1), tu_ty(DLC_I64, 2, 2, 2), tu_ty(DLC_I64, 2, 2, 1)};
  const void *d[3] = {a, b, c};
  dlc_attrs at = {.axis = -1};
  I64("concat axis 1", run(DLC_OP_CONCAT, 3, t, d, &at, tu_ty(DLC_I64, 2, 2, 4)),
      1, 10, 11, 100, 2, 20, 21, 200);
  /* along axis 0: one after the other */
  dlc_type t0[3] = {tu_ty(DLC_I64, 2, 1, 2), tu_ty(DLC_I64, 2, 2, 2), tu_ty(DLC_I64, 2, 1, 2)};
  at.axis = 0;
  I64("concat axis 0", run(DLC_OP_CONCAT, 3, t0, d, &at, tu_ty(DLC_I64, 2, 4, 2)),
      1, 2, 10, 11, 20, 21, 100, 200);
  /* a single operand is a copy */
  I64("concat one", run(DLC_OP_CONCAT, 1, t0 + 1, d + 1, &at, tu_ty(DLC_I64, 2, 2, 2)),
      10, 11, 20, 21);
}
END_TEST

START_TEST(slice_steps) {
  int32_t x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  dlc_type t = tu_ty(DLC_I32, 1, 10);
  /* x[8:1:-3] = 8, 5, 2 */
  dlc_attrs at = {.axis = 0, .start = 8, .end = 1, .step = -3};
  I32("slice -3", run1(DLC_OP_SLICE, t, x, &at, tu_ty(DLC_I32, 1, 3)), 8, 5, 2);
  /* x[-1::-4] (end omitted = INT64_MIN) = 9, 5, 1 */
  at = (dlc_attrs){.axis = 0, .start = -1, .end = INT64_MIN, .step = -4};
  I32("slice from end", run1(DLC_OP_SLICE, t, x, &at, tu_ty(DLC_I32, 1, 3)), 9, 5, 1);
  /* x[-100:100:7] clamps to 0..10: 0, 7 */
  at = (dlc_attrs){.axis = 0, .start = -100, .end = 100, .step = 7};
  I32("slice clamps", run1(DLC_OP_SLICE, t, x, &at, tu_ty(DLC_I32, 1, 2)), 0, 7);
  /* a huge step reads one element; INT64_MIN as the step too */
  at = (dlc_attrs){.axis = 0, .start = 3, .end = INT64_MAX, .step = INT64_MAX};
  I32("slice huge step", run1(DLC_OP_SLICE, t, x, &at, tu_ty(DLC_I32, 1, 1)), 3);
  at = (dlc_attrs){.axis = 0, .start = 4, .end = INT64_MIN, .step = INT64_MIN};
  I32("slice INT64_MIN step", run1(DLC_OP_SLICE, t, x, &at, tu_ty(DLC_I32, 1, 1)), 4);
  /* along the middle axis of [2, 3, 2]: columns 2, 0 of each block */
  float y[12];
  for (int i = 0; i < 12; i++)
    y[i] = (float)i;
  at = (dlc_attrs){.axis = -2, .start = 2, .end = INT64_MIN, .step = -2};
  F32("slice middle", run1(DLC_OP_SLICE, tu_ty(DLC_F32, 3, 2, 3, 2), y, &at,
                           tu_ty(DLC_F32, 3, 2, 2, 2)),
      4, 5, 0, 1, 10, 11, 6, 7);
}
END_TEST

START_TEST(gather_indices) {
  /* x [2, 4] = [[0, 1, 2, 3], [10, 11, 12, 13]]; indices [2, 2] on axis 1:
   * -1 is 3, 4 and -5 are out of range (zeros), 0 is 0 */
  float x[] = {0, 1, 2, 3, 10, 11, 12, 13};
  int64_t idx[] = {-1, 4, -5, 0};
  dlc_attrs at = {.axis = 1};
  F32("gather axis 1", run2(DLC_OP_GATHER, tu_ty(DLC_F32, 2, 2, 4), x,
                            tu_ty(DLC_I64, 2, 2, 2), idx, &at, tu_ty(DLC_F32, 3, 2, 2, 2)),
      3, 0, 0, 0, 13, 0, 0, 10);
  /* axis 0 with i32 indices: rows 1, -2 (= 0), 2 (out of range) */
  int32_t rows[] = {1, -2, 2};
  at.axis = 0;
  F32("gather axis 0", run2(DLC_OP_GATHER, tu_ty(DLC_F32, 2, 2, 4), x,
                            tu_ty(DLC_I32, 1, 3), rows, &at, tu_ty(DLC_F32, 2, 3, 4)),
      10, 11, 12, 13, 0, 1, 2, 3, 0, 0, 0, 0);
  /* a scalar index drops the axis; INT64_MIN and INT64_MAX read zeros */
  int64_t one = -3, far[] = {INT64_MIN, INT64_MAX};
  at.axis = -1;
  F32("gather scalar", run2(DLC_OP_GATHER, tu_ty(DLC_F32, 2, 2, 4), x,
                            tu_ty(DLC_I64, 0), &one, &at, tu_ty(DLC_F32, 1, 2)),
      1, 11);
  F32("gather far", run2(DLC_OP_GATHER, tu_ty(DLC_F32, 2, 2, 4), x,
                         tu_ty(DLC_I64, 1, 2), far, &at, tu_ty(DLC_F32, 2, 2, 2)),
      0, 0, 0, 0);
  uint8_t b[] = {1, 0, 1};
  int32_t bi[] = {2, 1, 3};
  at.axis = 0;
  BOOL("gather bool", run2(DLC_OP_GATHER, tu_ty(DLC_BOOL, 1, 3), b,
                           tu_ty(DLC_I32, 1, 3), bi, &at, tu_ty(DLC_BOOL, 1, 3)),
       1, 0, 0);
}
END_TEST

/* ---- nodes built by hand ---------------------------------------------- */

/* A node whose operands are typed inputs; attributes and n->type are set
 * by the caller, bypassing the shape rules. */
static dlc_node *hand_node(dlc_graph *g, dlc_op op, int nin, const dlc_type *types,
                           dlc_type result, const dlc_attrs *at) {
  dlc_node *n = dlc_arena_alloc(g->arena, sizeof *n);
  memset(n, 0, sizeof *n);
  n->op = op;
  n->nin = nin;
  n->in = dlc_arena_alloc(g->arena, sizeof *n->in * (size_t)nin);
  for (int i = 0; i < nin; i++) {
    char name[16];
    snprintf(name, sizeof name, "h%d_%d", g->next_id, i);
    n->in[i] = dlc_graph_add_input(g, name, &types[i], dlc_noloc());
  }
  n->type = result;
  if (at)
    n->attr = *at;
  return n;
}

START_TEST(hand_built_nodes) {
  dlc_graph *g = dlc_graph_new("t");
  float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, out[16];
  const void *d1[1] = {x};
  dlc_type t10 = tu_ty(DLC_F32, 1, 10);
  /* normalized slice attributes evaluate directly */
  dlc_attrs at = {.axis = 0, .start = 9, .step = -4};
  dlc_node *n = hand_node(g, DLC_OP_SLICE, 1, &t10, tu_ty(DLC_F32, 1, 3), &at);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_OK);
  ck_assert(out[0] == 9 && out[1] == 5 && out[2] == 1);
  /* one element too many would read x[-3]: refused */
  n = hand_node(g, DLC_OP_SLICE, 1, &t10, tu_ty(DLC_F32, 1, 4), &at);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_ERROR);
  at.start = 10; /* not normalized */
  n = hand_node(g, DLC_OP_SLICE, 1, &t10, tu_ty(DLC_F32, 1, 1), &at);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_ERROR);
  /* reductions over an axis out of range, or listed twice */
  int64_t bad[] = {1}, twice[] = {0, 0};
  dlc_attrs ar = {.nints = 1, .ints = bad};
  n = hand_node(g, DLC_OP_SUM, 1, &t10, tu_ty(DLC_F32, 0), &ar);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_ERROR);
  ar = (dlc_attrs){.nints = 2, .ints = twice};
  n = hand_node(g, DLC_OP_SUM, 1, &t10, tu_ty(DLC_F32, 0), &ar);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_ERROR);
  ar = (dlc_attrs){.nints = 1, .ints = twice};
  n = hand_node(g, DLC_OP_SUM, 1, &t10, tu_ty(DLC_F32, 0), &ar);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_OK);
  ck_assert(out[0] == 45);
  /* a conv whose result type disagrees with its attributes */
  dlc_type tc[2] = {tu_ty(DLC_F32, 4, 1, 1, 3, 3), tu_ty(DLC_F32, 4, 1, 1, 2, 2)};
  dlc_attrs ac = conv_attrs(1, 1, 0, 0, 0, 0, 1, 1, 1);
  const void *d2[2] = {X9, ONES9};
  n = hand_node(g, DLC_OP_CONV2D, 2, tc, tu_ty(DLC_F32, 4, 1, 1, 3, 3), &ac);
  ck_assert_int_eq(dlc_eval_node(n, d2, out), DLC_ERROR);
  n = hand_node(g, DLC_OP_CONV2D, 2, tc, tu_ty(DLC_F32, 4, 1, 1, 2, 2), &ac);
  ck_assert_int_eq(dlc_eval_node(n, d2, out), DLC_OK);
  ck_assert(out[0] == 12 && out[3] == 28);
  /* attributes whose window arithmetic would overflow are refused */
  ac.dilation[0] = INT64_MAX;
  n = hand_node(g, DLC_OP_CONV2D, 2, tc, tu_ty(DLC_F32, 4, 1, 1, 2, 2), &ac);
  ck_assert_int_eq(dlc_eval_node(n, d2, out), DLC_ERROR);
  ac = conv_attrs(1, 1, INT64_MAX, 0, INT64_MAX, 0, 1, 1, 1);
  n = hand_node(g, DLC_OP_CONV2D, 2, tc, tu_ty(DLC_F32, 4, 1, 1, 2, 2), &ac);
  ck_assert_int_eq(dlc_eval_node(n, d2, out), DLC_ERROR);
  /* float-only operators on integers, pow on integers */
  dlc_type ti = tu_ty(DLC_I32, 1, 2);
  int32_t xi[2] = {1, 2}, oi[2];
  const void *di[2] = {xi, xi};
  n = hand_node(g, DLC_OP_SIGMOID, 1, &ti, ti, NULL);
  ck_assert_int_eq(dlc_eval_node(n, di, oi), DLC_ERROR);
  dlc_type tii[2] = {ti, ti};
  n = hand_node(g, DLC_OP_POW, 2, tii, ti, NULL);
  ck_assert_int_eq(dlc_eval_node(n, di, oi), DLC_ERROR);
  /* an empty-window max pool (pad >= kernel, which the shape rule refuses)
   * still reads nothing outside x: -inf */
  dlc_type tp = tu_ty(DLC_F32, 4, 1, 1, 1, 1);
  dlc_attrs ap = {.kernel = {1, 1}, .stride = {1, 1}, .pad = {1, 0, 0, 0}};
  n = hand_node(g, DLC_OP_MAX_POOL2D, 1, &tp, tu_ty(DLC_F32, 4, 1, 1, 2, 1), &ap);
  ck_assert_int_eq(dlc_eval_node(n, d1, out), DLC_OK);
  ck_assert(out[0] == -INFINITY && out[1] == 0);
  dlc_graph_free(g);
}
END_TEST

/* conv -> relu -> max_pool -> global_avg_pool -> flatten, as a graph:
 * x = 1..9 (3x3), w = [[1, 0], [0, -1]] gives x[i,j] - x[i+1,j+1] = -4
 * everywhere, plus bias 5 -> 1; relu keeps 1; max_pool 2x2 -> 1; the mean
 * is 1. A second channel with bias 3 gives -1 -> relu 0. */
START_TEST(small_cnn_graph) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_graph_new("cnn");
  dlc_type tx = tu_ty(DLC_F32, 4, 1, 1, 3, 3), tw = tu_ty(DLC_F32, 4, 2, 1, 2, 2),
           tb = tu_ty(DLC_F32, 1, 2);
  float w[] = {1, 0, 0, -1, 1, 0, 0, -1}, b[] = {5, 3};
  dlc_node *x = dlc_graph_add_input(g, "x", &tx, dlc_noloc());
  dlc_node *nw = dlc_graph_add_weight(g, "w", &tw, w, dlc_noloc());
  dlc_node *nb = dlc_graph_add_weight(g, "b", &tb, b, dlc_noloc());
  dlc_attrs ac = conv_attrs(1, 1, 0, 0, 0, 0, 1, 1, 1);
  dlc_node *c = dlc_graph_build(g, DLC_OP_CONV2D, dlc_noloc(), 3,
                                (dlc_node *[]){x, nw, nb}, &ac, s.d);
  dlc_node *r = dlc_graph_build(g, DLC_OP_RELU, dlc_noloc(), 1, &c, NULL, s.d);
  dlc_attrs ap = {.kernel = {2, 2}, .stride = {1, 1}};
  dlc_node *p = dlc_graph_build(g, DLC_OP_MAX_POOL2D, dlc_noloc(), 1, &r, &ap, s.d);
  dlc_node *m = dlc_graph_build(g, DLC_OP_GLOBAL_AVG_POOL, dlc_noloc(), 1, &p, NULL, s.d);
  dlc_attrs af = {.axis = 1};
  dlc_node *f = dlc_graph_build(g, DLC_OP_FLATTEN, dlc_noloc(), 1, &m, &af, s.d);
  ck_assert_msg(f != NULL, "%s", tu_sink_text(&s));
  tu_assert_type(&f->type, tu_ty(DLC_F32, 2, 1, 2));
  dlc_graph_add_output(g, "y", f, dlc_noloc());
  const void *in[1] = {X9};
  void *out[1];
  ck_assert_int_eq(dlc_eval_graph(g, in, out, s.d), DLC_OK);
  F32("cnn", out[0], 1, 0);
  ck_assert_str_eq(tu_sink_text(&s), "");
  dlc_graph_free(g);
  tu_sink_close(&s);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("eval_ops");
  TCase *t = tcase_create("nn");
  tcase_add_test(t, conv_known_kernel);
  tcase_add_test(t, conv_padding_stride_dilation);
  tcase_add_test(t, conv_groups);
  tcase_add_test(t, max_pool_padding_never_wins);
  tcase_add_test(t, avg_pool_count_include_pad);
  tcase_add_test(t, global_avg_pool_means);
  tcase_add_test(t, batch_norm_values);
  tcase_add_test(t, layer_norm_population_variance);
  tcase_add_test(t, log_softmax_values);
  tcase_add_test(t, reduce_axes_and_keepdims);
  tcase_add_test(t, reduce_integer_rules);
  tcase_add_test(t, reduce_nan_wins);
  suite_add_tcase(s, t);
  TCase *e = tcase_create("elementwise");
  tcase_add_test(e, comparisons);
  tcase_add_test(e, where_broadcasts);
  tcase_add_test(e, pow_values);
  tcase_add_test(e, unary_integer_and_nan);
  tcase_add_test(e, clip_bounds);
  tcase_add_test(e, activation_functions);
  tcase_add_test(e, cast_float_to_int);
  tcase_add_test(e, cast_bool_and_ints);
  suite_add_tcase(s, e);
  TCase *m = tcase_create("movement");
  tcase_add_test(m, reshape_family_copies);
  tcase_add_test(m, broadcast_to_values);
  tcase_add_test(m, concat_three);
  tcase_add_test(m, slice_steps);
  tcase_add_test(m, gather_indices);
  suite_add_tcase(s, m);
  TCase *h = tcase_create("nodes");
  tcase_add_test(h, hand_built_nodes);
  tcase_add_test(h, small_cnn_graph);
  suite_add_tcase(s, h);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
