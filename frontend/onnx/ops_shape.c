/* ONNX converters for data movement and constants: Reshape and its kin,
 * Concat, Split, Slice, Gather, Expand, Tile, Pad, and the operators whose
 * result is known at compile time (Shape, Size, Constant, ConstantOfShape,
 * Range). Shapes are static, so every shape or index operand these read
 * must be a constant; onnx_build folds the usual Shape -> Gather ->
 * Concat chains into one. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/util.h"
#include "onnx_ops.h"

static int64_t attr_int(onnx_node_ctx *nc, const char *name, int64_t dflt) {
  int64_t v = dflt;
  onnx_attr_int(nc, name, &v);
  return v;
}

/* "[1,-1,0]" into buf, for messages. */
static const char *ints_str(const int64_t *v, int n, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < n && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "",
                          (long long)v[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "]");
  return buf;
}

/* ---- reshaping -------------------------------------------------------- */

/* Reshape: the shape input is a constant; 0 copies the input's dimension
 * at that position (unless allowzero=1, opset 14), -1 is inferred. */
dlc_status onnx_cv_reshape(onnx_node_ctx *nc) {
  int64_t *v, dims[DLC_MAX_RANK];
  int n;
  char s[DLC_TYPE_STRLEN], l[256];
  if (onnx_need_inputs(nc, 2) != DLC_OK ||
      onnx_const_ints(nc, 1, "shape", &v, &n) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  if (n > DLC_MAX_RANK)
    return onnx_fail(nc, "shape %s has rank %d; at most %d is supported",
                     ints_str(v, n, l, sizeof l), n, DLC_MAX_RANK);
  bool allowzero = attr_int(nc, "allowzero", 0) != 0;
  for (int i = 0; i < n; i++) {
    dims[i] = v[i];
    if (v[i] != 0)
      continue;
    if (allowzero)
      return onnx_fail(nc, "shape %s with allowzero=1 makes an empty tensor, "
                       "which dlcc does not support",
                       ints_str(v, n, l, sizeof l));
    if (i >= x->type.rank)
      return onnx_fail(nc, "shape %s copies dimension %d of %s, which has "
                       "rank %d", ints_str(v, n, l, sizeof l), i,
                       dlc_type_str(&x->type, s, sizeof s), x->type.rank);
    dims[i] = x->type.dims[i];
  }
  return onnx_result(nc, onnx_reshape(nc, x, dims, n));
}

dlc_status onnx_cv_flatten(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {.axis = attr_int(nc, "axis", 1)};
  return onnx_result(nc, onnx_op1(nc, DLC_OP_FLATTEN, nc->in[0], &a));
}

/* Squeeze and Unsqueeze: axes an attribute before opset 13, an input
 * (constant) from 13. Squeeze without axes drops every dimension of 1. */
dlc_status onnx_cv_squeeze(onnx_node_ctx *nc) {
  int64_t *axes;
  int n;
  bool present;
  if (onnx_need_inputs(nc, 1) != DLC_OK ||
      onnx_axes(nc, "axes", 1, 13, &axes, &n, &present) != DLC_OK)
    return DLC_ERROR;
  dlc_op op = onnx_row_op(nc);
  if (op == DLC_OP_UNSQUEEZE && n == 0)
    return onnx_fail(nc, "axes are required");
  dlc_attrs a = {.nints = n, .ints = axes};
  return onnx_result(nc, onnx_op1(nc, op, nc->in[0], &a));
}

dlc_status onnx_cv_transpose(onnx_node_ctx *nc) {
  dlc_attrs a = {0};
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  onnx_attr_ints(nc, "perm", &a.ints, &a.nints);
  return onnx_result(nc, onnx_op1(nc, DLC_OP_TRANSPOSE, nc->in[0], &a));
}

/* ---- joining and cutting ---------------------------------------------- */

dlc_status onnx_cv_concat(onnx_node_ctx *nc) {
  dlc_attrs a = {0};
  if (nc->nin < 1)
    return onnx_fail(nc, "expects at least one input");
  if (onnx_need_inputs(nc, nc->nin) != DLC_OK)
    return DLC_ERROR;
  if (!onnx_attr_int(nc, "axis", &a.axis))
    return onnx_fail(nc, "the attribute 'axis' is required");
  return onnx_result(nc, onnx_build(nc, DLC_OP_CONCAT, nc->nin, nc->in, &a));
}

/* Split along axis into the sizes of split (an attribute before opset 13,
 * an optional constant input from 13), or into as many equal parts as the
 * node has outputs. Each output is one slice. */
dlc_status onnx_cv_split(onnx_node_ctx *nc) {
  int64_t *sizes, axis = attr_int(nc, "axis", 0);
  int n;
  bool present;
  char l[256];
  if (onnx_need_inputs(nc, 1) != DLC_OK ||
      onnx_axes(nc, "split", 1, 13, &sizes, &n, &present) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  int nout = (int)nc->node->n_output;
  if (onnx_fix_axis(nc, "axis", &axis, x->type.rank) != DLC_OK)
    return DLC_ERROR;
  int64_t dim = x->type.dims[axis], at = 0;
  if (n == 0) {
    if (nout < 1 || dim % nout != 0)
      return onnx_fail(nc, "dimension %lld (axis %lld) does not split into "
                       "%d equal parts", (long long)dim, (long long)axis, nout);
    n = nout;
    sizes = dlc_arena_alloc(nc->g->arena, sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < n; i++)
      sizes[i] = dim / nout;
  }
  if (n != nout)
    return onnx_fail(nc, "split %s has %d entries but the node has %d outputs",
                     ints_str(sizes, n, l, sizeof l), n, nout);
  for (int i = 0; i < n; i++) {
    if (sizes[i] < 1 || sizes[i] > dim - at)
      return onnx_fail(nc, "split %s does not divide dimension %lld (axis "
                       "%lld) into non-empty parts", ints_str(sizes, n, l, sizeof l),
                       (long long)dim, (long long)axis);
    at += sizes[i];
  }
  if (at != dim)
    return onnx_fail(nc, "split %s adds up to %lld, not to dimension %lld "
                     "(axis %lld)", ints_str(sizes, n, l, sizeof l),
                     (long long)at, (long long)dim, (long long)axis);
  at = 0;
  for (int i = 0; i < n; i++) {
    if (nc->node->output[i][0]) {
      dlc_node *y = onnx_slice(nc, x, axis, at, at + sizes[i], 1);
      if (!y)
        return DLC_ERROR;
      onnx_define(nc, i, y);
    }
    at += sizes[i];
  }
  return DLC_OK;
}

/* Slice's clamping: a negative start or end counts from the end, then
 * start is clamped to [0, dim] (positive step) or [0, dim-1] (negative),
 * end to [0, dim] or [-1, dim-1], -1 meaning before the first. Unlike
 * Python, a start below -dim becomes 0 for either step. Returns the
 * number of elements. */
static int64_t slice_clamp(int64_t dim, int64_t step, int64_t *start,
                           int64_t *end) {
  int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
  int64_t s = *start < 0 ? *start + dim : *start; /* no overflow: dim > 0 */
  int64_t e = *end < 0 ? *end + dim : *end;
  *start = s < 0 ? 0 : s > hi ? hi : s;
  *end = e < lo ? lo : e > hi ? hi : e;
  if (step > 0)
    return *end > *start ? (*end - *start - 1) / step + 1 : 0;
  /* |step| as unsigned: INT64_MIN too */
  return *start > *end ? (int64_t)((uint64_t)(*start - *end - 1) /
                                   ((uint64_t)0 - (uint64_t)step)) + 1
                       : 0;
}

/* Slice: starts, ends, axes, steps as attributes before opset 10 (no
 * steps), as constant inputs from 10. One slice per axis, chained. */
dlc_status onnx_cv_slice(onnx_node_ctx *nc) {
  int64_t *starts, *ends, *axes = NULL, *steps = NULL;
  int ns, ne, na = 0, nst = 0;
  char s[DLC_TYPE_STRLEN];
  if (onnx_need_inputs(nc, nc->opset < 10 ? 1 : 3) != DLC_OK)
    return DLC_ERROR;
  if (nc->opset < 10) {
    if (!onnx_attr_ints(nc, "starts", &starts, &ns) ||
        !onnx_attr_ints(nc, "ends", &ends, &ne))
      return onnx_fail(nc, "the attributes 'starts' and 'ends' are required");
    onnx_attr_ints(nc, "axes", &axes, &na);
  } else if (onnx_const_ints(nc, 1, "starts", &starts, &ns) != DLC_OK ||
             onnx_const_ints(nc, 2, "ends", &ends, &ne) != DLC_OK ||
             (onnx_in(nc, 3) &&
              onnx_const_ints(nc, 3, "axes", &axes, &na) != DLC_OK) ||
             (onnx_in(nc, 4) &&
              onnx_const_ints(nc, 4, "steps", &steps, &nst) != DLC_OK)) {
    return DLC_ERROR;
  }
  if (ne != ns || (axes && na != ns) || (steps && nst != ns))
    return onnx_fail(nc, "starts, ends, axes and steps must have one entry "
                     "per sliced axis");
  dlc_node *y = nc->in[0];
  int r = y->type.rank;
  bool seen[DLC_MAX_RANK] = {0};
  for (int i = 0; i < ns && y; i++) {
    int64_t axis = axes ? axes[i] : i, step = steps ? steps[i] : 1;
    int64_t start = starts[i], end = ends[i];
    if (onnx_fix_axis(nc, "axis", &axis, r) != DLC_OK)
      return DLC_ERROR;
    if (seen[axis])
      return onnx_fail(nc, "axis %lld is sliced twice", (long long)axis);
    seen[axis] = true;
    if (step == 0)
      return onnx_fail(nc, "steps must not be 0");
    if (slice_clamp(y->type.dims[axis], step, &start, &end) == 0)
      return onnx_fail(nc, "the slice of axis %lld of %s is empty (starts "
                       "%lld, ends %lld, steps %lld), and empty tensors are "
                       "not supported", (long long)axis,
                       dlc_type_str(&y->type, s, sizeof s),
                       (long long)starts[i], (long long)ends[i],
                       (long long)step);
    /* the graph's slice reads a negative end as counting from the end */
    y = onnx_slice(nc, y, axis, start, end < 0 ? INT64_MIN : end, step);
  }
  return onnx_result(nc, y);
}

dlc_status onnx_cv_gather(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 2) != DLC_OK)
    return DLC_ERROR;
  dlc_attrs a = {.axis = attr_int(nc, "axis", 0)};
  return onnx_result(nc, onnx_build(nc, DLC_OP_GATHER, 2, nc->in, &a));
}

