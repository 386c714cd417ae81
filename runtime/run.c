/* Running a loaded model: check the caller's buffers, give the run its own
 * workspace (so several threads can run one model at once), and hand the
 * model an exec struct with the thread count and parallel_for. Today
 * parallel_for is a plain loop on the calling thread; a pool comes later. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

#define MAX_THREADS 4096

DLCC_API dlcc_status dlcc_model_set_num_threads(dlcc_model *m, int n) {
  if (!m)
    return DLCC_ERR_INVALID_ARGUMENT;
  if (m->load_status != DLCC_OK)
    return m->load_status;
  if (n < 0 || n > MAX_THREADS)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT,
                      "thread count %d is out of range (0 to %d)", n,
                      MAX_THREADS);
  atomic_store(&m->num_threads, n ? n : m->default_threads);
  return DLCC_OK;
}

DLCC_API int dlcc_model_num_threads(const dlcc_model *m) {
  return m ? atomic_load(&((dlcc_model *)m)->num_threads) : 0;
}

/* Covers [0, n) in one call on the calling thread. */
static void serial_parallel_for(void *pool, int64_t n,
                                void (*body)(void *closure, int64_t begin,
                                             int64_t end),
                                void *closure) {
  (void)pool;
  if (n > 0)
    body(closure, 0, n);
}

/* Checks one list of buffers: present, aligned for the element type, and,
 * when sizes is given, of the right byte size. */
static dlcc_status check_buffers(dlcc_model *m, const char *kind,
                                 const rt_tensor *ts, int n,
                                 const void *const *bufs,
                                 const size_t *sizes) {
  if (n == 0)
    return DLCC_OK;
  if (!bufs)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT,
                      "%ss array is NULL (the model has %d %s%s)", kind, n,
                      kind, n == 1 ? "" : "s");
  for (int i = 0; i < n; i++) {
    const dlcc_tensor_info *t = &ts[i].info;
    char ty[160];
    if (!bufs[i])
      return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT,
                        "%s '%s' (%s): buffer is NULL", kind, t->name,
                        dlcc__type_str(t, ty, sizeof ty));
    size_t align = dlcc_dtype_size(t->dtype);
    if ((uintptr_t)bufs[i] % align != 0)
      return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT,
                        "%s '%s' (%s): buffer %p is not aligned to %zu bytes",
                        kind, t->name, dlcc__type_str(t, ty, sizeof ty),
                        bufs[i], align);
    if (sizes && sizes[i] != ts[i].bytes)
      return dlcc__fail(m, DLCC_ERR_SIZE_MISMATCH,
                        "%s '%s' (%s): buffer is %zu bytes, expected %zu",
                        kind, t->name, dlcc__type_str(t, ty, sizeof ty),
                        sizes[i], ts[i].bytes);
  }
  return DLCC_OK;
}

static dlcc_status run(dlcc_model *m, const void *const inputs[],
                       const size_t input_bytes[], void *const outputs[],
                       const size_t output_bytes[], int checked) {
  if (!m)
    return DLCC_ERR_INVALID_ARGUMENT;
  if (m->load_status != DLCC_OK)
    return m->load_status;
  if (checked && m->num_inputs > 0 && !input_bytes)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT, "input_bytes is NULL");
  if (checked && !output_bytes)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT, "output_bytes is NULL");
  dlcc_status s = check_buffers(m, "input", m->inputs, m->num_inputs, inputs,
                                checked ? input_bytes : NULL);
  if (s == DLCC_OK)
    s = check_buffers(m, "output", m->outputs, m->num_outputs,
                      (const void *const *)outputs,
                      checked ? output_bytes : NULL);
  if (s != DLCC_OK)
    return s;

  void *ws = NULL;
  if (m->workspace_size > 0) {
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t align = m->workspace_align < 16 ? 16 : (size_t)m->workspace_align;
    size_t size = ((size_t)m->workspace_size + align - 1) & ~(align - 1);
    ws = aligned_alloc(align, size);
    if (!ws)
      return dlcc__fail(m, DLCC_ERR_NO_MEMORY,
                        "model '%s': cannot allocate a workspace of %llu bytes",
                        m->name, (unsigned long long)m->workspace_size);
  }
  dlcc_abi_exec exec = {
      .struct_size = sizeof exec,
      .num_threads = atomic_load(&m->num_threads),
      .pool = NULL,
      .parallel_for = serial_parallel_for,
  };
  /* The ABI's run takes void *const *: the model does not write inputs. */
  int32_t rc = m->run((void *const *)inputs, outputs, ws, &exec);
  free(ws);
  if (rc != 0)
    return dlcc__fail(m, DLCC_ERR_RUN_FAILED,
                      "model '%s': run failed with code %d", m->name,
                      (int)rc);
  return DLCC_OK;
}

DLCC_API dlcc_status dlcc_model_run(dlcc_model *m, const void *const inputs[],
                                    void *const outputs[]) {
  return run(m, inputs, NULL, outputs, NULL, 0);
}

DLCC_API dlcc_status dlcc_model_run_checked(dlcc_model *m,
                                            const void *const inputs[],
                                            const size_t input_bytes[],
                                            void *const outputs[],
                                            const size_t output_bytes[]) {
  return run(m, inputs, input_bytes, outputs, output_bytes, 1);
}
