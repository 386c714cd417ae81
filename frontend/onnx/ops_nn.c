/* ONNX converters for the network operators: MatMul and Gemm, Conv and
 * the pools (1-D ones lifted to 2-D with a height of 1), the
 * normalizations, Softmax and the reductions. */
#include <string.h>

#include "ir/util.h"
#include "onnx_ops.h"

/* ---- contractions ----------------------------------------------------- */

/* MatMul: numpy's matmul. A rank-1 a is a row [1, K] and a rank-1 b a
 * column [K, 1], whose added dimension is squeezed out of the result. */
dlc_status onnx_cv_matmul(onnx_node_ctx *nc) {
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *a = nc->in[0], *b = nc->in[1];
  if (a->type.rank < 1 || b->type.rank < 1)
    return onnx_fail(nc, "operands must have rank 1 or more: %s and %s",
                     dlc_type_str(&a->type, s1, sizeof s1),
                     dlc_type_str(&b->type, s2, sizeof s2));
  bool row = a->type.rank == 1, col = b->type.rank == 1;
  if (row)
    a = onnx_unsqueeze(nc, a, 0);
  if (col)
    b = onnx_unsqueeze(nc, b, 1);
  dlc_node *y = onnx_op2(nc, DLC_OP_MATMUL, a, b);
  if (y && col)
    y = onnx_squeeze(nc, y, y->type.rank - 1);
  if (y && row)
    y = onnx_squeeze(nc, y, y->type.rank - (col ? 1 : 2));
  return onnx_result(nc, y);
}

static double attr_float(onnx_node_ctx *nc, const char *name, double dflt) {
  double v = dflt;
  onnx_attr_float(nc, name, &v);
  return v;
}

static int64_t attr_int(onnx_node_ctx *nc, const char *name, int64_t dflt) {
  int64_t v = dflt;
  onnx_attr_int(nc, name, &v);
  return v;
}

/* Gemm: alpha * A' @ B' + beta * C, where A' and B' are A and B
 * transposed when transA and transB say so, and C (optional from opset
 * 11) broadcasts to the product. */
dlc_status onnx_cv_gemm(onnx_node_ctx *nc) {
  static const int64_t swap[2] = {1, 0};
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *a = nc->in[0], *b = nc->in[1], *c = onnx_in(nc, 2);
  if (a->type.rank != 2 || b->type.rank != 2)
    return onnx_fail(nc, "A and B must have rank 2, got %s and %s",
                     dlc_type_str(&a->type, s1, sizeof s1),
                     dlc_type_str(&b->type, s2, sizeof s2));
  dlc_attrs t = {.nints = 2, .ints = (int64_t *)swap};
  if (attr_int(nc, "transA", 0))
    a = onnx_op1(nc, DLC_OP_TRANSPOSE, a, &t);
  if (attr_int(nc, "transB", 0))
    b = onnx_op1(nc, DLC_OP_TRANSPOSE, b, &t);
  dlc_node *y = onnx_op2(nc, DLC_OP_MATMUL, a, b);
  if (!y)
    return DLC_ERROR;
  dlc_dtype dt = y->type.dtype;
  double alpha = attr_float(nc, "alpha", 1), beta = attr_float(nc, "beta", 1);
  if (alpha != 1)
    y = onnx_op2(nc, DLC_OP_MUL, y, onnx_scalar(nc, dt, alpha));
  if (c) {
    dlc_type want = y ? y->type : c->type;
    if (beta != 1)
      c = onnx_op2(nc, DLC_OP_MUL, c, onnx_scalar(nc, dt, beta));
    y = onnx_op2(nc, DLC_OP_ADD, y, c);
    if (y && !dlc_type_equal(&y->type, &want))
      return onnx_fail(nc, "C %s does not broadcast to the product %s",
                       dlc_type_str(&nc->in[2]->type, s1, sizeof s1),
                       dlc_type_str(&want, s2, sizeof s2));
  }
  return onnx_result(nc, y);
}

/* ---- windows: Conv, MaxPool, AveragePool ------------------------------ */

/* A window's attributes, lifted to 2-D: a 1-D window has height 1. */
typedef struct window {
  int spatial; /* 1 or 2 */
  int64_t kernel[2], stride[2], dilation[2], pad[4];
} window;

/* Integer list attribute name of n entries into out (left as it is when
 * the attribute is absent). */
static dlc_status ints_attr(onnx_node_ctx *nc, const char *name, int n,
                            int64_t *out) {
  int64_t *v;
  int k;
  if (!onnx_attr_ints(nc, name, &v, &k))
    return DLC_OK;
  if (k != n)
    return onnx_fail(nc, "%s has %d entries, expected %d", name, k, n);
  memcpy(out, v, sizeof(int64_t) * (size_t)n);
  return DLC_OK;
}

