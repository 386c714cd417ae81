/* Shape and type rules: one case per operator kind. Each computes the
 * result type from the operands, checks the dtype class the operator's
 * flags ask for, normalizes attributes (negative axes, sorted axis lists,
 * the -1 of reshape, the default perm of transpose, slice bounds) and
 * reports a located error naming the operator and the operand types when
 * they do not fit. docs/operators.md is the specification. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "util.h"

#define TS(t, buf) dlc_type_str((t), (buf), sizeof(buf))

/* The most elements a tensor may have, as in the language's tensor types;
 * operands and attributes below it keep every size computation in range. */
#define MAX_NUMEL ((int64_t)1 << 40)

static const char *opname(const dlc_node *n) { return dlc_ops[n->op].name; }

static void ints_str(const int64_t *v, int n, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < n && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "",
                          (long long)v[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "]");
}

/* True when t has more than MAX_NUMEL elements (no overflow on the way).
 * Dims below 1 are the verifier's business, not a size. */
static bool too_big(const dlc_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] < 1)
      return false;
    if (t->dims[i] > MAX_NUMEL / n)
      return true;
    n *= t->dims[i];
  }
  return false;
}

/* numpy broadcasting of a's and b's dims into out; false if they clash. */
static bool broadcast(const dlc_type *a, const dlc_type *b, dlc_type *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  dlc_type t = {.rank = r};
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return false;
    t.dims[i] = da == 1 ? db : da;
  }
  out->rank = r;
  memcpy(out->dims, t.dims, sizeof t.dims);
  return true;
}

/* The dtype class the operator's flags ask for: float, or numeric (no bool). */
static dlc_status check_dtype(const dlc_node *n, const dlc_type *t,
                              dlc_diag *d) {
  char s[DLC_TYPE_STRLEN];
  unsigned f = dlc_ops[n->op].flags;
  if ((f & DLC_OPF_FLOAT) && !dlc_dtype_is_float(t->dtype)) {
    dlc_error(d, n->loc, "%s: expects a floating-point operand, got %s",
              opname(n), TS(t, s));
    return DLC_ERROR;
  }
  if ((f & DLC_OPF_NOBOOL) && t->dtype == DLC_BOOL) {
    dlc_error(d, n->loc, "%s: expects a numeric operand, got %s", opname(n),
              TS(t, s));
    return DLC_ERROR;
  }
  return DLC_OK;
}

static dlc_status same_dtype(const dlc_node *n, const dlc_type *a,
                             const dlc_type *b, const char *sep, dlc_diag *d) {
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (a->dtype != b->dtype) {
    dlc_error(d, n->loc, "%s: operand types differ: %s %s %s", opname(n),
              TS(a, s1), sep, TS(b, s2));
    return DLC_ERROR;
  }
  return DLC_OK;
}

/* Normalizes an axis of a rank-r tensor into [0, r), or [0, r] when end_ok
 * (flatten); false when it is outside [-r, r) (or [-r, r]). */
static bool fix_axis(int64_t *axis, int r, bool end_ok) {
  if (*axis < -r || *axis > (end_ok ? r : r - 1))
    return false;
  if (*axis < 0)
    *axis += r;
  return true;
}

/* Normalizes and checks attr.axis against x (the operand it counts in). */
static dlc_status axis_attr(dlc_node *n, const dlc_type *x, bool end_ok,
                            dlc_diag *d) {
  char s[DLC_TYPE_STRLEN];
  if (!fix_axis(&n->attr.axis, x->rank, end_ok)) {
    dlc_error(d, n->loc, "%s: axis %lld is out of range for %s (rank %d)",
              opname(n), (long long)n->attr.axis, TS(x, s), x->rank);
    return DLC_ERROR;
  }
  return DLC_OK;
}

/* Normalizes the axis list attr.ints against rank r in place, sorted
 * ascending. On an axis outside [-r, r) or one listed twice reports it;
 * what says what the axes count in ("f32[2,3]", "the result (rank 3)"). */
static dlc_status axes_attr(dlc_node *n, int r, const char *what,
                            dlc_diag *d) {
  int64_t *v = n->attr.ints;
  int k = n->attr.nints;
  char l[256];
  ints_str(v, k, l, sizeof l);
  bool seen[DLC_MAX_RANK] = {0};
  for (int i = 0; i < k; i++) {
    int64_t a = v[i];
    if (!fix_axis(&a, r, false)) {
      dlc_error(d, n->loc, "%s: axis %lld is out of range for %s", opname(n),
                (long long)v[i], what);
      return DLC_ERROR;
    }
    if (seen[a]) {
      dlc_error(d, n->loc, "%s: axes %s repeat axis %lld of %s", opname(n), l,
                (long long)a, what);
      return DLC_ERROR;
    }
    seen[a] = true;
  }
  k = 0;
  for (int a = 0; a < r; a++)
    if (seen[a])
      v[k++] = a;
  return DLC_OK;
}

