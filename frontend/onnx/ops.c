/* ONNX operator converters: the lookup over ops.def, the helpers every
 * converter file builds with (onnx_ops.h), and the elementwise operators.
 * Each converter turns one NodeProto into graph nodes and defines its
 * outputs; docs/operators.md says what the graph operators compute. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/util.h"
#include "onnx_ops.h"

/* ---- the table -------------------------------------------------------- */

typedef struct onnx_row {
  const char *type;
  int64_t since, until;
  onnx_convert_fn fn;
  dlc_op op;
} onnx_row;

static const onnx_row rows[] = {
#define X(type, since, until, fn, op) {type, since, until, fn, (dlc_op)(op)},
#include "ops.def"
#undef X
};

static const onnx_row *find_row(const char *type, int64_t opset) {
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (strcmp(rows[i].type, type) == 0 && rows[i].since <= opset &&
        opset <= rows[i].until)
      return &rows[i];
  return NULL;
}

onnx_convert_fn onnx_find_converter(const char *op_type, int64_t opset) {
  const onnx_row *r = find_row(op_type, opset);
  return r ? r->fn : NULL;
}

dlc_op onnx_row_op(const onnx_node_ctx *nc) {
  const onnx_row *r = find_row(nc->node->op_type, nc->opset);
  DLC_ASSERT(r && r->op != 0);
  return r->op;
}

/* ---- helpers (onnx_ops.h) --------------------------------------------- */

dlc_status onnx_fail(onnx_node_ctx *nc, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dlc_error(nc->d, nc->loc, "%s: %s", nc->what, msg);
  return DLC_ERROR;
}

dlc_node *onnx_in(const onnx_node_ctx *nc, int i) {
  return i < nc->nin ? nc->in[i] : NULL;
}

dlc_status onnx_need_inputs(onnx_node_ctx *nc, int n) {
  for (int i = 0; i < n; i++)
    if (!onnx_in(nc, i))
      return onnx_fail(nc, "input %d is required but missing", i);
  return DLC_OK;
}

dlc_status onnx_only_outputs(onnx_node_ctx *nc, int n, const char *why) {
  for (size_t i = (size_t)n; i < nc->node->n_output; i++)
    if (nc->node->output[i][0])
      return onnx_fail(nc, "output %zu (%s) is not supported", i, why);
  return DLC_OK;
}

dlc_status onnx_result(onnx_node_ctx *nc, dlc_node *y) {
  if (!y)
    return DLC_ERROR;
  onnx_define(nc, 0, y);
  return DLC_OK;
}

dlc_node *onnx_op1(onnx_node_ctx *nc, dlc_op op, dlc_node *x,
                   const dlc_attrs *a) {
  return x ? onnx_build(nc, op, 1, &x, a) : NULL;
}

dlc_node *onnx_op2(onnx_node_ctx *nc, dlc_op op, dlc_node *a, dlc_node *b) {
  dlc_node *in[2] = {a, b};
  return a && b ? onnx_build(nc, op, 2, in, NULL) : NULL;
}

dlc_node *onnx_op3(onnx_node_ctx *nc, dlc_op op, dlc_node *a, dlc_node *b,
                   dlc_node *c) {
  dlc_node *in[3] = {a, b, c};
  return a && b && c ? onnx_build(nc, op, 3, in, NULL) : NULL;
}

dlc_node *onnx_scalar(onnx_node_ctx *nc, dlc_dtype dt, double v) {
  return dlc_graph_add_scalar(nc->g, dt, v, nc->loc);
}

dlc_node *onnx_const_i64(onnx_node_ctx *nc, const int64_t *v, int n) {
  dlc_type t = {.dtype = DLC_I64, .rank = 1, .dims = {n}};
  return dlc_graph_add_const(nc->g, &t, v, nc->loc);
}

dlc_node *onnx_cast(onnx_node_ctx *nc, dlc_node *x, dlc_dtype to) {
  if (!x || x->type.dtype == to)
    return x;
  dlc_attrs a = {.to = to};
  return onnx_op1(nc, DLC_OP_CAST, x, &a);
}