/* Reads kernel_shape (or takes kernel, a weight's spatial dims), strides,
 * dilations, pads and auto_pad for the window over x (rank 3 or 4). */
static dlc_status read_window(onnx_node_ctx *nc, const dlc_type *x,
                              const int64_t *kernel, window *w) {
  char s[DLC_TYPE_STRLEN];
  int sp = x->rank - 2;
  if (sp < 1)
    return onnx_fail(nc, "expects an input of rank 3 or 4 (N, C, spatial "
                     "dimensions), got %s", dlc_type_str(x, s, sizeof s));
  if (sp > 2)
    return onnx_fail(nc, "%d-D windows are not supported (only 1-D and 2-D): "
                     "the input is %s", sp, dlc_type_str(x, s, sizeof s));
  int64_t k[2], st[2] = {1, 1}, dil[2] = {1, 1}, pad[4] = {0, 0, 0, 0};
  bool has_k = false;
  int64_t *v;
  int n;
  if (onnx_attr_ints(nc, "kernel_shape", &v, &n)) {
    if (n != sp)
      return onnx_fail(nc, "kernel_shape has %d entries; the input %s has %d "
                       "spatial dimensions", n, dlc_type_str(x, s, sizeof s),
                       sp);
    if (kernel && memcmp(v, kernel, sizeof(int64_t) * (size_t)sp) != 0)
      return onnx_fail(nc, "kernel_shape differs from the weight's spatial "
                       "dimensions");
    memcpy(k, v, sizeof(int64_t) * (size_t)sp);
    has_k = true;
  } else if (kernel) {
    memcpy(k, kernel, sizeof(int64_t) * (size_t)sp);
    has_k = true;
  }
  if (!has_k)
    return onnx_fail(nc, "the attribute 'kernel_shape' is required");
  if (ints_attr(nc, "strides", sp, st) != DLC_OK ||
      ints_attr(nc, "dilations", sp, dil) != DLC_OK ||
      ints_attr(nc, "pads", 2 * sp, pad) != DLC_OK)
    return DLC_ERROR;
  for (int i = 0; i < sp; i++)
    if (st[i] < 1 || dil[i] < 1 || k[i] < 1)
      return onnx_fail(nc, "kernel_shape, strides and dilations must be "
                       "positive");
  const char *ap = "NOTSET";
  onnx_attr_string(nc, "auto_pad", &ap);
  bool upper = strcmp(ap, "SAME_UPPER") == 0;
  if (upper || strcmp(ap, "SAME_LOWER") == 0) {
    /* the output is ceil(in / stride); the padding that needs is split
     * evenly, the odd one at the end (UPPER) or the beginning (LOWER) */
    for (int i = 0; i < sp; i++) {
      int64_t in = x->dims[2 + i], out = (in + st[i] - 1) / st[i];
      int64_t need = (out - 1) * st[i] + (k[i] - 1) * dil[i] + 1 - in;
      if (need < 0)
        need = 0;
      pad[i] = upper ? need / 2 : need - need / 2;
      pad[sp + i] = need - pad[i];
    }
  } else if (strcmp(ap, "VALID") == 0) {
    memset(pad, 0, sizeof pad);
  } else if (strcmp(ap, "NOTSET") != 0) {
    return onnx_fail(nc, "auto_pad '%s' is not one of NOTSET, VALID, "
                     "SAME_UPPER, SAME_LOWER", ap);
  }
  /* ONNX's pads are [begins..., ends...]; the graph's [top, left, bottom,
   * right] is the same order in 2-D */
  w->spatial = sp;
  int o = 2 - sp; /* 1 when lifted: the height is the added dimension */
  for (int i = 0; i < 2; i++) {
    w->kernel[i] = w->stride[i] = w->dilation[i] = 1;
    w->pad[i] = w->pad[2 + i] = 0;
  }
  for (int i = 0; i < sp; i++) {
    w->kernel[o + i] = k[i];
    w->stride[o + i] = st[i];
    w->dilation[o + i] = dil[i];
    w->pad[o + i] = pad[i];
    w->pad[2 + o + i] = pad[sp + i];
  }
  return DLC_OK;
}

