/* The ONNX frontend: reads a .onnx file (protobuf, through the code
 * protoc-c generates from Debian's onnx.proto) into the graph IR, so that
 * everything after the frontend is shared with the graph language. */
#ifndef DLC_ONNX_IMPORT_H
#define DLC_ONNX_IMPORT_H

#include "ir/graph.h"

typedef struct dlc_onnx_options {
  /* Bindings for dynamic input dimensions, "NAME=1x3x224x224"; nshapes
   * entries. A dimension that stays unbound is an error that lists the
   * inputs and says how to bind them. */
  const char *const *shapes;
  int nshapes;
} dlc_onnx_options;

/* Imports the model at path. Returns NULL when any error was reported;
 * every error names the file (and the node, where there is one). */
dlc_graph *dlc_onnx_import_file(const char *path, const dlc_onnx_options *o,
                                dlc_diag *d);

#endif
