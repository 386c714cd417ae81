/* The reference evaluator (eval.h): plain loops over flat row-major indices.
 * Floats are computed in double and rounded to the dtype; integers in 64
 * bits with wrap-around (unsigned arithmetic) and then wrapped to the dtype;
 * bools are bytes holding 0 or 1. When compiled code and this file
 * disagree, this file should be obviously right, so it stays slow and
 * simple. The semantics are docs/operators.md's; attributes arrive
 * normalized by the shape rules (shape.c), and an operand layout they would
 * have rejected returns DLC_ERROR rather than reading out of bounds. */
#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- loading and storing one element ---------------------------------- */

static bool is_int(dlc_dtype t) { return t == DLC_I32 || t == DLC_I64; }

static double loadf(dlc_dtype t, const void *p, int64_t i) {
  switch (t) {
#define X(id, name, size, ctype, abi)                                          \
  case DLC_##id:                                                               \
    return (double)((const ctype *)p)[i];
#include "dtypes.def"
#undef X
  default:
    dlc_unreachable();
  }
}

/* Integers and bools (0 or 1). */
static int64_t loadi(dlc_dtype t, const void *p, int64_t i) {
  switch (t) {
  case DLC_I32: return ((const int32_t *)p)[i];
  case DLC_I64: return ((const int64_t *)p)[i];
  case DLC_BOOL: return ((const uint8_t *)p)[i] != 0;
  default: dlc_unreachable();
  }
}

static void storef(dlc_dtype t, void *p, int64_t i, double v) {
  switch (t) {
  case DLC_F32: ((float *)p)[i] = (float)v; break;
  case DLC_F64: ((double *)p)[i] = v; break;
  default: dlc_unreachable();
  }
}

static void storeb(void *p, int64_t i, bool v) { ((uint8_t *)p)[i] = v ? 1 : 0; }

/* Reduces the 64-bit pattern v to the integer dtype t by two's-complement
 * wrap-around, without relying on implementation-defined conversions. */
static int64_t wrap(dlc_dtype t, uint64_t v) {
  switch (t) {
  case DLC_I32: {
    uint32_t u = (uint32_t)v;
    return u < 0x80000000u ? (int64_t)u : (int64_t)u - 0x100000000ll;
  }
  case DLC_I64:
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
  default:
    dlc_unreachable();
  }
}

/* v must already be in range for t (see wrap). */
static void storei(dlc_dtype t, void *p, int64_t i, int64_t v) {
  switch (t) {
  case DLC_I32: ((int32_t *)p)[i] = (int32_t)v; break;
  case DLC_I64: ((int64_t *)p)[i] = v; break;
  default: dlc_unreachable();
  }
}

static int64_t int_min(dlc_dtype t) { return t == DLC_I32 ? INT32_MIN : INT64_MIN; }
static int64_t int_max(dlc_dtype t) { return t == DLC_I32 ? INT32_MAX : INT64_MAX; }

/* A double converted to the integer dtype t: truncated toward zero,
 * saturated at t's range, NaN gives 0 (cast's rule, also used for clip's
 * bounds). Only in-range values ever reach the C conversion. */
static int64_t sat_int(dlc_dtype t, double v) {
  double lim = t == DLC_I32 ? 2147483648.0 : 9223372036854775808.0; /* 2^31, 2^63 */
  if (isnan(v))
    return 0;
  if (v >= lim)
    return int_max(t);
  if (v < -lim) /* -lim itself is MIN; anything in (-lim-1, -lim) truncates to it */
    return int_min(t);
  return (int64_t)v;
}

/* ---- scalar semantics ------------------------------------------------- */

/* numpy's maximum/minimum: a NaN in either operand is the result. */
static double fmax_nan(double a, double b) { return (isnan(a) || a >= b) ? a : b; }
static double fmin_nan(double a, double b) { return (isnan(a) || a <= b) ? a : b; }

static double binf(dlc_op op, double a, double b) {
  switch (op) {
  case DLC_OP_ADD: return a + b;
  case DLC_OP_SUB: return a - b;
  case DLC_OP_MUL: return a * b;
  case DLC_OP_DIV: return a / b;
  case DLC_OP_MAXIMUM: return fmax_nan(a, b);
  case DLC_OP_MINIMUM: return fmin_nan(a, b);
  case DLC_OP_POW: return pow(a, b);
  default: dlc_unreachable();
  }
}

/* Integer division truncates toward zero; x / 0 is 0 and INT_MIN / -1 is
 * INT_MIN (wrap-around), as the compiled code does. */
static int64_t bini(dlc_dtype t, dlc_op op, int64_t a, int64_t b) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case DLC_OP_ADD: return wrap(t, ua + ub);
  case DLC_OP_SUB: return wrap(t, ua - ub);
  case DLC_OP_MUL: return wrap(t, ua * ub);
  case DLC_OP_DIV:
    if (b == 0)
      return 0;
    if (b == -1)
      return wrap(t, 0 - ua);
    return a / b;
  case DLC_OP_MAXIMUM: return a > b ? a : b;
  case DLC_OP_MINIMUM: return a < b ? a : b;
  default: dlc_unreachable();
  }
}

/* equal, less, greater on two numbers of one kind (NaN compares false). */
static bool cmpf(dlc_op op, double a, double b) {
  switch (op) {
  case DLC_OP_EQUAL: return a == b;
  case DLC_OP_LESS: return a < b;
  case DLC_OP_GREATER: return a > b;
  default: dlc_unreachable();
  }
}

static bool cmpi(dlc_op op, int64_t a, int64_t b) {
  switch (op) {
  case DLC_OP_EQUAL: return a == b;
  case DLC_OP_LESS: return a < b;
  case DLC_OP_GREATER: return a > b;
  default: dlc_unreachable();
  }
}

#define PI 3.14159265358979323846

