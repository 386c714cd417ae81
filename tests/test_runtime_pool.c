/* The runtime's thread pool, workspace reuse and profiler, through
 * tests/fixtures/fake_parallel.c (a model that calls parallel_for and
 * kernel_done as generated code does), the pool's chunking directly, and
 * dlcc-run --profile and the memory lines end to end. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dlcc/runtime.h"
#include "runtime/pool.h"
#include "testutil.h"
#include "tools/npy.h"

/* fake_parallel's outputs (see the fixture). */
#define MAX_N 1000
enum {
  STAT_CALLS,
  STAT_MIN_CHUNK,
  STAT_MAX_CHUNK,
  STAT_BAD_CHUNKS,
  STAT_CALLER_FIRST,
  STAT_ON_WORKERS,
  STAT_NUM_THREADS,
  STAT_WORKSPACE,
  NUM_STATS
};

static dlcc_model *load_ok(const char *path) {
  dlcc_model *m = NULL;
  dlcc_status s = dlcc_model_load(path, &m);
  ck_assert_msg(s == DLCC_OK, "load %s: %s", path, dlcc_model_error(m));
  return m;
}

typedef struct par_io {
  int64_t n, sleep_us;
  int32_t counts[MAX_N];
  int64_t stats[NUM_STATS];
  const void *in[2];
  void *out[2];
} par_io;

static void par_io_init(par_io *io, int64_t n, int64_t sleep_us) {
  memset(io, 0, sizeof *io);
  io->n = n;
  io->sleep_us = sleep_us;
  io->in[0] = &io->n;
  io->in[1] = &io->sleep_us;
  io->out[0] = io->counts;
  io->out[1] = io->stats;
  /* A stale value must not pass for a fresh one. */
  for (int i = 0; i < MAX_N; i++)
    io->counts[i] = -1;
}

/* What parallel_for must have done for one run: every index below n once,
 * in non-empty chunks inside [0, n), at least one per part (min(n,
 * threads) parts), none longer than a quarter of a part (rounded up).
 * Which thread runs which piece depends on timing (a thread takes pieces
 * another has not reached), so that is not checked here. Returns a
 * description of the first problem, or NULL. */
static const char *par_problem(const par_io *io, int threads) {
  static _Thread_local char why[200];
  for (int i = 0; i < MAX_N; i++)
    if (io->counts[i] != (i < io->n)) {
      snprintf(why, sizeof why, "index %d ran %d times", i, io->counts[i]);
      return why;
    }
  const int64_t *s = io->stats;
  int64_t parts = io->n < threads ? io->n : threads;
  if (s[STAT_NUM_THREADS] != threads)
    return "the model was told another thread count";
  if (s[STAT_CALLS] < parts)
    return "fewer chunks than parts";
  if (s[STAT_BAD_CHUNKS] != 0)
    return "an empty or out-of-range chunk";
  int64_t part = parts ? (io->n + parts - 1) / parts : 0;
  if (parts > 1 && s[STAT_MAX_CHUNK] > (part + 3) / 4)
    return "a chunk longer than a quarter of a part";
  if (parts == 1 && (s[STAT_CALLS] != 1 || !s[STAT_CALLER_FIRST]))
    return "one part did not run as one call on the calling thread";
  return NULL;
}

static void run_par(dlcc_model *m, int64_t n, par_io *io) {
  par_io_init(io, n, 0);
  ck_assert_msg(dlcc_model_run(m, io->in, io->out) == DLCC_OK, "%s",
                dlcc_model_error(m));
}

static void expect_par(const par_io *io, int threads) {
  const char *why = par_problem(io, threads);
  ck_assert_msg(!why, "n %lld, %d threads: %s", (long long)io->n, threads,
                why);
}

/* ---- The pool ----------------------------------------------------------- */

START_TEST(test_chunks) {
  for (int64_t n = 1; n <= 60; n++)
    for (int parts = 1; parts <= n && parts <= 9; parts++) {
      int64_t next = 0;
      for (int i = 0; i < parts; i++) {
        int64_t b, e;
        dlcc__pool_chunk(n, parts, i, &b, &e);
        ck_assert_int_eq(b, next);
        ck_assert_int_ge(e - b, n / parts);
        ck_assert_int_le(e - b, n / parts + 1);
        next = e;
      }
      ck_assert_int_eq(next, n);
    }
  int64_t b, e;
  dlcc__pool_chunk(INT64_MAX, 4096, 4095, &b, &e);
  ck_assert_int_eq(e, INT64_MAX);
}
END_TEST