/* Conv: 1-D and 2-D, optional bias, any auto_pad. */
dlc_status onnx_cv_conv(onnx_node_ctx *nc) {
  window w;
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0], *wt = nc->in[1], *b = onnx_in(nc, 2);
  if (wt->type.rank != x->type.rank)
    return onnx_fail(nc, "the weight must have the input's rank %d, got "
                     "rank %d", x->type.rank, wt->type.rank);
  if (read_window(nc, &x->type, wt->type.dims + 2, &w) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {.groups = 1};
  onnx_attr_int(nc, "group", &a.groups);
  memcpy(a.stride, w.stride, sizeof a.stride);
  memcpy(a.dilation, w.dilation, sizeof a.dilation);
  memcpy(a.pad, w.pad, sizeof a.pad);
  if (w.spatial == 1) {
    x = onnx_unsqueeze(nc, x, 2);
    wt = onnx_unsqueeze(nc, wt, 2);
  }
  dlc_node *in[3] = {x, wt, b};
  if (!x || !wt)
    return DLC_ERROR;
  dlc_node *y = onnx_build(nc, DLC_OP_CONV2D, b ? 3 : 2, in, &a);
  if (w.spatial == 1)
    y = onnx_squeeze(nc, y, 2);
  return onnx_result(nc, y);
}

/* ceil_mode=1: the output size rounds up, which equals padding the end
 * of each spatial dimension further. That is exact when padding never
 * counts: always for MaxPool, for AveragePool without count_include_pad. */
static dlc_status ceil_mode(onnx_node_ctx *nc, const dlc_type *x, window *w,
                            bool pad_counts) {
  for (int i = 0; i < 2; i++) {
    int64_t padded = x->dims[2 + i] + w->pad[i] + w->pad[2 + i];
    int64_t room = padded - w->kernel[i];
    if (room < 0 || room % w->stride[i] == 0)
      continue; /* the shape rule reports the first; no rounding in the second */
    int64_t extra = w->stride[i] - room % w->stride[i];
    if (pad_counts)
      return onnx_fail(nc, "ceil_mode=1 is not supported with "
                       "count_include_pad=1 when it changes the output size");
    if (w->pad[2 + i] + extra >= w->kernel[i])
      return onnx_fail(nc, "ceil_mode=1 is not supported when the last window "
                       "starts in the padding");
    w->pad[2 + i] += extra;
  }
  return DLC_OK;
}

/* MaxPool and AveragePool: 1-D and 2-D; dilations must be 1, and the
 * Indices output of MaxPool is not supported (storage_order, which only
 * orders the indices, is ignored). */
dlc_status onnx_cv_pool(onnx_node_ctx *nc) {
  window w;
  if (onnx_need_inputs(nc, 1) != DLC_OK ||
      onnx_only_outputs(nc, 1, "Indices") != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  dlc_op op = onnx_row_op(nc);
  if (read_window(nc, &x->type, NULL, &w) != DLC_OK)
    return DLC_ERROR;
  if (w.dilation[0] != 1 || w.dilation[1] != 1)
    return onnx_fail(nc, "dilations other than 1 are not supported for "
                     "pooling");
  dlc_attrs a = {0};
  if (op == DLC_OP_AVG_POOL2D)
    a.count_include_pad = attr_int(nc, "count_include_pad", 0) != 0;
  dlc_type lifted = x->type;
  if (w.spatial == 1) {
    lifted.rank = 4;
    lifted.dims[3] = lifted.dims[2];
    lifted.dims[2] = 1;
  }
  if (attr_int(nc, "ceil_mode", 0) &&
      ceil_mode(nc, &lifted, &w, a.count_include_pad) != DLC_OK)
    return DLC_ERROR;
  memcpy(a.kernel, w.kernel, sizeof a.kernel);
  memcpy(a.stride, w.stride, sizeof a.stride);
  memcpy(a.pad, w.pad, sizeof a.pad);
  if (w.spatial == 1)
    x = onnx_unsqueeze(nc, x, 2);
  dlc_node *y = onnx_op1(nc, op, x, &a);
  if (w.spatial == 1)
    y = onnx_squeeze(nc, y, 2);
  return onnx_result(nc, y);
}

/* GlobalAveragePool and GlobalMaxPool: over every dimension after N, C,
 * kept as 1s. */
dlc_status onnx_cv_global_pool(onnx_node_ctx *nc) {
  char s[DLC_TYPE_STRLEN];
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  dlc_op op = onnx_row_op(nc);
  if (op == DLC_OP_GLOBAL_AVG_POOL)
    return onnx_result(nc, onnx_op1(nc, op, x, NULL));
  if (x->type.rank < 3)
    return onnx_fail(nc, "expects rank 3 or more (N, C, ...), got %s",
                     dlc_type_str(&x->type, s, sizeof s));
  int64_t axes[DLC_MAX_RANK];
  for (int i = 2; i < x->type.rank; i++)
    axes[i - 2] = i;
  dlc_attrs a = {.nints = x->type.rank - 2, .ints = axes, .keepdims = true};
  return onnx_result(nc, onnx_op1(nc, op, x, &a));
}

/* ---- normalizations --------------------------------------------------- */

/* BatchNormalization at inference: Y only. Opsets 7 and 8 have spatial
 * (1 only), 14 on training_mode (0 only), 15 on parameters of another
 * float type, converted to X's. */
dlc_status onnx_cv_batch_norm(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 5) != DLC_OK ||
      onnx_only_outputs(nc, 1, "running_mean, for training") != DLC_OK)
    return DLC_ERROR;
  if (nc->opset < 9 && attr_int(nc, "spatial", 1) != 1)
    return onnx_fail(nc, "spatial=0 is not supported");
  if (attr_int(nc, "training_mode", 0) != 0)
    return onnx_fail(nc, "training_mode=1 is not supported (inference only)");
  dlc_attrs a = {.eps = attr_float(nc, "epsilon", 1e-5)};
  dlc_node *in[5] = {nc->in[0]};
  for (int i = 1; i < 5; i++)
    if (!(in[i] = onnx_cast(nc, nc->in[i], nc->in[0]->type.dtype)))
      return DLC_ERROR;
  return onnx_result(nc, onnx_build(nc, DLC_OP_BATCH_NORM, 5, in, &a));
}