/* Expand: x broadcast with a constant shape both ways (numpy's rule, so a
 * 1 in shape keeps x's dimension). */
dlc_status onnx_cv_expand(onnx_node_ctx *nc) {
  int64_t *v, dims[DLC_MAX_RANK];
  int n;
  char s[DLC_TYPE_STRLEN], l[256];
  if (onnx_need_inputs(nc, 2) != DLC_OK ||
      onnx_const_ints(nc, 1, "shape", &v, &n) != DLC_OK)
    return DLC_ERROR;
  dlc_node *x = nc->in[0];
  int xr = x->type.rank, r = n > xr ? n : xr;
  if (r > DLC_MAX_RANK)
    return onnx_fail(nc, "shape %s has rank %d; at most %d is supported",
                     ints_str(v, n, l, sizeof l), n, DLC_MAX_RANK);
  for (int i = 0; i < r; i++) {
    int ix = i - (r - xr), iv = i - (r - n);
    int64_t dx = ix >= 0 ? x->type.dims[ix] : 1, dv = iv >= 0 ? v[iv] : 1;
    if (dv < 1 || (dx != dv && dx != 1 && dv != 1))
      return onnx_fail(nc, "cannot broadcast %s with shape %s",
                       dlc_type_str(&x->type, s, sizeof s),
                       ints_str(v, n, l, sizeof l));
    dims[i] = dx == 1 ? dv : dx;
  }
  if (r == xr && memcmp(dims, x->type.dims, sizeof(int64_t) * (size_t)r) == 0)
    return onnx_result(nc, x);
  dlc_attrs a = {.nints = r, .ints = dims};
  return onnx_result(nc, onnx_op1(nc, DLC_OP_BROADCAST_TO, x, &a));
}

