/* Recognizing layer normalization written out, as ONNX exporters before
 * opset 17 and hand-written models do:
 *
 *   m = mean(x, axes=[a..r-1], keepdims=1)     d = x - m
 *   v = mean(d ** 2 | d * d, same axes)        s = sqrt(v + eps)
 *   y = d / s | d * rsqrt(v + eps) | d * reciprocal(s)
 *   [z = y * gamma [w = z + beta]]             (either operand order)
 *
 * becomes layer_norm(x, gamma, beta, axis=a, eps=eps): one kernel instead
 * of five or more, each reading x again. gamma and beta must have the
 * normalized dims (leading 1s allowed for constants, which are reshaped);
 * without them, ones and zeros stand in. Every intermediate value must be
 * read only inside the pattern; eps must be a constant scalar. The last
 * node of the match becomes the layer_norm, so its users are unchanged. */
#include "passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/util.h"

typedef struct users {
  dlc_node ***of; /* of[id]: the distinct nodes reading node id */
  int *n, *cap;
  int *uses;      /* operand slots and outputs reading node id */
  int size;       /* ids 0 .. size-1 (nodes added later have none) */
} users;

static void users_init(users *u, const dlc_graph *g) {
  size_t n = (size_t)g->next_id + 1;
  u->size = (int)n;
  u->of = dlc_xcalloc(n, sizeof *u->of);
  u->n = dlc_xcalloc(n, sizeof *u->n);
  u->cap = dlc_xcalloc(n, sizeof *u->cap);
  u->uses = dlc_xcalloc(n, sizeof *u->uses);
  dlc_graph_count_uses(g, u->uses);
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *r = g->nodes[i];
    for (int j = 0; j < r->nin; j++) {
      int id = r->in[j]->id;
      if (u->n[id] && u->of[id][u->n[id] - 1] == r)
        continue; /* the same reader twice (d * d) */
      DLC_PUSH(u->of[id], u->n[id], u->cap[id], r);
    }
  }
}

static void users_free(users *u) {
  for (int i = 0; i < u->size; i++)
    free(u->of[i]);
  free(u->of);
  free(u->n);
  free(u->cap);
  free(u->uses);
}

/* n's only reader, when it has exactly one use, else NULL. */
static dlc_node *sole_user(const users *u, const dlc_node *n) {
  return u->uses[n->id] == 1 && u->n[n->id] == 1 ? u->of[n->id][0] : NULL;
}

static bool is_const(const dlc_node *n) {
  return n->op == DLC_OP_CONST || n->op == DLC_OP_WEIGHT;
}

/* The shortest decimal that reads back as the float f, as a double: an
 * f32 eps of 1e-5 stays 1e-05 in the attribute, not 9.99999975e-06. */
static double shortest(float f) {
  char buf[32];
  for (int digits = 1; digits < 10; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
    if ((float)strtod(buf, NULL) == f)
      break;
  }
  return strtod(buf, NULL);
}

/* The value of a one-element float constant. */
static bool scalar_value(const dlc_node *n, double *v) {
  if (!is_const(n) || dlc_type_numel(&n->type) != 1)
    return false;
  if (!n->data)
    *v = 0;
  else if (n->type.dtype == DLC_F32)
    *v = shortest(*(const float *)n->data);
  else if (n->type.dtype == DLC_F64)
    *v = *(const double *)n->data;
  else
    return false;
  return true;
}

/* The first axis of a mean over the trailing axes a..rank-1 with
 * keepdims, or -1. */
static int64_t trailing_axis(const dlc_node *m) {
  int rank = m->type.rank;
  if (m->op != DLC_OP_MEAN || !m->attr.keepdims || m->attr.nints < 1 || m->attr.nints > rank)
    return -1;
  int64_t a = rank - m->attr.nints;
  bool seen[DLC_MAX_RANK] = {false};
  for (int i = 0; i < m->attr.nints; i++) {
    int64_t ax = m->attr.ints[i];
    if (ax < a || ax >= rank || seen[ax])
      return -1;
    seen[ax] = true;
  }
  return a;
}