START_TEST(test_parallel_for) {
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  static const int threads[] = {1, 2, 3, 7};
  static const int64_t ns[] = {0, 1, 5, 1000};
  par_io io;
  for (int t = 0; t < 4; t++) {
    ck_assert_int_eq(dlcc_model_set_num_threads(m, threads[t]), DLCC_OK);
    for (int k = 0; k < 4; k++) {
      run_par(m, ns[k], &io);
      expect_par(&io, threads[t]);
    }
  }
  /* the workers do run pieces (which ones depends on timing) */
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 3), DLCC_OK);
  int64_t on_workers = 0;
  for (int rep = 0; rep < 50 && !on_workers; rep++) {
    run_par(m, 1000, &io);
    expect_par(&io, 3);
    on_workers += io.stats[STAT_ON_WORKERS];
  }
  ck_assert_int_gt(on_workers, 0);
  dlcc_model_free(m);
}
END_TEST

/* A thread that is late does not hold up the loop: while the worker sleeps
 * in its first piece, the caller, done with its own part, runs the rest of
 * the worker's part (or all of it, if the worker has not started yet). */
typedef struct late {
  pthread_t caller;
  int ran_on_caller[8], runs[8]; /* atomic */
} late;

static void late_body(void *c, int64_t begin, int64_t end) {
  late *l = c;
  bool on_caller = pthread_equal(pthread_self(), l->caller) != 0;
  for (int64_t i = begin; i < end; i++) {
    if (i == 4 && !on_caller) {
      struct timespec ts = {0, 200 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    __atomic_fetch_add(&l->runs[i], 1, __ATOMIC_RELAXED);
    if (on_caller)
      __atomic_fetch_add(&l->ran_on_caller[i], 1, __ATOMIC_RELAXED);
  }
}

START_TEST(test_late_worker) {
  rt_pool *pool = dlcc__pool_new(2);
  ck_assert_ptr_nonnull(pool);
  late l = {.caller = pthread_self()};
  dlcc__pool_parallel_for(pool, 8, late_body, &l); /* parts [0,4) [4,8), pieces of 1 */
  int caller_in_worker_part = 0;
  for (int i = 0; i < 8; i++) {
    ck_assert_int_eq(l.runs[i], 1);
    if (i > 4)
      caller_in_worker_part += l.ran_on_caller[i];
  }
  ck_assert_int_gt(caller_in_worker_part, 0);
  dlcc__pool_free(pool);
}
END_TEST

/* A parallel_for from inside a body runs serially and completely. */
typedef struct nested {
  rt_pool *pool;
  int64_t inner_total; /* atomic */
} nested;

static void inner_body(void *c, int64_t begin, int64_t end) {
  __atomic_fetch_add(&((nested *)c)->inner_total, end - begin,
                     __ATOMIC_RELAXED);
}

static void outer_body(void *c, int64_t begin, int64_t end) {
  nested *ns = c;
  for (int64_t i = begin; i < end; i++)
    dlcc__pool_parallel_for(ns->pool, 10, inner_body, ns);
}

START_TEST(test_nested) {
  nested ns = {dlcc__pool_new(4), 0};
  ck_assert_ptr_nonnull(ns.pool);
  ck_assert_int_eq(dlcc__pool_num_threads(ns.pool), 4);
  for (int rep = 0; rep < 50; rep++)
    dlcc__pool_parallel_for(ns.pool, 8, outer_body, &ns);
  ck_assert_int_eq(ns.inner_total, 50 * 8 * 10);
  dlcc__pool_free(ns.pool);
  /* A pool never used starts no threads and frees cleanly. */
  dlcc__pool_free(dlcc__pool_new(16));
  dlcc__pool_free(NULL);
  /* No pool: serial. */
  ns.inner_total = 0;
  dlcc__pool_parallel_for(NULL, 7, inner_body, &ns);
  ck_assert_int_eq(ns.inner_total, 7);
}
END_TEST

START_TEST(test_thread_count_change) {
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  static const int seq[] = {3, 2, 7, 1, 4, 4, 2};
  par_io io;
  for (int i = 0; i < 7; i++) {
    ck_assert_int_eq(dlcc_model_set_num_threads(m, seq[i]), DLCC_OK);
    run_par(m, 1000, &io);
    expect_par(&io, seq[i]);
  }
  /* 0: back to the default. */
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 0), DLCC_OK);
  run_par(m, 1000, &io);
  expect_par(&io, dlcc_model_num_threads(m));
  dlcc_model_free(m);
}
END_TEST