dlc_node *onnx_reshape(onnx_node_ctx *nc, dlc_node *x, const int64_t *dims,
                       int rank) {
  if (!x)
    return NULL;
  if (rank == x->type.rank &&
      (!rank || !memcmp(dims, x->type.dims, sizeof(int64_t) * (size_t)rank)))
    return x;
  dlc_attrs a = {.nints = rank, .ints = (int64_t *)dims};
  return onnx_op1(nc, DLC_OP_RESHAPE, x, &a);
}

dlc_node *onnx_slice(onnx_node_ctx *nc, dlc_node *x, int64_t axis,
                     int64_t start, int64_t end, int64_t step) {
  if (!x)
    return NULL;
  dlc_attrs a = {.axis = axis, .start = start, .end = end, .step = step};
  int64_t n = axis >= 0 && axis < x->type.rank ? x->type.dims[axis] : 0;
  if (n > 0 && step == 1 && (start == 0 || start <= -n) && end >= n)
    return x; /* the whole dimension */
  return onnx_op1(nc, DLC_OP_SLICE, x, &a);
}

dlc_node *onnx_unsqueeze(onnx_node_ctx *nc, dlc_node *x, int64_t axis) {
  dlc_attrs a = {.nints = 1, .ints = &axis};
  return onnx_op1(nc, DLC_OP_UNSQUEEZE, x, &a);
}

dlc_node *onnx_squeeze(onnx_node_ctx *nc, dlc_node *x, int64_t axis) {
  dlc_attrs a = {.nints = 1, .ints = &axis};
  return onnx_op1(nc, DLC_OP_SQUEEZE, x, &a);
}

dlc_status onnx_const_ints(onnx_node_ctx *nc, int i, const char *what,
                           int64_t **v, int *n) {
  dlc_node *x = onnx_in(nc, i);
  char s[DLC_TYPE_STRLEN];
  if (!x)
    return onnx_fail(nc, "input %d (%s) is required but missing", i, what);
  const void *data = onnx_const_input(nc, i);
  if (!data)
    return onnx_fail(nc, "input %d (%s) is computed, which is not supported: "
                     "dlcc needs it as a constant", i, what);
  if ((x->type.dtype != DLC_I32 && x->type.dtype != DLC_I64) ||
      x->type.rank > 1)
    return onnx_fail(nc, "input %d (%s) must be a list of integers, got %s", i,
                     what, dlc_type_str(&x->type, s, sizeof s));
  int64_t k = dlc_type_numel(&x->type);
  *n = (int)k;
  *v = k ? dlc_arena_alloc(nc->g->arena, sizeof(int64_t) * (size_t)k) : NULL;
  for (int64_t j = 0; j < k; j++)
    (*v)[j] = x->type.dtype == DLC_I32 ? ((const int32_t *)data)[j]
                                       : ((const int64_t *)data)[j];
  return DLC_OK;
}

dlc_status onnx_const_scalar(onnx_node_ctx *nc, int i, const char *what,
                             double *v) {
  dlc_node *x = onnx_in(nc, i);
  char s[DLC_TYPE_STRLEN];
  if (!x)
    return onnx_fail(nc, "input %d (%s) is required but missing", i, what);
  const void *p = onnx_const_input(nc, i);
  if (!p)
    return onnx_fail(nc, "input %d (%s) is computed, which is not supported: "
                     "dlcc needs it as a constant", i, what);
  if (dlc_type_numel(&x->type) != 1)
    return onnx_fail(nc, "input %d (%s) must hold one value, got %s", i, what,
                     dlc_type_str(&x->type, s, sizeof s));
  switch (x->type.dtype) {
  case DLC_F32: *v = *(const float *)p; break;
  case DLC_F64: *v = *(const double *)p; break;
  case DLC_I32: *v = *(const int32_t *)p; break;
  case DLC_I64: *v = (double)*(const int64_t *)p; break;
  case DLC_BOOL: *v = *(const uint8_t *)p != 0; break;
  default: dlc_unreachable();
  }
  return DLC_OK;
}

dlc_status onnx_axes(onnx_node_ctx *nc, const char *name, int i,
                     int64_t from_opset, int64_t **v, int *n, bool *present) {
  *v = NULL;
  *n = 0;
  if (nc->opset >= from_opset) {
    *present = onnx_in(nc, i) != NULL;
    return *present ? onnx_const_ints(nc, i, name, v, n) : DLC_OK;
  }
  *present = onnx_attr_ints(nc, name, v, n);
  return DLC_OK;
}