/* Sets attr.ints to lo, lo+1, ..., hi-1, reusing the array when it is long
 * enough (the arena keeps the old one). */
static void set_axis_range(dlc_graph *g, dlc_attrs *a, int lo, int hi) {
  int k = hi - lo;
  if (a->nints < k)
    a->ints = dlc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)k);
  for (int i = 0; i < k; i++)
    a->ints[i] = lo + i;
  a->nints = k;
}

/* ---- elementwise ------------------------------------------------------ */

static dlc_status binary(dlc_node *n, dlc_diag *d) {
  const dlc_type *a = &n->in[0]->type, *b = &n->in[1]->type;
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (same_dtype(n, a, b, "and", d) != DLC_OK || check_dtype(n, a, d) != DLC_OK)
    return DLC_ERROR;
  n->type.dtype = dlc_ops[n->op].flags & DLC_OPF_COMPARE ? DLC_BOOL : a->dtype;
  if (!broadcast(a, b, &n->type)) {
    dlc_error(d, n->loc, "%s: shapes do not broadcast: %s and %s", opname(n),
              TS(a, s1), TS(b, s2));
    return DLC_ERROR;
  }
  return DLC_OK;
}

static dlc_status where(dlc_node *n, dlc_diag *d) {
  const dlc_type *c = &n->in[0]->type, *a = &n->in[1]->type,
                 *b = &n->in[2]->type;
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN], s3[DLC_TYPE_STRLEN];
  if (c->dtype != DLC_BOOL) {
    dlc_error(d, n->loc, "where: condition must be bool, got %s", TS(c, s1));
    return DLC_ERROR;
  }
  if (same_dtype(n, a, b, "and", d) != DLC_OK)
    return DLC_ERROR;
  n->type.dtype = a->dtype;
  if (!broadcast(c, a, &n->type) || !broadcast(&n->type, b, &n->type)) {
    dlc_error(d, n->loc, "where: shapes do not broadcast: %s, %s and %s",
              TS(c, s1), TS(a, s2), TS(b, s3));
    return DLC_ERROR;
  }
  return DLC_OK;
}

static dlc_status cast(dlc_node *n, dlc_diag *d) {
  if ((unsigned)n->attr.to >= DLC_NUM_DTYPES) {
    dlc_error(d, n->loc, "cast: target dtype %d is not a dtype",
              (int)n->attr.to);
    return DLC_ERROR;
  }
  n->type = n->in[0]->type;
  n->type.dtype = n->attr.to;
  return DLC_OK;
}

/* ---- contractions ---------------------------------------------------- */

static dlc_status matmul(dlc_node *n, dlc_diag *d) {
  const dlc_type *a = &n->in[0]->type, *b = &n->in[1]->type;
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (a->rank < 2 || b->rank < 2) {
    dlc_error(d, n->loc, "matmul: operands must have rank 2 or more: %s @ %s",
              TS(a, s1), TS(b, s2));
    return DLC_ERROR;
  }
  if (same_dtype(n, a, b, "@", d) != DLC_OK || check_dtype(n, a, d) != DLC_OK)
    return DLC_ERROR;
  if (a->dims[a->rank - 1] != b->dims[b->rank - 2]) {
    dlc_error(d, n->loc, "matmul: inner dimensions differ: %s @ %s",
              TS(a, s1), TS(b, s2));
    return DLC_ERROR;
  }
  dlc_type ba = *a, bb = *b;
  ba.rank -= 2;
  bb.rank -= 2;
  if (!broadcast(&ba, &bb, &n->type)) {
    dlc_error(d, n->loc, "matmul: batch dimensions do not broadcast: %s @ %s",
              TS(a, s1), TS(b, s2));
    return DLC_ERROR;
  }
  int r = n->type.rank;
  n->type.dtype = a->dtype;
  n->type.dims[r] = a->dims[a->rank - 2];
  n->type.dims[r + 1] = b->dims[b->rank - 1];
  n->type.rank = r + 2;
  return DLC_OK;
}

/* ---- reductions and normalizations ------------------------------------ */

/* sum, mean, max, min over attr.ints (all axes when empty), and
 * global_avg_pool, which is a mean over dims 2.. with keepdims. After the
 * rule attr.ints lists the reduced axes, sorted. */
static dlc_status reduce(dlc_graph *g, dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN], what[DLC_TYPE_STRLEN + 16];
  if (check_dtype(n, x, d) != DLC_OK)
    return DLC_ERROR;
  if (n->op == DLC_OP_GLOBAL_AVG_POOL) {
    if (x->rank < 3) {
      dlc_error(d, n->loc,
                "global_avg_pool: expects rank 3 or more (N, C, ...), got %s",
                TS(x, s));
      return DLC_ERROR;
    }
    set_axis_range(g, &n->attr, 2, x->rank);
    n->attr.keepdims = true;
  } else if (n->attr.nints == 0) {
    set_axis_range(g, &n->attr, 0, x->rank);
  }
  snprintf(what, sizeof what, "%s (rank %d)", TS(x, s), x->rank);
  if (axes_attr(n, x->rank, what, d) != DLC_OK)
    return DLC_ERROR;
  bool reduced[DLC_MAX_RANK] = {0};
  for (int i = 0; i < n->attr.nints; i++)
    reduced[n->attr.ints[i]] = true;
  n->type.dtype = x->dtype;
  n->type.rank = 0;
  for (int i = 0; i < x->rank; i++)
    if (!reduced[i])
      n->type.dims[n->type.rank++] = x->dims[i];
    else if (n->attr.keepdims)
      n->type.dims[n->type.rank++] = 1;
  return DLC_OK;
}

