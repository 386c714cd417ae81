/* Internal to the LLVM backend: building the LLVM module from loop IR. */
#ifndef DLC_LLVM_CODEGEN_H
#define DLC_LLVM_CODEGEN_H

#include <llvm-c/Core.h>

#include "ir/loop.h"

/* Builds the module: one internal function per kernel, the host run
 * function, the ABI tables and the exported entry symbol. attrs are the
 * target-cpu/target-features strings set on every function. */
LLVMModuleRef dlc_llvm_codegen(LLVMContextRef ctx, const dlc_lmodule *m,
                               const char *cpu, const char *features);

#endif
