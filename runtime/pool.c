/* A persistent pthread pool for parallel_for. The caller posts a job (body,
 * closure, n, part count) by bumping a generation counter in the mailbox
 * of each worker it needs, runs part 0 itself, and waits until a shared
 * count of workers still busy drops to zero.
 *
 * Each thread runs its own part (a contiguous range) in pieces of about a
 * quarter of it, taken through the part's cursor; then it takes the pieces
 * still left in the other parts. When the operating system deschedules a
 * thread (another process wants its processor), the others finish its
 * part instead of waiting for it at the end of every loop, and when none
 * is delayed each thread keeps its own part, so its cache stays warm.
 *
 * Waiting, on both sides, spins briefly before it blocks: a model calls
 * parallel_for once per kernel, back to back, and a futex sleep and wake
 * costs as much as a small kernel; but an idle pool must not burn a core,
 * so after SPIN_NS a worker sleeps on its own condition variable (one per
 * worker, so that a two-part loop wakes one worker, not all of them).
 * A pool with more threads than the processors it may run on does not spin
 * at all: there a spinning thread takes the processor from the very thread
 * it waits for (as GNU OpenMP also does).
 *
 * Memory ordering: the caller writes the job with plain stores and
 * publishes it with a release store of the worker's mailbox (under the
 * pool's mutex); a worker reads the job only after an acquire load sees the
 * new generation, and finishes reading before its acq_rel decrement of the
 * pending count, which the caller reads with acquire before it writes the
 * next job. So no job field is ever read and written at once.
 *
 * fork() copies a pool into the child without its workers. A pool made
 * before the latest fork is stale there: it runs loops serially, and
 * freeing it neither joins nor destroys what the lost workers used. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a waiting thread polls before it sleeps. */
#define SPIN_NS 100000
/* Pieces per part: what another thread can take over from a late one. */
#define PIECES 4
/* A mailbox value that tells the worker to exit. */
#define STOP UINT64_MAX

/* One worker, on its own cache line so that polling its mailbox does not
 * contend with the other workers'. */
typedef struct worker {
  _Alignas(64) _Atomic uint64_t posted; /* generation of its latest job */
  pthread_cond_t wake;                  /* it sleeps here, under p->lock */
  pthread_t thread;
  struct rt_pool *pool;
  int index; /* the part it starts with: 1 to num_threads - 1 */
} worker;

/* The next unclaimed index of one part, and its end; own cache line, since
 * its thread bumps it for every piece. */
typedef struct part {
  _Alignas(64) _Atomic int64_t next;
  int64_t end, piece;
} part;

struct rt_pool {
  int num_threads;
  int64_t spin_ns; /* how long waits poll before they sleep */
  int started; /* 1: workers running; -1: they could not be started */
  unsigned forks; /* fork_count when the workers started */
  worker *workers; /* num_threads - 1 */
  part *parts_at;  /* num_threads: the current job's parts */
  /* Guards the sleeps: workers wait on their wake, the caller on done. */
  pthread_mutex_t lock;
  pthread_cond_t done;
  _Atomic int pending; /* posted workers not yet finished */
  /* The current job; written only by the caller, between jobs. */
  uint64_t generation;
  rt_body body;
  void *closure;
  int64_t n;
  int parts;
};

/* Set on workers and, while it runs its share, on the caller: a
 * parallel_for from inside a body runs serially instead of posting to a
 * pool that is busy with the outer loop. */
static _Thread_local int inside_body;

/* How many times this process is a fork child (see the top). */
static atomic_uint fork_count;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void count_fork(void) {
  atomic_fetch_add_explicit(&fork_count, 1, memory_order_relaxed);
}

static void watch_forks(void) { pthread_atfork(NULL, NULL, count_fork); }