/* Tile: a constant repeat count per axis; each axis repeated is a concat
 * of copies. */
dlc_status onnx_cv_tile(onnx_node_ctx *nc) {
  int64_t *rep;
  int n;
  char s[DLC_TYPE_STRLEN], l[256];
  if (onnx_need_inputs(nc, 2) != DLC_OK ||
      onnx_const_ints(nc, 1, "repeats", &rep, &n) != DLC_OK)
    return DLC_ERROR;
  dlc_node *y = nc->in[0];
  if (n != y->type.rank)
    return onnx_fail(nc, "repeats %s must have one entry per dimension of %s",
                     ints_str(rep, n, l, sizeof l),
                     dlc_type_str(&y->type, s, sizeof s));
  for (int i = 0; i < n; i++) {
    if (rep[i] < 1)
      return onnx_fail(nc, "repeats %s must be positive (empty tensors are "
                       "not supported)", ints_str(rep, n, l, sizeof l));
    if (rep[i] == 1 || !y)
      continue;
    if (rep[i] > (1 << 20))
      return onnx_fail(nc, "repeats %s: at most 2^20 copies are supported",
                       ints_str(rep, n, l, sizeof l));
    dlc_node **copies =
        dlc_arena_alloc(nc->g->arena, sizeof(dlc_node *) * (size_t)rep[i]);
    for (int64_t k = 0; k < rep[i]; k++)
      copies[k] = y;
    dlc_attrs a = {.axis = i};
    y = onnx_build(nc, DLC_OP_CONCAT, (int)rep[i], copies, &a);
  }
  return onnx_result(nc, y);
}

