/* Shape and type rules: one case per operator kind. Each computes the
 * result type from the operands, normalizes attributes (negative axes, the
 * -1 of reshape, the default perm of transpose) and reports a located error
 * naming the operator and the operand types when they do not fit. */
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "util.h"

#define TS(t, buf) dlc_type_str((t), (buf), sizeof(buf))

static const char *opname(const dlc_node *n) { return dlc_ops[n->op].name; }

static void ints_str(const int64_t *v, int n, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < n && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "",
                          (long long)v[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "]");
}

/* numpy broadcasting of a's and b's dims into out; false if they clash. */
static bool broadcast(const dlc_type *a, const dlc_type *b, dlc_type *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  out->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return false;
    out->dims[i] = da == 1 ? db : da;
  }
  return true;
}

static dlc_status check_float(const dlc_node *n, const dlc_type *t,
                              dlc_diag *d) {
  char s[DLC_TYPE_STRLEN];
  if ((dlc_ops[n->op].flags & DLC_OPF_FLOAT) && !dlc_dtype_is_float(t->dtype)) {
    dlc_error(d, n->loc, "%s: expects a floating-point operand, got %s",
              opname(n), TS(t, s));
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

static dlc_status binary(dlc_node *n, dlc_diag *d) {
  const dlc_type *a = &n->in[0]->type, *b = &n->in[1]->type;
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (same_dtype(n, a, b, "and", d) != DLC_OK)
    return DLC_ERROR;
  n->type.dtype = a->dtype;
  if (!broadcast(a, b, &n->type)) {
    dlc_error(d, n->loc, "%s: shapes do not broadcast: %s and %s", opname(n),
              TS(a, s1), TS(b, s2));
    return DLC_ERROR;
  }
  return DLC_OK;
}

static dlc_status matmul(dlc_node *n, dlc_diag *d) {
  const dlc_type *a = &n->in[0]->type, *b = &n->in[1]->type;
  char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
  if (a->rank < 2 || b->rank < 2) {
    dlc_error(d, n->loc, "matmul: operands must have rank 2 or more: %s @ %s",
              TS(a, s1), TS(b, s2));
    return DLC_ERROR;
  }
  if (same_dtype(n, a, b, "@", d) != DLC_OK)
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

static dlc_status softmax(dlc_node *n, dlc_diag *d) {
  const dlc_type *x = &n->in[0]->type;
  char s[DLC_TYPE_STRLEN];
  if (check_float(n, x, d) != DLC_OK)
    return DLC_ERROR;
  int64_t axis = n->attr.axis;
  if (x->rank == 0 || axis < -x->rank || axis >= x->rank) {
    dlc_error(d, n->loc, "%s: axis %lld is out of range for %s (rank %d)",
              opname(n), (long long)axis, TS(x, s), x->rank);
    return DLC_ERROR;
  }
  n->attr.axis = axis < 0 ? axis + x->rank : axis;
  n->type = *x;
  return DLC_OK;
}

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

dlc_status dlc_infer_type(dlc_graph *g, dlc_node *n, dlc_diag *d) {
  const dlc_opinfo *info = &dlc_ops[n->op];
  if (info->arity >= 0 && n->nin != info->arity) {
    dlc_error(d, n->loc, "%s: expects %d operand%s, got %d", info->name,
              info->arity, info->arity == 1 ? "" : "s", n->nin);
    return DLC_ERROR;
  }
  switch (info->kind) {
  case DLC_KIND_SOURCE:
    return DLC_OK; /* typed when created */
  case DLC_KIND_UNARY:
    if (check_float(n, &n->in[0]->type, d) != DLC_OK)
      return DLC_ERROR;
    n->type = n->in[0]->type;
    return DLC_OK;
  case DLC_KIND_BINARY:
    return binary(n, d);
  case DLC_KIND_MATMUL:
    return matmul(n, d);
  case DLC_KIND_SOFTMAX:
    return softmax(n, d);
  case DLC_KIND_RESHAPE:
    return reshape(n, d);
  case DLC_KIND_TRANSPOSE:
    return transpose(g, n, d);
  }
  dlc_unreachable();
}