dlc_status onnx_fix_axis(onnx_node_ctx *nc, const char *what, int64_t *axis,
                         int rank) {
  if (*axis < -rank || *axis >= rank)
    return onnx_fail(nc, "%s %lld is out of range for rank %d", what,
                     (long long)*axis, rank);
  if (*axis < 0)
    *axis += rank;
  return DLC_OK;
}

/* ---- elementwise ------------------------------------------------------ */

static double attr_float(onnx_node_ctx *nc, const char *name, double dflt) {
  double v = dflt;
  onnx_attr_float(nc, name, &v);
  return v;
}

/* Add, Sub, Mul, Div, Equal, Less, Greater: one graph op, same dtypes. */
dlc_status onnx_cv_binary(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  return onnx_result(nc, onnx_op2(nc, onnx_row_op(nc), nc->in[0], nc->in[1]));
}

/* Pow: from opset 12 the exponent may have another dtype than the base,
 * and the base may be an integer; the result has the base's dtype. */
dlc_status onnx_cv_pow(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0], *e = nc->in[1];
  dlc_dtype dt = x->type.dtype;
  if (dlc_dtype_is_float(dt))
    return onnx_result(nc, onnx_op2(nc, DLC_OP_POW, x, onnx_cast(nc, e, dt)));
  dlc_node *y = onnx_op2(nc, DLC_OP_POW, onnx_cast(nc, x, DLC_F64),
                         onnx_cast(nc, e, DLC_F64));
  return onnx_result(nc, onnx_cast(nc, y, dt));
}

/* LessOrEqual, GreaterOrEqual: a < b or a == b, as where(less, true,
 * equal), which keeps NaN operands false. */
dlc_status onnx_cv_or_equal(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *a = nc->in[0], *b = nc->in[1];
  dlc_node *strict = onnx_op2(nc, onnx_row_op(nc), a, b);
  dlc_node *eq = onnx_op2(nc, DLC_OP_EQUAL, a, b);
  return onnx_result(nc, onnx_op3(nc, DLC_OP_WHERE, strict,
                                  onnx_scalar(nc, DLC_BOOL, 1), eq));
}

dlc_status onnx_cv_where(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 3) != DLC_OK)
    return DLC_ERROR;
  return onnx_result(
      nc, onnx_op3(nc, DLC_OP_WHERE, nc->in[0], nc->in[1], nc->in[2]));
}