/* p broadcast to the shape want (the dims of x from the axis on). */
static dlc_node *norm_param(onnx_node_ctx *nc, dlc_node *p,
                            const dlc_type *want) {
  if (!p || dlc_type_equal(&p->type, want))
    return p;
  dlc_attrs a = {.nints = want->rank, .ints = (int64_t *)want->dims};
  return onnx_op1(nc, DLC_OP_BROADCAST_TO, p, &a);
}

/* LayerNormalization's outputs 1 and 2: the mean and 1 / sqrt(var + eps)
 * over the dimensions from a->axis on, kept as 1s. */
static dlc_status layer_norm_stats(onnx_node_ctx *nc, dlc_node *x,
                                   const dlc_attrs *a) {
  int64_t axes[DLC_MAX_RANK], stash = attr_int(nc, "stash_type", 1);
  dlc_dtype st;
  if (stash < 0 || stash > INT32_MAX || !onnx_dtype_map((int32_t)stash, &st) ||
      !dlc_dtype_is_float(st))
    return onnx_fail(nc, "stash_type %lld is not supported (only FLOAT and "
                     "DOUBLE)", (long long)stash);
  int r = x->type.rank;
  for (int i = (int)a->axis; i < r; i++)
    axes[i - a->axis] = i;
  dlc_attrs m = {.nints = r - (int)a->axis, .ints = axes, .keepdims = true};
  dlc_node *mean = onnx_op1(nc, DLC_OP_MEAN, x, &m);
  dlc_node *d = onnx_op2(nc, DLC_OP_SUB, x, mean);
  dlc_node *var = onnx_op1(nc, DLC_OP_MEAN, onnx_op2(nc, DLC_OP_MUL, d, d), &m);
  dlc_node *inv = onnx_op1(
      nc, DLC_OP_RSQRT,
      onnx_op2(nc, DLC_OP_ADD, var, onnx_scalar(nc, x->type.dtype, a->eps)), NULL);
  mean = onnx_cast(nc, mean, st);
  inv = onnx_cast(nc, inv, st);
  if (!mean || !inv)
    return DLC_ERROR;
  onnx_define(nc, 1, mean);
  if (nc->node->n_output > 2)
    onnx_define(nc, 2, inv);
  return DLC_OK;
}

/* LayerNormalization (opset 17): Scale and B broadcast to the normalized
 * dimensions, B absent is zeros. The optional Mean and InvStdDev outputs
 * are computed apart, in X's dtype and then cast to stash_type's. */
dlc_status onnx_cv_layer_norm(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  dlc_attrs a = {.axis = attr_int(nc, "axis", -1),
                 .eps = attr_float(nc, "epsilon", 1e-5)};
  if (onnx_fix_axis(nc, "axis", &a.axis, x->type.rank) != DLC_OK)
    return DLC_ERROR;
  dlc_type want = {.dtype = x->type.dtype, .rank = x->type.rank - (int)a.axis};
  memcpy(want.dims, x->type.dims + a.axis, sizeof(int64_t) * (size_t)want.rank);
  dlc_node *b = onnx_in(nc, 2);
  if (!b)
    b = dlc_graph_add_const(nc->g, &want, NULL, nc->loc);
  dlc_node *in[3] = {x, norm_param(nc, nc->in[1], &want),
                     norm_param(nc, b, &want)};
  if (!in[1] || !in[2])
    return DLC_ERROR;
  if (nc->node->n_output > 1 && layer_norm_stats(nc, x, &a) != DLC_OK)
    return DLC_ERROR;
  return onnx_result(nc, onnx_build(nc, DLC_OP_LAYER_NORM, 3, in, &a));
}