START_TEST(test_env_threads) {
  setenv("DLCC_NUM_THREADS", "3", 1);
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  ck_assert_int_eq(dlcc_model_num_threads(m), 3);
  par_io io;
  run_par(m, 1000, &io);
  expect_par(&io, 3);
  dlcc_model_free(m);

  setenv("DLCC_NUM_THREADS", "1", 1);
  m = load_ok(FAKE_PARALLEL);
  run_par(m, 1000, &io);
  expect_par(&io, 1);
  dlcc_model_free(m);

  /* Not a positive integer: ignored, the processor count applies. */
  setenv("DLCC_NUM_THREADS", "0", 1);
  m = load_ok(FAKE_PARALLEL);
  ck_assert_int_eq(dlcc_model_num_threads(m), sysconf(_SC_NPROCESSORS_ONLN));
  dlcc_model_free(m);
  unsetenv("DLCC_NUM_THREADS");
}
END_TEST

/* A child of fork() has none of the parent's workers: its runs must make a
 * pool of their own rather than wait for threads that do not exist. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#endif

START_TEST(test_fork) {
#ifdef UNDER_TSAN
  return; /* ThreadSanitizer cannot follow threads started in a fork child */
#endif
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 3), DLCC_OK);
  par_io io;
  run_par(m, 1000, &io);
  expect_par(&io, 3);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    alarm(30); /* a hang fails the test instead of stalling it */
    par_io_init(&io, 1000, 0);
    int ok = dlcc_model_run(m, io.in, io.out) == DLCC_OK &&
             par_problem(&io, 3) == NULL;
    dlcc_model_free(m);
    _exit(ok ? 0 : 1);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child status %d", status);
  run_par(m, 1000, &io);
  expect_par(&io, 3);
  dlcc_model_free(m);
}
END_TEST

/* ---- Concurrent callers --------------------------------------------------- */

typedef struct caller {
  dlcc_model *m;
  int id, failures;
  char why[200];
} caller;

static void *call_many(void *arg) {
  caller *c = arg;
  for (int i = 0; i < 200; i++) {
    /* One caller keeps changing the thread count under the others. */
    if (c->id == 0 && i % 10 == 0)
      dlcc_model_set_num_threads(c->m, 2 + i / 10 % 3);
    par_io io;
    par_io_init(&io, (c->id * 37 + i * 11) % (MAX_N + 1), 0);
    if (dlcc_model_run(c->m, io.in, io.out) != DLCC_OK) {
      c->failures++;
      continue;
    }
    /* A run that found the pool busy ran alone and was told 1 thread. */
    const char *why = par_problem(&io, (int)io.stats[STAT_NUM_THREADS]);
    if (why) {
      snprintf(c->why, sizeof c->why, "%s", why);
      c->failures++;
    }
  }
  return NULL;
}