/* A float unary operator on x of dtype t (clip converts its bounds to t). */
static double unf(const dlc_node *n, dlc_dtype t, double x) {
  switch (n->op) {
  case DLC_OP_NEG: return -x;
  case DLC_OP_ABS: return fabs(x);
  case DLC_OP_RELU: return (x > 0 || isnan(x)) ? x : 0.0;
  case DLC_OP_LEAKY_RELU: return x >= 0 ? x : n->attr.alpha * x;
  case DLC_OP_CLIP: {
    double r = x;
    if (n->attr.has_lo)
      r = fmax_nan(r, t == DLC_F32 ? (double)(float)n->attr.lo : n->attr.lo);
    if (n->attr.has_hi)
      r = fmin_nan(r, t == DLC_F32 ? (double)(float)n->attr.hi : n->attr.hi);
    return r;
  }
  case DLC_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case DLC_OP_SILU: return x * (1.0 / (1.0 + exp(-x)));
  case DLC_OP_GELU:
    if (n->attr.approximate)
      return 0.5 * x * (1.0 + tanh(sqrt(2.0 / PI) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  case DLC_OP_TANH: return tanh(x);
  case DLC_OP_EXP: return exp(x);
  case DLC_OP_LOG: return log(x);
  case DLC_OP_SQRT: return sqrt(x);
  case DLC_OP_RSQRT: return 1.0 / sqrt(x);
  case DLC_OP_RECIPROCAL: return 1.0 / x;
  case DLC_OP_ERF: return erf(x);
  default: dlc_unreachable();
  }
}

/* An integer unary operator (the NOBOOL ones that are not float-only). */
static int64_t uni(const dlc_node *n, dlc_dtype t, int64_t x) {
  switch (n->op) {
  case DLC_OP_NEG: return wrap(t, 0 - (uint64_t)x);
  case DLC_OP_ABS: return x < 0 ? wrap(t, 0 - (uint64_t)x) : x; /* MIN stays */
  case DLC_OP_RELU: return x > 0 ? x : 0;
  case DLC_OP_CLIP: {
    int64_t r = x;
    if (n->attr.has_lo) {
      int64_t lo = sat_int(t, n->attr.lo);
      r = r < lo ? lo : r;
    }
    if (n->attr.has_hi) {
      int64_t hi = sat_int(t, n->attr.hi);
      r = r > hi ? hi : r;
    }
    return r;
  }
  default: dlc_unreachable();
  }
}

/* ---- broadcasting and indexing ----------------------------------------- */

/* Maps a flat row-major index over the dims of a result to the flat index of
 * an operand whose dims align with the result's trailing dims (numpy rules:
 * missing leading dims and dims of 1 repeat). unit scales the operand's
 * strides, for operands whose elements are blocks (matmul's matrices). */
typedef struct bcast {
  int rank;
  int64_t dims[DLC_MAX_RANK];    /* the result's dims */
  int64_t strides[DLC_MAX_RANK]; /* the operand's stride per result dim */
} bcast;

/* False when idims do not broadcast to odims. */
static bool bcast_init(bcast *b, const int64_t *odims, int orank,
                       const int64_t *idims, int irank, int64_t unit) {
  if (irank > orank)
    return false;
  b->rank = orank;
  int64_t s = unit;
  for (int i = orank - 1, j = irank - 1; i >= 0; i--, j--) {
    b->dims[i] = odims[i];
    b->strides[i] = 0;
    if (j < 0)
      continue;
    if (idims[j] != odims[i] && idims[j] != 1)
      return false;
    if (idims[j] != 1)
      b->strides[i] = s;
    s *= idims[j];
  }
  return true;
}

static int64_t bcast_index(const bcast *b, int64_t flat) {
  int64_t off = 0;
  for (int i = b->rank - 1; i >= 0; i--) {
    off += (flat % b->dims[i]) * b->strides[i];
    flat /= b->dims[i];
  }
  return off;
}

/* The product of dims[from..to). */
static int64_t dims_prod(const dlc_type *t, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++)
    p *= t->dims[i];
  return p;
}

/* ---- elementwise ------------------------------------------------------- */

static dlc_status eval_unary(const dlc_node *n, const void *x, void *out) {
  dlc_dtype t = n->type.dtype;
  int64_t cnt = dlc_type_numel(&n->type);
  if (n->in[0]->type.dtype != t || dlc_type_numel(&n->in[0]->type) != cnt)
    return DLC_ERROR;
  if (dlc_dtype_is_float(t)) {
    for (int64_t i = 0; i < cnt; i++)
      storef(t, out, i, unf(n, t, loadf(t, x, i)));
    return DLC_OK;
  }
  /* integers: the operators that are not float-only */
  if (!is_int(t) || (dlc_ops[n->op].flags & DLC_OPF_FLOAT))
    return DLC_ERROR;
  for (int64_t i = 0; i < cnt; i++)
    storei(t, out, i, uni(n, t, loadi(t, x, i)));
  return DLC_OK;
}

/* Arithmetic (result of the operands' dtype) and comparisons (bool). */
static dlc_status eval_binary(const dlc_node *n, const void *a,
                              const void *b, void *out) {
  const dlc_type *ta = &n->in[0]->type, *tb = &n->in[1]->type;
  dlc_dtype it = ta->dtype, t = n->type.dtype;
  bool cmp = (dlc_ops[n->op].flags & DLC_OPF_COMPARE) != 0;
  bcast ba, bb;
  if (tb->dtype != it || t != (cmp ? DLC_BOOL : it) ||
      !bcast_init(&ba, n->type.dims, n->type.rank, ta->dims, ta->rank, 1) ||
      !bcast_init(&bb, n->type.dims, n->type.rank, tb->dims, tb->rank, 1))
    return DLC_ERROR;
  bool fl = dlc_dtype_is_float(it);
  if (it == DLC_BOOL && n->op != DLC_OP_EQUAL)
    return DLC_ERROR; /* bools only compare for equality */
  if (!fl && n->op == DLC_OP_POW)
    return DLC_ERROR;
  int64_t cnt = dlc_type_numel(&n->type);
  for (int64_t i = 0; i < cnt; i++) {
    int64_t ia = bcast_index(&ba, i), ib = bcast_index(&bb, i);
    if (cmp && fl)
      storeb(out, i, cmpf(n->op, loadf(it, a, ia), loadf(it, b, ib)));
    else if (cmp)
      storeb(out, i, cmpi(n->op, loadi(it, a, ia), loadi(it, b, ib)));
    else if (fl)
      storef(t, out, i, binf(n->op, loadf(it, a, ia), loadf(it, b, ib)));
    else
      storei(t, out, i, bini(t, n->op, loadi(it, a, ia), loadi(it, b, ib)));
  }
  return DLC_OK;
}

/* cond ? a : b with three-way broadcasting; elements are copied as bytes. */
static dlc_status eval_where(const dlc_node *n, const void *c, const void *a,
                             const void *b, void *out) {
  const dlc_type *tc = &n->in[0]->type, *ta = &n->in[1]->type,
                 *tb = &n->in[2]->type, *to = &n->type;
  bcast bc, ba, bb;
  if (tc->dtype != DLC_BOOL || ta->dtype != to->dtype ||
      tb->dtype != to->dtype ||
      !bcast_init(&bc, to->dims, to->rank, tc->dims, tc->rank, 1) ||
      !bcast_init(&ba, to->dims, to->rank, ta->dims, ta->rank, 1) ||
      !bcast_init(&bb, to->dims, to->rank, tb->dims, tb->rank, 1))
    return DLC_ERROR;
  size_t es = dlc_dtype_size(to->dtype);
  int64_t cnt = dlc_type_numel(to);
  for (int64_t i = 0; i < cnt; i++) {
    const char *src = ((const uint8_t *)c)[bcast_index(&bc, i)]
                          ? (const char *)a + bcast_index(&ba, i) * (int64_t)es
                          : (const char *)b + bcast_index(&bb, i) * (int64_t)es;
    memcpy((char *)out + i * (int64_t)es, src, es);
  }
  return DLC_OK;
}

/* Any dtype to any: float to integer truncates and saturates (NaN is 0),
 * integer to integer wraps, anything to bool is != 0, bool is 0 or 1. */
static dlc_status eval_cast(const dlc_node *n, const void *x, void *out) {
  dlc_dtype st = n->in[0]->type.dtype, dt = n->type.dtype;
  int64_t cnt = dlc_type_numel(&n->type);
  if (dlc_type_numel(&n->in[0]->type) != cnt)
    return DLC_ERROR;
  bool sf = dlc_dtype_is_float(st);
  for (int64_t i = 0; i < cnt; i++) {
    if (dt == DLC_BOOL)
      storeb(out, i, sf ? loadf(st, x, i) != 0 : loadi(st, x, i) != 0);
    else if (dlc_dtype_is_float(dt) && sf)
      storef(dt, out, i, loadf(st, x, i));
    else if (dt == DLC_F32 && st == DLC_I64) /* one rounding, not two via double */
      ((float *)out)[i] = (float)loadi(st, x, i);
    else if (dlc_dtype_is_float(dt)) /* i32, bool exact in double; i64 -> f64 */
      storef(dt, out, i, (double)loadi(st, x, i));
    else if (sf)
      storei(dt, out, i, sat_int(dt, loadf(st, x, i)));
    else
      storei(dt, out, i, wrap(dt, (uint64_t)loadi(st, x, i)));
  }
  return DLC_OK;
}

/* ---- contractions ------------------------------------------------------ */

/* [..., M, K] @ [..., K, N] with broadcast batch dims; the sum is kept in
 * double for floats and in wrapping 64-bit for integers. */
static dlc_status eval_matmul(const dlc_node *n, const void *a, const void *b,
                              void *out) {
  const dlc_type *ta = &n->in[0]->type, *tb = &n->in[1]->type, *to = &n->type;
  dlc_dtype t = to->dtype;
  if (ta->rank < 2 || tb->rank < 2 || to->rank < 2 || t == DLC_BOOL ||
      ta->dtype != t || tb->dtype != t)
    return DLC_ERROR;
  int64_t m = ta->dims[ta->rank - 2], k = ta->dims[ta->rank - 1];
  int64_t nn = tb->dims[tb->rank - 1];
  if (tb->dims[tb->rank - 2] != k || to->dims[to->rank - 2] != m ||
      to->dims[to->rank - 1] != nn)
    return DLC_ERROR;
  int brank = to->rank - 2;
  int64_t batch = dims_prod(to, 0, brank);
  bcast ba, bb;
  if (!bcast_init(&ba, to->dims, brank, ta->dims, ta->rank - 2, m * k) ||
      !bcast_init(&bb, to->dims, brank, tb->dims, tb->rank - 2, k * nn))
    return DLC_ERROR;
  bool fl = dlc_dtype_is_float(t);
  /* floats: a row of double accumulators, each summed over l in order (the
   * same sums as a dot product per element, walked row-wise for speed) */
  double *row = fl ? malloc(sizeof *row * (size_t)nn) : NULL;
  if (fl && !row)
    return DLC_ERROR;
  for (int64_t p = 0; p < batch; p++) {
    int64_t ao = bcast_index(&ba, p), bo = bcast_index(&bb, p);
    int64_t oo = p * m * nn;
    for (int64_t i = 0; fl && i < m; i++) {
      for (int64_t j = 0; j < nn; j++)
        row[j] = 0;
      for (int64_t l = 0; l < k; l++) {
        double av = loadf(t, a, ao + i * k + l);
        if (t == DLC_F32) {
          const float *br = (const float *)b + bo + l * nn;
          for (int64_t j = 0; j < nn; j++)
            row[j] += av * br[j];
        } else {
          const double *br = (const double *)b + bo + l * nn;
          for (int64_t j = 0; j < nn; j++)
            row[j] += av * br[j];
        }
      }
      for (int64_t j = 0; j < nn; j++)
        storef(t, out, oo + i * nn + j, row[j]);
    }
    for (int64_t i = 0; !fl && i < m; i++)
      for (int64_t j = 0; j < nn; j++) {
        {
          uint64_t acc = 0;
          for (int64_t l = 0; l < k; l++)
            acc += (uint64_t)loadi(t, a, ao + i * k + l) *
                   (uint64_t)loadi(t, b, bo + l * nn + j);
          storei(t, out, oo + i * nn + j, wrap(t, acc));
        }
      }
  }
  free(row);
  return DLC_OK;
}

/* The output size along one spatial dim of a window (kernel k, dilation
 * dil, stride) sliding over size elements padded by lo and hi:
 * (size + lo + hi - dil*(k-1) - 1) / stride + 1. False when an attribute
 * is out of range or the window does not fit; the bound on the attributes
 * (the shape rules allow at most 2^40) keeps the arithmetic from
 * overflowing even on nodes built by hand. */
static bool window_out(int64_t size, int64_t lo, int64_t hi, int64_t k,
                       int64_t dil, int64_t stride, int64_t *out) {
  const int64_t lim = (int64_t)1 << 40;
  if (lo < 0 || hi < 0 || k < 1 || dil < 1 || stride < 1 || lo > lim ||
      hi > lim || k > lim || dil > lim || stride > lim || size > lim)
    return false;
  int64_t room = size + lo + hi - 1; /* >= dil*(k-1) for the window to fit */
  if (k - 1 > room / dil)
    return false;
  *out = (room - dil * (k - 1)) / stride + 1;
  return true;
}

/* Where channel c of NCHW coordinates (n, c, h, w) lives in a tensor of C
 * channels blocked by b ([N, C/b, H, W, b]; b 1 is NCHW itself). */
static int64_t blocked_at(int64_t n, int64_t c, int64_t h, int64_t w, int64_t C, int64_t H,
                          int64_t W, int64_t b) {
  return (((n * (C / b) + c / b) * H + h) * W + w) * b + c % b;
}

/* y[n, m, i, j] = b[m] + sum over the group's input channels c and the
 * kernel positions p, q of x[n, c, i*sh - top + p*dh, j*sw - left + q*dw] *
 * w[m, c - g0, p, q], reading 0 outside x. conv2d_nchwc is the same on
 * blocked channels: x blocked by ib (its dims[4], 1 when rank 4), y by
 * attr.block. */
static dlc_status eval_conv2d(const dlc_node *n, const void *const *opnds,
                              void *out) {
  const dlc_type *tx = &n->in[0]->type, *tw = &n->in[1]->type, *to = &n->type;
  const dlc_attrs *at = &n->attr;
  dlc_dtype t = to->dtype;
  bool blocked = n->op == DLC_OP_CONV2D_NCHWC;
  int64_t ib = blocked && tx->rank == 5 ? tx->dims[4] : 1, ob = blocked ? at->block : 1;
  if ((n->nin != 2 && n->nin != 3) || !dlc_dtype_is_float(t) ||
      tx->dtype != t || tw->dtype != t || (tx->rank != 4 && !(blocked && tx->rank == 5)) ||
      tw->rank != 4 || to->rank != (blocked ? 5 : 4) || ib < 1 || ob < 1 ||
      (blocked && to->dims[4] != ob))
    return DLC_ERROR;
  int64_t N = tx->dims[0], C = tx->dims[1] * ib, H = tx->dims[2], W = tx->dims[3];
  int64_t M = tw->dims[0], KH = tw->dims[2], KW = tw->dims[3];
  int64_t G = at->groups, sh = at->stride[0], sw = at->stride[1];
  int64_t dh = at->dilation[0], dw = at->dilation[1];
  int64_t top = at->pad[0], left = at->pad[1], bottom = at->pad[2],
          right = at->pad[3];
  int64_t OH, OW;
  if (G < 1 || C % G || M % G || M % ob || tw->dims[1] != C / G ||
      !window_out(H, top, bottom, KH, dh, sh, &OH) ||
      !window_out(W, left, right, KW, dw, sw, &OW) || to->dims[0] != N ||
      to->dims[1] * ob != M || to->dims[2] != OH || to->dims[3] != OW)
    return DLC_ERROR;
  const void *x = opnds[0], *w = opnds[1], *b = n->nin == 3 ? opnds[2] : NULL;
  if (b && (n->in[2]->type.dtype != t || n->in[2]->type.rank != 1 ||
            n->in[2]->type.dims[0] != M))
    return DLC_ERROR;
  int64_t Cg = C / G, Mg = M / G;
  /* one output row of double accumulators at a time; each element still
   * sums over c, p, q in that order */
  double *row = malloc(sizeof *row * (size_t)OW);
  if (!row)
    return DLC_ERROR;
  for (int64_t in = 0; in < N; in++)
    for (int64_t m = 0; m < M; m++) {
      int64_t g0 = (m / Mg) * Cg;
      for (int64_t i = 0; i < OH; i++) {
        for (int64_t j = 0; j < OW; j++)
          row[j] = b ? loadf(t, b, m) : 0.0;
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t p = 0; p < KH; p++) {
            int64_t h = i * sh - top + p * dh;
            if (h < 0 || h >= H)
              continue;
            for (int64_t q = 0; q < KW; q++) {
              double wv = loadf(t, w, ((m * Cg + c) * KH + p) * KW + q);
              for (int64_t j = 0; j < OW; j++) {
                int64_t v = j * sw - left + q * dw;
                if (v >= 0 && v < W)
                  row[j] += loadf(t, x, blocked_at(in, g0 + c, h, v, C, H, W, ib)) * wv;
              }
            }
          }
        for (int64_t j = 0; j < OW; j++)
          storef(t, out, blocked_at(in, m, i, j, M, OH, OW, ob), row[j]);
      }
    }
  free(row);
  return DLC_OK;
}