/* x with dimension axis set to n: the shape of a pad block. */
static dlc_attrs block(onnx_node_ctx *nc, const dlc_node *x, int axis,
                       int64_t n) {
  int64_t *dims = dlc_arena_alloc(nc->g->arena, sizeof(int64_t) * DLC_MAX_RANK);
  memcpy(dims, x->type.dims, sizeof(int64_t) * (size_t)x->type.rank);
  dims[axis] = n;
  return (dlc_attrs){.nints = x->type.rank, .ints = dims};
}

/* The blocks that pad y along axis by b before and e after (both > 0 or
 * 0 for none), in mode constant (value), edge or reflect; lr[0] and lr[1]
 * are NULL for no block, and both NULL after an error. */
static dlc_status pad_blocks(onnx_node_ctx *nc, dlc_node *y, int axis,
                             int64_t b, int64_t e, const char *mode,
                             dlc_node *value, dlc_node **lr) {
  int64_t dim = y->type.dims[axis];
  dlc_attrs ab = block(nc, y, axis, b), ae = block(nc, y, axis, e);
  lr[0] = lr[1] = NULL;
  if (strcmp(mode, "constant") == 0) {
    lr[0] = b ? onnx_op1(nc, DLC_OP_BROADCAST_TO, value, &ab) : NULL;
    lr[1] = e ? onnx_op1(nc, DLC_OP_BROADCAST_TO, value, &ae) : NULL;
  } else if (strcmp(mode, "edge") == 0) {
    if (b)
      lr[0] = onnx_op1(nc, DLC_OP_BROADCAST_TO,
                       onnx_slice(nc, y, axis, 0, 1, 1), &ab);
    if (e)
      lr[1] = onnx_op1(nc, DLC_OP_BROADCAST_TO,
                       onnx_slice(nc, y, axis, dim - 1, dim, 1), &ae);
  } else if (strcmp(mode, "reflect") == 0) {
    if (b >= dim || e >= dim)
      return onnx_fail(nc, "reflect pads %lld and %lld along axis %d must be "
                       "smaller than the dimension %lld", (long long)b,
                       (long long)e, axis, (long long)dim);
    /* x[b], ..., x[1] before; x[dim-2], ..., x[dim-1-e] after */
    if (b)
      lr[0] = onnx_slice(nc, y, axis, b, 0, -1);
    if (e)
      lr[1] = onnx_slice(nc, y, axis, dim - 2,
                         dim - 2 - e >= 0 ? dim - 2 - e : INT64_MIN, -1);
  } else {
    return onnx_fail(nc, "mode '%s' is not one of constant, reflect, edge",
                     mode);
  }
  if ((b && !lr[0]) || (e && !lr[1]))
    return DLC_ERROR;
  return DLC_OK;
}

