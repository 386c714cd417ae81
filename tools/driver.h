/* The compiler pipeline behind one call: frontend, graph passes, lowering
 * to loop IR, the LLVM backend. Used by the dlcc tool and by tests. */
#ifndef DLC_DRIVER_H
#define DLC_DRIVER_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/diag.h"

typedef enum dlc_emit_kind {
  DLC_EMIT_SO,    /* model.so (the default) */
  DLC_EMIT_GRAPH, /* graph IR text after the passes */
  DLC_EMIT_LOOPS, /* loop IR text */
  DLC_EMIT_LLVM,  /* optimized LLVM IR */
  DLC_EMIT_ASM,   /* target assembly */
  DLC_EMIT_OBJ,   /* object file */
} dlc_emit_kind;

typedef struct dlc_compile_options {
  const char *input;    /* the .dsl file, or a .onnx file */
  const char *output;   /* path; "-" or NULL is stdout for text forms */
  const char *weights;  /* a .safetensors file, or NULL (.dsl only) */
  dlc_emit_kind emit;
  int opt_level;        /* 0 to 3 */
  const char *target;   /* triple, NULL: host */
  const char *cpu;      /* NULL: host */
  const char *features; /* NULL: the CPU's */
  const char *pipeline; /* graph passes, NULL: the default */
  bool print_after_all;
  const char *print_after;
  FILE *print_out;      /* dumps; NULL: stderr */
  bool no_tile;         /* skip the tile loop pass (dlc_pass_options) */
  /* .onnx only: bindings for dynamic input dimensions, "NAME=1x3x224x224" */
  const char *const *shapes;
  int nshapes;
} dlc_compile_options;

/* Parses an --emit value; false if unknown. */
bool dlc_emit_lookup(const char *name, dlc_emit_kind *out);

dlc_status dlc_compile(const dlc_compile_options *o, dlc_diag *d);

#endif