/* to_nchwc and to_nchw: a copy between NCHW and channel blocks, any dtype. */
static dlc_status eval_layout(const dlc_node *n, const void *x, void *out) {
  bool to_blocked = n->op == DLC_OP_TO_NCHWC;
  const dlc_type *tb = to_blocked ? &n->type : &n->in[0]->type;
  if (tb->rank != 5 || n->in[0]->type.dtype != n->type.dtype ||
      dlc_type_numel(&n->in[0]->type) != dlc_type_numel(&n->type))
    return DLC_ERROR;
  int64_t N = tb->dims[0], b = tb->dims[4], C = tb->dims[1] * b, H = tb->dims[2],
          W = tb->dims[3];
  size_t es = dlc_dtype_size(n->type.dtype);
  for (int64_t in = 0; in < N; in++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++) {
          int64_t plain = ((in * C + c) * H + h) * W + w;
          int64_t blk = blocked_at(in, c, h, w, C, H, W, b);
          int64_t o = to_blocked ? blk : plain, i = to_blocked ? plain : blk;
          memcpy((char *)out + (size_t)o * es, (const char *)x + (size_t)i * es, es);
        }
  return DLC_OK;
}

/* ---- pooling ----------------------------------------------------------- */

/* Max (numeric; padding never wins, NaN wins) or average (float) over each
 * kernel window; the window's positions outside x are skipped, and the
 * average divides by the number inside x, or by kH*kW with
 * count_include_pad. A window entirely in the padding has no element: its
 * max is -inf (floats) or the dtype's minimum, its average without
 * count_include_pad 0/0 = NaN. */
