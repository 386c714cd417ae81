/* The CPU backend: loop IR to LLVM IR through the LLVM C API, optimized
 * for the target and written as LLVM IR, assembly, an object file, or a
 * model.so linked with the weights embedded. */
#ifndef DLC_LLVM_BACKEND_H
#define DLC_LLVM_BACKEND_H

#include "ir/loop.h"

typedef enum dlc_llvm_emit {
  DLC_LLVM_EMIT_IR,
  DLC_LLVM_EMIT_ASM,
  DLC_LLVM_EMIT_OBJ,
  DLC_LLVM_EMIT_SO,
} dlc_llvm_emit;

typedef struct dlc_llvm_options {
  const char *triple;   /* NULL: the host */
  const char *cpu;      /* NULL or "native": the host CPU */
  const char *features; /* NULL: the host's when cpu is the host, else "" */
  int opt_level;        /* 0 to 3 */
  const char *cc;       /* linker driver; NULL: $DLCC_CC, else "cc" */
} dlc_llvm_options;

/* Writes m in the requested form to path ("-" is stdout for IR and asm). */
dlc_status dlc_llvm_emit_module(const dlc_lmodule *m, dlc_llvm_emit what,
                                const char *path, const dlc_llvm_options *o,
                                dlc_diag *d);

/* The host's target triple and CPU name, for dlcc --version; malloc'd. */
char *dlc_llvm_host_description(void);

#endif