/* Softmax and LogSoftmax from opset 13: along one axis (default -1). */
dlc_status onnx_cv_softmax(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {.axis = attr_int(nc, "axis", -1)};
  return onnx_result(nc, onnx_op1(nc, onnx_row_op(nc), nc->in[0], &a));
}

/* Softmax and LogSoftmax before opset 13: x coerced to 2-D at axis
 * (default 1), [prod dims < axis, prod dims >= axis], normalized along
 * the second dimension and reshaped back. */
dlc_status onnx_cv_softmax_2d(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  dlc_op op = onnx_row_op(nc);
  int r = x->type.rank;
  int64_t axis = attr_int(nc, "axis", 1);
  if (onnx_fix_axis(nc, "axis", &axis, r) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {.axis = r - 1};
  if (axis == r - 1) /* already 2-D in effect */
    return onnx_result(nc, onnx_op1(nc, op, x, &a));
  dlc_attrs f = {.axis = axis}, s = {.axis = 1};
  dlc_node *y = onnx_op1(nc, op, onnx_op1(nc, DLC_OP_FLATTEN, x, &f), &s);
  return onnx_result(nc, onnx_reshape(nc, y, x->type.dims, r));
}

/* ---- reductions ------------------------------------------------------- */

/* The Reduce* operators over axes (every axis when none are given):
 * ReduceSum, Mean, Max, Min directly; L1, L2, SumSquare, LogSum as a sum
 * of |x| or x*x, then sqrt or log; LogSumExp as m + log(sum(e^(x-m)))
 * with m the maximum, which cannot overflow. */
static dlc_status reduce(onnx_node_ctx *nc, int64_t *axes, int naxes) {
  const char *t = nc->node->op_type;
  dlc_node *x = nc->in[0], *y;
  dlc_attrs a = {.nints = naxes, .ints = axes,
                 .keepdims = attr_int(nc, "keepdims", 1) != 0};
  dlc_op op = onnx_row_op(nc);
  if (strcmp(t, "ReduceL1") == 0)
    x = onnx_op1(nc, DLC_OP_ABS, x, NULL);
  else if (strcmp(t, "ReduceL2") == 0 || strcmp(t, "ReduceSumSquare") == 0)
    x = onnx_op2(nc, DLC_OP_MUL, x, x);
  if (strcmp(t, "ReduceLogSumExp") == 0) {
    dlc_attrs keep = a;
    keep.keepdims = true;
    dlc_node *m = onnx_op1(nc, DLC_OP_MAX, x, &keep);
    dlc_node *e = onnx_op1(nc, DLC_OP_EXP, onnx_op2(nc, DLC_OP_SUB, x, m), NULL);
    y = onnx_op1(nc, DLC_OP_LOG, onnx_op1(nc, op, e, &a), NULL);
    if (y)
      y = onnx_op2(nc, DLC_OP_ADD, y, onnx_reshape(nc, m, y->type.dims, y->type.rank));
    return onnx_result(nc, y);
  }
  y = onnx_op1(nc, op, x, &a);
  if (strcmp(t, "ReduceL2") == 0)
    y = onnx_op1(nc, DLC_OP_SQRT, y, NULL);
  else if (strcmp(t, "ReduceLogSum") == 0)
    y = onnx_op1(nc, DLC_OP_LOG, y, NULL);
  return onnx_result(nc, y);
}

/* The reductions with an axes attribute (all of them before opset 13). */
dlc_status onnx_cv_reduce(onnx_node_ctx *nc) {
  int64_t *axes = NULL;
  int n = 0;
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  onnx_attr_ints(nc, "axes", &axes, &n);
  return reduce(nc, axes, n);
}

/* ReduceSum from opset 13: axes an optional constant input; without axes,
 * noop_with_empty_axes=1 makes it the identity. */
dlc_status onnx_cv_reduce_axes_input(onnx_node_ctx *nc) {
  int64_t *axes = NULL;
  int n = 0;
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  if (onnx_in(nc, 1) && onnx_const_ints(nc, 1, "axes", &axes, &n) != DLC_OK)
    return DLC_ERROR;
  if (n == 0 && attr_int(nc, "noop_with_empty_axes", 0))
    return onnx_result(nc, nc->in[0]);
  return reduce(nc, axes, n);
}
