/* The graph-language frontend: reads a .dsl program (docs/language.md),
 * lowers it to the graph IR, and reads .safetensors weight files. User
 * mistakes are reported to a diagnostic sink, never by exiting. */
#ifndef DLC_FRONTEND_H
#define DLC_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/diag.h"
#include "ir/graph.h"

typedef struct dlc_safetensors dlc_safetensors;

/* Opens and validates a .safetensors file; NULL with an error naming the
 * file on failure. */
dlc_safetensors *dlc_safetensors_open(const char *path, dlc_diag *d);
void dlc_safetensors_close(dlc_safetensors *st); /* NULL is harmless */

/* One tensor of an open file. Pointers live as long as the file is open. */
typedef struct dlc_st_tensor {
  const char *name;
  const char *dtype_name; /* as written in the file: "F32", "BF16", ... */
  bool supported;         /* F32, F64, I32, I64 or BOOL: dtype is valid */
  dlc_dtype dtype;
  int rank;
  const int64_t *dims;
  int64_t numel;
  const void *data; /* inside the file's mapping, possibly unaligned */
  size_t nbytes;
} dlc_st_tensor;

/* The path the file was opened with. */
const char *dlc_safetensors_path(const dlc_safetensors *st);
/* Number of tensors; they are numbered 0.. in the order of the header. */
int dlc_safetensors_count(const dlc_safetensors *st);
const dlc_st_tensor *dlc_safetensors_tensor(const dlc_safetensors *st, int i);
/* The number of the tensor called name, or -1. */
int dlc_safetensors_find(const dlc_safetensors *st, const char *name);

/* Parses a .dsl file and lowers it to a graph. weights (may be NULL) binds
 * `weight` declarations without an initializer. Returns NULL when any
 * error was reported. */
dlc_graph *dlc_frontend_compile_file(const char *path, dlc_safetensors *weights,
                                     dlc_diag *d);
/* The same for text already in memory (len bytes, NUL bytes allowed);
 * path names it in diagnostics and anchors load() paths. */
dlc_graph *dlc_frontend_compile(const char *path, const char *text, size_t len,
                                dlc_safetensors *weights, dlc_diag *d);

#endif