static dlc_status softmax(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  if (check_dtype(n, x, d) != DLC_OK || axis_attr(n, x, false, d) != DLC_OK)
    return DLC_ERROR;
  n->type = *x;
  return DLC_OK;
}

/* A parameter p of a normalization must be exactly want. */
static dlc_status norm_param(const dlc_node *n, const char *name,
                             const dlc_type *p, const dlc_type *want,
                             const char *why, dlc_diag *d) {
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (!dlc_type_equal(p, want)) {
    dlc_error(d, n->loc, "%s: %s must be %s (%s), got %s", opname(n), name,
              TS(want, s1), why, TS(p, s2));
    return DLC_ERROR;
  }
  return DLC_OK;
}

/* batch_norm(x, scale, bias, mean, var): params [C], C = x.dims[1].
 * layer_norm(x, gamma, beta): params x.dims[axis:], attr.axis normalized. */
static dlc_status norm(dlc_node *n, dlc_diag *d) {
  static const char *bn[] = {"scale", "bias", "mean", "var"};
  static const char *ln[] = {"gamma", "beta"};
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN], why[DLC_TYPE_STRLEN + 48];
  if (check_dtype(n, x, d) != DLC_OK)
    return DLC_ERROR;
  dlc_type want = {.dtype = x->dtype};
  const char **names = bn;
  if (n->op == DLC_OP_BATCH_NORM) {
    if (x->rank < 2) {
      dlc_error(d, n->loc, "batch_norm: expects rank 2 or more (N, C, ...), "
                "got %s", TS(x, s));
      return DLC_ERROR;
    }
    want.rank = 1;
    want.dims[0] = x->dims[1];
    snprintf(why, sizeof why, "one per channel of %s", TS(x, s));
  } else {
    if (axis_attr(n, x, false, d) != DLC_OK)
      return DLC_ERROR;
    int64_t axis = n->attr.axis;
    want.rank = x->rank - (int)axis;
    memcpy(want.dims, x->dims + axis, sizeof(int64_t) * (size_t)want.rank);
    snprintf(why, sizeof why, "the dims of %s from axis %lld", TS(x, s),
             (long long)axis);
    names = ln;
  }
  for (int i = 1; i < n->nin; i++)
    if (norm_param(n, names[i - 1], &n->in[i]->type, &want, why, d) != DLC_OK)
      return DLC_ERROR;
  if (!(n->attr.eps >= 0)) {
    dlc_error(d, n->loc, "%s: eps must be a non-negative number, got %g",
              opname(n), n->attr.eps);
    return DLC_ERROR;
  }
  n->type = *x;
  return DLC_OK;
}

/* ---- convolution and pooling ------------------------------------------ */

/* Each of v[0..k) must lie in [lo, 2^40]; what names them in the message. */
static dlc_status check_ints(const dlc_node *n, const char *what,
                             const int64_t *v, int k, int64_t lo,
                             dlc_diag *d) {
  char l[128];
  ints_str(v, k, l, sizeof l);
  for (int i = 0; i < k; i++) {
    if (v[i] < lo && lo == 0) {
      dlc_error(d, n->loc, "%s: %s must not be negative, got %s", opname(n),
                what, l);
      return DLC_ERROR;
    }
    if (v[i] < lo) {
      dlc_error(d, n->loc, "%s: %s must be at least %lld, got %s", opname(n),
                what, (long long)lo, l);
      return DLC_ERROR;
    }
    if (v[i] > MAX_NUMEL) {
      dlc_error(d, n->loc, "%s: %s must be at most 2^40, got %s", opname(n),
                what, l);
      return DLC_ERROR;
    }
  }
  return DLC_OK;
}

/* The spatial output size [N, C, H', W'] of a window (kernel k, dilation
 * dil) sliding over x: H' = (H + top + bottom - span) / stride + 1 with
 * span = dil * (k - 1) + 1. Every value is at most 2^40 (checked), so
 * only span can overflow; it saturates, as it is then larger than any
 * padded input anyway. */
