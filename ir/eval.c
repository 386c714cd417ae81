/* The reference evaluator (eval.h): plain loops over flat row-major indices.
 * Floats are computed in double and rounded to the dtype; integers in 64
 * bits with wrap-around (unsigned arithmetic) and then wrapped to the dtype.
 * When compiled code and this file disagree, this file should be obviously
 * right, so it stays slow and simple. */
#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- loading and storing one element ---------------------------------- */

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

static int64_t loadi(dlc_dtype t, const void *p, int64_t i) {
  switch (t) {
  case DLC_I32: return ((const int32_t *)p)[i];
  case DLC_I64: return ((const int64_t *)p)[i];
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

/* ---- scalar semantics ------------------------------------------------- */

/* numpy's maximum/minimum: a NaN in either operand is the result. */
static double binf(dlc_op op, double a, double b) {
  switch (op) {
  case DLC_OP_ADD: return a + b;
  case DLC_OP_SUB: return a - b;
  case DLC_OP_MUL: return a * b;
  case DLC_OP_DIV: return a / b;
  case DLC_OP_MAXIMUM: return (isnan(a) || a >= b) ? a : b;
  case DLC_OP_MINIMUM: return (isnan(a) || a <= b) ? a : b;
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

static double unf(dlc_op op, double x) {
  switch (op) {
  case DLC_OP_NEG: return -x;
  case DLC_OP_RELU: return (x > 0 || isnan(x)) ? x : 0.0;
  case DLC_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case DLC_OP_TANH: return tanh(x);
  case DLC_OP_EXP: return exp(x);
  case DLC_OP_LOG: return log(x);
  case DLC_OP_SQRT: return sqrt(x);
  default: dlc_unreachable();
  }
}

/* ---- broadcasting ----------------------------------------------------- */

/* Maps a flat row-major index over the dims of a result to the flat index of
 * an operand whose dims align with the result's trailing dims (numpy rules:
 * missing leading dims and dims of 1 repeat). unit scales the operand's
 * strides, for operands whose elements are blocks (matmul's matrices). */
typedef struct bcast {
  int rank;
  int64_t dims[DLC_MAX_RANK];    /* the result's dims */
  int64_t strides[DLC_MAX_RANK]; /* the operand's stride per result dim */
} bcast;

static void bcast_init(bcast *b, const int64_t *odims, int orank,
                       const int64_t *idims, int irank, int64_t unit) {
  DLC_ASSERT(irank <= orank);
  b->rank = orank;
  int64_t s = unit;
  for (int i = orank - 1, j = irank - 1; i >= 0; i--, j--) {
    b->dims[i] = odims[i];
    b->strides[i] = 0;
    if (j < 0)
      continue;
    DLC_ASSERT(idims[j] == odims[i] || idims[j] == 1);
    if (idims[j] != 1)
      b->strides[i] = s;
    s *= idims[j];
  }
}

static int64_t bcast_index(const bcast *b, int64_t flat) {
  int64_t off = 0;
  for (int i = b->rank - 1; i >= 0; i--) {
    off += (flat % b->dims[i]) * b->strides[i];
    flat /= b->dims[i];
  }
  return off;
}

/* ---- operators by kind ------------------------------------------------ */

static dlc_status eval_unary(const dlc_node *n, const void *x, void *out) {
  dlc_dtype t = n->type.dtype, xt = n->in[0]->type.dtype;
  int64_t cnt = dlc_type_numel(&n->type);
  if (dlc_dtype_is_float(t)) {
    for (int64_t i = 0; i < cnt; i++)
      storef(t, out, i, unf(n->op, loadf(xt, x, i)));
    return DLC_OK;
  }
  if (n->op != DLC_OP_NEG) /* the math functions are float only */
    return DLC_ERROR;
  for (int64_t i = 0; i < cnt; i++)
    storei(t, out, i, wrap(t, 0 - (uint64_t)loadi(xt, x, i)));
  return DLC_OK;
}

static dlc_status eval_binary(const dlc_node *n, const void *a,
                              const void *b, void *out) {
  const dlc_type *ta = &n->in[0]->type, *tb = &n->in[1]->type;
  dlc_dtype t = n->type.dtype;
  bcast ba, bb;
  bcast_init(&ba, n->type.dims, n->type.rank, ta->dims, ta->rank, 1);
  bcast_init(&bb, n->type.dims, n->type.rank, tb->dims, tb->rank, 1);
  int64_t cnt = dlc_type_numel(&n->type);
  bool fl = dlc_dtype_is_float(t);
  if (fl != dlc_dtype_is_float(ta->dtype) || fl != dlc_dtype_is_float(tb->dtype))
    return DLC_ERROR;
  for (int64_t i = 0; i < cnt; i++) {
    int64_t ia = bcast_index(&ba, i), ib = bcast_index(&bb, i);
    if (fl)
      storef(t, out, i,
             binf(n->op, loadf(ta->dtype, a, ia), loadf(tb->dtype, b, ib)));
    else
      storei(t, out, i,
             bini(t, n->op, loadi(ta->dtype, a, ia), loadi(tb->dtype, b, ib)));
  }
  return DLC_OK;
}

/* [..., M, K] @ [..., K, N] with broadcast batch dims; the sum is kept in
 * double for floats and in wrapping 64-bit for integers. */
static dlc_status eval_matmul(const dlc_node *n, const void *a, const void *b,
                              void *out) {
  const dlc_type *ta = &n->in[0]->type, *tb = &n->in[1]->type, *to = &n->type;
  dlc_dtype t = to->dtype;
  if (ta->rank < 2 || tb->rank < 2 || to->rank < 2)
    return DLC_ERROR;
  int64_t m = ta->dims[ta->rank - 2], k = ta->dims[ta->rank - 1];
  int64_t nn = tb->dims[tb->rank - 1];
  DLC_ASSERT(tb->dims[tb->rank - 2] == k);
  DLC_ASSERT(to->dims[to->rank - 2] == m && to->dims[to->rank - 1] == nn);
  int brank = to->rank - 2;
  int64_t batch = 1;
  for (int i = 0; i < brank; i++)
    batch *= to->dims[i];
  bcast ba, bb;
  bcast_init(&ba, to->dims, brank, ta->dims, ta->rank - 2, m * k);
  bcast_init(&bb, to->dims, brank, tb->dims, tb->rank - 2, k * nn);
  bool fl = dlc_dtype_is_float(t);
  for (int64_t p = 0; p < batch; p++) {
    int64_t ao = bcast_index(&ba, p), bo = bcast_index(&bb, p);
    int64_t oo = p * m * nn;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < nn; j++) {
        if (fl) {
          double acc = 0;
          for (int64_t l = 0; l < k; l++)
            acc += loadf(ta->dtype, a, ao + i * k + l) *
                   loadf(tb->dtype, b, bo + l * nn + j);
          storef(t, out, oo + i * nn + j, acc);
        } else {
          uint64_t acc = 0;
          for (int64_t l = 0; l < k; l++)
            acc += (uint64_t)loadi(ta->dtype, a, ao + i * k + l) *
                   (uint64_t)loadi(tb->dtype, b, bo + l * nn + j);
          storei(t, out, oo + i * nn + j, wrap(t, acc));
        }
      }
  }
  return DLC_OK;
}

/* exp(x - max) / sum along attr.axis, in double. */
static dlc_status eval_softmax(const dlc_node *n, const void *x, void *out) {
  const dlc_type *to = &n->type;
  dlc_dtype t = to->dtype, xt = n->in[0]->type.dtype;
  int64_t axis = n->attr.axis;
  if (!dlc_dtype_is_float(t) || axis < 0 || axis >= to->rank)
    return DLC_ERROR;
  int64_t outer = 1, len = to->dims[axis], inner = 1;
  for (int64_t i = 0; i < axis; i++)
    outer *= to->dims[i];
  for (int64_t i = axis + 1; i < to->rank; i++)
    inner *= to->dims[i];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in;
      double mx = -INFINITY, sum = 0;
      for (int64_t l = 0; l < len; l++) {
        double v = loadf(xt, x, base + l * inner);
        if (v > mx || isnan(v))
          mx = v;
      }
      for (int64_t l = 0; l < len; l++)
        sum += exp(loadf(xt, x, base + l * inner) - mx);
      for (int64_t l = 0; l < len; l++)
        storef(t, out, base + l * inner,
               exp(loadf(xt, x, base + l * inner) - mx) / sum);
    }
  return DLC_OK;
}

/* out.dims[i] = in.dims[perm[i]]: walk the output, gather from the input. */
static dlc_status eval_transpose(const dlc_node *n, const void *x, void *out) {
  const dlc_type *ti = &n->in[0]->type, *to = &n->type;
  const int64_t *perm = n->attr.ints;
  if (n->attr.nints != to->rank || ti->rank != to->rank)
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
    memcpy((char *)out + o * es, (const char *)x + off * es, es);
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
  case DLC_KIND_MATMUL:
    return eval_matmul(n, operands[0], operands[1], out);
  case DLC_KIND_SOFTMAX:
    return eval_softmax(n, operands[0], out);
  case DLC_KIND_RESHAPE:
    DLC_ASSERT(dlc_type_bytes(&n->in[0]->type) == bytes);
    memcpy(out, operands[0], bytes);
    return DLC_OK;
  case DLC_KIND_TRANSPOSE:
    return eval_transpose(n, operands[0], out);
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