START_TEST(test_concurrent_callers) {
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 3), DLCC_OK);
  enum { N = 8 };
  pthread_t th[N];
  caller c[N];
  for (int i = 0; i < N; i++) {
    c[i] = (caller){.m = m, .id = i};
    ck_assert_int_eq(pthread_create(&th[i], NULL, call_many, &c[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    ck_assert_msg(c[i].failures == 0, "caller %d: %d failures (%s)", i,
                  c[i].failures, c[i].why);
  }
  dlcc_model_free(m);
}
END_TEST

/* ---- Workspace reuse -------------------------------------------------- */

typedef struct reentry {
  dlcc_model *m;
  par_io inner;
  int kernels;
  dlcc_status inner_status;
} reentry;

/* After the first kernel, runs the model again from inside the run: the
 * outer run holds the pool and the cached workspace, so the inner one must
 * run alone on a workspace of its own. */
static void run_inside(void *user, int kernel, const char *name,
                       double seconds) {
  reentry *r = user;
  if (r->kernels++ == 0) {
    par_io_init(&r->inner, 1000, 0);
    r->inner_status = dlcc_model_run(r->m, r->inner.in, r->inner.out);
  }
}

START_TEST(test_workspace_reuse) {
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 2), DLCC_OK);
  par_io a, b;
  run_par(m, 1000, &a);
  /* Holds a block of the workspace's size, so that a runtime that freed
   * its workspace after each run would most likely get another address. */
  void *hold = aligned_alloc(64, 102400);
  run_par(m, 1000, &b);
  free(hold);
  expect_par(&b, 2);
  ck_assert_int_eq(a.stats[STAT_WORKSPACE], b.stats[STAT_WORKSPACE]);
  ck_assert_int_eq(a.stats[STAT_WORKSPACE] % 64, 0);

  reentry r = {.m = m};
  par_io outer;
  par_io_init(&outer, 1000, 0);
  ck_assert_int_eq(dlcc_model_run_profiled(m, outer.in, outer.out, run_inside,
                                           &r),
                   DLCC_OK);
  ck_assert_int_eq(r.inner_status, DLCC_OK);
  ck_assert_int_eq(r.kernels, 3);
  expect_par(&outer, 2);
  expect_par(&r.inner, 1);
  ck_assert_int_eq(outer.stats[STAT_WORKSPACE], a.stats[STAT_WORKSPACE]);
  ck_assert_int_ne(r.inner.stats[STAT_WORKSPACE], a.stats[STAT_WORKSPACE]);
  ck_assert_int_eq(r.inner.stats[STAT_WORKSPACE] % 64, 0);
  dlcc_model_free(m);
}
END_TEST

/* ---- Profiling ---------------------------------------------------------- */

typedef struct rows {
  int n;
  int kernel[8];
  char name[8][32];
  double seconds[8];
} rows;

static void collect(void *user, int kernel, const char *name,
                    double seconds) {
  rows *r = user;
  if (r->n < 8) {
    r->kernel[r->n] = kernel;
    snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
    r->seconds[r->n] = seconds;
  }
  r->n++;
}

START_TEST(test_profile_api) {
  dlcc_model *m = load_ok(FAKE_PARALLEL);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 2), DLCC_OK);
  par_io io;
  par_io_init(&io, 1000, 3000);
  rows r = {0};
  ck_assert_int_eq(dlcc_model_run_profiled(m, io.in, io.out, collect, &r),
                   DLCC_OK);
  expect_par(&io, 2);
  ck_assert_int_eq(r.n, 3);
  static const char *const names[] = {"k0_fill", "k1_sleep", "k2_copy"};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(r.kernel[i], i);
    ck_assert_str_eq(r.name[i], names[i]);
    ck_assert(r.seconds[i] >= 0);
  }
  ck_assert(r.seconds[1] >= 0.003);

  /* No callback: a plain run. */
  par_io_init(&io, 5, 0);
  ck_assert_int_eq(dlcc_model_run_profiled(m, io.in, io.out, NULL, NULL),
                   DLCC_OK);
  expect_par(&io, 2);
  /* Errors as dlcc_model_run's. */
  ck_assert_int_eq(dlcc_model_run_profiled(m, NULL, io.out, collect, &r),
                   DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m),
                   "inputs array is NULL (the model has 2 inputs)");
  ck_assert_int_eq(dlcc_model_run_profiled(NULL, NULL, NULL, collect, &r),
                   DLCC_ERR_INVALID_ARGUMENT);
  dlcc_model_free(m);

  /* A model that reports no kernels runs and yields no rows. */
  m = load_ok(FAKE_OK);
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
  int64_t k = 1;
  double total;
  int32_t threads;
  const void *in[] = {x, &k};
  void *out[] = {y, &total, &threads};
  r.n = 0;
  ck_assert_int_eq(dlcc_model_run_profiled(m, in, out, collect, &r), DLCC_OK);
  ck_assert_int_eq(r.n, 0);
  ck_assert_float_eq(y[5], 7.0f);
  dlcc_model_free(m);
}
END_TEST

