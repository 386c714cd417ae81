/* Graph construction and the tables every layer reads: dtypes and ops. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
  const char *name;
  size_t size;
  int abi;
} dtypes[] = {
#define X(id, name, size, ctype, abi) [DLC_##id] = {name, size, abi},
#include "dtypes.def"
#undef X
};

const dlc_opinfo dlc_ops[DLC_NUM_OPS] = {
#define X(id, name, arity, kind, flags)                                        \
  [DLC_OP_##id] = {name, arity, DLC_KIND_##kind, flags},
#include "ops.def"
#undef X
};

bool dlc_op_is_elementwise(dlc_op op) {
  switch (dlc_ops[op].kind) {
  case DLC_KIND_UNARY:
  case DLC_KIND_BINARY:
  case DLC_KIND_WHERE:
  case DLC_KIND_CAST: return true;
  default: return false;
  }
}

const char *dlc_dtype_name(dlc_dtype t) { return dtypes[t].name; }
size_t dlc_dtype_size(dlc_dtype t) { return dtypes[t].size; }
int dlc_dtype_abi(dlc_dtype t) { return dtypes[t].abi; }
bool dlc_dtype_is_float(dlc_dtype t) { return t == DLC_F32 || t == DLC_F64; }

bool dlc_dtype_lookup(const char *name, dlc_dtype *out) {
  for (int i = 0; i < DLC_NUM_DTYPES; i++)
    if (strcmp(dtypes[i].name, name) == 0) {
      *out = (dlc_dtype)i;
      return true;
    }
  return false;
}

bool dlc_op_lookup(const char *name, dlc_op *out) {
  for (int i = 0; i < DLC_NUM_OPS; i++)
    if (strcmp(dlc_ops[i].name, name) == 0) {
      *out = (dlc_op)i;
      return true;
    }
  return false;
}

int64_t dlc_type_numel(const dlc_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= t->dims[i];
  return n;
}

size_t dlc_type_bytes(const dlc_type *t) {
  return (size_t)dlc_type_numel(t) * dlc_dtype_size(t->dtype);
}

bool dlc_type_equal(const dlc_type *a, const dlc_type *b) {
  if (a->dtype != b->dtype || a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return false;
  return true;
}

char *dlc_type_str(const dlc_type *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", dlc_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "",
                          (long long)t->dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
  return buf;
}

bool dlc_attrs_equal(const dlc_attrs *a, const dlc_attrs *b) {
  if (a->axis != b->axis || a->nints != b->nints || a->groups != b->groups || a->block != b->block ||
      a->start != b->start || a->step != b->step || a->end != b->end ||
      a->keepdims != b->keepdims || a->count_include_pad != b->count_include_pad ||
      a->approximate != b->approximate || a->has_lo != b->has_lo ||
      a->has_hi != b->has_hi || a->to != b->to)
    return false;
  /* doubles compare by bits so NaN bounds equal themselves */
  if (memcmp(&a->lo, &b->lo, sizeof a->lo) || memcmp(&a->hi, &b->hi, sizeof a->hi) ||
      memcmp(&a->alpha, &b->alpha, sizeof a->alpha) ||
      memcmp(&a->eps, &b->eps, sizeof a->eps))
    return false;
  for (int i = 0; i < 2; i++)
    if (a->kernel[i] != b->kernel[i] || a->stride[i] != b->stride[i] ||
        a->dilation[i] != b->dilation[i])
      return false;
  for (int i = 0; i < 4; i++)
    if (a->pad[i] != b->pad[i])
      return false;
  for (int i = 0; i < a->nints; i++)
    if (a->ints[i] != b->ints[i])
      return false;
  return true;
}

dlc_graph *dlc_graph_new(const char *name) {
  dlc_graph *g = dlc_xcalloc(1, sizeof *g);
  g->arena = dlc_arena_new();
  g->name = dlc_arena_strdup(g->arena, name ? name : "model");
  return g;
}

void dlc_graph_free(dlc_graph *g) {
  if (!g)
    return;
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  dlc_arena_free(g->arena);
  free(g);
}

static dlc_node *new_node(dlc_graph *g, dlc_op op, dlc_loc loc, int nin) {
  dlc_node *n = dlc_arena_alloc(g->arena, sizeof *n);
  n->op = op;
  n->id = g->next_id++;
  n->loc = loc;
  n->nin = nin;
  n->in = nin ? dlc_arena_alloc(g->arena, sizeof *n->in * (size_t)nin) : NULL;
  return n;
}

static void append(dlc_graph *g, dlc_node *n) {
  DLC_PUSH(g->nodes, g->nnodes, g->capnodes, n);
}

