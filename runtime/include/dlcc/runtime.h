/* The dlcc runtime: loads a model.so made by the dlcc compiler and runs it
 * on the caller's buffers. This header is the whole public contract: what is
 * not declared here is not part of the API. It needs only libc, libdl and
 * libpthread; link with `pkg-config --libs dlcc-runtime`.
 *
 * A typical program:
 *
 *   dlcc_model *m;
 *   if (dlcc_model_load("model.so", &m) != DLCC_OK) {
 *     fprintf(stderr, "%s\n", m ? dlcc_model_error(m) : "out of memory");
 *     dlcc_model_free(m);
 *     return 1;
 *   }
 *   const void *in[] = {x};
 *   void *out[] = {y};
 *   if (dlcc_model_run(m, in, out) != DLCC_OK)
 *     fprintf(stderr, "%s\n", dlcc_model_error(m));
 *   dlcc_model_free(m);
 *
 * Threads: a loaded model may be run from several threads at once. Each
 * model owns a pool of worker threads (see dlcc_model_set_num_threads) and
 * one cached scratch buffer; one run at a time uses them, and a run that
 * starts while another holds them runs on its caller's thread alone, with
 * scratch memory of its own. Loading and freeing are not concurrent with
 * other calls on the same handle. */
#ifndef DLCC_RUNTIME_H
#define DLCC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DLCC_API __attribute__((visibility("default")))
#else
#define DLCC_API
#endif

/* Result of every call that can fail. The values are frozen: new codes are
 * only added at the end. DLCC_OK is 0, every error is positive. */
typedef enum dlcc_status {
  DLCC_OK = 0,
  DLCC_ERR_INVALID_ARGUMENT = 1, /* NULL handle or buffer, index out of range */
  DLCC_ERR_NO_MEMORY = 2,        /* an allocation failed */
  DLCC_ERR_IO = 3,               /* the file cannot be opened */
  DLCC_ERR_NOT_A_MODEL = 4,      /* not a shared library, or no entry symbol */
  DLCC_ERR_LOAD = 5,             /* the dynamic loader refused the library */
  DLCC_ERR_ABI_VERSION = 6,      /* made for an ABI this runtime cannot read */
  DLCC_ERR_BAD_MODEL = 7,        /* the model's description is inconsistent */
  DLCC_ERR_SIZE_MISMATCH = 8,    /* a buffer has the wrong byte size */
  DLCC_ERR_RUN_FAILED = 9,       /* the model's code reported an error */
} dlcc_status;

/* Element types. The values are frozen; new types are only added. */
typedef enum dlcc_dtype {
  DLCC_F32 = 1,
  DLCC_F64 = 2,
  DLCC_I32 = 3,
  DLCC_I64 = 4,
  DLCC_BOOL = 5, /* one byte, 0 or 1 */
} dlcc_dtype;

/* The most dimensions a model's tensor may have. */
#define DLCC_MAX_RANK 8

/* One input or output of a model. The strings and the dims array belong to
 * the model and stay valid until it is freed. Buffers are dense, row-major
 * (C order), with no padding. */
typedef struct dlcc_tensor_info {
  const char *name;
  dlcc_dtype dtype;
  int rank;            /* 0 for a scalar, at most DLCC_MAX_RANK */
  const int64_t *dims; /* rank entries, each >= 1; never NULL */
} dlcc_tensor_info;

/* A loaded model. Opaque. */
typedef struct dlcc_model dlcc_model;

/* ---- Library ---------------------------------------------------------- */

/* The runtime's version, "MAJOR.MINOR.PATCH". */
DLCC_API const char *dlcc_runtime_version(void);

/* The model ABI version this runtime reads (a model.so made for another
 * version fails to load with DLCC_ERR_ABI_VERSION). */
DLCC_API int dlcc_runtime_abi_version(void);

/* A short English description of a status, e.g. "model run failed".
 * Never NULL; "unknown status" for a value not in the enum. */