/* The other operand of binary n when one of them is `one`, else NULL. */
static dlc_node *other(const dlc_node *n, const dlc_node *one) {
  if (n->nin != 2)
    return NULL;
  return n->in[0] == one ? n->in[1] : n->in[1] == one ? n->in[0] : NULL;
}

typedef struct match {
  dlc_node *x, *last; /* the input; the node that becomes layer_norm */
  dlc_node *gamma, *beta;
  int64_t axis;
  double eps;
  dlc_node *dead[10]; /* the other nodes of the match */
  int ndead;
} match;

static void kill(match *mt, dlc_node *n) { mt->dead[mt->ndead++] = n; }

/* The normalized dims x.dims[a:] as a type of x's dtype. */
static dlc_type param_type(const match *mt) {
  dlc_type t = {.dtype = mt->x->type.dtype, .rank = mt->x->type.rank - (int)mt->axis};
  for (int i = 0; i < t.rank; i++)
    t.dims[i] = mt->x->type.dims[mt->axis + i];
  return t;
}

/* Whether p can be gamma or beta: the normalized dims exactly, or for a
 * constant the same with leading 1s (reshaped later). */
static bool param_ok(const match *mt, const dlc_node *p) {
  dlc_type want = param_type(mt);
  if (dlc_type_equal(&p->type, &want))
    return true;
  if (!is_const(p) || p->type.dtype != want.dtype || p->type.rank < want.rank)
    return false;
  int lead = p->type.rank - want.rank;
  for (int i = 0; i < p->type.rank; i++)
    if (p->type.dims[i] != (i < lead ? 1 : want.dims[i - lead]))
      return false;
  return true;
}

/* y / s, y * rsqrt(ve), y * reciprocal(s): from ve = v + eps to the
 * normalized value, or NULL. */
static dlc_node *normalized(const users *u, match *mt, dlc_node *d, dlc_node *ve) {
  dlc_node *s = sole_user(u, ve);
  if (!s)
    return NULL;
  if (s->op == DLC_OP_RSQRT) {
    dlc_node *y = sole_user(u, s);
    if (!y || y->op != DLC_OP_MUL || other(y, s) != d)
      return NULL;
    kill(mt, s);
    return y;
  }
  if (s->op != DLC_OP_SQRT)
    return NULL;
  dlc_node *y = sole_user(u, s);
  if (y && y->op == DLC_OP_DIV && y->in[0] == d && y->in[1] == s) {
    kill(mt, s);
    return y;
  }
  if (y && y->op == DLC_OP_RECIPROCAL) {
    dlc_node *r = y;
    y = sole_user(u, r);
    if (!y || y->op != DLC_OP_MUL || other(y, r) != d)
      return NULL;
    kill(mt, s);
    kill(mt, r);
    return y;
  }
  return NULL;
}

/* When the match's last value is read only by op(last, p) (or op(p,
 * last)) with p a valid gamma or beta and of x's type, that node becomes
 * the last; returns p, or NULL. */
static dlc_node *absorb(const users *u, match *mt, dlc_op op) {
  dlc_node *r = sole_user(u, mt->last);
  dlc_node *p = r && r->op == op ? other(r, mt->last) : NULL;
  if (!p || !param_ok(mt, p) || !dlc_type_equal(&r->type, &mt->x->type))
    return NULL;
  kill(mt, mt->last);
  mt->last = r;
  return p;
}