static dlc_status eval_pool(const dlc_node *n, const void *x, void *out) {
  const dlc_type *tx = &n->in[0]->type, *to = &n->type;
  const dlc_attrs *at = &n->attr;
  dlc_dtype t = to->dtype;
  bool avg = n->op == DLC_OP_AVG_POOL2D, fl = dlc_dtype_is_float(t);
  if (tx->dtype != t || (tx->rank != 4 && tx->rank != 5) || to->rank != tx->rank ||
      (avg && !fl) || (!fl && !is_int(t)))
    return DLC_ERROR;
  /* blocked channels: b values per position, pooled alike */
  int64_t b = tx->rank == 5 ? tx->dims[4] : 1;
  if (tx->rank == 5 && to->dims[4] != b)
    return DLC_ERROR;
  int64_t N = tx->dims[0], C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];
  int64_t KH = at->kernel[0], KW = at->kernel[1];
  int64_t sh = at->stride[0], sw = at->stride[1];
  int64_t top = at->pad[0], left = at->pad[1], bottom = at->pad[2],
          right = at->pad[3];
  int64_t OH, OW;
  if (!window_out(H, top, bottom, KH, 1, sh, &OH) ||
      !window_out(W, left, right, KW, 1, sw, &OW) || to->dims[0] != N ||
      to->dims[1] != C || to->dims[2] != OH || to->dims[3] != OW)
    return DLC_ERROR;
  for (int64_t nc = 0; nc < N * C; nc++)
    for (int64_t i = 0; i < OH; i++)
      for (int64_t j = 0; j < OW * b; j++) {
        int64_t l = j % b;
        double sum = 0, mx = -INFINITY;
        int64_t imx = is_int(t) ? int_min(t) : 0, cnt = 0;
        for (int64_t p = 0; p < KH; p++) {
          int64_t h = i * sh - top + p;
          if (h < 0 || h >= H)
            continue;
          for (int64_t q = 0; q < KW; q++) {
            int64_t v = j / b * sw - left + q;
            if (v < 0 || v >= W)
              continue;
            int64_t k = ((nc * H + h) * W + v) * b + l;
            cnt++;
            if (!fl) {
              int64_t e = loadi(t, x, k);
              imx = e > imx ? e : imx;
            } else if (avg) {
              sum += loadf(t, x, k);
            } else {
              mx = fmax_nan(mx, loadf(t, x, k));
            }
          }
        }
        int64_t o = (nc * OH + i) * OW * b + j;
        if (!fl)
          storei(t, out, o, imx);
        else if (!avg)
          storef(t, out, o, mx);
        else
          storef(t, out, o,
                 sum / (at->count_include_pad ? (double)KH * (double)KW
                                              : (double)cnt));
      }
  return DLC_OK;
}

