/* The thread pool behind the ABI's parallel_for (runtime/abi.h). A pool
 * belongs to one dlcc_model and is used by one run at a time (run.c holds
 * the model's run lock around it); nothing here is public. */
#ifndef DLCC_RUNTIME_POOL_H
#define DLCC_RUNTIME_POOL_H

#include <stdint.h>

typedef struct rt_pool rt_pool;

/* The loop body a model hands to parallel_for. */
typedef void (*rt_body)(void *closure, int64_t begin, int64_t end);

/* A pool of num_threads threads in all: the thread that calls parallel_for
 * and num_threads - 1 workers. The workers start on the first parallel_for
 * that can use them, so a model that never calls it costs no threads.
 * NULL if out of memory. */
rt_pool *dlcc__pool_new(int num_threads);

/* Stops and joins the workers and frees the pool. NULL is harmless. No
 * parallel_for on it may be in progress. */
void dlcc__pool_free(rt_pool *p);

/* The thread count the pool was made for. */
int dlcc__pool_num_threads(const rt_pool *p);

/* Whether p's workers were started before a fork() that made this process:
 * in the child they are gone and p runs everything serially. */
int dlcc__pool_stale(const rt_pool *p);

/* The ABI's parallel_for; pool is an rt_pool, or NULL to run serially.
 * Splits [0, n) into min(n, num_threads) contiguous parts whose sizes
 * differ by at most one (dlcc__pool_chunk), one per thread: the calling
 * thread starts with part 0, workers with the others. Each thread calls
 * body on pieces of its part (a quarter of it, rounded up), then on the
 * pieces still unclaimed in the other parts, so that a thread the system
 * delays does not hold up the rest. Every index runs exactly once; it
 * returns when all are done. n <= 0 calls nothing; a single part, a pool
 * whose workers could not start, and a call made from inside a body
 * (nesting) run body(closure, 0, n) on the calling thread. */
void dlcc__pool_parallel_for(void *pool, int64_t n, rt_body body,
                             void *closure);

/* Part i (0 <= i < parts <= n) of [0, n) as parallel_for splits it. */
void dlcc__pool_chunk(int64_t n, int parts, int i, int64_t *begin,
                      int64_t *end);

#endif
