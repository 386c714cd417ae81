/* The ONNX importer: reads a .onnx file with protobuf-c, checks it, and
 * builds the graph IR: inputs (with --shape bindings for dynamic
 * dimensions), initializers as weights, one converter call per node in the
 * given order, outputs. Every problem in the file is a located error. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ir/util.h"
#include "onnx_import.h"
#include "onnx_internal.h"

#define MIN_OPSET 7
#define MAX_OPSET 17
/* protobuf-c unpacks nested messages recursively with no limit; a hostile
 * file could nest deep enough to overflow the stack. Real models nest a few
 * levels per subgraph. */
#define MAX_NESTING 100
/* the unsupported-operator listing names this many nodes per operator and
 * this many operators (a hostile file may have very many) */
#define MAX_NAMED_NODES 8
#define MAX_NAMED_OPS 100

/* ---- the value table ---- */

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

onnx_value *onnx_value_find(const onnx_value_map *m, const char *name) {
  if (!m->cap)
    return NULL;
  for (size_t i = hash_name(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    onnx_value *v = &m->slots[i];
    if (!v->name)
      return NULL;
    if (strcmp(v->name, name) == 0)
      return v;
  }
}

static void map_grow(onnx_ctx *c, onnx_value_map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  onnx_value *slots = dlc_arena_alloc(c->arena, cap * sizeof *slots);
  for (size_t j = 0; j < m->cap; j++) {
    onnx_value *v = &m->slots[j];
    if (!v->name)
      continue;
    size_t i = hash_name(v->name) & (cap - 1);
    while (slots[i].name)
      i = (i + 1) & (cap - 1);
    slots[i] = *v;
  }
  m->slots = slots;
  m->cap = cap;
}

onnx_value *onnx_value_get(onnx_ctx *c, onnx_value_map *m, const char *name) {
  onnx_value *v = onnx_value_find(m, name);
  if (v)
    return v;
  if ((m->count + 1) * 2 > m->cap)
    map_grow(c, m);
  size_t i = hash_name(name) & (m->cap - 1);
  while (m->slots[i].name)
    i = (i + 1) & (m->cap - 1);
  v = &m->slots[i];
  *v = (onnx_value){.name = dlc_arena_strdup(c->arena, name),
                    .state = ONNX_VALUE_NODE,
                    .producer = ONNX_FROM_INPUT};
  m->count++;
  return v;
}

/* ---- reading the file ---- */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

/* False when messages nest deeper than MAX_NESTING. Anything else wrong is
 * left to protobuf-c, which reports it. */
static bool nesting_ok(const uint8_t *p, size_t len,
                       const ProtobufCMessageDescriptor *desc, int depth) {
  if (depth > MAX_NESTING)
    return false;
  const uint8_t *end = p + len;
  while (p < end) {
    uint64_t tag, v;
    if (!read_varint(&p, end, &tag))
      return true;
    switch (tag & 7) {
    case 0:
      if (!read_varint(&p, end, &v))
        return true;
      break;
    case 1:
      if (end - p < 8)
        return true;
      p += 8;
      break;
    case 5:
      if (end - p < 4)
        return true;
      p += 4;
      break;
    case 2: {
      if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p))
        return true;
      uint64_t field = tag >> 3;
      const ProtobufCFieldDescriptor *f =
          field <= UINT32_MAX
              ? protobuf_c_message_descriptor_get_field(desc, (unsigned)field)
              : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
          !nesting_ok(p, (size_t)v, f->descriptor, depth + 1))
        return false;
      p += v;
      break;
    }
    default:
      return true;
    }
  }
  return true;
}

static Onnx__ModelProto *read_model(onnx_ctx *c) {
  FILE *f = fopen(c->path, "rb");
  if (!f) {
    dlc_error(c->d, c->loc, "cannot read file: %s", strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    dlc_error(c->d, c->loc, "cannot read file: not a regular file");
    fclose(f);
    return NULL;
  }
  /* mapped, not read: a model's weights are most of it, and unpacking
   * copies them anyway */
  size_t n = (size_t)st.st_size;
  const uint8_t *buf = (const uint8_t *)"";
  void *map = NULL;
  if (n && (map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fileno(f), 0)) ==
               MAP_FAILED) {
    dlc_error(c->d, c->loc, "cannot read file: %s", strerror(errno));
    fclose(f);
    return NULL;
  }
  fclose(f);
  if (map)
    buf = map;
  Onnx__ModelProto *m = NULL;
  if (!nesting_ok(buf, n, &onnx__model_proto__descriptor, 0))
    dlc_error(c->d, c->loc,
              "not a valid ONNX model (messages nested more than %d deep)",
              MAX_NESTING);
  else if (!(m = onnx__model_proto__unpack(NULL, n, buf)))
    dlc_error(c->d, c->loc, "not a valid ONNX model (protobuf parse failed)");
  if (map)
    munmap(map, n);
  return m;
}