/* Not, And, Or, Xor on bools, from equal and where. */
dlc_status onnx_cv_logic(onnx_node_ctx *nc) {
  const char *t = nc->node->op_type;
  bool unary = strcmp(t, "Not") == 0;
  if (onnx_need_inputs(nc, unary ? 1 : 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *a = nc->in[0], *b = unary ? NULL : nc->in[1], *y;
  dlc_node *f = onnx_scalar(nc, DLC_BOOL, 0), *tr = onnx_scalar(nc, DLC_BOOL, 1);
  if (unary)
    y = onnx_op2(nc, DLC_OP_EQUAL, a, f);
  else if (strcmp(t, "And") == 0)
    y = onnx_op3(nc, DLC_OP_WHERE, a, b, f);
  else if (strcmp(t, "Or") == 0)
    y = onnx_op3(nc, DLC_OP_WHERE, a, tr, b);
  else /* Xor */
    y = onnx_op2(nc, DLC_OP_EQUAL, onnx_op2(nc, DLC_OP_EQUAL, a, b), f);
  return onnx_result(nc, y);
}

/* Max, Min, Sum, Mean: one or more inputs, folded left to right. */
dlc_status onnx_cv_variadic(onnx_node_ctx *nc) {
  if (nc->nin < 1)
    return onnx_fail(nc, "expects at least one input");
  if (onnx_need_inputs(nc, nc->nin) != DLC_OK)
    return DLC_ERROR;
  dlc_op op = onnx_row_op(nc);
  dlc_node *y = nc->in[0];
  for (int i = 1; i < nc->nin; i++)
    y = onnx_op2(nc, op, y, nc->in[i]);
  if (strcmp(nc->node->op_type, "Mean") == 0 && nc->nin > 1)
    y = onnx_op2(nc, DLC_OP_DIV, y,
                 onnx_scalar(nc, nc->in[0]->type.dtype, nc->nin));
  return onnx_result(nc, y);
}

dlc_status onnx_cv_unary(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  return onnx_result(nc, onnx_op1(nc, onnx_row_op(nc), nc->in[0], NULL));
}

dlc_status onnx_cv_leaky_relu(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {.alpha = attr_float(nc, "alpha", 0.01)};
  return onnx_result(nc, onnx_op1(nc, DLC_OP_LEAKY_RELU, nc->in[0], &a));
}

/* Clip before opset 11: min and max attributes, each optional. */
dlc_status onnx_cv_clip_attrs(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {0};
  a.has_lo = onnx_attr_float(nc, "min", &a.lo);
  a.has_hi = onnx_attr_float(nc, "max", &a.hi);
  if (!a.has_lo && !a.has_hi)
    return onnx_result(nc, nc->in[0]);
  return onnx_result(nc, onnx_op1(nc, DLC_OP_CLIP, nc->in[0], &a));
}

/* Clip from opset 11: optional min and max inputs. Constant bounds become
 * the clip's attributes; others a maximum and a minimum. */
dlc_status onnx_cv_clip(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_node *y = nc->in[0], *lo = onnx_in(nc, 1), *hi = onnx_in(nc, 2);
  dlc_attrs a = {0};
  if (lo && onnx_const_input(nc, 1)) {
    if (onnx_const_scalar(nc, 1, "min", &a.lo) != DLC_OK)
      return DLC_ERROR;
    a.has_lo = true;
    lo = NULL;
  }
  if (hi && onnx_const_input(nc, 2)) {
    if (onnx_const_scalar(nc, 2, "max", &a.hi) != DLC_OK)
      return DLC_ERROR;
    a.has_hi = true;
    hi = NULL;
  }
  if (a.has_lo || a.has_hi)
    y = onnx_op1(nc, DLC_OP_CLIP, y, &a);
  if (lo)
    y = onnx_op2(nc, DLC_OP_MAXIMUM, y, lo);
  if (hi)
    y = onnx_op2(nc, DLC_OP_MINIMUM, y, hi);
  return onnx_result(nc, y);
}

dlc_status onnx_cv_cast(onnx_node_ctx *nc) {
  int64_t to;
  dlc_dtype dt;
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  if (!onnx_attr_int(nc, "to", &to))
    return onnx_fail(nc, "the attribute 'to' is required");
  if (to < INT32_MIN || to > INT32_MAX || !onnx_dtype_map((int32_t)to, &dt))
    return onnx_fail(nc, "casting to %s is not supported (only to FLOAT, "
                     "DOUBLE, INT32, INT64 and BOOL)",
                     onnx_dtype_name(nc->ctx, (int32_t)to));
  return onnx_result(nc, onnx_cast(nc, nc->in[0], dt));
}

dlc_status onnx_cv_cast_like(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  return onnx_result(nc, onnx_cast(nc, nc->in[0], nc->in[1]->type.dtype));
}

dlc_status onnx_cv_identity(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  return onnx_result(nc, nc->in[0]);
}

/* Dropout at inference: the identity, and a mask of ones when asked for
 * (x's dtype before opset 10, bool from 10). From opset 12 training_mode
 * may ask for training, which is only supported with a ratio of 0. */
dlc_status onnx_cv_dropout(onnx_node_ctx *nc) {
  double training = 0, ratio = 0.5;
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  if (nc->opset >= 12 && onnx_in(nc, 2) &&
      onnx_const_scalar(nc, 2, "training_mode", &training) != DLC_OK)
    return DLC_ERROR;
  if (training != 0 && onnx_in(nc, 1) &&
      onnx_const_scalar(nc, 1, "ratio", &ratio) != DLC_OK)
    return DLC_ERROR;
  if (training != 0 && ratio != 0)
    return onnx_fail(nc, "training_mode=1 with a ratio other than 0 (random "
                     "dropout) is not supported");
  if (nc->node->n_output > 1) {
    dlc_dtype dt = nc->opset < 10 ? x->type.dtype : DLC_BOOL;
    dlc_attrs a = {.nints = x->type.rank, .ints = x->type.dims};
    dlc_node *mask = onnx_op1(nc, DLC_OP_BROADCAST_TO, onnx_scalar(nc, dt, 1), &a);
    if (!mask)
      return DLC_ERROR;
    onnx_define(nc, 1, mask);
  }
  return onnx_result(nc, x);
}

/* ---- activations composed of graph operators --------------------------- */

/* x * s + b, with s and b scalars of x's dtype. */
static dlc_node *affine(onnx_node_ctx *nc, dlc_node *x, double s, double b) {
  dlc_dtype dt = x->type.dtype;
  return onnx_op2(nc, DLC_OP_ADD, onnx_op2(nc, DLC_OP_MUL, x, onnx_scalar(nc, dt, s)),
                  onnx_scalar(nc, dt, b));
}

/* where(x < 0, alpha * (e^x - 1), x): Elu's negative side. */
static dlc_node *elu(onnx_node_ctx *nc, dlc_node *x, double alpha) {
  dlc_dtype dt = x->type.dtype;
  dlc_node *neg = affine(nc, onnx_op1(nc, DLC_OP_EXP, x, NULL), alpha, -alpha);
  dlc_node *below = onnx_op2(nc, DLC_OP_LESS, x, onnx_scalar(nc, dt, 0));
  return onnx_op3(nc, DLC_OP_WHERE, below, neg, x);
}

/* HardSigmoid, HardSwish, Softplus, Softsign, Elu, Selu (float inputs). */
dlc_status onnx_cv_activation(onnx_node_ctx *nc) {
  const char *t = nc->node->op_type;
  char s[DLC_TYPE_STRLEN];
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0], *y;
  dlc_dtype dt = x->type.dtype;
  if (!dlc_dtype_is_float(dt))
    return onnx_fail(nc, "expects a floating-point input, got %s",
                     dlc_type_str(&x->type, s, sizeof s));
  dlc_attrs unit = {.has_lo = true, .lo = 0, .has_hi = true, .hi = 1};
  if (strcmp(t, "HardSigmoid") == 0) {
    double alpha = attr_float(nc, "alpha", 0.2), beta = attr_float(nc, "beta", 0.5);
    y = onnx_op1(nc, DLC_OP_CLIP, affine(nc, x, alpha, beta), &unit);
  } else if (strcmp(t, "HardSwish") == 0) {
    y = onnx_op2(nc, DLC_OP_MUL, x,
                 onnx_op1(nc, DLC_OP_CLIP, affine(nc, x, 1.0 / 6, 0.5), &unit));
  } else if (strcmp(t, "Softplus") == 0) {
    /* log(1 + e^x) = relu(x) + log(1 + e^-|x|), which cannot overflow */
    dlc_node *ax = onnx_op1(nc, DLC_OP_ABS, x, NULL);
    dlc_node *e = onnx_op1(nc, DLC_OP_EXP, onnx_op1(nc, DLC_OP_NEG, ax, NULL), NULL);
    y = onnx_op2(nc, DLC_OP_ADD, onnx_op1(nc, DLC_OP_RELU, x, NULL),
                 onnx_op1(nc, DLC_OP_LOG, affine(nc, e, 1, 1), NULL));
  } else if (strcmp(t, "Softsign") == 0) {
    y = onnx_op2(nc, DLC_OP_DIV, x,
                 affine(nc, onnx_op1(nc, DLC_OP_ABS, x, NULL), 1, 1));
  } else if (strcmp(t, "Elu") == 0) {
    y = elu(nc, x, attr_float(nc, "alpha", 1.0));
  } else if (strcmp(t, "Selu") == 0) {
    double alpha = attr_float(nc, "alpha", 1.67326319217681884765625);
    double gamma = attr_float(nc, "gamma", 1.05070102214813232421875);
    y = onnx_op2(nc, DLC_OP_MUL, elu(nc, x, alpha), onnx_scalar(nc, dt, gamma));
  } else {
    dlc_unreachable();
  }
  return onnx_result(nc, y);
}

/* PRelu: where(x < 0, slope * x, x); slope broadcasts to x. */
dlc_status onnx_cv_prelu(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  dlc_node *below =
      onnx_op2(nc, DLC_OP_LESS, x, onnx_scalar(nc, x->type.dtype, 0));
  dlc_node *scaled = onnx_op2(nc, DLC_OP_MUL, x, nc->in[1]);
  return onnx_result(nc, onnx_op3(nc, DLC_OP_WHERE, below, scaled, x));
}