/* ---- normalization ----------------------------------------------------- */

/* softmax: exp(x - max) / sum; log_softmax: x - max - log(sum), along
 * attr.axis, in double. A NaN along the axis is the max. */
static dlc_status eval_softmax(const dlc_node *n, const void *x, void *out) {
  const dlc_type *to = &n->type;
  dlc_dtype t = to->dtype;
  int64_t axis = n->attr.axis;
  if (!dlc_dtype_is_float(t) || n->in[0]->type.dtype != t || axis < 0 ||
      axis >= to->rank || !dlc_type_equal(&n->in[0]->type, to))
    return DLC_ERROR;
  int64_t outer = dims_prod(to, 0, (int)axis), len = to->dims[axis];
  int64_t inner = dims_prod(to, (int)axis + 1, to->rank);
  bool lg = n->op == DLC_OP_LOG_SOFTMAX;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in;
      double mx = -INFINITY, sum = 0;
      for (int64_t l = 0; l < len; l++)
        mx = fmax_nan(loadf(t, x, base + l * inner), mx);
      for (int64_t l = 0; l < len; l++)
        sum += exp(loadf(t, x, base + l * inner) - mx);
      for (int64_t l = 0; l < len; l++) {
        double v = loadf(t, x, base + l * inner);
        storef(t, out, base + l * inner,
               lg ? v - mx - log(sum) : exp(v - mx) / sum);
      }
    }
  return DLC_OK;
}

/* batch_norm: (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c], c
 * the index along axis 1. layer_norm: over the dims from attr.axis on, with
 * the mean and the population variance (two passes) of each such block,
 * (x - mu) / sqrt(var + eps) * gamma + beta. */
static dlc_status eval_norm(const dlc_node *n, const void *const *opnds,
                            void *out) {
  const dlc_type *tx = &n->in[0]->type;
  dlc_dtype t = tx->dtype;
  double eps = n->attr.eps;
  if (!dlc_dtype_is_float(t) || !dlc_type_equal(tx, &n->type))
    return DLC_ERROR;
  for (int i = 1; i < n->nin; i++)
    if (n->in[i]->type.dtype != t)
      return DLC_ERROR;
  const void *x = opnds[0];
  if (n->op == DLC_OP_BATCH_NORM) {
    if (tx->rank < 2)
      return DLC_ERROR;
    int64_t C = tx->dims[1], inner = dims_prod(tx, 2, tx->rank);
    for (int i = 1; i < 5; i++)
      if (n->in[i]->type.rank != 1 || n->in[i]->type.dims[0] != C)
        return DLC_ERROR;
    const void *scale = opnds[1], *bias = opnds[2], *mean = opnds[3],
               *var = opnds[4];
    int64_t cnt = dlc_type_numel(tx);
    for (int64_t k = 0; k < cnt; k++) {
      int64_t c = (k / inner) % C;
      double y = (loadf(t, x, k) - loadf(t, mean, c)) /
                     sqrt(loadf(t, var, c) + eps) * loadf(t, scale, c) +
                 loadf(t, bias, c);
      storef(t, out, k, y);
    }
    return DLC_OK;
  }
  int64_t axis = n->attr.axis;
  if (axis < 0 || axis >= tx->rank)
    return DLC_ERROR;
  for (int i = 1; i < 3; i++) {
    const dlc_type *tp = &n->in[i]->type;
    if (tp->rank != tx->rank - axis)
      return DLC_ERROR;
    for (int d = 0; d < tp->rank; d++)
      if (tp->dims[d] != tx->dims[axis + d])
        return DLC_ERROR;
  }
  const void *gamma = opnds[1], *beta = opnds[2];
  int64_t outer = dims_prod(tx, 0, (int)axis);
  int64_t len = dims_prod(tx, (int)axis, tx->rank);
  for (int64_t o = 0; o < outer; o++) {
    int64_t base = o * len;
    double mu = 0, var = 0;
    for (int64_t l = 0; l < len; l++)
      mu += loadf(t, x, base + l);
    mu /= (double)len;
    for (int64_t l = 0; l < len; l++) {
      double d = loadf(t, x, base + l) - mu;
      var += d * d;
    }
    var /= (double)len;
    double rs = sqrt(var + eps);
    for (int64_t l = 0; l < len; l++)
      storef(t, out, base + l,
             (loadf(t, x, base + l) - mu) / rs * loadf(t, gamma, l) +
                 loadf(t, beta, l));
  }
  return DLC_OK;
}