/* The folder external data locations are relative to. */
static const char *model_dir(onnx_ctx *c) {
  const char *slash = strrchr(c->path, '/');
  if (!slash)
    return ".";
  if (slash == c->path)
    return "/";
  return dlc_arena_strndup(c->arena, c->path, (size_t)(slash - c->path));
}

/* "model" for "dir/model.onnx": the name of a graph that has none. */
static const char *file_stem(onnx_ctx *c) {
  const char *base = strrchr(c->path, '/');
  base = base ? base + 1 : c->path;
  const char *dot = strrchr(base, '.');
  return dot && dot != base ? dlc_arena_strndup(c->arena, base, (size_t)(dot - base))
                            : base;
}

static bool is_default_domain(const char *domain) {
  return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

static dlc_status find_opset(onnx_ctx *c) {
  const Onnx__ModelProto *m = c->model;
  bool seen = false;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *op = m->opset_import[i];
    if (!is_default_domain(op->domain)) {
      if (!onnx_value_find(&c->domains, op->domain)) /* the first counts */
        onnx_value_get(c, &c->domains, op->domain)->producer = (int)i;
      continue;
    }
    int64_t v = op->has_version ? op->version : 0;
    if (seen && v != c->opset) {
      dlc_error(c->d, c->loc,
                "the model imports the default domain twice, at opsets %" PRId64
                " and %" PRId64,
                c->opset, v);
      return DLC_ERROR;
    }
    seen = true;
    c->opset = v;
  }
  if (!seen) {
    /* only a model with default-domain nodes needs one */
    for (size_t i = 0; i < m->graph->n_node; i++)
      if (is_default_domain(m->graph->node[i]->domain)) {
        dlc_error(c->d, c->loc,
                  "the model imports no opset of the default ONNX domain "
                  "(opset_import)");
        return DLC_ERROR;
      }
    return DLC_OK;
  }
  if (c->opset < MIN_OPSET || c->opset > MAX_OPSET) {
    dlc_error(c->d, c->loc,
              "the model uses opset %" PRId64
              " of the default ONNX domain; dlcc supports opsets %d to %d",
              c->opset, MIN_OPSET, MAX_OPSET);
    return DLC_ERROR;
  }
  return DLC_OK;
}

/* The opset a node's domain is imported at, or -1. */
static int64_t domain_opset(onnx_ctx *c, const char *domain) {
  if (is_default_domain(domain))
    return c->opset;
  onnx_value *v = onnx_value_find(&c->domains, domain);
  if (!v)
    return -1;
  const Onnx__OperatorSetIdProto *op = c->model->opset_import[v->producer];
  return op->has_version ? op->version : -1;
}

/* "'conv1'" or, for a node without a name, "#3" (its index). */
static const char *node_label(onnx_ctx *c, const Onnx__NodeProto *n, int i) {
  if (n->name && *n->name)
    return dlc_arena_printf(c->arena, "'%s'", n->name);
  return dlc_arena_printf(c->arena, "#%d", i);
}

static const char *node_what(onnx_ctx *c, int i) {
  const Onnx__NodeProto *n = c->model->graph->node[i];
  if (!n->op_type || !*n->op_type)
    return dlc_arena_printf(c->arena, "node %s", node_label(c, n, i));
  return dlc_arena_printf(c->arena, "node %s (%s)", node_label(c, n, i),
                          n->op_type);
}

/* ---- definitions: every value name defined once ---- */