/* Whether the pool's workers were started in an ancestor process. */
static int stale(const rt_pool *p) {
  return p->started > 0 &&
         p->forks != atomic_load_explicit(&fork_count, memory_order_relaxed);
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A polling loop's budget: keep_spinning pauses and says whether to poll
 * again, until spin_ns have passed since its first call. */
typedef struct spinner {
  int64_t spin_ns, deadline;
  unsigned polls;
} spinner;

static int keep_spinning(spinner *s) {
  if (s->spin_ns == 0)
    return 0;
  /* Reading the clock costs more than a pause; do it now and then. */
  if (s->polls++ % 64 == 0) {
    int64_t t = now_ns();
    if (!s->deadline)
      s->deadline = t + s->spin_ns;
    else if (t >= s->deadline)
      return 0;
  }
  cpu_relax();
  return 1;
}

/* The processors this process may run on. */
static int usable_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void dlcc__pool_chunk(int64_t n, int parts, int i, int64_t *begin,
                      int64_t *end) {
  /* The first n % parts of them get one element more. */
  int64_t q = n / parts, r = n % parts;
  *begin = i * q + (i < r ? i : r);
  *end = *begin + q + (i < r);
}

/* Runs the pieces of part i, while there are any. */
static void run_part(rt_pool *p, int i) {
  part *q = &p->parts_at[i];
  for (;;) {
    int64_t b = atomic_fetch_add_explicit(&q->next, q->piece, memory_order_relaxed);
    if (b >= q->end)
      return;
    p->body(p->closure, b, b + q->piece < q->end ? b + q->piece : q->end);
  }
}

/* Thread `self`'s share of the job: its own part, then what is left of
 * the others. */
static void run_job(rt_pool *p, int self) {
  for (int k = 0; k < p->parts; k++)
    run_part(p, (self + k) % p->parts);
}

/* Waits until the worker's mailbox holds something other than seen. */
static uint64_t wait_job(worker *w, uint64_t seen) {
  rt_pool *p = w->pool;
  spinner s = {.spin_ns = p->spin_ns};
  uint64_t g;
  while ((g = atomic_load_explicit(&w->posted, memory_order_acquire)) ==
             seen &&
         keep_spinning(&s))
    ;
  if (g != seen)
    return g;
  pthread_mutex_lock(&p->lock);
  while ((g = atomic_load_explicit(&w->posted, memory_order_acquire)) == seen)
    pthread_cond_wait(&w->wake, &p->lock);
  pthread_mutex_unlock(&p->lock);
  return g;
}

/* Counts one worker finished; the last one wakes the caller if it sleeps.
 * The signal is sent under the lock, or it could fall between the
 * caller's check of the count and its wait. */
static void finish_share(rt_pool *p) {
  if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) != 1)
    return;
  pthread_mutex_lock(&p->lock);
  pthread_cond_signal(&p->done);
  pthread_mutex_unlock(&p->lock);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  rt_pool *p = w->pool;
  inside_body = 1;
  uint64_t seen = 0;
  for (;;) {
    seen = wait_job(w, seen);
    if (seen == STOP)
      return NULL;
    run_job(p, w->index);
    finish_share(p);
  }
}

/* Hands generation g (a job or STOP) to workers [0, count). */
static void post(rt_pool *p, int count, uint64_t g) {
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < count; i++) {
    atomic_store_explicit(&p->workers[i].posted, g, memory_order_release);
    pthread_cond_signal(&p->workers[i].wake);
  }
  pthread_mutex_unlock(&p->lock);
}

static void stop_workers(rt_pool *p, int count) {
  post(p, count, STOP);
  for (int i = 0; i < count; i++)
    pthread_join(p->workers[i].thread, NULL);
}

/* Starts the workers once; returns whether they run. If one cannot be
 * started, those that were are stopped and the pool stays serial. */