/* Pad: pads (an attribute before opset 11, a constant input from 11) are
 * [begin per axis..., end per axis...]; negative ones crop. Each padded
 * axis is a concat of blocks around x, in numpy's order (one axis after
 * the other, so corners follow the mode). */
dlc_status onnx_cv_pad(onnx_node_ctx *nc) {
  int64_t *pads;
  int n;
  char s[DLC_TYPE_STRLEN], l[256];
  const char *mode = "constant";
  if (onnx_need_inputs(nc, nc->opset < 11 ? 1 : 2) != DLC_OK)
    return DLC_ERROR;
  dlc_node *y = nc->in[0], *value = NULL;
  dlc_dtype dt = y->type.dtype;
  onnx_attr_string(nc, "mode", &mode);
  if (nc->opset < 11) {
    double v = 0;
    if (!onnx_attr_ints(nc, "pads", &pads, &n))
      return onnx_fail(nc, "the attribute 'pads' is required");
    onnx_attr_float(nc, "value", &v);
    value = onnx_scalar(nc, dt, v);
  } else {
    if (onnx_const_ints(nc, 1, "pads", &pads, &n) != DLC_OK)
      return DLC_ERROR;
    value = onnx_in(nc, 2);
    if (value && dlc_type_numel(&value->type) != 1)
      return onnx_fail(nc, "constant_value must hold one value, got %s",
                       dlc_type_str(&value->type, s, sizeof s));
    value = value ? onnx_reshape(nc, value, NULL, 0) : onnx_scalar(nc, dt, 0);
  }
  int r = y->type.rank;
  if (n != 2 * r)
    return onnx_fail(nc, "pads %s must have 2 entries per dimension of %s",
                     ints_str(pads, n, l, sizeof l),
                     dlc_type_str(&y->type, s, sizeof s));
  for (int i = 0; i < r && y; i++) {
    int64_t b = pads[i], e = pads[r + i], dim = y->type.dims[i];
    if (b < 0 || e < 0)
      y = onnx_slice(nc, y, i, b < 0 ? -b : 0, e < 0 ? dim + e : INT64_MAX, 1);
    b = b > 0 ? b : 0;
    e = e > 0 ? e : 0;
    if (!y || (!b && !e))
      continue;
    dlc_node *lr[2], *parts[3];
    int k = 0;
    if (pad_blocks(nc, y, i, b, e, mode, value, lr) != DLC_OK)
      return DLC_ERROR;
    if (lr[0])
      parts[k++] = lr[0];
    parts[k++] = y;
    if (lr[1])
      parts[k++] = lr[1];
    dlc_attrs a = {.axis = i};
    y = onnx_build(nc, DLC_OP_CONCAT, k, parts, &a);
  }
  return onnx_result(nc, y);
}

/* ---- compile-time values ---------------------------------------------- */

/* Shape: the input's dims as a constant i64 vector; from opset 15 only
 * dims[start:end] (clamped, negative counting from the end). */