static dlc_status window(dlc_node *n, const dlc_type *x, const int64_t *k,
                         const int64_t *dil, int64_t channels, dlc_diag *d) {
  const dlc_attrs *a = &n->attr;
  char s[DLC_TYPE_STRLEN];
  int64_t padded[2], span[2];
  for (int i = 0; i < 2; i++) {
    padded[i] = x->dims[2 + i] + a->pad[i] + a->pad[2 + i];
    span[i] = k[i] - 1 > (INT64_MAX - 1) / dil[i] ? INT64_MAX
                                                   : dil[i] * (k[i] - 1) + 1;
  }
  if (span[0] > padded[0] || span[1] > padded[1]) {
    dlc_error(d, n->loc, "%s: the window %lldx%lld is larger than the padded "
              "input %lldx%lld: %s", opname(n), (long long)span[0],
              (long long)span[1], (long long)padded[0], (long long)padded[1],
              TS(x, s));
    return DLC_ERROR;
  }
  n->type.dtype = x->dtype;
  n->type.rank = 4;
  n->type.dims[0] = x->dims[0];
  n->type.dims[1] = channels;
  for (int i = 0; i < 2; i++)
    n->type.dims[2 + i] = (padded[i] - span[i]) / a->stride[i] + 1;
  return DLC_OK;
}

/* conv2d, and conv2d_nchwc, whose input may be blocked ([N, C/b, H, W, b]
 * holds C channels) and whose result is blocked by attr.block. */
static dlc_status conv2d(dlc_node *n, dlc_diag *d) {
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN], s3[DLC_TYPE_STRLEN];
  const char *on = opname(n);
  bool blocked = n->op == DLC_OP_CONV2D_NCHWC;
  if (n->nin != 2 && n->nin != 3) {
    dlc_error(d, n->loc, "%s: expects 2 or 3 operands, got %d", on, n->nin);
    return DLC_ERROR;
  }
  const dlc_type *x0 = &n->in[0]->type, *w = &n->in[1]->type;
  dlc_attrs *a = &n->attr;
  if (x0->rank != 4 && !(blocked && x0->rank == 5)) {
    dlc_error(d, n->loc, "%s: input must have rank 4 (N, C, H, W)%s, got %s", on,
              blocked ? " or 5 (N, C/b, H, W, b)" : "", TS(x0, s1));
    return DLC_ERROR;
  }
  /* the input as NCHW */
  dlc_type xl = *x0, *x = &xl;
  int64_t ib = 1;
  if (x0->rank == 5) {
    ib = x0->dims[4];
    xl.rank = 4;
    xl.dims[1] *= ib;
  }
  if (w->rank != 4) {
    dlc_error(d, n->loc, "%s: weight must have rank 4 (M, C/groups, kH, "
              "kW), got %s", on, TS(w, s1));
    return DLC_ERROR;
  }
  if (same_dtype(n, x, w, "and", d) != DLC_OK || check_dtype(n, x, d) != DLC_OK)
    return DLC_ERROR;
  int64_t c = x->dims[1], m = w->dims[0];
  if (n->nin == 3) {
    dlc_type want = {.dtype = x->dtype, .rank = 1, .dims = {m}};
    const dlc_type *b = &n->in[2]->type;
    if (!dlc_type_equal(b, &want)) {
      dlc_error(d, n->loc, "%s: bias must be %s (one per output channel "
                "of %s), got %s", on, TS(&want, s1), TS(w, s2), TS(b, s3));
      return DLC_ERROR;
    }
  }
  if (check_ints(n, "strides", a->stride, 2, 1, d) != DLC_OK ||
      check_ints(n, "dilations", a->dilation, 2, 1, d) != DLC_OK ||
      check_ints(n, "pads", a->pad, 4, 0, d) != DLC_OK)
    return DLC_ERROR;
  if (a->groups < 1) {
    dlc_error(d, n->loc, "%s: groups must be at least 1, got %lld", on,
              (long long)a->groups);
    return DLC_ERROR;
  }
  if (c % a->groups != 0) {
    dlc_error(d, n->loc, "%s: input channels %lld are not divisible by "
              "groups %lld: %s", on, (long long)c, (long long)a->groups, TS(x0, s1));
    return DLC_ERROR;
  }
  if (m % a->groups != 0) {
    dlc_error(d, n->loc, "%s: output channels %lld are not divisible by "
              "groups %lld: weight %s", on, (long long)m, (long long)a->groups,
              TS(w, s1));
    return DLC_ERROR;
  }
  if (w->dims[1] != c / a->groups) {
    dlc_error(d, n->loc, "%s: weight %s has %lld input channels per "
              "group, but input %s with groups %lld needs %lld", on, TS(w, s1),
              (long long)w->dims[1], TS(x0, s2), (long long)a->groups,
              (long long)(c / a->groups));
    return DLC_ERROR;
  }
  if (blocked) {
    if (a->block < 1) {
      dlc_error(d, n->loc, "%s: block must be at least 1, got %lld", on, (long long)a->block);
      return DLC_ERROR;
    }
    if (m % a->block != 0) {
      dlc_error(d, n->loc, "%s: output channels %lld are not divisible by block %lld", on,
                (long long)m, (long long)a->block);
      return DLC_ERROR;
    }
    if (a->groups != 1 && !(a->groups == c && a->groups == m && ib == a->block)) {
      dlc_error(d, n->loc, "%s: groups must be 1, or the channel count with the input's "
                "block equal to the result's (depthwise); got groups %lld, input %s, "
                "block %lld", on, (long long)a->groups, TS(x0, s1), (long long)a->block);
      return DLC_ERROR;
    }
  }
  a->kernel[0] = w->dims[2];
  a->kernel[1] = w->dims[3];
  if (window(n, x, a->kernel, a->dilation, m, d) != DLC_OK)
    return DLC_ERROR;
  if (blocked) {
    n->type.rank = 5;
    n->type.dims[1] = m / a->block;
    n->type.dims[4] = a->block;
  }
  return DLC_OK;
}