/* ---- dlcc-run --profile ------------------------------------------------- */

static void write_i64(const char *path, int64_t v) {
  char err[512];
  ck_assert_msg(dlc_npy_write(path, DLCC_I64, 0, NULL, &v, err, sizeof err) ==
                    0,
                "%s", err);
}

/* A folder with the fake_parallel inputs n = 1000 and sleep_us = 20000
 * (k1_sleep then outweighs the other kernels by far), and fake_ok's. */
static char *profile_dir(void) {
  char *dir = tu_tmpdir("dlcc-run-profile");
  ck_assert_int_eq(chdir(dir), 0);
  write_i64("n.npy", 1000);
  write_i64("sleep.npy", 20000);
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t d23[] = {2, 3};
  char err[512];
  ck_assert_msg(dlc_npy_write("x.npy", DLCC_F32, 2, d23, x, err, sizeof err) ==
                    0,
                "%s", err);
  write_i64("k.npy", 10);
  return dir;
}

static char *run_tool(const char *const *argv) {
  char *out = NULL;
  int status = tu_run(argv, &out);
  ck_assert_msg(status == 0, "exit %d; output:\n%s", status, out);
  return out;
}

/* The next line of *p (without its newline), advancing *p. */
static char *next_line(char **p) {
  char *s = *p, *nl = strchr(s, '\n');
  ck_assert_msg(nl != NULL, "missing line at '%s'", s);
  *nl = 0;
  *p = nl + 1;
  return s;
}

/* One row: "    1  k1_sleep     2.0757   85.9". */
static void parse_row(const char *line, int *index, char *name, double *ms,
                      double *pct) {
  ck_assert_msg(sscanf(line, "%d %31s %lf %lf", index, name, ms, pct) == 4,
                "not a row: '%s'", line);
}

static void expect_memory_lines(char **p, const char *workspace,
                                const char *io) {
  ck_assert_str_eq(next_line(p), workspace);
  ck_assert_str_eq(next_line(p), io);
  char *rss = next_line(p);
  unsigned long long bytes;
  ck_assert_msg(sscanf(rss, "memory: peak RSS %llu bytes (", &bytes) == 1,
                "%s", rss);
  ck_assert(bytes > 1024 * 1024);
}

START_TEST(test_dlcc_run_profile) {
  char *dir = profile_dir();
  const char *argv[] = {DLCC_RUN_BIN, FAKE_PARALLEL, "--input", "n=n.npy",
                        "--input", "sleep_us=sleep.npy", "--threads", "2",
                        "--output", "counts=c.npy", "--output",
                        "stats=s.npy", "--profile", "3", NULL};
  char *out = run_tool(argv), *p = out;
  ck_assert_str_eq(next_line(&p),
                   "profile: 3 runs, 3 kernels, median time of each");
  ck_assert_str_eq(next_line(&p), "    #  kernel           ms      %");
  int index;
  char name[32];
  double ms, pct, sum_ms = 0, sum_pct = 0;
  parse_row(next_line(&p), &index, name, &ms, &pct);
  ck_assert_int_eq(index, 1);
  ck_assert_str_eq(name, "k1_sleep");
  ck_assert(ms >= 20.0);
  sum_ms += ms;
  sum_pct += pct;
  int seen = 0;
  for (int i = 0; i < 2; i++) {
    parse_row(next_line(&p), &index, name, &ms, &pct);
    ck_assert_str_eq(name, index == 0 ? "k0_fill" : "k2_copy");
    seen |= 1 << index;
    sum_ms += ms;
    sum_pct += pct;
  }
  ck_assert_int_eq(seen, 5);
  char *total = next_line(&p);
  ck_assert_msg(sscanf(total, " total %lf %lf", &ms, &pct) == 2, "%s", total);
  ck_assert_msg(strncmp(total, "       total    ", 16) == 0, "%s", total);
  ck_assert_double_eq_tol(ms, sum_ms, 0.001);
  ck_assert_double_eq_tol(pct, 100.0, 1e-9);
  ck_assert_double_eq_tol(sum_pct, 100.0, 0.2);
  expect_memory_lines(&p,
                      "memory: workspace (activations) 102304 bytes "
                      "(99.9 KiB)",
                      "memory: inputs 16 bytes, outputs 4064 bytes "
                      "(3.97 KiB)");
  ck_assert_str_eq(p, "");
  free(out);

  /* With --bench: its line first, unchanged, then the table. */
  const char *both[] = {DLCC_RUN_BIN, FAKE_PARALLEL, "--input", "n=n.npy",
                        "--input", "sleep_us=sleep.npy", "--output",
                        "counts=c.npy", "--output", "stats=s.npy",
                        "--profile=1", "--bench=2", NULL};
  out = run_tool(both);
  p = out;
  double med, min;
  char *line = next_line(&p);
  ck_assert_msg(sscanf(line, "bench: 2 runs, median %lf ms, min %lf ms", &med,
                       &min) == 2,
                "%s", line);
  ck_assert_str_eq(next_line(&p),
                   "profile: 1 runs, 3 kernels, median time of each");
  free(out);
  free(dir);
}
END_TEST

