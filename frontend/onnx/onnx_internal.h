/* Shared by the ONNX importer's files: import.c (the model, graph, tensors,
 * inputs, initializers, external data, validation, the node loop) and
 * ops.c (one converter per ONNX operator, in the table ops.def). */
#ifndef DLC_ONNX_INTERNAL_H
#define DLC_ONNX_INTERNAL_H

#include <stdbool.h>

#include "ir/graph.h"
#include "onnx/onnx.pb-c.h"
#include "onnx_import.h"

typedef struct onnx_ctx onnx_ctx;

/* What a converter sees of the importer. */
typedef struct onnx_node_ctx {
  onnx_ctx *ctx;
  dlc_graph *g;
  dlc_diag *d;
  const Onnx__NodeProto *node;
  int64_t opset;   /* of the default ("" or "ai.onnx") domain */
  dlc_loc loc;     /* file = the model path, line 0: no position */
  const char *what; /* "node 'conv1' (Conv)" for messages */
  int nin;          /* node->n_input; an empty name is an absent input */
  dlc_node **in;    /* NULL where absent */
} onnx_node_ctx;

/* A converter builds graph nodes for one ONNX node and defines each of its
 * outputs with onnx_define. It reports its own errors (prefixed with
 * nc->what) and returns DLC_ERROR on failure. */
typedef dlc_status (*onnx_convert_fn)(onnx_node_ctx *nc);

/* Defines ONNX value name (an output of nc->node) as n. */
void onnx_define(onnx_node_ctx *nc, int output_index, dlc_node *n);

/* Attributes of nc->node; false (and the default left) when absent.
 * A present attribute of the wrong type is an error. */
bool onnx_attr_int(onnx_node_ctx *nc, const char *name, int64_t *v);
bool onnx_attr_float(onnx_node_ctx *nc, const char *name, double *v);
bool onnx_attr_ints(onnx_node_ctx *nc, const char *name, int64_t **v, int *n);
bool onnx_attr_string(onnx_node_ctx *nc, const char *name, const char **s);
const Onnx__TensorProto *onnx_attr_tensor(onnx_node_ctx *nc, const char *name);

/* The data of input i when it is a compile-time constant (a WEIGHT or
 * CONST node, e.g. Reshape's shape or Clip's min), else NULL. */
const void *onnx_const_input(onnx_node_ctx *nc, int i);
/* A TensorProto's data as a new CONST node (checks sizes against dims). */
dlc_node *onnx_tensor_const(onnx_node_ctx *nc, const Onnx__TensorProto *t);

/* dlc_graph_build at nc->loc, then, when every operand is a constant,
 * evaluated at once into a CONST node: the shape arithmetic exporters emit
 * (Shape, Gather, Concat feeding Reshape) becomes constants that later
 * converters read with onnx_const_input. NULL after reporting an error. */
dlc_node *onnx_build(onnx_node_ctx *nc, dlc_op op, int nin, dlc_node *const *in,
                     const dlc_attrs *a);

/* The converter for op_type at opset, or NULL when unsupported. */
onnx_convert_fn onnx_find_converter(const char *op_type, int64_t opset);

/* ---- Importer internals (import.c, inputs.c, tensor.c, helpers.c);
 * converters need not read further. An initializer with a 0 dimension
 * (an empty tensor, e.g. Resize's roi) reaches converters as an absent
 * input: nc->in[i] NULL. ---- */

/* What a value name stands for while the graph is imported. */
typedef enum onnx_value_state {
  ONNX_VALUE_NODE,    /* defined: node */
  ONNX_VALUE_EMPTY,   /* an initializer with a 0 dimension: seen as absent */
  ONNX_VALUE_POISON,  /* its node failed or is unsupported (already reported) */
  ONNX_VALUE_MISSING, /* an output its node's converter does not produce */
} onnx_value_state;

enum { ONNX_FROM_INPUT = -1, ONNX_FROM_INITIALIZER = -2 };

typedef struct onnx_value {
  const char *name; /* NULL: a free slot */
  onnx_value_state state;
  dlc_node *node;   /* ONNX_VALUE_NODE */
  int producer;     /* the index of the ONNX node that produces it, or
                       ONNX_FROM_INPUT, ONNX_FROM_INITIALIZER */
} onnx_value;

/* A hash map from value name to onnx_value (open addressing; names are
 * copied into the importer's arena). */
typedef struct onnx_value_map {
  onnx_value *slots;
  size_t cap, count;
} onnx_value_map;

struct onnx_ctx {
  dlc_arena *arena; /* the import's own: names, tables, messages */
  dlc_graph *g;
  dlc_diag *d;
  const char *path; /* interned in d */
  const char *dir;  /* the model's folder ("." when none): external data */
  dlc_loc loc;      /* {path, 0, 0} */
  int64_t opset;    /* of the default domain; 0 when not imported */
  const Onnx__ModelProto *model;
  onnx_value_map values;    /* defined so far, in node order */
  onnx_value_map producers; /* every node output name -> its node */
  onnx_value_map domains;   /* other domains -> index in opset_import */
};

/* The entry for name, or NULL. */
onnx_value *onnx_value_find(const onnx_value_map *m, const char *name);
/* The entry for name, added (state NODE, node NULL, producer
 * ONNX_FROM_INPUT) when new. */
onnx_value *onnx_value_get(onnx_ctx *c, onnx_value_map *m, const char *name);

/* Decodes a TensorProto into its type and data, checking dims and data
 * length exactly and reading external data (confined to c->dir). what names
 * it in messages ("initializer 'w'"). *data points into t (possibly
 * unaligned: copy it) or into *owned (malloc'd, the caller frees). A tensor with a 0 dimension decodes with
 * *empty set, no data and no error. Returns DLC_ERROR after reporting. */
dlc_status onnx_tensor_decode(onnx_ctx *c, const Onnx__TensorProto *t,
                              const char *what, dlc_type *type,
                              const void **data, void **owned, bool *empty);

/* Adds the graph inputs that are not initializers (after
 * c->values holds every input and initializer name), binding dynamic
 * dimensions with o->shapes. A failed input's value is poisoned. */
dlc_status onnx_add_inputs(onnx_ctx *c, const dlc_onnx_options *o);

/* The ONNX name of a TensorProto data type ("FLOAT16"), or its number. */
const char *onnx_dtype_name(onnx_ctx *c, int32_t onnx_type);
/* Maps FLOAT, DOUBLE, INT32, INT64, BOOL; false for the others. */
bool onnx_dtype_map(int32_t onnx_type, dlc_dtype *out);

/* A dimension count limit: a tensor over 2^40 elements is an error. */
#define ONNX_MAX_NUMEL ((int64_t)1 << 40)

#endif