dlc_status onnx_cv_shape(onnx_node_ctx *nc) {
  char s[DLC_TYPE_STRLEN];
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  const dlc_type *t = &nc->in[0]->type;
  int64_t r = t->rank, start = attr_int(nc, "start", 0),
          end = attr_int(nc, "end", r);
  start = start < 0 ? start + r : start;
  end = end < 0 ? end + r : end;
  start = start < 0 ? 0 : start > r ? r : start;
  end = end < 0 ? 0 : end > r ? r : end;
  if (end <= start)
    return onnx_fail(nc, "the shape of %s from %lld to %lld is empty, and "
                     "empty tensors are not supported",
                     dlc_type_str(t, s, sizeof s), (long long)start,
                     (long long)end);
  return onnx_result(nc, onnx_const_i64(nc, t->dims + start, (int)(end - start)));
}

dlc_status onnx_cv_size(onnx_node_ctx *nc) {
  if (onnx_need_inputs(nc, 1) != DLC_OK)
    return DLC_ERROR;
  int64_t n = dlc_type_numel(&nc->in[0]->type);
  dlc_type t = {.dtype = DLC_I64};
  return onnx_result(nc, dlc_graph_add_const(nc->g, &t, &n, nc->loc));
}

/* The attribute of nc's node called name, or NULL. */
static const Onnx__AttributeProto *find_attr(onnx_node_ctx *nc,
                                             const char *name) {
  for (size_t i = 0; i < nc->node->n_attribute; i++)
    if (strcmp(nc->node->attribute[i]->name, name) == 0)
      return nc->node->attribute[i];
  return NULL;
}

/* Constant: exactly one of value, value_float(s), value_int(s); strings
 * and sparse tensors are not supported. */
dlc_status onnx_cv_constant(onnx_node_ctx *nc) {
  static const char *const unsupported[] = {"value_string", "value_strings",
                                            "sparse_value"};
  const Onnx__TensorProto *t = onnx_attr_tensor(nc, "value");
  const Onnx__AttributeProto *fs = find_attr(nc, "value_floats");
  int64_t i, *is;
  int n;
  double f;
  if (t)
    return onnx_result(nc, onnx_tensor_const(nc, t));
  if (onnx_attr_float(nc, "value_float", &f)) {
    float v = (float)f;
    dlc_type ty = {.dtype = DLC_F32};
    return onnx_result(nc, dlc_graph_add_const(nc->g, &ty, &v, nc->loc));
  }
  if (onnx_attr_int(nc, "value_int", &i)) {
    dlc_type ty = {.dtype = DLC_I64};
    return onnx_result(nc, dlc_graph_add_const(nc->g, &ty, &i, nc->loc));
  }
  if (onnx_attr_ints(nc, "value_ints", &is, &n)) {
    if (n == 0)
      return onnx_fail(nc, "value_ints is empty, and empty tensors are not "
                       "supported");
    return onnx_result(nc, onnx_const_i64(nc, is, n));
  }
  if (fs) {
    if (fs->n_floats == 0)
      return onnx_fail(nc, "value_floats is empty, and empty tensors are not "
                       "supported");
    dlc_type ty = {.dtype = DLC_F32, .rank = 1, .dims = {(int64_t)fs->n_floats}};
    return onnx_result(nc, dlc_graph_add_const(nc->g, &ty, fs->floats, nc->loc));
  }
  for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++)
    if (find_attr(nc, unsupported[k]))
      return onnx_fail(nc, "the attribute '%s' is not supported",
                       unsupported[k]);
  return onnx_fail(nc, "a value attribute (value, value_float, value_floats, "
                   "value_int, value_ints) is required");
}

/* ConstantOfShape: a constant shape filled with value's one element
 * (default a float 0). */