/* ---- reductions -------------------------------------------------------- */

/* sum, mean, max, min (and global_avg_pool, a mean) over the axes in
 * attr.ints. Every input element is added into the result element its
 * kept coordinates name, in row-major order. Float sums are in double;
 * integer sums wrap (in 64 bits, then to the dtype); an integer mean is
 * that wrapped sum divided by the count, truncated toward zero. max and
 * min of floats let a NaN win. */
static dlc_status eval_reduce(const dlc_node *n, const void *x, void *out) {
  const dlc_type *tx = &n->in[0]->type;
  dlc_dtype t = n->type.dtype;
  bool fl = dlc_dtype_is_float(t);
  if (tx->dtype != t || (!fl && !is_int(t)))
    return DLC_ERROR;
  bool red[DLC_MAX_RANK] = {0};
  for (int k = 0; k < n->attr.nints; k++) {
    int64_t a = n->attr.ints[k];
    if (a < 0 || a >= tx->rank || red[a])
      return DLC_ERROR;
    red[a] = true;
  }
  /* the result's stride for each input dim; 0 along reduced ones */
  int64_t ostride[DLC_MAX_RANK], onum = 1;
  for (int i = tx->rank - 1; i >= 0; i--) {
    ostride[i] = red[i] ? 0 : onum;
    onum *= red[i] ? 1 : tx->dims[i];
  }
  if (onum != dlc_type_numel(&n->type))
    return DLC_ERROR;
  int64_t cnt = dlc_type_numel(tx), per = cnt / onum;
  dlc_op op = n->op == DLC_OP_GLOBAL_AVG_POOL ? DLC_OP_MEAN : n->op;
  double *accf = dlc_xcalloc((size_t)onum, sizeof *accf);
  uint64_t *accu = dlc_xcalloc((size_t)onum, sizeof *accu); /* int sums */
  int64_t *acci = dlc_xcalloc((size_t)onum, sizeof *acci);  /* int max/min */
  bool *seen = dlc_xcalloc((size_t)onum, sizeof *seen);
  for (int64_t k = 0; k < cnt; k++) {
    int64_t rest = k, o = 0;
    for (int i = tx->rank - 1; i >= 0; i--) {
      o += (rest % tx->dims[i]) * ostride[i];
      rest /= tx->dims[i];
    }
    bool first = !seen[o];
    seen[o] = true;
    if (fl) {
      double v = loadf(t, x, k);
      if (op == DLC_OP_SUM || op == DLC_OP_MEAN)
        accf[o] += v;
      else if (op == DLC_OP_MAX)
        accf[o] = first ? v : fmax_nan(accf[o], v);
      else
        accf[o] = first ? v : fmin_nan(accf[o], v);
    } else {
      int64_t v = loadi(t, x, k);
      if (op == DLC_OP_SUM || op == DLC_OP_MEAN)
        accu[o] += (uint64_t)v;
      else if (op == DLC_OP_MAX)
        acci[o] = first || v > acci[o] ? v : acci[o];
      else
        acci[o] = first || v < acci[o] ? v : acci[o];
    }
  }
  for (int64_t o = 0; o < onum; o++) {
    if (fl)
      storef(t, out, o, op == DLC_OP_MEAN ? accf[o] / (double)per : accf[o]);
    else if (op == DLC_OP_SUM)
      storei(t, out, o, wrap(t, accu[o]));
    else if (op == DLC_OP_MEAN) /* per >= 1, so no MIN / -1 */
      storei(t, out, o, wrap(t, accu[o]) / per);
    else
      storei(t, out, o, acci[o]);
  }
  free(accf);
  free(accu);
  free(acci);
  free(seen);
  return DLC_OK;
}

/* ---- data movement ----------------------------------------------------- */

/* out.dims[i] = in.dims[perm[i]]: walk the output, gather from the input. */
static dlc_status eval_transpose(const dlc_node *n, const void *x, void *out) {
  const dlc_type *ti = &n->in[0]->type, *to = &n->type;
  const int64_t *perm = n->attr.ints;
  if (n->attr.nints != to->rank || ti->rank != to->rank ||
      ti->dtype != to->dtype)
    return DLC_ERROR;
  for (int i = 0; i < to->rank; i++)
    if (perm[i] < 0 || perm[i] >= ti->rank || ti->dims[perm[i]] != to->dims[i])
      return DLC_ERROR;
  int64_t istride[DLC_MAX_RANK];
  int64_t s = 1;
  for (int i = ti->rank - 1; i >= 0; i--) {
    istride[i] = s;
    s *= ti->dims[i];
  }
  size_t es = dlc_dtype_size(to->dtype);
  int64_t cnt = dlc_type_numel(to);
  for (int64_t o = 0; o < cnt; o++) {
    int64_t rest = o, off = 0;
    for (int i = to->rank - 1; i >= 0; i--) {
      off += (rest % to->dims[i]) * istride[perm[i]];
      rest /= to->dims[i];
    }
    memcpy((char *)out + o * (int64_t)es, (const char *)x + off * (int64_t)es, es);
  }
  return DLC_OK;
}

