/* What the runtime's own files share: the loaded model's layout and the
 * error-text helper. Nothing here is public (the library is built with
 * -fvisibility=hidden); the public API is <dlcc/runtime.h>. */
#ifndef DLCC_RUNTIME_INTERNAL_H
#define DLCC_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "abi.h"
#include "dlcc/runtime.h"
#include "pool.h"

/* One input or output, checked at load time, with its byte size. */
typedef struct rt_tensor {
  dlcc_tensor_info info;
  size_t bytes;
} rt_tensor;

struct dlcc_model {
  dlcc_status load_status; /* DLCC_OK once loaded; else every call fails */
  void *lib;               /* dlopen handle */
  const char *name, *producer; /* owned by the library */
  int num_inputs, num_outputs;
  rt_tensor *inputs, *outputs;
  uint64_t workspace_size, workspace_align;
  dlcc_abi_run_fn run;
  atomic_int num_threads;
  int default_threads;
  /* Held (try-locked) by the one run that may use pool and workspace; runs
   * that find it taken run serially on a workspace of their own. */
  pthread_mutex_t run_lock;
  rt_pool *pool;   /* NULL until a run wants more than one thread */
  void *workspace; /* NULL until the first run that holds run_lock */
  /* Guards err; runs on several threads may report at once. */
  pthread_mutex_t lock;
  char *err; /* errcap bytes, always NUL-terminated */
  size_t errcap;
};

/* Replaces m's error text (printf-style) under its lock; returns s. */
dlcc_status dlcc__fail(dlcc_model *m, dlcc_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "f32[1,784]" ("f32[]" for a scalar) into buf; returns buf. */
char *dlcc__type_str(const dlcc_tensor_info *t, char *buf, size_t n);

/* The thread count used when none is set: $DLCC_NUM_THREADS if it is a
 * positive integer, otherwise the online processors. */
int dlcc__default_threads(void);

/* Frees what runs cached on m: the pool (joining its workers) and the
 * workspace. No run may be in progress. */
void dlcc__run_cleanup(dlcc_model *m);

#endif