/* to_nchwc: [N, C, H, W] -> [N, C/b, H, W, b]; to_nchw: the inverse. */
static dlc_status layout(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  int64_t b = n->attr.block;
  char s[DLC_TYPE_STRLEN];
  n->type = *x;
  if (n->op == DLC_OP_TO_NCHW) {
    if (x->rank != 5) {
      dlc_error(d, n->loc, "to_nchw: input must have rank 5 (N, C/b, H, W, b), got %s",
                TS(x, s));
      return DLC_ERROR;
    }
    n->type.rank = 4;
    n->type.dims[1] = x->dims[1] * x->dims[4];
    n->type.dims[4] = 0;
    return DLC_OK;
  }
  if (x->rank != 4) {
    dlc_error(d, n->loc, "to_nchwc: input must have rank 4 (N, C, H, W), got %s", TS(x, s));
    return DLC_ERROR;
  }
  if (b < 1) {
    dlc_error(d, n->loc, "to_nchwc: block must be at least 1, got %lld", (long long)b);
    return DLC_ERROR;
  }
  if (x->dims[1] % b != 0) {
    dlc_error(d, n->loc, "to_nchwc: channels %lld are not divisible by block %lld: %s",
              (long long)x->dims[1], (long long)b, TS(x, s));
    return DLC_ERROR;
  }
  n->type.rank = 5;
  n->type.dims[1] = x->dims[1] / b;
  n->type.dims[4] = b;
  return DLC_OK;
}

/* max_pool2d, avg_pool2d: attr.kernel required; dilation is not used. The
 * input may be NCHW or blocked (NCHWc), the result in the same layout. */
static dlc_status pool(dlc_node *n, dlc_diag *d) {
  static const int64_t one[2] = {1, 1};
  const dlc_type *x = &n->in[0]->type;
  const dlc_attrs *a = &n->attr;
  char s[DLC_TYPE_STRLEN], k[64], p[128];
  if (check_dtype(n, x, d) != DLC_OK)
    return DLC_ERROR;
  if (x->rank != 4 && x->rank != 5) {
    dlc_error(d, n->loc, "%s: input must have rank 4 (N, C, H, W) or 5 (N, C/b, H, W, b), "
              "got %s", opname(n), TS(x, s));
    return DLC_ERROR;
  }
  if (check_ints(n, "kernel", a->kernel, 2, 1, d) != DLC_OK ||
      check_ints(n, "strides", a->stride, 2, 1, d) != DLC_OK ||
      check_ints(n, "pads", a->pad, 4, 0, d) != DLC_OK)
    return DLC_ERROR;
  /* ONNX's rule: no window may lie entirely in the padding */
  for (int i = 0; i < 4; i++)
    if (a->pad[i] >= a->kernel[i % 2]) {
      ints_str(a->kernel, 2, k, sizeof k);
      ints_str(a->pad, 4, p, sizeof p);
      dlc_error(d, n->loc, "%s: pads %s must be smaller than the kernel %s",
                opname(n), p, k);
      return DLC_ERROR;
    }
  if (window(n, x, a->kernel, one, x->dims[1], d) != DLC_OK)
    return DLC_ERROR;
  if (x->rank == 5) { /* channel blocks: pooled the same way */
    n->type.rank = 5;
    n->type.dims[4] = x->dims[4];
  }
  return DLC_OK;
}

/* ---- data movement ---------------------------------------------------- */