/* numpy's broadcast_to: the result dims are n->type's. */
static dlc_status eval_broadcast(const dlc_node *n, const void *x, void *out) {
  const dlc_type *ti = &n->in[0]->type, *to = &n->type;
  bcast bx;
  if (ti->dtype != to->dtype ||
      !bcast_init(&bx, to->dims, to->rank, ti->dims, ti->rank, 1))
    return DLC_ERROR;
  size_t es = dlc_dtype_size(to->dtype);
  int64_t cnt = dlc_type_numel(to);
  for (int64_t o = 0; o < cnt; o++)
    memcpy((char *)out + o * (int64_t)es,
           (const char *)x + bcast_index(&bx, o) * (int64_t)es, es);
  return DLC_OK;
}

/* Operands joined along attr.axis: for each index before the axis, each
 * operand's block in turn. */
static dlc_status eval_concat(const dlc_node *n, const void *const *opnds,
                              void *out) {
  const dlc_type *to = &n->type;
  int64_t axis = n->attr.axis;
  if (n->nin < 1 || axis < 0 || axis >= to->rank)
    return DLC_ERROR;
  int64_t total = 0;
  for (int k = 0; k < n->nin; k++) {
    const dlc_type *tk = &n->in[k]->type;
    if (tk->dtype != to->dtype || tk->rank != to->rank)
      return DLC_ERROR;
    for (int i = 0; i < to->rank; i++)
      if (i != axis && tk->dims[i] != to->dims[i])
        return DLC_ERROR;
    total += tk->dims[axis];
  }
  if (total != to->dims[axis])
    return DLC_ERROR;
  size_t es = dlc_dtype_size(to->dtype);
  int64_t outer = dims_prod(to, 0, (int)axis);
  int64_t inner = dims_prod(to, (int)axis + 1, to->rank) * (int64_t)es;
  char *dst = out;
  for (int64_t o = 0; o < outer; o++)
    for (int k = 0; k < n->nin; k++) {
      int64_t blk = n->in[k]->type.dims[axis] * inner;
      memcpy(dst, (const char *)opnds[k] + o * blk, (size_t)blk);
      dst += blk;
    }
  return DLC_OK;
}

/* y[..., i, ...] = x[..., start + i*step, ...] along attr.axis, for the
 * result's length along it. */
static dlc_status eval_slice(const dlc_node *n, const void *x, void *out) {
  const dlc_type *ti = &n->in[0]->type, *to = &n->type;
  int64_t axis = n->attr.axis, start = n->attr.start, step = n->attr.step;
  if (ti->dtype != to->dtype || ti->rank != to->rank || axis < 0 ||
      axis >= to->rank || step == 0)
    return DLC_ERROR;
  for (int i = 0; i < to->rank; i++)
    if (i != axis && ti->dims[i] != to->dims[i])
      return DLC_ERROR;
  int64_t len = to->dims[axis], dim = ti->dims[axis];
  /* the first and the last index read are inside x; any step will do for
   * one element, else |step| * (len - 1) <= dim - 1, checked before the
   * product is formed (step may be INT64_MIN: it is never negated) */
  if (start < 0 || start >= dim || len < 1 || len > dim)
    return DLC_ERROR;
  if (len > 1) {
    if (step < -(dim - 1) || step > dim - 1)
      return DLC_ERROR;
    int64_t astep = step < 0 ? -step : step;
    if (astep > (dim - 1) / (len - 1))
      return DLC_ERROR;
    int64_t last = start + (len - 1) * step;
    if (last < 0 || last >= dim)
      return DLC_ERROR;
  }
  size_t es = dlc_dtype_size(to->dtype);
  int64_t outer = dims_prod(to, 0, (int)axis);
  int64_t inner = dims_prod(to, (int)axis + 1, to->rank) * (int64_t)es;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < len; i++)
      memcpy((char *)out + (o * len + i) * inner,
             (const char *)x + (o * dim + start + i * step) * inner,
             (size_t)inner);
  return DLC_OK;
}

/* y[a, i_1..i_k, b] = x[a, indices[i_1..i_k], b] along attr.axis; a
 * negative index counts from the end (once), and an index still outside
 * [0, n) reads zeros. */
static dlc_status eval_gather(const dlc_node *n, const void *x,
                              const void *idx, void *out) {
  const dlc_type *tx = &n->in[0]->type, *ti = &n->in[1]->type, *to = &n->type;
  int64_t axis = n->attr.axis;
  if (tx->dtype != to->dtype || !is_int(ti->dtype) || axis < 0 ||
      axis >= tx->rank || to->rank != tx->rank - 1 + ti->rank)
    return DLC_ERROR;
  for (int i = 0; i < to->rank; i++) {
    int64_t want = i < axis ? tx->dims[i]
                   : i < axis + ti->rank ? ti->dims[i - axis]
                                         : tx->dims[i - ti->rank + 1];
    if (to->dims[i] != want)
      return DLC_ERROR;
  }
  size_t es = dlc_dtype_size(to->dtype);
  int64_t outer = dims_prod(tx, 0, (int)axis), dim = tx->dims[axis];
  int64_t inner = dims_prod(tx, (int)axis + 1, tx->rank) * (int64_t)es;
  int64_t nidx = dlc_type_numel(ti);
  char *dst = out;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < nidx; j++) {
      int64_t k = loadi(ti->dtype, idx, j);
      if (k < 0)
        k += dim; /* k < 0 < dim: cannot overflow */
      if (k >= 0 && k < dim)
        memcpy(dst, (const char *)x + (o * dim + k) * inner, (size_t)inner);
      else
        memset(dst, 0, (size_t)inner);
      dst += inner;
    }
  return DLC_OK;
}

