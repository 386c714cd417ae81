/* The ONNX importer (placeholder until written). */
#include "onnx_import.h"

dlc_graph *dlc_onnx_import_file(const char *path, const dlc_onnx_options *o,
                                dlc_diag *d) {
  (void)o;
  dlc_error(d, (dlc_loc){path, 0, 0}, "ONNX import is not implemented yet");
  return NULL;
}