static dlc_status check_definitions(onnx_ctx *c) {
  const Onnx__GraphProto *gp = c->model->graph;
  dlc_status st = DLC_OK;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const char *name = gp->initializer[i]->name;
    if (!name || !*name) {
      dlc_error(c->d, c->loc, "initializer #%zu has no name", i);
      st = DLC_ERROR;
    } else if (onnx_value_find(&c->values, name)) {
      dlc_error(c->d, c->loc, "initializer '%s' is defined twice", name);
      st = DLC_ERROR;
    } else
      onnx_value_get(c, &c->values, name)->producer = ONNX_FROM_INITIALIZER;
  }
  for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
    const Onnx__SparseTensorProto *s = gp->sparse_initializer[i];
    const char *name = s->values && s->values->name ? s->values->name : "";
    dlc_error(c->d, c->loc, "sparse initializer '%s' is not supported", name);
    st = DLC_ERROR;
  }
  for (size_t i = 0; i < gp->n_input; i++) {
    const char *name = gp->input[i]->name;
    onnx_value *v;
    if (!name || !*name) {
      dlc_error(c->d, c->loc, "graph input #%zu has no name", i);
      st = DLC_ERROR;
    } else if (!(v = onnx_value_find(&c->values, name)))
      onnx_value_get(c, &c->values, name)->producer = ONNX_FROM_INPUT;
    else if (v->producer == ONNX_FROM_INPUT) {
      dlc_error(c->d, c->loc, "graph input '%s' is listed twice", name);
      st = DLC_ERROR;
    }
    /* an input that is also an initializer is the initializer */
  }
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    if (!n->op_type || !*n->op_type) {
      dlc_error(c->d, c->loc, "%s has no op_type", node_what(c, (int)i));
      st = DLC_ERROR;
    }
    for (size_t j = 0; j < n->n_output; j++) {
      const char *name = n->output[j];
      if (!*name)
        continue;
      onnx_value *v = onnx_value_find(&c->values, name);
      onnx_value *p = onnx_value_find(&c->producers, name);
      if (v || p) {
        const char *by =
            p ? (p->producer == (int)i ? "this node itself"
                                        : node_what(c, p->producer))
            : v->producer == ONNX_FROM_INITIALIZER ? "an initializer"
                                                   : "a graph input";
        dlc_error(c->d, c->loc, "%s: output '%s' is already defined by %s",
                  node_what(c, (int)i), name, by);
        st = DLC_ERROR;
        continue;
      }
      onnx_value_get(c, &c->producers, name)->producer = (int)i;
    }
  }
  return st;
}

/* ---- initializers ---- */

static dlc_status add_initializers(onnx_ctx *c) {
  Onnx__GraphProto *gp = c->model->graph;
  dlc_status st = DLC_OK;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    Onnx__TensorProto *t = gp->initializer[i];
    onnx_value *v = t->name && *t->name ? onnx_value_find(&c->values, t->name)
                                        : NULL;
    if (!v || v->producer != ONNX_FROM_INITIALIZER || v->node ||
        v->state != ONNX_VALUE_NODE)
      continue; /* reported by check_definitions */
    const char *what = dlc_arena_printf(c->arena, "initializer '%s'", t->name);
    dlc_type type;
    const void *data;
    void *owned;
    bool empty;
    if (onnx_tensor_decode(c, t, what, &type, &data, &owned, &empty) != DLC_OK) {
      v->state = ONNX_VALUE_POISON;
      st = DLC_ERROR;
      continue;
    }
    if (empty)
      v->state = ONNX_VALUE_EMPTY;
    else
      v->node = dlc_graph_add_weight(c->g, t->name, &type, data, c->loc);
    free(owned);
    /* the weight has its copy: keep the peak at about twice the weights */
    if (t->has_raw_data && t->raw_data.data) {
      free(t->raw_data.data);
      t->raw_data.data = NULL;
      t->raw_data.len = 0;
      t->has_raw_data = 0;
    }
  }
  return st;
}

/* ---- the nodes ---- */

typedef struct unsupported {
  const char *op;    /* "Foo", or "com.example.Foo" for another domain */
  int64_t opset;     /* -1: the domain is not imported */
  char *nodes;       /* "'a', 'b'" */
  int count;
} unsupported;

typedef struct unsupported_list {
  unsupported *v;
  int n, cap;
  onnx_value_map index; /* "op@opset" -> its entry in v (as producer) */
} unsupported_list;