/* Matches the pattern from its first mean; fills mt. */
static bool match_at(const users *u, dlc_node *m, match *mt) {
  memset(mt, 0, sizeof *mt);
  mt->axis = trailing_axis(m);
  dlc_node *x = m->in[0];
  if (mt->axis < 0 || !dlc_dtype_is_float(m->type.dtype))
    return false;
  mt->x = x;
  kill(mt, m);
  dlc_node *d = sole_user(u, m);
  if (!d || d->op != DLC_OP_SUB || d->in[0] != x || d->in[1] != m ||
      !dlc_type_equal(&d->type, &x->type))
    return false;
  kill(mt, d);
  /* d is read by the square and by the normalized value, nothing else */
  if (u->n[d->id] != 2)
    return false;
  double two;
  dlc_node *sq = NULL, *num = NULL;
  for (int i = 0; i < 2; i++) {
    dlc_node *r = u->of[d->id][i];
    bool square = (r->op == DLC_OP_MUL && r->in[0] == d && r->in[1] == d) ||
                  (r->op == DLC_OP_POW && r->in[0] == d && scalar_value(r->in[1], &two) && two == 2);
    if (square && !sq)
      sq = r;
    else
      num = r;
  }
  /* the square keeps x's type (a one-element exponent of higher rank
   * would broadcast it), so the mean of it has m's */
  if (!sq || !num || u->uses[d->id] != (sq->in[1] == d ? 3 : 2) ||
      !dlc_type_equal(&sq->type, &x->type))
    return false;
  kill(mt, sq);
  dlc_node *v = sole_user(u, sq);
  if (!v || v->in[0] != sq || trailing_axis(v) != mt->axis || !dlc_type_equal(&v->type, &m->type))
    return false;
  kill(mt, v);
  dlc_node *ve = sole_user(u, v);
  dlc_node *e = ve && ve->op == DLC_OP_ADD ? other(ve, v) : NULL;
  if (!e || !scalar_value(e, &mt->eps) || !(mt->eps >= 0) ||
      !dlc_type_equal(&ve->type, &v->type))
    return false;
  kill(mt, ve);
  dlc_node *y = normalized(u, mt, d, ve);
  if (y != num || !dlc_type_equal(&y->type, &x->type))
    return false;
  mt->last = y;
  /* y * gamma, then + beta */
  mt->gamma = absorb(u, mt, DLC_OP_MUL);
  if (mt->gamma)
    mt->beta = absorb(u, mt, DLC_OP_ADD);
  return true;
}

/* p as the normalized dims, or (p NULL) a constant of `fill`, placed
 * before the last node of the match. */
static dlc_node *param(dlc_graph *g, const match *mt, dlc_node *p, double fill) {
  dlc_type want = param_type(mt);
  if (p && dlc_type_equal(&p->type, &want))
    return p;
  int64_t n = dlc_type_numel(&want);
  size_t es = dlc_dtype_size(want.dtype);
  void *data = NULL;
  if (!p) {
    data = dlc_xmalloc((size_t)n * es);
    for (int64_t i = 0; i < n; i++)
      if (want.dtype == DLC_F32)
        ((float *)data)[i] = (float)fill;
      else
        ((double *)data)[i] = fill;
  }
  dlc_node *c = dlc_graph_add_const(g, &want, p ? p->data : data, mt->last->loc);
  free(data);
  dlc_graph_move_last_before(g, mt->last);
  return c;
}

dlc_status dlc_pass_norm(dlc_graph *g, dlc_diag *d) {
  (void)d;
  users u;
  users_init(&u, g);
  bool changed = false;
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *m = g->nodes[i];
    match mt;
    if (m->dead || m->op != DLC_OP_MEAN || !match_at(&u, m, &mt))
      continue;
    dlc_node **in = dlc_arena_alloc(g->arena, sizeof *in * 3);
    in[0] = mt.x;
    in[1] = param(g, &mt, mt.gamma, 1);
    in[2] = param(g, &mt, mt.beta, 0);
    dlc_node *ln = mt.last;
    ln->op = DLC_OP_LAYER_NORM;
    ln->in = in;
    ln->nin = 3;
    ln->attr = (dlc_attrs){.axis = mt.axis, .eps = mt.eps};
    for (int k = 0; k < mt.ndead; k++)
      mt.dead[k]->dead = true;
    changed = true;
  }
  users_free(&u);
  if (changed)
    dlc_graph_compact(g);
  return DLC_OK;
}
