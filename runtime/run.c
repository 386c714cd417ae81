/* Running a loaded model: check the caller's buffers, find the run a
 * workspace, and hand the model an exec struct with the thread count,
 * parallel_for and, for profiled runs, kernel_done.
 *
 * Concurrency: each model has one thread pool and one cached workspace,
 * owned by whichever run holds the model's run lock. A run try-locks it:
 * the winner reuses the workspace (no page faults after the first run) and
 * runs its parallel loops on the pool; a run that finds the lock taken
 * allocates a workspace of its own and runs serially on its caller's
 * thread, telling the model num_threads = 1. So concurrent callers never
 * share scratch memory or wait for each other, and a model never has more
 * than one pool's worth of threads. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

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

/* A workspace of m's size and alignment; NULL if out of memory. */
static void *alloc_workspace(const dlcc_model *m) {
  /* aligned_alloc wants a size that is a multiple of the alignment. */
  size_t align = m->workspace_align < 16 ? 16 : (size_t)m->workspace_align;
  size_t size = ((size_t)m->workspace_size + align - 1) & ~(align - 1);
  return aligned_alloc(align, size);
}

/* The workspace of a run: the cached one for the owner of m->run_lock
 * (made by its first run), a fresh one for any other; NULL if the model
 * needs none or memory ran out. */
static void *run_workspace(dlcc_model *m, int owner) {
  if (m->workspace_size == 0)
    return NULL;
  if (!owner)
    return alloc_workspace(m);
  if (!m->workspace)
    m->workspace = alloc_workspace(m);
  return m->workspace;
}

/* The pool for a run that holds m->run_lock and wants threads threads:
 * made on first need, remade when the count changed or a fork() left it
 * without workers; NULL (run serially) for one thread or when out of
 * memory. */
static rt_pool *owned_pool(dlcc_model *m, int threads) {
  if (m->pool && (dlcc__pool_num_threads(m->pool) != threads ||
                  dlcc__pool_stale(m->pool))) {
    dlcc__pool_free(m->pool);
    m->pool = NULL;
  }
  if (!m->pool && threads > 1)
    m->pool = dlcc__pool_new(threads);
  return m->pool;
}

void dlcc__run_cleanup(dlcc_model *m) {
  dlcc__pool_free(m->pool);
  m->pool = NULL;
  free(m->workspace);
  m->workspace = NULL;
}

/* A profiled run's state: the caller's sink and when the current kernel
 * began. */
typedef struct profiler {
  dlcc_profile_fn fn;
  void *user;
  struct timespec start;
} profiler;

/* exec->kernel_done: reports the kernel that just ended and starts the
 * next one's clock after the callback, so that the callback's own time is
 * charged to no kernel. */
static void kernel_done(void *p, int32_t kernel, const char *name) {
  profiler *pr = p;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double s = (double)(now.tv_sec - pr->start.tv_sec) +
             (double)(now.tv_nsec - pr->start.tv_nsec) * 1e-9;
  pr->fn(pr->user, (int)kernel, name ? name : "", s);
  clock_gettime(CLOCK_MONOTONIC, &pr->start);
}

/* Runs the model on checked buffers with the workspace and pool that are
 * free for this run. */
static dlcc_status execute(dlcc_model *m, const void *const inputs[],
                           void *const outputs[], profiler *prof) {
  int owner = pthread_mutex_trylock(&m->run_lock) == 0;
  void *ws = run_workspace(m, owner);
  if (!ws && m->workspace_size > 0) {
    if (owner)
      pthread_mutex_unlock(&m->run_lock);
    return dlcc__fail(m, DLCC_ERR_NO_MEMORY,
                      "model '%s': cannot allocate a workspace of %llu bytes",
                      m->name, (unsigned long long)m->workspace_size);
  }
  rt_pool *pool =
      owner ? owned_pool(m, atomic_load(&m->num_threads)) : NULL;
  dlcc_abi_exec exec = {
      .struct_size = sizeof exec,
      .num_threads = dlcc__pool_num_threads(pool),
      .pool = pool,
      .parallel_for = dlcc__pool_parallel_for,
      .profiler = prof,
      .kernel_done = prof ? kernel_done : NULL,
  };
  if (prof)
    clock_gettime(CLOCK_MONOTONIC, &prof->start);
  /* The ABI's run takes void *const *: the model does not write inputs. */
  int32_t rc = m->run((void *const *)inputs, outputs, ws, &exec);
  if (owner)
    pthread_mutex_unlock(&m->run_lock);
  else
    free(ws);
  if (rc != 0)
    return dlcc__fail(m, DLCC_ERR_RUN_FAILED,
                      "model '%s': run failed with code %d", m->name,
                      (int)rc);
  return DLCC_OK;
}

static dlcc_status run(dlcc_model *m, const void *const inputs[],
                       const size_t input_bytes[], void *const outputs[],
                       const size_t output_bytes[], int checked,
                       profiler *prof) {
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
  return execute(m, inputs, outputs, prof);
}

DLCC_API dlcc_status dlcc_model_run(dlcc_model *m, const void *const inputs[],
                                    void *const outputs[]) {
  return run(m, inputs, NULL, outputs, NULL, 0, NULL);
}

DLCC_API dlcc_status dlcc_model_run_checked(dlcc_model *m,
                                            const void *const inputs[],
                                            const size_t input_bytes[],
                                            void *const outputs[],
                                            const size_t output_bytes[]) {
  return run(m, inputs, input_bytes, outputs, output_bytes, 1, NULL);
}

DLCC_API dlcc_status dlcc_model_run_profiled(dlcc_model *m,
                                             const void *const inputs[],
                                             void *const outputs[],
                                             dlcc_profile_fn fn, void *user) {
  profiler prof = {.fn = fn, .user = user};
  return run(m, inputs, NULL, outputs, NULL, 0, fn ? &prof : NULL);
}
