/* ONNX operator converters (placeholder until the table is written). */
#include "onnx_internal.h"

onnx_convert_fn onnx_find_converter(const char *op_type, int64_t opset) {
  (void)op_type;
  (void)opset;
  return NULL;
}