static void note_unsupported(onnx_ctx *c, unsupported_list *l, int i) {
  const Onnx__NodeProto *node = c->model->graph->node[i];
  const char *op =
      is_default_domain(node->domain)
          ? node->op_type
          : dlc_arena_printf(c->arena, "%s.%s", node->domain, node->op_type);
  int64_t opset = domain_opset(c, node->domain);
  const char *key = dlc_arena_printf(c->arena, "%s@%" PRId64, op, opset);
  onnx_value *k = onnx_value_find(&l->index, key);
  if (!k) {
    DLC_PUSH(l->v, l->n, l->cap, ((unsupported){op, opset, "", 0}));
    onnx_value_get(c, &l->index, key)->producer = l->n - 1;
    k = onnx_value_find(&l->index, key);
  }
  unsupported *u = &l->v[k->producer];
  if (u->count < MAX_NAMED_NODES)
    u->nodes = dlc_arena_printf(c->arena, "%s%s%s", u->nodes,
                                u->count ? ", " : "", node_label(c, node, i));
  u->count++;
}

static void report_unsupported(onnx_ctx *c, const unsupported_list *l) {
  char *s;
  size_t len;
  FILE *f = open_memstream(&s, &len);
  DLC_ASSERT(f); /* out of memory */
  for (int k = 0; k < l->n && k < MAX_NAMED_OPS; k++) {
    const unsupported *u = &l->v[k];
    fprintf(f, "%s%s (opset ", k ? "; " : "", u->op);
    if (u->opset >= 0)
      fprintf(f, "%" PRId64 ")", u->opset);
    else
      fputs("?)", f);
    fprintf(f, " in node%s %s", u->count > 1 ? "s" : "", u->nodes);
    if (u->count > MAX_NAMED_NODES)
      fprintf(f, " and %d more", u->count - MAX_NAMED_NODES);
  }
  if (l->n > MAX_NAMED_OPS)
    fprintf(f, "; and %d more operators", l->n - MAX_NAMED_OPS);
  fclose(f);
  dlc_error(c->d, c->loc, "unsupported operator%s: %s", l->n > 1 ? "s" : "",
            s);
  free(s);
}

/* Looks up input j of node i; false after an error or when poisoned
 * (*poisoned says which). */
static bool node_input(onnx_ctx *c, int i, int j, const char *what,
                       dlc_node **out, bool *poisoned) {
  const char *name = c->model->graph->node[i]->input[j];
  *out = NULL;
  if (!*name)
    return true; /* an absent optional input */
  onnx_value *v = onnx_value_find(&c->values, name);
  if (v) {
    switch (v->state) {
    case ONNX_VALUE_NODE:
      if (!v->node)
        break; /* a later node's output (the entry is a placeholder) */
      *out = v->node;
      return true;
    case ONNX_VALUE_EMPTY:
      return true;
    case ONNX_VALUE_POISON:
      *poisoned = true;
      return false;
    case ONNX_VALUE_MISSING:
      dlc_error(c->d, c->loc,
                "%s: input '%s' is an output of %s that dlcc does not "
                "produce",
                what, name, node_what(c, v->producer));
      return false;
    }
  }
  onnx_value *p = onnx_value_find(&c->producers, name);
  if (p && p->producer == i)
    dlc_error(c->d, c->loc, "%s: input '%s' is its own output (a cycle)", what,
              name);
  else if (p)
    dlc_error(c->d, c->loc,
              "%s: input '%s' is defined only by a later node, %s: the nodes "
              "are not in topological order or form a cycle",
              what, name, node_what(c, p->producer));
  else
    dlc_error(c->d, c->loc,
              "%s: input '%s' is not defined by any graph input, initializer "
              "or node",
              what, name);
  return false;
}

static void set_outputs(onnx_ctx *c, int i, onnx_value_state st) {
  const Onnx__NodeProto *node = c->model->graph->node[i];
  for (size_t j = 0; j < node->n_output; j++) {
    if (!*node->output[j])
      continue;
    onnx_value *v = onnx_value_get(c, &c->values, node->output[j]);
    if (v->state == ONNX_VALUE_NODE && v->node)
      continue; /* defined */
    v->state = st;
    v->producer = i;
  }
}

