/* Shared by the ONNX importer's files: import.c (the model, graph, tensors,
 * inputs, initializers, external data, validation, the node loop) and
 * ops.c (one converter per ONNX operator, in the table ops.def). */
#ifndef DLC_ONNX_INTERNAL_H
#define DLC_ONNX_INTERNAL_H

#include <stdbool.h>

#include "ir/graph.h"
#include "onnx/onnx.pb-c.h"

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

#endif