DLCC_API const char *dlcc_status_string(dlcc_status s);

/* "f32", "f64", "i32", "i64"; "unknown" for any other value. */
DLCC_API const char *dlcc_dtype_name(dlcc_dtype t);

/* Bytes per element: 4 or 8; 0 for a value not in the enum. */
DLCC_API size_t dlcc_dtype_size(dlcc_dtype t);

/* The number of elements (the product of the dims; 1 for a scalar).
 * 0 if info is NULL. */
DLCC_API int64_t dlcc_tensor_numel(const dlcc_tensor_info *info);

/* The byte size of a buffer holding the tensor: numel * dtype size.
 * 0 if info is NULL or its dtype is unknown. */
DLCC_API size_t dlcc_tensor_bytes(const dlcc_tensor_info *info);

/* ---- Loading ---------------------------------------------------------- */

/* Loads the model.so at path (a bare file name means the current folder;
 * the library search path is never used) and checks that it is a dlcc
 * model this runtime can run.
 *
 * Like sqlite3_open, *out receives a handle even when loading fails, so that
 * dlcc_model_error can say why, e.g.
 *   "mlp.txt: not a dlcc model: ./mlp.txt: invalid ELF header"
 *   "m.so: ABI version 7 is not supported (this runtime reads version 1)"
 * The caller frees the handle in both cases. Only when memory runs out is
 * *out NULL (and DLCC_ERR_NO_MEMORY returned). On a handle whose load
 * failed every other call fails with the load's status.
 *
 * The number of threads starts as $DLCC_NUM_THREADS when that is a positive
 * integer, otherwise the number of online processors.
 * Returns DLCC_OK, or DLCC_ERR_INVALID_ARGUMENT (path or out NULL),
 * DLCC_ERR_IO, DLCC_ERR_NOT_A_MODEL, DLCC_ERR_LOAD, DLCC_ERR_ABI_VERSION,
 * DLCC_ERR_BAD_MODEL, DLCC_ERR_NO_MEMORY. */
DLCC_API dlcc_status dlcc_model_load(const char *path, dlcc_model **out);

/* Unloads the model and frees the handle. NULL is harmless. No run on the
 * model may be in progress. */
DLCC_API void dlcc_model_free(dlcc_model *m);

/* The text of the most recent error on this model, one line without a
 * trailing newline; "" if none has happened (successful calls do not clear
 * it). Never NULL; "out of memory" for a NULL handle. The text lives in the
 * handle. When other threads use the model at the same time, the text may be
 * replaced while you read it; use dlcc_model_error_copy instead. */
DLCC_API const char *dlcc_model_error(const dlcc_model *m);

/* Copies the most recent error text into buf (at most size bytes including
 * the terminating NUL), under the model's lock, so it is safe while other
 * threads run the model. Returns the full length of the text (as snprintf
 * does). */
DLCC_API size_t dlcc_model_error_copy(const dlcc_model *m, char *buf,
                                      size_t size);

/* ---- Describing --------------------------------------------------------- */

/* The model's name as the compiler recorded it; "" if not loaded. */
DLCC_API const char *dlcc_model_name(const dlcc_model *m);

/* Who made the model, e.g. "dlcc 0.1.0"; "" if unknown or not loaded. */
DLCC_API const char *dlcc_model_producer(const dlcc_model *m);

/* The number of inputs / outputs; 0 if m is NULL or not loaded. */
DLCC_API int dlcc_model_num_inputs(const dlcc_model *m);
DLCC_API int dlcc_model_num_outputs(const dlcc_model *m);

/* Fills *info with input (output) i, 0 <= i < num_inputs (num_outputs).
 * Returns DLCC_ERR_INVALID_ARGUMENT, with an error text on m, if i is out of
 * range or info is NULL. */
DLCC_API dlcc_status dlcc_model_input_info(dlcc_model *m, int i,
                                           dlcc_tensor_info *info);