static dlc_status convert_nodes(onnx_ctx *c) {
  const Onnx__GraphProto *gp = c->model->graph;
  unsupported_list unsup = {0};
  dlc_status st = DLC_OK;
  for (size_t k = 0; k < gp->n_node; k++) {
    int i = (int)k;
    const Onnx__NodeProto *node = gp->node[i];
    onnx_node_ctx nc = {
        .ctx = c,
        .g = c->g,
        .d = c->d,
        .node = node,
        .opset = c->opset,
        .loc = c->loc,
        .what = node_what(c, i),
        .nin = (int)node->n_input,
    };
    nc.in = dlc_arena_alloc(c->arena, sizeof *nc.in * (node->n_input + 1));
    bool ok = true, poisoned = false;
    for (int j = 0; j < nc.nin; j++)
      if (!node_input(c, i, j, nc.what, &nc.in[j], &poisoned))
        ok = false;
    if (!ok && !poisoned)
      st = DLC_ERROR;
    onnx_convert_fn fn = is_default_domain(node->domain)
                             ? onnx_find_converter(node->op_type, c->opset)
                             : NULL;
    if (!fn) {
      note_unsupported(c, &unsup, i);
      ok = false;
    }
    if (!ok) {
      set_outputs(c, i, ONNX_VALUE_POISON);
      continue;
    }
    int errors = dlc_diag_errors(c->d);
    if (fn(&nc) != DLC_OK || dlc_diag_errors(c->d) != errors) {
      DLC_ASSERT(dlc_diag_errors(c->d) > errors); /* converters report */
      set_outputs(c, i, ONNX_VALUE_POISON);
      st = DLC_ERROR;
      continue;
    }
    set_outputs(c, i, ONNX_VALUE_MISSING);
  }
  if (unsup.n) {
    report_unsupported(c, &unsup);
    st = DLC_ERROR;
  }
  free(unsup.v);
  return st;
}

/* ---- outputs ---- */

static dlc_status add_outputs(onnx_ctx *c) {
  const Onnx__GraphProto *gp = c->model->graph;
  onnx_value_map seen = {0};
  dlc_status st = DLC_OK;
  if (gp->n_output == 0) {
    dlc_error(c->d, c->loc, "the graph has no outputs");
    return DLC_ERROR;
  }
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = gp->output[i]->name;
    if (!name || !*name) {
      dlc_error(c->d, c->loc, "graph output #%zu has no name", i);
      st = DLC_ERROR;
      continue;
    }
    if (onnx_value_find(&seen, name)) {
      dlc_error(c->d, c->loc, "graph output '%s' is listed twice", name);
      st = DLC_ERROR;
      continue;
    }
    onnx_value_get(c, &seen, name);
    onnx_value *v = onnx_value_find(&c->values, name);
    if (v && v->state == ONNX_VALUE_NODE && v->node) {
      dlc_graph_add_output(c->g, name, v->node, c->loc);
      continue;
    }
    st = DLC_ERROR;
    if (v && v->state == ONNX_VALUE_POISON)
      continue; /* reported */
    if (v && v->state == ONNX_VALUE_EMPTY)
      dlc_error(c->d, c->loc,
                "graph output '%s' is an empty initializer (tensors with a 0 "
                "dimension are not supported)",
                name);
    else if (v && v->state == ONNX_VALUE_MISSING)
      dlc_error(c->d, c->loc,
                "graph output '%s' is an output of %s that dlcc does not "
                "produce",
                name, node_what(c, v->producer));
    else
      dlc_error(c->d, c->loc,
                "graph output '%s' is not defined by any graph input, "
                "initializer or node",
                name);
  }
  return st;
}

/* ---- the model ---- */

dlc_graph *dlc_onnx_import_file(const char *path, const dlc_onnx_options *o,
                                dlc_diag *d) {
  onnx_ctx c = {.arena = dlc_arena_new(), .d = d};
  c.path = dlc_diag_intern(d, path);
  c.loc = (dlc_loc){c.path, 0, 0};
  c.dir = model_dir(&c);
  int errors = dlc_diag_errors(d);
  Onnx__ModelProto *m = read_model(&c);
  c.model = m;
  dlc_graph *g = NULL;
  if (!m)
    goto out;
  if (!m->graph) {
    dlc_error(d, c.loc, "not a valid ONNX model (it has no graph)");
    goto out;
  }
  if (find_opset(&c) != DLC_OK || check_definitions(&c) != DLC_OK)
    goto out;
  g = c.g = dlc_graph_new(m->graph->name && *m->graph->name
                              ? m->graph->name
                              : file_stem(&c));
  /* each step reports what it can and poisons what failed, so that one run
   * shows every problem */
  add_initializers(&c);
  onnx_add_inputs(&c, o);
  convert_nodes(&c);
  add_outputs(&c);
out:
  if (m)
    onnx__model_proto__free_unpacked(m, NULL);
  dlc_arena_free(c.arena);
  if (g && dlc_diag_errors(d) != errors) {
    dlc_graph_free(g);
    g = NULL;
  }
  return g;
}