dlc_status onnx_cv_constant_of_shape(onnx_node_ctx *nc) {
  int64_t *dims;
  int n;
  char l[256];
  if (onnx_need_inputs(nc, 1) != DLC_OK ||
      onnx_const_ints(nc, 0, "shape", &dims, &n) != DLC_OK)
    return DLC_ERROR;
  const Onnx__TensorProto *t = onnx_attr_tensor(nc, "value");
  dlc_node *v = t ? onnx_tensor_const(nc, t) : onnx_scalar(nc, DLC_F32, 0);
  if (!v)
    return DLC_ERROR;
  if (dlc_type_numel(&v->type) != 1)
    return onnx_fail(nc, "value must hold one element");
  if (n > DLC_MAX_RANK)
    return onnx_fail(nc, "shape %s has rank %d; at most %d is supported",
                     ints_str(dims, n, l, sizeof l), n, DLC_MAX_RANK);
  for (int i = 0; i < n; i++)
    if (dims[i] < 1)
      return onnx_fail(nc, "shape %s must be positive (empty tensors are "
                       "not supported)", ints_str(dims, n, l, sizeof l));
  v = onnx_reshape(nc, v, NULL, 0);
  if (n == 0)
    return onnx_result(nc, v);
  dlc_attrs a = {.nints = n, .ints = dims};
  return onnx_result(nc, onnx_op1(nc, DLC_OP_BROADCAST_TO, v, &a));
}

/* Range: constant start, limit and delta of one dtype give
 * max(ceil((limit - start) / delta), 0) elements start + i * delta,
 * computed in that dtype. */
dlc_status onnx_cv_range(onnx_node_ctx *nc) {
  char s[DLC_TYPE_STRLEN];
  const void *p[3];
  if (onnx_need_inputs(nc, 3) != DLC_OK)
    return DLC_ERROR;
  dlc_dtype dt = nc->in[0]->type.dtype;
  for (int i = 0; i < 3; i++) {
    if (!(p[i] = onnx_const_input(nc, i)))
      return onnx_fail(nc, "input %d is computed, which is not supported: "
                       "dlcc needs it as a constant", i);
    if (nc->in[i]->type.dtype != dt || dlc_type_numel(&nc->in[i]->type) != 1 ||
        dt == DLC_BOOL)
      return onnx_fail(nc, "start, limit and delta must be numbers of one "
                       "dtype, got %s", dlc_type_str(&nc->in[i]->type, s, sizeof s));
  }
  double n;
  if (dlc_dtype_is_float(dt)) {
    double v[3];
    for (int i = 0; i < 3; i++)
      v[i] = dt == DLC_F32 ? *(const float *)p[i] : *(const double *)p[i];
    n = ceil((v[1] - v[0]) / v[2]);
  } else {
    int64_t v[3];
    for (int i = 0; i < 3; i++)
      v[i] = dt == DLC_I32 ? *(const int32_t *)p[i] : *(const int64_t *)p[i];
    if (v[2] == 0)
      return onnx_fail(nc, "delta must not be 0");
    n = ceil(((double)v[1] - (double)v[0]) / (double)v[2]);
  }
  if (!(n >= 1))
    return onnx_fail(nc, "the range is empty (or delta is 0), and empty "
                     "tensors are not supported");
  if (n > (double)(1 << 30))
    return onnx_fail(nc, "the range has more than 2^30 elements");
  dlc_type t = {.dtype = dt, .rank = 1, .dims = {(int64_t)n}};
  dlc_node *y = dlc_graph_add_const(nc->g, &t, NULL, nc->loc);
  for (int64_t i = 0; i < t.dims[0]; i++)
    switch (dt) {
    case DLC_F32: {
      float a = *(const float *)p[0], d = *(const float *)p[2];
      ((float *)y->data)[i] = a + (float)i * d;
      break;
    }
    case DLC_F64:
      ((double *)y->data)[i] =
          *(const double *)p[0] + (double)i * *(const double *)p[2];
      break;
    case DLC_I32:
      ((int32_t *)y->data)[i] = (int32_t)(*(const int32_t *)p[0] +
                                          i * *(const int32_t *)p[2]);
      break;
    case DLC_I64:
      ((int64_t *)y->data)[i] =
          *(const int64_t *)p[0] + i * *(const int64_t *)p[2];
      break;
    default:
      dlc_unreachable();
    }
  return onnx_result(nc, y);
}
