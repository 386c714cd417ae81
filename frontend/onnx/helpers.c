/* What converters call: defining outputs, reading attributes with type
 * checks, constant inputs, and building graph nodes with the folding of
 * all-constant ones (so that exporters' shape arithmetic becomes data). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/util.h"
#include "onnx_internal.h"

/* Results larger than this stay nodes for the fold pass: the importer folds
 * to see shape arithmetic, not to precompute big tensors. */
#define FOLD_MAX_BYTES ((size_t)64 << 20)

void onnx_define(onnx_node_ctx *nc, int output_index, dlc_node *n) {
  DLC_ASSERT(output_index >= 0 && (size_t)output_index < nc->node->n_output);
  DLC_ASSERT(n != NULL);
  const char *name = nc->node->output[output_index];
  if (!name || !*name)
    return; /* an optional output nobody asked for */
  onnx_value *v = onnx_value_get(nc->ctx, &nc->ctx->values, name);
  v->state = ONNX_VALUE_NODE;
  v->node = n;
}

static const char *const attr_type_names[] = {
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED] = "UNDEFINED",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT] = "FLOAT",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT] = "INT",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING] = "STRING",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR] = "TENSOR",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH] = "GRAPH",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS] = "FLOATS",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS] = "INTS",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS] = "STRINGS",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS] = "TENSORS",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS] = "GRAPHS",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR] = "SPARSE_TENSOR",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS] = "SPARSE_TENSORS",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO] = "TYPE_PROTO",
    [ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS] = "TYPE_PROTOS",
};

static const char *attr_type_name(onnx_ctx *c, int t) {
  if (t >= 0 && (size_t)t < sizeof attr_type_names / sizeof *attr_type_names &&
      attr_type_names[t])
    return attr_type_names[t];
  return dlc_arena_printf(c->arena, "%d", t);
}

/* The declared type; very old files leave it out, so then the field that
 * is set says it. */
static int attr_type(const Onnx__AttributeProto *a) {
  if (a->has_type)
    return (int)a->type;
  if (a->has_f)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (a->has_i)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (a->has_s)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (a->t)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (a->g)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
  if (a->n_floats)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (a->n_ints)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (a->n_strings)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

/* The attribute called name when present; NULL when absent, and NULL after
 * an error when present with a type other than want. */
static const Onnx__AttributeProto *find_attr(onnx_node_ctx *nc,
                                             const char *name, int want) {
  const Onnx__NodeProto *node = nc->node;
  for (size_t i = 0; i < node->n_attribute; i++) {
    const Onnx__AttributeProto *a = node->attribute[i];
    if (!a->name || strcmp(a->name, name) != 0)
      continue;
    int t = attr_type(a);
    if (t != want) {
      dlc_error(nc->d, nc->loc, "%s: attribute '%s' has type %s, expected %s",
                nc->what, name, attr_type_name(nc->ctx, t),
                attr_type_name(nc->ctx, want));
      return NULL;
    }
    return a;
  }
  return NULL;
}

bool onnx_attr_int(onnx_node_ctx *nc, const char *name, int64_t *v) {
  const Onnx__AttributeProto *a =
      find_attr(nc, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  if (!a)
    return false;
  *v = a->i;
  return true;
}

bool onnx_attr_float(onnx_node_ctx *nc, const char *name, double *v) {
  const Onnx__AttributeProto *a =
      find_attr(nc, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  if (!a)
    return false;
  *v = a->f;
  return true;
}

bool onnx_attr_ints(onnx_node_ctx *nc, const char *name, int64_t **v, int *n) {
  const Onnx__AttributeProto *a =
      find_attr(nc, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  if (!a)
    return false;
  if (a->n_ints > INT_MAX) { /* a file over 2 GiB of varints */
    dlc_error(nc->d, nc->loc, "%s: attribute '%s' has %zu values, too many",
              nc->what, name, a->n_ints);
    return false;
  }
  *v = a->ints;
  *n = (int)a->n_ints;
  return true;
}

bool onnx_attr_string(onnx_node_ctx *nc, const char *name, const char **s) {
  const Onnx__AttributeProto *a =
      find_attr(nc, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  if (!a)
    return false;
  /* bytes in the file, not NUL-terminated */
  *s = dlc_arena_strndup(nc->ctx->arena, a->s.data ? (const char *)a->s.data : "",
                         a->s.len);
  return true;
}

const Onnx__TensorProto *onnx_attr_tensor(onnx_node_ctx *nc, const char *name) {
  const Onnx__AttributeProto *a =
      find_attr(nc, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  if (a && !a->t)
    dlc_error(nc->d, nc->loc, "%s: attribute '%s' holds no tensor", nc->what,
              name);
  return a ? a->t : NULL;
}

const void *onnx_const_input(onnx_node_ctx *nc, int i) {
  if (i < 0 || i >= nc->nin || !nc->in[i])
    return NULL;
  dlc_op op = nc->in[i]->op;
  return op == DLC_OP_WEIGHT || op == DLC_OP_CONST ? nc->in[i]->data : NULL;
}

dlc_node *onnx_build(onnx_node_ctx *nc, dlc_op op, int nin, dlc_node *const *in,
                     const dlc_attrs *a) {
  for (int i = 0; i < nin; i++)
    DLC_ASSERT(in[i] != NULL);
  dlc_node *n = dlc_graph_build(nc->g, op, nc->loc, nin, in, a, nc->d);
  if (!n) {
    dlc_note(nc->d, nc->loc, "in %s", nc->what);
    return NULL;
  }
  if (dlc_ops[op].flags & DLC_OPF_NOFOLD)
    return n;
  for (int i = 0; i < n->nin; i++)
    if (!(dlc_ops[n->in[i]->op].flags & DLC_OPF_CONST))
      return n;
  size_t bytes = dlc_type_bytes(&n->type);
  if (bytes > FOLD_MAX_BYTES)
    return n;
  const void **operands = dlc_xmalloc(sizeof *operands * (size_t)n->nin);
  for (int i = 0; i < n->nin; i++)
    operands[i] = n->in[i]->data;
  void *out = dlc_xmalloc(bytes ? bytes : 1);
  dlc_node *k = n;
  /* the unused built node stays; dce removes it */
  if (dlc_eval_node(n, (const void *const *)operands, out) == DLC_OK)
    k = dlc_graph_add_const(nc->g, &n->type, out, nc->loc);
  free(out);
  free(operands);
  return k;
}