static dlc_status reshape(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN], l[256];
  int64_t *v = n->attr.ints;
  int r = n->attr.nints, hole = -1;
  ints_str(v, r, l, sizeof l);
  if (r > DLC_MAX_RANK) {
    dlc_error(d, n->loc, "reshape: %s has rank %d; at most %d is supported", l,
              r, DLC_MAX_RANK);
    return DLC_ERROR;
  }
  int64_t known = 1, numel = dlc_type_numel(x);
  for (int i = 0; i < r; i++) {
    if (v[i] == -1) {
      if (hole >= 0) {
        dlc_error(d, n->loc, "reshape: at most one dimension may be -1: %s", l);
        return DLC_ERROR;
      }
      hole = i;
    } else if (v[i] < 1) {
      dlc_error(d, n->loc, "reshape: dimension %lld at position %d must be positive or -1",
                (long long)v[i], i);
      return DLC_ERROR;
    } else if (v[i] > numel || known * v[i] > numel) {
      known = numel + 1; /* cannot fit; avoids overflow */
    } else {
      known *= v[i];
    }
  }
  bool ok = hole >= 0 ? known <= numel && numel % known == 0 : known == numel;
  if (!ok) {
    dlc_error(d, n->loc, "reshape: cannot reshape %s (%lld elements) to %s",
              TS(x, s), (long long)numel, l);
    return DLC_ERROR;
  }
  if (hole >= 0)
    v[hole] = numel / known;
  n->type.dtype = x->dtype;
  n->type.rank = r;
  if (r)
    memcpy(n->type.dims, v, sizeof(int64_t) * (size_t)r);
  return DLC_OK;
}

static dlc_status transpose(dlc_graph *g, dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN], l[256];
  if (n->attr.nints == 0) {
    n->attr.nints = x->rank;
    n->attr.ints = dlc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(x->rank + 1));
    for (int i = 0; i < x->rank; i++)
      n->attr.ints[i] = x->rank - 1 - i;
  }
  int64_t *p = n->attr.ints;
  ints_str(p, n->attr.nints, l, sizeof l);
  if (n->attr.nints != x->rank) {
    dlc_error(d, n->loc, "transpose: perm %s has %d entries but %s has rank %d",
              l, n->attr.nints, TS(x, s), x->rank);
    return DLC_ERROR;
  }
  bool seen[DLC_MAX_RANK] = {0};
  for (int i = 0; i < x->rank; i++) {
    if (p[i] < 0 || p[i] >= x->rank || seen[p[i]]) {
      dlc_error(d, n->loc, "transpose: perm %s is not a permutation of 0..%d",
                l, x->rank - 1);
      return DLC_ERROR;
    }
    seen[p[i]] = true;
  }
  n->type.dtype = x->dtype;
  n->type.rank = x->rank;
  for (int i = 0; i < x->rank; i++)
    n->type.dims[i] = x->dims[p[i]];
  return DLC_OK;
}

/* flatten: [prod dims[:axis], prod dims[axis:]], attr.axis in [0, r]. */
static dlc_status flatten(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  if (axis_attr(n, x, true, d) != DLC_OK)
    return DLC_ERROR;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < x->rank; i++)
    *(i < n->attr.axis ? &outer : &inner) *= x->dims[i];
  n->type = (dlc_type){.dtype = x->dtype, .rank = 2, .dims = {outer, inner}};
  return DLC_OK;
}

/* squeeze: attr.ints lists the dropped axes, sorted; every dim of 1 when
 * none are given. */
static dlc_status squeeze(dlc_graph *g, dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN], what[DLC_TYPE_STRLEN + 16];
  if (n->attr.nints == 0) {
    int k = 0;
    for (int i = 0; i < x->rank; i++)
      k += x->dims[i] == 1;
    if (k)
      n->attr.ints = dlc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)k);
    for (int i = 0; i < x->rank; i++)
      if (x->dims[i] == 1)
        n->attr.ints[n->attr.nints++] = i;
  }
  snprintf(what, sizeof what, "%s (rank %d)", TS(x, s), x->rank);
  if (axes_attr(n, x->rank, what, d) != DLC_OK)
    return DLC_ERROR;
  bool drop[DLC_MAX_RANK] = {0};
  for (int i = 0; i < n->attr.nints; i++) {
    int64_t a = n->attr.ints[i];
    if (x->dims[a] != 1) {
      dlc_error(d, n->loc, "squeeze: dimension %lld of %s is %lld, not 1",
                (long long)a, TS(x, s), (long long)x->dims[a]);
      return DLC_ERROR;
    }
    drop[a] = true;
  }
  n->type = (dlc_type){.dtype = x->dtype};
  for (int i = 0; i < x->rank; i++)
    if (!drop[i])
      n->type.dims[n->type.rank++] = x->dims[i];
  return DLC_OK;
}

/* unsqueeze: attr.ints lists the new axes of the result, sorted. */
static dlc_status unsqueeze(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN], l[256], what[48];
  int r = x->rank + n->attr.nints;
  ints_str(n->attr.ints, n->attr.nints, l, sizeof l);
  if (n->attr.nints == 0) {
    dlc_error(d, n->loc, "unsqueeze: expects at least one axis");
    return DLC_ERROR;
  }
  if (r > DLC_MAX_RANK) {
    dlc_error(d, n->loc, "unsqueeze: the result of %s with axes %s has rank "
              "%d; at most %d is supported", TS(x, s), l, r, DLC_MAX_RANK);
    return DLC_ERROR;
  }
  snprintf(what, sizeof what, "the result (rank %d)", r);
  if (axes_attr(n, r, what, d) != DLC_OK)
    return DLC_ERROR;
  bool added[DLC_MAX_RANK] = {0};
  for (int i = 0; i < n->attr.nints; i++)
    added[n->attr.ints[i]] = true;
  n->type = (dlc_type){.dtype = x->dtype, .rank = r};
  for (int i = 0, j = 0; i < r; i++)
    n->type.dims[i] = added[i] ? 1 : x->dims[j++];
  return DLC_OK;
}

