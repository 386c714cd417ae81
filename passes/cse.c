/* Common subexpression elimination: two nodes with the same operator, the
 * same operands (after earlier merges), equal attributes and the same type
 * compute the same value, so later ones are replaced by the first. For
 * commutative operators (a, b) and (b, a) are the same; unnamed constants
 * with the same type and bytes merge; inputs and named weights never do. One
 * walk in topological order with an open-addressing hash table. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "ir/util.h"

static bool mergeable(const dlc_node *n) {
  return !n->dead && n->op != DLC_OP_INPUT && n->op != DLC_OP_WEIGHT &&
         n->name == NULL;
}

static bool commutes(const dlc_node *n) {
  return (dlc_ops[n->op].flags & DLC_OPF_COMMUTATIVE) && n->nin == 2;
}

/* FNV-1a over bytes. */
static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static bool all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

static uint64_t hash(const dlc_node *n) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = mix(h, &n->op, sizeof n->op);
  h = mix(h, &n->type.dtype, sizeof n->type.dtype);
  h = mix(h, &n->type.rank, sizeof n->type.rank);
  h = mix(h, n->type.dims, (size_t)n->type.rank * sizeof n->type.dims[0]);
  int ids[2] = {0, 0};
  if (commutes(n)) { /* order-free: hash the smaller id first */
    ids[0] = n->in[0]->id < n->in[1]->id ? n->in[0]->id : n->in[1]->id;
    ids[1] = n->in[0]->id < n->in[1]->id ? n->in[1]->id : n->in[0]->id;
    h = mix(h, ids, sizeof ids);
  } else {
    for (int i = 0; i < n->nin; i++)
      h = mix(h, &n->in[i]->id, sizeof n->in[i]->id);
  }
  h = mix(h, &n->attr.axis, sizeof n->attr.axis);
  if (n->attr.nints > 0)
    h = mix(h, n->attr.ints, (size_t)n->attr.nints * sizeof n->attr.ints[0]);
  /* Constants: hash the bytes, with missing data counting as zeros so that
   * it hashes like explicit zeros. */
  if (n->op == DLC_OP_CONST && n->data) {
    size_t bytes = dlc_type_bytes(&n->type);
    if (!all_zero(n->data, bytes))
      h = mix(h, n->data, bytes);
  }
  return h;
}

static bool same_data(const dlc_node *a, const dlc_node *b) {
  size_t bytes = dlc_type_bytes(&a->type);
  if (a->data && b->data)
    return memcmp(a->data, b->data, bytes) == 0;
  if (!a->data && !b->data)
    return true;
  return all_zero(a->data ? a->data : b->data, bytes);
}

static bool same(const dlc_node *a, const dlc_node *b) {
  if (a->op != b->op || a->nin != b->nin || !dlc_type_equal(&a->type, &b->type) ||
      !dlc_attrs_equal(&a->attr, &b->attr))
    return false;
  bool in_order = true;
  for (int i = 0; i < a->nin; i++)
    if (a->in[i] != b->in[i])
      in_order = false;
  if (!in_order &&
      !(commutes(a) && a->in[0] == b->in[1] && a->in[1] == b->in[0]))
    return false;
  return a->op != DLC_OP_CONST || same_data(a, b);
}

typedef struct table {
  dlc_node **slots;
  uint64_t mask;
} table;

/* Returns the node equal to n already in the table, or inserts n and
 * returns NULL. The table is sized for every node, so it never fills. */
static dlc_node *find_or_insert(table *t, dlc_node *n) {
  for (uint64_t i = hash(n) & t->mask;; i = (i + 1) & t->mask) {
    if (!t->slots[i]) {
      t->slots[i] = n;
      return NULL;
    }
    if (same(t->slots[i], n))
      return t->slots[i];
  }
}

dlc_status dlc_pass_cse(dlc_graph *g, dlc_diag *d) {
  (void)d;
  uint64_t cap = 16;
  while (cap < 2 * (uint64_t)g->nnodes)
    cap *= 2;
  table t = {dlc_xcalloc(cap, sizeof *t.slots), cap - 1};
  /* repl[id]: the node that replaced node id, or NULL. */
  dlc_node **repl = dlc_xcalloc((size_t)g->next_id, sizeof *repl);
  for (int i = 0; i < g->nnodes; i++) {
    dlc_node *n = g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (repl[n->in[j]->id])
        n->in[j] = repl[n->in[j]->id];
    if (!mergeable(n))
      continue;
    dlc_node *first = find_or_insert(&t, n);
    if (first) {
      repl[n->id] = first;
      n->dead = true;
    }
  }
  for (int i = 0; i < g->noutputs; i++) {
    dlc_node *o = g->outputs[i].node;
    if (repl[o->id])
      g->outputs[i].node = repl[o->id];
  }
  free(repl);
  free(t.slots);
  dlc_graph_compact(g);
  return DLC_OK;
}
