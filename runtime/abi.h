/* The binary contract between a compiled model.so and the runtime. A model
 * exports one symbol, DLCC_ENTRY_SYMBOL, a function returning a pointer to a
 * dlcc_abi_model. The struct starts with {abi_version, struct_size}; fields
 * are only ever appended, so a runtime reads what struct_size covers.
 * The LLVM backend emits these structs with the same layout (x86-64 SysV). */
#ifndef DLCC_ABI_H
#define DLCC_ABI_H

#include <stdint.h>

#define DLCC_ABI_VERSION 1
#define DLCC_ENTRY_SYMBOL "dlcc_model_entry"

/* One input or output: 24 bytes. dtype is a public dlcc_dtype code. */
typedef struct dlcc_abi_tensor {
  const char *name;
  int32_t dtype;
  int32_t rank;
  const int64_t *dims; /* rank entries */
} dlcc_abi_tensor;

/* What the runtime offers the model while it runs; the model may ignore it.
 * parallel_for runs body(closure, begin, end) over disjoint ranges covering
 * [0, n) and returns when all are done. */
typedef struct dlcc_abi_exec {
  uint32_t struct_size;   /* offset 0 */
  int32_t num_threads;    /* 4 */
  void *pool;             /* 8 */
  void (*parallel_for)(void *pool, int64_t n,       /* 16 */
                       void (*body)(void *closure, int64_t begin, int64_t end),
                       void *closure);
  /* From struct_size 40 on. When profiler is not NULL the model calls
   * kernel_done after each of its kernels, in order, with the kernel's index
   * and name (e.g. "k3_conv2d+relu"); the time since the previous call (or
   * since run began) is that kernel's. */
  void *profiler;         /* 24 */
  void (*kernel_done)(void *profiler, int32_t kernel, const char *name); /* 32 */
} dlcc_abi_exec;          /* 40 bytes */

/* Runs the model: inputs[i] and outputs[i] point at dense row-major
 * buffers of the declared types; workspace holds workspace_size bytes
 * aligned to workspace_align. Returns 0 on success. */
typedef int32_t (*dlcc_abi_run_fn)(void *const *inputs, void *const *outputs,
                                   void *workspace, const dlcc_abi_exec *exec);

typedef struct dlcc_abi_model {
  uint32_t abi_version;       /* offset 0 */
  uint32_t struct_size;       /* 4 */
  const char *name;           /* 8: the model's name */
  int32_t num_inputs;         /* 16 */
  int32_t num_outputs;        /* 20 */
  const dlcc_abi_tensor *inputs;  /* 24 */
  const dlcc_abi_tensor *outputs; /* 32 */
  uint64_t workspace_size;    /* 40: bytes of scratch per concurrent run */
  uint64_t workspace_align;   /* 48 */
  dlcc_abi_run_fn run;        /* 56 */
  const char *producer;       /* 64: "dlcc VERSION" */
} dlcc_abi_model;             /* 72 bytes in version 1 */

typedef const dlcc_abi_model *(*dlcc_abi_entry_fn)(void);

#endif