/* broadcast_to: numpy's broadcast of x to exactly the dims attr.ints. */
static dlc_status broadcast_to(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  const int64_t *v = n->attr.ints;
  int r = n->attr.nints;
  char s[DLC_TYPE_STRLEN], l[256];
  ints_str(v, r, l, sizeof l);
  if (r > DLC_MAX_RANK) {
    dlc_error(d, n->loc, "broadcast_to: %s has rank %d; at most %d is "
              "supported", l, r, DLC_MAX_RANK);
    return DLC_ERROR;
  }
  for (int i = 0; i < r; i++)
    if (v[i] < 1) {
      dlc_error(d, n->loc, "broadcast_to: dimension %lld at position %d must "
                "be positive", (long long)v[i], i);
      return DLC_ERROR;
    }
  bool ok = r >= x->rank;
  for (int i = 0; ok && i < x->rank; i++)
    ok = x->dims[i] == 1 || x->dims[i] == v[r - x->rank + i];
  if (!ok) {
    dlc_error(d, n->loc, "broadcast_to: cannot broadcast %s to %s", TS(x, s),
              l);
    return DLC_ERROR;
  }
  n->type = (dlc_type){.dtype = x->dtype, .rank = r};
  if (r)
    memcpy(n->type.dims, v, sizeof(int64_t) * (size_t)r);
  return DLC_OK;
}

/* concat: one or more operands of one dtype and rank, joined along
 * attr.axis (normalized); the other dims agree. */
static dlc_status concat(dlc_node *n, dlc_diag *d) {
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (n->nin < 1) {
    dlc_error(d, n->loc, "concat: expects at least 1 operand, got 0");
    return DLC_ERROR;
  }
  const dlc_type *a = &n->in[0]->type;
  for (int i = 1; i < n->nin; i++) {
    const dlc_type *b = &n->in[i]->type;
    if (same_dtype(n, a, b, "and", d) != DLC_OK)
      return DLC_ERROR;
    if (a->rank != b->rank) {
      dlc_error(d, n->loc, "concat: operand ranks differ: %s and %s",
                TS(a, s1), TS(b, s2));
      return DLC_ERROR;
    }
  }
  if (axis_attr(n, a, false, d) != DLC_OK)
    return DLC_ERROR;
  int64_t axis = n->attr.axis, sum = a->dims[axis];
  for (int i = 1; i < n->nin; i++) {
    const dlc_type *b = &n->in[i]->type;
    for (int k = 0; k < a->rank; k++)
      if (k != axis && a->dims[k] != b->dims[k]) {
        dlc_error(d, n->loc, "concat: operand shapes differ outside axis "
                  "%lld: %s and %s", (long long)axis, TS(a, s1), TS(b, s2));
        return DLC_ERROR;
      }
    sum += b->dims[axis]; /* each at most 2^40: no overflow */
    if (sum > MAX_NUMEL) {
      dlc_error(d, n->loc, "concat: the result has more than 2^40 elements "
                "along axis %lld", (long long)axis);
      return DLC_ERROR;
    }
  }
  n->type = *a;
  n->type.dims[axis] = sum;
  return DLC_OK;
}

/* Python's clamping of a slice bound v along a dim of size n. INT64_MAX
 * and INT64_MIN (the frontend's "omitted") clamp like infinities; v + n
 * cannot overflow as v < 0 < n. */
static int64_t slice_bound(int64_t v, int64_t n, int64_t step) {
  int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1;
  if (v < 0)
    return v + n < lo ? lo : v + n;
  return v > hi ? hi : v;
}

static void bound_str(int64_t v, char *buf, size_t cap) {
  if (v == INT64_MAX || v == INT64_MIN)
    buf[0] = '\0';
  else
    snprintf(buf, cap, "%lld", (long long)v);
}

/* slice: after the rule attr.start is the first index read (in [0, n)),
 * attr.step is kept and attr.end stays as written. */
static dlc_status slice(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  dlc_attrs *a = &n->attr;
  char s[DLC_TYPE_STRLEN], b0[24], b1[24];
  if (axis_attr(n, x, false, d) != DLC_OK)
    return DLC_ERROR;
  if (a->step == 0) {
    dlc_error(d, n->loc, "slice: step must not be 0");
    return DLC_ERROR;
  }
  int64_t dim = x->dims[a->axis], count = 0;
  int64_t start = slice_bound(a->start, dim, a->step);
  int64_t end = slice_bound(a->end, dim, a->step);
  if (a->step > 0 && end > start)
    count = (end - start - 1) / a->step + 1;
  if (a->step < 0 && start > end) /* |step| as unsigned: INT64_MIN too */
    count = (int64_t)((uint64_t)(start - end - 1) /
                      ((uint64_t)0 - (uint64_t)a->step)) + 1;
  if (count == 0) {
    bound_str(a->start, b0, sizeof b0);
    bound_str(a->end, b1, sizeof b1);
    dlc_error(d, n->loc, "slice: result is empty: [%s:%s:%lld] along axis "
              "%lld of %s", b0, b1, (long long)a->step, (long long)a->axis,
              TS(x, s));
    return DLC_ERROR;
  }
  a->start = start;
  n->type = *x;
  n->type.dims[a->axis] = count;
  return DLC_OK;
}