static int start(rt_pool *p) {
  if (p->started)
    return p->started > 0 && !stale(p);
  p->forks = atomic_load_explicit(&fork_count, memory_order_relaxed);
  /* Workers take no signals: the application's handlers expect to run on
   * its own threads. They inherit this mask from the creating thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int count = 0;
  for (; count < p->num_threads - 1; count++)
    if (pthread_create(&p->workers[count].thread, NULL, worker_main,
                       &p->workers[count]) != 0)
      break;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (count < p->num_threads - 1) {
    stop_workers(p, count);
    p->started = -1;
    return 0;
  }
  p->started = 1;
  return 1;
}

rt_pool *dlcc__pool_new(int num_threads) {
  if (num_threads < 1)
    num_threads = 1;
  pthread_once(&atfork_once, watch_forks);
  rt_pool *p = calloc(1, sizeof *p);
  size_t nw = num_threads > 1 ? (size_t)num_threads - 1 : 1;
  /* aligned_alloc, not calloc: worker and part are 64-byte aligned. */
  worker *ws = aligned_alloc(_Alignof(worker), nw * sizeof *ws);
  part *ps = aligned_alloc(_Alignof(part), (size_t)num_threads * sizeof *ps);
  if (!p || !ws || !ps || pthread_mutex_init(&p->lock, NULL) != 0) {
    free(ws);
    free(ps);
    free(p);
    return NULL;
  }
  memset(ws, 0, nw * sizeof *ws);
  memset(ps, 0, (size_t)num_threads * sizeof *ps);
  p->parts_at = ps;
  pthread_cond_init(&p->done, NULL);
  for (int i = 0; i < num_threads - 1; i++) {
    ws[i].pool = p;
    ws[i].index = i + 1;
    atomic_init(&ws[i].posted, 0);
    pthread_cond_init(&ws[i].wake, NULL);
  }
  p->num_threads = num_threads;
  p->spin_ns = num_threads > usable_cpus() ? 0 : SPIN_NS;
  p->workers = ws;
  atomic_init(&p->pending, 0);
  return p;
}

void dlcc__pool_free(rt_pool *p) {
  if (!p)
    return;
  if (stale(p)) {
    /* Its conditions still count the lost workers as waiters: destroying
     * them could block forever. */
    free(p->workers);
    free(p->parts_at);
    free(p);
    return;
  }
  if (p->started > 0)
    stop_workers(p, p->num_threads - 1);
  for (int i = 0; i < p->num_threads - 1; i++)
    pthread_cond_destroy(&p->workers[i].wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->lock);
  free(p->workers);
  free(p->parts_at);
  free(p);
}

int dlcc__pool_num_threads(const rt_pool *p) { return p ? p->num_threads : 1; }

int dlcc__pool_stale(const rt_pool *p) { return p && stale(p); }

/* The pending count of the current job. */
static int pending(rt_pool *p) {
  return atomic_load_explicit(&p->pending, memory_order_acquire);
}

/* Waits until the workers are done with the current job. */
static void wait_done(rt_pool *p) {
  spinner s = {.spin_ns = p->spin_ns};
  while (pending(p) != 0 && keep_spinning(&s))
    ;
  if (pending(p) == 0)
    return;
  pthread_mutex_lock(&p->lock);
  while (pending(p) != 0)
    pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

void dlcc__pool_parallel_for(void *pool, int64_t n, rt_body body,
                             void *closure) {
  if (n <= 0)
    return;
  rt_pool *p = pool;
  int parts = 1;
  if (p && !inside_body)
    parts = n < p->num_threads ? (int)n : p->num_threads;
  if (parts == 1 || !start(p)) {
    body(closure, 0, n);
    return;
  }
  p->body = body;
  p->closure = closure;
  p->n = n;
  p->parts = parts;
  for (int i = 0; i < parts; i++) {
    int64_t begin, end;
    dlcc__pool_chunk(n, parts, i, &begin, &end);
    atomic_store_explicit(&p->parts_at[i].next, begin, memory_order_relaxed);
    p->parts_at[i].end = end;
    p->parts_at[i].piece = (end - begin + PIECES - 1) / PIECES;
  }
  atomic_store_explicit(&p->pending, parts - 1, memory_order_relaxed);
  post(p, parts - 1, ++p->generation);
  inside_body = 1;
  run_job(p, 0);
  inside_body = 0;
  wait_done(p);
}