DLCC_API dlcc_status dlcc_model_output_info(dlcc_model *m, int i,
                                            dlcc_tensor_info *info);

/* The index of the input (output) with this exact name, or -1. */
DLCC_API int dlcc_model_find_input(const dlcc_model *m, const char *name);
DLCC_API int dlcc_model_find_output(const dlcc_model *m, const char *name);

/* Bytes of scratch memory (the activations) a run needs. The model keeps
 * one such buffer from its first run until dlcc_model_free; a run that
 * overlaps another allocates (and frees) one more for itself. */
DLCC_API uint64_t dlcc_model_workspace_size(const dlcc_model *m);

/* ---- Running ------------------------------------------------------------ */

/* Sets how many threads a run may use, the calling thread included; n = 0
 * restores the default ($DLCC_NUM_THREADS, else the online processors; see
 * dlcc_model_load). Applies to runs started afterwards. With n > 1 the
 * model starts n - 1 worker threads on the first run whose parallel loops
 * can use them, keeps them (idle workers sleep) until the count changes or
 * dlcc_model_free joins them (in a child of fork() the first run starts
 * new ones). Returns DLCC_ERR_INVALID_ARGUMENT for n < 0 or n > 4096. */
DLCC_API dlcc_status dlcc_model_set_num_threads(dlcc_model *m, int n);

/* The current thread count (>= 1); 0 if m is NULL. */
DLCC_API int dlcc_model_num_threads(const dlcc_model *m);

/* Runs the model once. inputs[i] points at a buffer of
 * dlcc_tensor_bytes(input i), outputs[i] at one of dlcc_tensor_bytes(output
 * i); neither array may be NULL when it has entries, nor any buffer in it.
 * Output buffers must not overlap the inputs or each other. Buffers need
 * only the alignment of their element type.
 * Safe to call from several threads at once on one model.
 * Returns DLCC_OK, DLCC_ERR_INVALID_ARGUMENT, DLCC_ERR_NO_MEMORY (for the
 * workspace) or DLCC_ERR_RUN_FAILED (the model returned an error code). */
DLCC_API dlcc_status dlcc_model_run(dlcc_model *m, const void *const inputs[],
                                    void *const outputs[]);

/* Like dlcc_model_run, but first checks that input_bytes[i] and
 * output_bytes[i] are the byte sizes of the tensors. On a mismatch nothing
 * runs; it returns DLCC_ERR_SIZE_MISMATCH with a text naming the tensor,
 * e.g. "input 'x' (f32[1,784]): buffer is 3132 bytes, expected 3136". */
DLCC_API dlcc_status dlcc_model_run_checked(dlcc_model *m,
                                            const void *const inputs[],
                                            const size_t input_bytes[],
                                            void *const outputs[],
                                            const size_t output_bytes[]);

/* ---- Profiling ---------------------------------------------------------- */

/* Receives one kernel of a profiled run: its index in the model (kernels
 * are reported in the order they run, from 0), its name as the compiler
 * gave it, e.g. "k3_conv2d+relu" (owned by the model, valid until
 * dlcc_model_free), and its wall-clock time in seconds (CLOCK_MONOTONIC,
 * from the end of the previous kernel, or the start of the run, to the end
 * of this one). Called on the thread that called dlcc_model_run_profiled,
 * between kernels; the callback's own time is charged to no kernel. It must
 * not free the model. */
typedef void (*dlcc_profile_fn)(void *user, int kernel, const char *name,
                                double seconds);

/* Like dlcc_model_run, and calls fn(user, ...) once after each kernel. A
 * model compiled before kernels were reported runs normally and never calls
 * fn. fn NULL makes a plain run. Returns what dlcc_model_run returns. */
DLCC_API dlcc_status dlcc_model_run_profiled(dlcc_model *m,
                                             const void *const inputs[],
                                             void *const outputs[],
                                             dlcc_profile_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* DLCC_RUNTIME_H */