dlc_node *dlc_graph_add_input(dlc_graph *g, const char *name,
                              const dlc_type *t, dlc_loc loc) {
  dlc_node *n = new_node(g, DLC_OP_INPUT, loc, 0);
  n->type = *t;
  n->name = dlc_arena_strdup(g->arena, name);
  append(g, n);
  DLC_PUSH(g->inputs, g->ninputs, g->capinputs, n);
  return n;
}

static dlc_node *add_data(dlc_graph *g, dlc_op op, const dlc_type *t,
                          const void *data, dlc_loc loc) {
  dlc_node *n = new_node(g, op, loc, 0);
  n->type = *t;
  size_t bytes = dlc_type_bytes(t);
  n->data = dlc_arena_alloc(g->arena, bytes ? bytes : 1);
  if (data)
    memcpy(n->data, data, bytes);
  append(g, n);
  return n;
}

dlc_node *dlc_graph_add_weight(dlc_graph *g, const char *name,
                               const dlc_type *t, const void *data,
                               dlc_loc loc) {
  dlc_node *n = add_data(g, DLC_OP_WEIGHT, t, data, loc);
  n->name = dlc_arena_strdup(g->arena, name);
  return n;
}

dlc_node *dlc_graph_add_const(dlc_graph *g, const dlc_type *t,
                              const void *data, dlc_loc loc) {
  return add_data(g, DLC_OP_CONST, t, data, loc);
}

dlc_node *dlc_graph_add_scalar(dlc_graph *g, dlc_dtype dt, double v,
                               dlc_loc loc) {
  dlc_type t = {.dtype = dt, .rank = 0};
  union {
    float f32;
    double f64;
    int32_t i32;
    int64_t i64;
    uint8_t b;
  } u;
  switch (dt) {
  case DLC_F32: u.f32 = (float)v; break;
  case DLC_F64: u.f64 = v; break;
  case DLC_I32: u.i32 = (int32_t)v; break;
  case DLC_I64: u.i64 = (int64_t)v; break;
  case DLC_BOOL: u.b = v != 0; break;
  default: dlc_unreachable();
  }
  return dlc_graph_add_const(g, &t, &u, loc);
}

dlc_node *dlc_graph_build(dlc_graph *g, dlc_op op, dlc_loc loc, int nin,
                          dlc_node *const *in, const dlc_attrs *attrs,
                          dlc_diag *d) {
  DLC_ASSERT(dlc_ops[op].kind != DLC_KIND_SOURCE);
  dlc_node *n = new_node(g, op, loc, nin);
  for (int i = 0; i < nin; i++)
    n->in[i] = in[i];
  if (attrs) {
    n->attr = *attrs;
    n->attr.ints = NULL;
    if (attrs->nints) {
      n->attr.ints = dlc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)attrs->nints);
      memcpy(n->attr.ints, attrs->ints, sizeof(int64_t) * (size_t)attrs->nints);
    }
  }
  if (dlc_infer_type(g, n, d) != DLC_OK)
    return NULL; /* the arena keeps the node's memory; it is never listed */
  append(g, n);
  return n;
}

void dlc_graph_add_output(dlc_graph *g, const char *name, dlc_node *node,
                          dlc_loc loc) {
  dlc_output o = {dlc_arena_strdup(g->arena, name), node, loc};
  DLC_PUSH(g->outputs, g->noutputs, g->capoutputs, o);
}

void dlc_graph_replace_uses(dlc_graph *g, dlc_node *old, dlc_node *new_) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++)
      if (g->nodes[i]->in[j] == old)
        g->nodes[i]->in[j] = new_;
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i].node == old)
      g->outputs[i].node = new_;
}

void dlc_graph_move_last_before(dlc_graph *g, const dlc_node *before) {
  int pos = 0;
  while (g->nodes[pos] != before)
    pos++;
  dlc_node *c = g->nodes[g->nnodes - 1];
  memmove(g->nodes + pos + 1, g->nodes + pos, sizeof *g->nodes * (size_t)(g->nnodes - 1 - pos));
  g->nodes[pos] = c;
}

void dlc_graph_compact(dlc_graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead)
      g->nodes[k++] = g->nodes[i];
  g->nnodes = k;
}

void dlc_graph_count_uses(const dlc_graph *g, int *counts) {
  memset(counts, 0, sizeof *counts * (size_t)g->next_id);
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead)
      for (int j = 0; j < g->nodes[i]->nin; j++)
        counts[g->nodes[i]->in[j]->id]++;
  for (int i = 0; i < g->noutputs; i++)
    counts[g->outputs[i].node->id]++;
}