dlc_status dlc_eval_node(const dlc_node *n, const void *const *operands,
                         void *out) {
  const dlc_opinfo *info = &dlc_ops[n->op];
  DLC_ASSERT(info->arity < 0 || n->nin == info->arity);
  size_t bytes = dlc_type_bytes(&n->type);
  switch (info->kind) {
  case DLC_KIND_SOURCE:
    if (!(info->flags & DLC_OPF_CONST))
      return DLC_ERROR; /* an input has no value of its own */
    if (n->data)
      memcpy(out, n->data, bytes);
    else
      memset(out, 0, bytes);
    return DLC_OK;
  case DLC_KIND_UNARY:
    return eval_unary(n, operands[0], out);
  case DLC_KIND_BINARY:
    return eval_binary(n, operands[0], operands[1], out);
  case DLC_KIND_WHERE:
    return eval_where(n, operands[0], operands[1], operands[2], out);
  case DLC_KIND_CAST:
    return eval_cast(n, operands[0], out);
  case DLC_KIND_MATMUL:
    return eval_matmul(n, operands[0], operands[1], out);
  case DLC_KIND_SOFTMAX:
    return eval_softmax(n, operands[0], out);
  case DLC_KIND_REDUCE:
    return eval_reduce(n, operands[0], out);
  case DLC_KIND_NORM:
    return eval_norm(n, operands, out);
  case DLC_KIND_CONV:
    return eval_conv2d(n, operands, out);
  case DLC_KIND_POOL:
    return eval_pool(n, operands[0], out);
  case DLC_KIND_RESHAPE:
    if (n->in[0]->type.dtype != n->type.dtype ||
        dlc_type_bytes(&n->in[0]->type) != bytes)
      return DLC_ERROR;
    memcpy(out, operands[0], bytes);
    return DLC_OK;
  case DLC_KIND_TRANSPOSE:
    return eval_transpose(n, operands[0], out);
  case DLC_KIND_BROADCAST:
    return eval_broadcast(n, operands[0], out);
  case DLC_KIND_CONCAT:
    return eval_concat(n, operands, out);
  case DLC_KIND_SLICE:
    return eval_slice(n, operands[0], out);
  case DLC_KIND_GATHER:
    return eval_gather(n, operands[0], operands[1], out);
  case DLC_KIND_LAYOUT:
    return eval_layout(n, operands[0], out);
  }
  dlc_unreachable();
}

/* ---- whole graphs ----------------------------------------------------- */

typedef struct evalstate {
  const void **val; /* by node id: the node's data, or NULL */
  bool *owned;      /* by node id: val was malloc'd here */
  int *uses;        /* by node id: live uses not yet evaluated */
} evalstate;

static void release(evalstate *s, const dlc_node *n) {
  if (--s->uses[n->id] == 0 && s->owned[n->id]) {
    free((void *)s->val[n->id]);
    s->val[n->id] = NULL;
    s->owned[n->id] = false;
  }
}

static void report(dlc_diag *d, const dlc_node *n, const char *what) {
  char buf[DLC_TYPE_STRLEN];
  if (d)
    dlc_error(d, n->loc, "cannot evaluate %s: %s (result %s)",
              dlc_ops[n->op].name, what, dlc_type_str(&n->type, buf, sizeof buf));
}

/* Computes node n into the state; its operands are already there. */
static dlc_status eval_one(evalstate *s, const dlc_node *n,
                           const void **opnds, dlc_diag *d) {
  if (n->op == DLC_OP_INPUT) {
    if (!s->val[n->id]) {
      report(d, n, "an input that is not among the graph's inputs");
      return DLC_ERROR;
    }
    return DLC_OK;
  }
  if ((dlc_ops[n->op].flags & DLC_OPF_CONST) && n->data) {
    s->val[n->id] = n->data; /* used in place, never copied */
    return DLC_OK;
  }
  if (s->uses[n->id] == 0)
    return DLC_OK; /* nothing reads it: skip the work */
  for (int i = 0; i < n->nin; i++) {
    opnds[i] = s->val[n->in[i]->id];
    DLC_ASSERT(opnds[i] != NULL);
  }
  void *out = dlc_xmalloc(dlc_type_bytes(&n->type));
  if (dlc_eval_node(n, opnds, out) != DLC_OK) {
    free(out);
    report(d, n, "unsupported operator or dtype");
    return DLC_ERROR;
  }
  s->val[n->id] = out;
  s->owned[n->id] = true;
  return DLC_OK;
}

dlc_status dlc_eval_graph(const dlc_graph *g, const void *const *inputs,
                          void **outputs, dlc_diag *d) {
  for (int i = 0; i < g->noutputs; i++)
    outputs[i] = NULL;
  int nid = g->next_id, maxin = 1;
  evalstate s = {
      .val = dlc_xcalloc((size_t)nid, sizeof *s.val),
      .owned = dlc_xcalloc((size_t)nid, sizeof *s.owned),
      .uses = dlc_xcalloc((size_t)nid, sizeof *s.uses),
  };
  dlc_graph_count_uses(g, s.uses);
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->nin > maxin)
      maxin = g->nodes[i]->nin;
  const void **opnds = dlc_xcalloc((size_t)maxin, sizeof *opnds);

  dlc_status st = DLC_OK;
  for (int i = 0; i < g->ninputs && st == DLC_OK; i++) {
    if (!inputs[i]) {
      if (d)
        dlc_error(d, g->inputs[i]->loc, "no data given for input '%s'",
                  g->inputs[i]->name);
      st = DLC_ERROR;
    }
    s.val[g->inputs[i]->id] = inputs[i];
  }
  for (int i = 0; i < g->nnodes && st == DLC_OK; i++) {
    const dlc_node *n = g->nodes[i];
    if (n->dead)
      continue;
    st = eval_one(&s, n, opnds, d);
    for (int j = 0; j < n->nin; j++)
      release(&s, n->in[j]);
  }
  for (int i = 0; i < g->noutputs && st == DLC_OK; i++) {
    const dlc_node *n = g->outputs[i].node;
    size_t bytes = dlc_type_bytes(&n->type);
    outputs[i] = dlc_xmalloc(bytes);
    if (s.val[n->id])
      memcpy(outputs[i], s.val[n->id], bytes);
    else /* a constant without data: zeros */
      memset(outputs[i], 0, bytes);
  }
  for (int i = 0; i < nid; i++)
    if (s.owned[i])
      free((void *)s.val[i]);
  if (st != DLC_OK)
    for (int i = 0; i < g->noutputs; i++) {
      free(outputs[i]);
      outputs[i] = NULL;
    }
  free(opnds);
  free(s.val);
  free(s.owned);
  free(s.uses);
  return st;
}