START_TEST(test_dlcc_run_profile_old_model) {
  char *dir = profile_dir();
  const char *argv[] = {DLCC_RUN_BIN, FAKE_OK, "--input", "x=x.npy",
                        "--input", "k=k.npy", "--threads", "1", "--profile",
                        "2", NULL};
  char *out = run_tool(argv), *p = out;
  ck_assert_str_eq(next_line(&p),
                   "profile: 2 runs; the model reports no kernels (it was "
                   "compiled without kernel reporting)");
  expect_memory_lines(&p, "memory: workspace (activations) 24 bytes",
                      "memory: inputs 32 bytes, outputs 36 bytes");
  ck_assert_str_eq(p, "y: f32[2,3] = [11, 12, 13, 14, 15, 16]\n"
                      "total: f64[] = [21]\n"
                      "threads: i32[1] = [1]\n");
  free(out);

  /* --bench alone: its line, then the memory lines. */
  const char *bench[] = {DLCC_RUN_BIN, FAKE_OK, "--input", "x=x.npy",
                         "--input", "k=k.npy", "--bench", "3", "--output",
                         "y=y.npy", "--output", "total=t.npy", "--output",
                         "threads=n.npy", NULL};
  out = run_tool(bench);
  p = out;
  double med, min;
  char *line = next_line(&p);
  ck_assert_msg(sscanf(line, "bench: 3 runs, median %lf ms, min %lf ms", &med,
                       &min) == 2,
                "%s", line);
  expect_memory_lines(&p, "memory: workspace (activations) 24 bytes",
                      "memory: inputs 32 bytes, outputs 36 bytes");
  ck_assert_str_eq(p, "");
  free(out);

  char *err = NULL;
  const char *bad[] = {DLCC_RUN_BIN, FAKE_OK, "--profile", "0", NULL};
  ck_assert_int_eq(tu_run(bad, &err), 2);
  ck_assert_str_eq(err, "dlcc-run: error: --profile expects a number from 1 "
                        "to 1000000, got '0'\n");
  free(err);
  const char *help[] = {DLCC_RUN_BIN, "--help", NULL};
  ck_assert_int_eq(tu_run(help, &err), 0);
  ck_assert_ptr_nonnull(strstr(err, "  --profile N  "));
  free(err);
  free(dir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("runtime_pool");
  TCase *pool = tcase_create("pool");
  tcase_add_test(pool, test_chunks);
  tcase_add_test(pool, test_parallel_for);
  tcase_add_test(pool, test_late_worker);
  tcase_add_test(pool, test_nested);
  tcase_add_test(pool, test_thread_count_change);
  tcase_add_test(pool, test_env_threads);
  tcase_add_test(pool, test_fork);
  tcase_add_test(pool, test_concurrent_callers);
  tcase_add_test(pool, test_workspace_reuse);
  suite_add_tcase(s, pool);
  TCase *prof = tcase_create("profile");
  tcase_add_test(prof, test_profile_api);
  tcase_add_test(prof, test_dlcc_run_profile);
  tcase_add_test(prof, test_dlcc_run_profile_old_model);
  suite_add_tcase(s, prof);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