/* gather: x.dims[:axis] + indices.dims + x.dims[axis+1:]. */
static dlc_status gather(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type, *ix = &n->in[1]->type;
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (ix->dtype != DLC_I32 && ix->dtype != DLC_I64) {
    dlc_error(d, n->loc, "gather: indices must be i32 or i64, got %s",
              TS(ix, s1));
    return DLC_ERROR;
  }
  if (axis_attr(n, x, false, d) != DLC_OK)
    return DLC_ERROR;
  int axis = (int)n->attr.axis, r = x->rank - 1 + ix->rank;
  if (r > DLC_MAX_RANK) {
    dlc_error(d, n->loc, "gather: the result of %s indexed by %s has rank %d; "
              "at most %d is supported", TS(x, s1), TS(ix, s2), r,
              DLC_MAX_RANK);
    return DLC_ERROR;
  }
  n->type = (dlc_type){.dtype = x->dtype, .rank = r};
  int k = 0;
  for (int i = 0; i < axis; i++)
    n->type.dims[k++] = x->dims[i];
  for (int i = 0; i < ix->rank; i++)
    n->type.dims[k++] = ix->dims[i];
  for (int i = axis + 1; i < x->rank; i++)
    n->type.dims[k++] = x->dims[i];
  return DLC_OK;
}

/* ---- the dispatcher --------------------------------------------------- */

static dlc_status rule(dlc_graph *g, dlc_node *n, dlc_diag *d) {
  switch (dlc_ops[n->op].kind) {
  case DLC_KIND_SOURCE:
    return DLC_OK; /* typed when created */
  case DLC_KIND_UNARY:
    if (check_dtype(n, &n->in[0]->type, d) != DLC_OK)
      return DLC_ERROR;
    n->type = n->in[0]->type;
    return DLC_OK;
  case DLC_KIND_BINARY: return binary(n, d);
  case DLC_KIND_WHERE: return where(n, d);
  case DLC_KIND_CAST: return cast(n, d);
  case DLC_KIND_MATMUL: return matmul(n, d);
  case DLC_KIND_SOFTMAX: return softmax(n, d);
  case DLC_KIND_REDUCE: return reduce(g, n, d);
  case DLC_KIND_NORM: return norm(n, d);
  case DLC_KIND_CONV: return conv2d(n, d);
  case DLC_KIND_POOL: return pool(n, d);
  case DLC_KIND_RESHAPE:
    switch (n->op) {
    case DLC_OP_RESHAPE: return reshape(n, d);
    case DLC_OP_FLATTEN: return flatten(n, d);
    case DLC_OP_SQUEEZE: return squeeze(g, n, d);
    case DLC_OP_UNSQUEEZE: return unsqueeze(n, d);
    default: dlc_unreachable();
    }
  case DLC_KIND_TRANSPOSE: return transpose(g, n, d);
  case DLC_KIND_BROADCAST: return broadcast_to(n, d);
  case DLC_KIND_CONCAT: return concat(n, d);
  case DLC_KIND_SLICE: return slice(n, d);
  case DLC_KIND_GATHER: return gather(n, d);
  case DLC_KIND_LAYOUT: return layout(n, d);
  }
  dlc_unreachable();
}

dlc_status dlc_infer_type(dlc_graph *g, dlc_node *n, dlc_diag *d) {
  const dlc_opinfo *info = &dlc_ops[n->op];
  char s[DLC_TYPE_STRLEN];
  if (info->arity >= 0 && n->nin != info->arity) {
    dlc_error(d, n->loc, "%s: expects %d operand%s, got %d", info->name,
              info->arity, info->arity == 1 ? "" : "s", n->nin);
    return DLC_ERROR;
  }
  if (info->kind == DLC_KIND_SOURCE)
    return DLC_OK; /* typed when created */
  for (int i = 0; i < n->nin; i++)
    if (too_big(&n->in[i]->type)) {
      dlc_error(d, n->loc, "%s: operand %s has more than 2^40 elements",
                info->name, TS(&n->in[i]->type, s));
      return DLC_ERROR;
    }
  if (rule(g, n, d) != DLC_OK)
    return DLC_ERROR;
  if (too_big(&n->type)) {
    dlc_error(d, n->loc, "%s: result %s has more than 2^40 elements",
              info->name, TS(&n->type, s));
    return DLC_ERROR;
  }
  return DLC_OK;
}
