/* The runtime against hand-written fake models (tests/fixtures): describing,
 * running, the checked run's size errors, every load error's exact text,
 * concurrent runs on one model, and dlcc-run end to end with each of its
 * one-line errors and exit statuses. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlcc/runtime.h"
#include "testutil.h"
#include "tools/npy.h"

static dlcc_model *load_ok(const char *path) {
  dlcc_model *m = NULL;
  dlcc_status s = dlcc_model_load(path, &m);
  ck_assert_msg(s == DLCC_OK, "load %s: %s", path, dlcc_model_error(m));
  return m;
}

/* The fake model's inputs and outputs, filled for one run. */
typedef struct fake_io {
  float x[6];
  int64_t k;
  float y[6];
  double total;
  int32_t threads;
  const void *in[2];
  void *out[3];
} fake_io;

static void fake_io_init(fake_io *io, float base, int64_t k) {
  memset(io, 0, sizeof *io);
  for (int i = 0; i < 6; i++)
    io->x[i] = base + (float)i;
  io->k = k;
  io->in[0] = io->x;
  io->in[1] = &io->k;
  io->out[0] = io->y;
  io->out[1] = &io->total;
  io->out[2] = &io->threads;
}

static int fake_io_ok(const fake_io *io) {
  double total = 0;
  for (int i = 0; i < 6; i++) {
    if (io->y[i] != io->x[i] + (float)io->k)
      return 0;
    total += io->x[i];
  }
  return io->total == total;
}

START_TEST(test_library) {
  ck_assert_str_eq(dlcc_runtime_version(), DLCC_VERSION);
  ck_assert_int_eq(dlcc_runtime_abi_version(), 1);
  ck_assert_str_eq(dlcc_status_string(DLCC_OK), "ok");
  ck_assert_str_eq(dlcc_status_string(DLCC_ERR_SIZE_MISMATCH),
                   "buffer size mismatch");
  ck_assert_str_eq(dlcc_status_string(DLCC_ERR_RUN_FAILED),
                   "model run failed");
  ck_assert_str_eq(dlcc_status_string((dlcc_status)99), "unknown status");
  for (int s = 0; s <= DLCC_ERR_RUN_FAILED; s++)
    ck_assert_str_ne(dlcc_status_string((dlcc_status)s), "unknown status");
  /* The frozen values. */
  ck_assert_int_eq(DLCC_F32, 1);
  ck_assert_int_eq(DLCC_F64, 2);
  ck_assert_int_eq(DLCC_I32, 3);
  ck_assert_int_eq(DLCC_I64, 4);
  ck_assert_str_eq(dlcc_dtype_name(DLCC_F32), "f32");
  ck_assert_str_eq(dlcc_dtype_name(DLCC_I64), "i64");
  ck_assert_int_eq(DLCC_BOOL, 5);
  ck_assert_str_eq(dlcc_dtype_name(DLCC_BOOL), "bool");
  ck_assert_uint_eq(dlcc_dtype_size(DLCC_BOOL), 1);
  ck_assert_str_eq(dlcc_dtype_name((dlcc_dtype)6), "unknown");
  ck_assert_uint_eq(dlcc_dtype_size(DLCC_F64), 8);
  ck_assert_uint_eq(dlcc_dtype_size(DLCC_I32), 4);
  ck_assert_uint_eq(dlcc_dtype_size((dlcc_dtype)0), 0);
  int64_t dims[] = {2, 3, 4};
  dlcc_tensor_info t = {"t", DLCC_F64, 3, dims};
  ck_assert_int_eq(dlcc_tensor_numel(&t), 24);
  ck_assert_uint_eq(dlcc_tensor_bytes(&t), 192);
  t.rank = 0;
  ck_assert_int_eq(dlcc_tensor_numel(&t), 1);
  ck_assert_int_eq(dlcc_tensor_numel(NULL), 0);
  t.rank = 2;
  t.dims = NULL;
  ck_assert_int_eq(dlcc_tensor_numel(&t), 0);
  ck_assert_uint_eq(dlcc_tensor_bytes(NULL), 0);
  dlcc_model_free(NULL);
  ck_assert_str_eq(dlcc_model_error(NULL), "out of memory");
  ck_assert_int_eq(dlcc_model_num_inputs(NULL), 0);
  ck_assert_int_eq(dlcc_model_find_input(NULL, "x"), -1);
  ck_assert_int_eq(dlcc_model_run(NULL, NULL, NULL),
                   DLCC_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_describe) {
  dlcc_model *m = load_ok(FAKE_OK);
  ck_assert_str_eq(dlcc_model_error(m), "");
  ck_assert_str_eq(dlcc_model_name(m), "fake");
  ck_assert_str_eq(dlcc_model_producer(m), "fake_model.c");
  ck_assert_int_eq(dlcc_model_num_inputs(m), 2);
  ck_assert_int_eq(dlcc_model_num_outputs(m), 3);
  ck_assert_uint_eq(dlcc_model_workspace_size(m), 24);

  dlcc_tensor_info t;
  ck_assert_int_eq(dlcc_model_input_info(m, 0, &t), DLCC_OK);
  ck_assert_str_eq(t.name, "x");
  ck_assert_int_eq(t.dtype, DLCC_F32);
  ck_assert_int_eq(t.rank, 2);
  ck_assert_int_eq(t.dims[0], 2);
  ck_assert_int_eq(t.dims[1], 3);
  ck_assert_uint_eq(dlcc_tensor_bytes(&t), 24);
  ck_assert_int_eq(dlcc_model_input_info(m, 1, &t), DLCC_OK);
  ck_assert_str_eq(t.name, "k");
  ck_assert_int_eq(t.dtype, DLCC_I64);
  ck_assert_int_eq(t.rank, 0);
  ck_assert_ptr_nonnull(t.dims);
  ck_assert_uint_eq(dlcc_tensor_bytes(&t), 8);
  ck_assert_int_eq(dlcc_model_output_info(m, 2, &t), DLCC_OK);
  ck_assert_str_eq(t.name, "threads");
  ck_assert_int_eq(t.dtype, DLCC_I32);

  ck_assert_int_eq(dlcc_model_find_input(m, "k"), 1);
  ck_assert_int_eq(dlcc_model_find_input(m, "y"), -1);
  ck_assert_int_eq(dlcc_model_find_input(m, NULL), -1);
  ck_assert_int_eq(dlcc_model_find_output(m, "total"), 1);
  ck_assert_int_eq(dlcc_model_find_output(m, "x"), -1);

  ck_assert_int_eq(dlcc_model_input_info(m, 2, &t), DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m),
                   "input index 2 is out of range (the model has 2)");
  ck_assert_int_eq(dlcc_model_output_info(m, -1, &t),
                   DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m),
                   "output index -1 is out of range (the model has 3)");
  ck_assert_int_eq(dlcc_model_input_info(m, 0, NULL),
                   DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m), "dlcc_model_input_info: info is NULL");
  dlcc_model_free(m);
}
END_TEST

START_TEST(test_run) {
  dlcc_model *m = load_ok(FAKE_OK);
  fake_io io;
  fake_io_init(&io, 1.5f, 10);
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_OK);
  ck_assert(fake_io_ok(&io));
  ck_assert_float_eq(io.y[0], 11.5f);
  ck_assert_int_eq(io.threads, dlcc_model_num_threads(m));

  /* A model whose run reports an error. */
  fake_io_init(&io, 0, 7777);
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_ERR_RUN_FAILED);
  ck_assert_str_eq(dlcc_model_error(m), "model 'fake': run failed with code 42");

  /* Successful calls leave the last error in place. */
  fake_io_init(&io, 0, 1);
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_OK);
  ck_assert_str_eq(dlcc_model_error(m), "model 'fake': run failed with code 42");
  dlcc_model_free(m);
}
END_TEST

START_TEST(test_run_bad_buffers) {
  dlcc_model *m = load_ok(FAKE_OK);
  fake_io io;
  fake_io_init(&io, 0, 1);
  ck_assert_int_eq(dlcc_model_run(m, NULL, io.out), DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m),
                   "inputs array is NULL (the model has 2 inputs)");
  ck_assert_int_eq(dlcc_model_run(m, io.in, NULL), DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m),
                   "outputs array is NULL (the model has 3 outputs)");
  io.in[1] = NULL;
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m), "input 'k' (i64[]): buffer is NULL");
  fake_io_init(&io, 0, 1);
  io.out[0] = (char *)io.y + 1;
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_msg(strstr(dlcc_model_error(m), "output 'y' (f32[2,3]): buffer ") &&
                    strstr(dlcc_model_error(m), " is not aligned to 4 bytes"),
                "%s", dlcc_model_error(m));
  dlcc_model_free(m);
}
END_TEST

START_TEST(test_run_checked) {
  dlcc_model *m = load_ok(FAKE_OK);
  fake_io io;
  fake_io_init(&io, 2, 3);
  size_t in_bytes[] = {24, 8}, out_bytes[] = {24, 8, 4};
  ck_assert_int_eq(dlcc_model_run_checked(m, io.in, in_bytes, io.out, out_bytes),
                   DLCC_OK);
  ck_assert(fake_io_ok(&io));

  in_bytes[0] = 20;
  fake_io_init(&io, 2, 3);
  ck_assert_int_eq(dlcc_model_run_checked(m, io.in, in_bytes, io.out, out_bytes),
                   DLCC_ERR_SIZE_MISMATCH);
  ck_assert_str_eq(dlcc_model_error(m),
                   "input 'x' (f32[2,3]): buffer is 20 bytes, expected 24");
  ck_assert_float_eq(io.y[0], 0); /* nothing ran */
  in_bytes[0] = 24;
  out_bytes[1] = 4;
  ck_assert_int_eq(dlcc_model_run_checked(m, io.in, in_bytes, io.out, out_bytes),
                   DLCC_ERR_SIZE_MISMATCH);
  ck_assert_str_eq(dlcc_model_error(m),
                   "output 'total' (f64[]): buffer is 4 bytes, expected 8");
  ck_assert_int_eq(dlcc_model_run_checked(m, io.in, NULL, io.out, out_bytes),
                   DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m), "input_bytes is NULL");

  char small[16];
  size_t n = dlcc_model_error_copy(m, small, sizeof small);
  ck_assert_uint_eq(n, strlen("input_bytes is NULL"));
  ck_assert_str_eq(small, "input_bytes is ");
  dlcc_model_free(m);
}
END_TEST

START_TEST(test_threads) {
  unsetenv("DLCC_NUM_THREADS");
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  dlcc_model *m = load_ok(FAKE_OK);
  ck_assert_int_eq(dlcc_model_num_threads(m), cpus);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 3), DLCC_OK);
  fake_io io;
  fake_io_init(&io, 0, 1);
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_OK);
  ck_assert_int_eq(io.threads, 3);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, -1), DLCC_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(dlcc_model_error(m),
                   "thread count -1 is out of range (0 to 4096)");
  ck_assert_int_eq(dlcc_model_num_threads(m), 3);
  ck_assert_int_eq(dlcc_model_set_num_threads(m, 0), DLCC_OK);
  ck_assert_int_eq(dlcc_model_num_threads(m), cpus);
  dlcc_model_free(m);

  setenv("DLCC_NUM_THREADS", "5", 1);
  m = load_ok(FAKE_OK);
  ck_assert_int_eq(dlcc_model_num_threads(m), 5);
  dlcc_model_free(m);
  setenv("DLCC_NUM_THREADS", "lots", 1); /* ignored */
  m = load_ok(FAKE_OK);
  ck_assert_int_eq(dlcc_model_num_threads(m), cpus);
  dlcc_model_free(m);
  unsetenv("DLCC_NUM_THREADS");
}
END_TEST

/* Each load error: the status and the exact text. */
static void expect_load_error(const char *path, dlcc_status want,
                              const char *text) {
  dlcc_model *m = NULL;
  dlcc_status s = dlcc_model_load(path, &m);
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(s == want, "%s: status %d, want %d (%s)", path ? path : "NULL",
                s, want, dlcc_model_error(m));
  ck_assert_str_eq(dlcc_model_error(m), text);
  /* A failed handle answers every call without crashing. */
  ck_assert_str_eq(dlcc_model_name(m), "");
  ck_assert_int_eq(dlcc_model_num_inputs(m), 0);
  ck_assert_int_eq(dlcc_model_num_outputs(m), 0);
  ck_assert_int_eq(dlcc_model_find_input(m, "x"), -1);
  dlcc_tensor_info t;
  ck_assert_int_eq(dlcc_model_input_info(m, 0, &t), want);
  ck_assert_int_eq(dlcc_model_run(m, NULL, NULL), want);
  ck_assert_str_eq(dlcc_model_error(m), text);
  dlcc_model_free(m);
}

static void expect_fixture_error(const char *path, dlcc_status want,
                                 const char *fmt) {
  char text[4096];
  snprintf(text, sizeof text, fmt, path, path);
  expect_load_error(path, want, text);
}

START_TEST(test_load_errors) {
  expect_fixture_error(FAKE_BAD_VERSION, DLCC_ERR_ABI_VERSION,
                       "%s: ABI version 7 is not supported (this runtime "
                       "reads version 1)");
  expect_fixture_error(FAKE_SMALL_STRUCT, DLCC_ERR_BAD_MODEL,
                       "%s: ABI struct is 40 bytes, less than the 72 of "
                       "version 1");
  expect_fixture_error(FAKE_NO_ENTRY, DLCC_ERR_NOT_A_MODEL,
                       "%s: not a dlcc model (no symbol dlcc_model_entry)");
  expect_fixture_error(FAKE_NULL_ENTRY, DLCC_ERR_BAD_MODEL,
                       "%s: dlcc_model_entry returned NULL");
  expect_fixture_error(FAKE_BAD_DTYPE, DLCC_ERR_BAD_MODEL,
                       "%s: input 0 ('x') has unknown dtype code 9 (this "
                       "runtime reads 1 to 5)");
  expect_fixture_error(FAKE_BAD_RANK, DLCC_ERR_BAD_MODEL,
                       "%s: input 0 ('x') has rank 9 (must be 0 to 8)");
  expect_fixture_error(FAKE_ZERO_DIM, DLCC_ERR_BAD_MODEL,
                       "%s: input 0 ('x') has dims[1] = 0 (must be >= 1)");
  expect_fixture_error(FAKE_NULL_RUN, DLCC_ERR_BAD_MODEL,
                       "%s: run function is NULL");
  expect_fixture_error(FAKE_BAD_ALIGN, DLCC_ERR_BAD_MODEL,
                       "%s: workspace_align 48 is not a power of two");
  expect_fixture_error(FAKE_DUP_NAME, DLCC_ERR_BAD_MODEL,
                       "%s: duplicate input name 'x'");
  expect_fixture_error(FAKE_NO_OUTPUTS, DLCC_ERR_BAD_MODEL,
                       "%s: num_outputs is 0 (must be 1 to 100000)");
  expect_fixture_error(FAKE_UNDEFINED_SYM, DLCC_ERR_LOAD,
                       "%s: cannot load: %s: undefined symbol: "
                       "dlcc_fixture_missing_symbol");

  char *dir = tu_tmpdir("runtime-load");
  ck_assert_int_eq(chdir(dir), 0);
  char text[200];
  memset(text, 'a', sizeof text);
  tu_write_file("mlp.txt", text, sizeof text);
  expect_load_error("mlp.txt", DLCC_ERR_NOT_A_MODEL,
                    "mlp.txt: not a dlcc model: ./mlp.txt: invalid ELF header");
  tu_write_file("short.so", "\177ELF", 4);
  expect_load_error("short.so", DLCC_ERR_LOAD,
                    "short.so: cannot load: ./short.so: file too short");
  expect_load_error("missing.so", DLCC_ERR_IO,
                    "missing.so: cannot open: No such file or directory");
  expect_load_error(NULL, DLCC_ERR_INVALID_ARGUMENT, "model path is NULL");
  expect_load_error("", DLCC_ERR_INVALID_ARGUMENT, "model path is empty");
  ck_assert_int_eq(dlcc_model_load("x.so", NULL), DLCC_ERR_INVALID_ARGUMENT);
  free(dir);
}
END_TEST

START_TEST(test_load_dir) {
  char *dir = tu_tmpdir("runtime-dir");
  char text[4200];
  snprintf(text, sizeof text, "%s: cannot open: Is a directory", dir);
  expect_load_error(dir, DLCC_ERR_IO, text);
  free(dir);
}
END_TEST

/* A bare file name means the current folder, never the library path. */
START_TEST(test_bare_name) {
  char *dir = tu_tmpdir("runtime-bare");
  size_t n;
  char *so = tu_read_file(FAKE_OK, &n);
  ck_assert_ptr_nonnull(so);
  ck_assert_int_eq(chdir(dir), 0);
  tu_write_file("model.so", so, n);
  free(so);
  dlcc_model *m = load_ok("model.so");
  ck_assert_str_eq(dlcc_model_name(m), "fake");
  dlcc_model_free(m);
  free(dir);
}
END_TEST

/* A struct from a later ABI with fields appended still loads. */
START_TEST(test_appended_fields) {
  dlcc_model *m = load_ok(FAKE_BIG_STRUCT);
  fake_io io;
  fake_io_init(&io, 4, 2);
  ck_assert_int_eq(dlcc_model_run(m, io.in, io.out), DLCC_OK);
  ck_assert(fake_io_ok(&io));
  dlcc_model_free(m);
}
END_TEST

/* Two handles on one library are independent. */
START_TEST(test_load_twice) {
  dlcc_model *a = load_ok(FAKE_OK), *b = load_ok(FAKE_OK);
  dlcc_model_free(a);
  fake_io io;
  fake_io_init(&io, 1, 1);
  ck_assert_int_eq(dlcc_model_run(b, io.in, io.out), DLCC_OK);
  ck_assert(fake_io_ok(&io));
  dlcc_model_free(b);
}
END_TEST

typedef struct worker {
  dlcc_model *m;
  int id, failures;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < 300; i++) {
    fake_io io;
    fake_io_init(&io, (float)(w->id * 1000 + i), w->id + i);
    if (dlcc_model_run(w->m, io.in, io.out) != DLCC_OK || !fake_io_ok(&io))
      w->failures++;
    /* Errors from other threads must not disturb this one. */
    if (i % 50 == 0) {
      fake_io_init(&io, 0, 7777);
      if (dlcc_model_run(w->m, io.in, io.out) != DLCC_ERR_RUN_FAILED)
        w->failures++;
      char buf[128];
      dlcc_model_error_copy(w->m, buf, sizeof buf);
      if (strcmp(buf, "model 'fake': run failed with code 42") != 0)
        w->failures++;
    }
  }
  return NULL;
}

START_TEST(test_concurrent_runs) {
  dlcc_model *m = load_ok(FAKE_OK);
  enum { N = 8 };
  pthread_t th[N];
  worker w[N];
  for (int i = 0; i < N; i++) {
    w[i] = (worker){m, i + 1, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    ck_assert_msg(w[i].failures == 0, "thread %d: %d failures", i,
                  w[i].failures);
  }
  dlcc_model_free(m);
}
END_TEST

/* ---- dlcc-run end to end ------------------------------------------------ */

static void write_npy(const char *path, dlcc_dtype t, int rank,
                      const int64_t *dims, const void *data) {
  char err[512];
  ck_assert_msg(dlc_npy_write(path, t, rank, dims, data, err, sizeof err) == 0,
                "%s", err);
}

/* A folder with x.npy (f32[2,3]) and k.npy (i64[] = 10) for the fake. */
static char *run_dir(void) {
  char *dir = tu_tmpdir("dlcc-run");
  ck_assert_int_eq(chdir(dir), 0);
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t k = 10, k_fail = 7777;
  int64_t d23[] = {2, 3}, d32[] = {3, 2};
  write_npy("x.npy", DLCC_F32, 2, d23, x);
  write_npy("x32.npy", DLCC_F32, 2, d32, x);
  write_npy("xf64.npy", DLCC_F64, 2, d23, (double[6]){0});
  write_npy("k.npy", DLCC_I64, 0, NULL, &k);
  write_npy("kfail.npy", DLCC_I64, 0, NULL, &k_fail);
  size_t n;
  char *bytes = tu_read_file("x.npy", &n);
  tu_write_file("xshort.npy", bytes, n - 4);
  free(bytes);
  return dir;
}

/* Runs dlcc-run with args (NULL-terminated) and checks status and output. */
static void expect_run(int want_status, const char *want_out, ...) {
  const char *argv[32] = {DLCC_RUN_BIN};
  va_list ap;
  va_start(ap, want_out);
  int n = 1;
  const char *a;
  while ((a = va_arg(ap, const char *)) && n < 31)
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  char *out = NULL;
  int status = tu_run(argv, &out);
  ck_assert_msg(status == want_status, "exit %d, want %d; output:\n%s", status,
                want_status, out);
  ck_assert_str_eq(out, want_out);
  free(out);
}

START_TEST(test_dlcc_run_ok) {
  char *dir = run_dir();
  expect_run(0,
             "y: f32[2,3] = [11, 12, 13, 14, 15, 16]\n"
             "total: f64[] = [21]\n"
             "threads: i32[1] = [2]\n",
             FAKE_OK, "--input", "x=x.npy", "--input=k=k.npy", "--threads",
             "2", NULL);
  expect_run(0, "total: f64[] = [21]\nthreads: i32[1] = [1]\n", FAKE_OK,
             "--input", "k=k.npy", "--input", "x=x.npy", "--output", "y=y.npy",
             "--threads=1", NULL);
  dlc_npy y;
  char err[512];
  ck_assert_msg(dlc_npy_read("y.npy", &y, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(y.dtype, DLCC_F32);
  ck_assert_int_eq(y.rank, 2);
  ck_assert_int_eq(y.dims[1], 3);
  ck_assert_float_eq(((float *)y.data)[5], 16.0f);
  dlc_npy_free(&y);

  /* --bench: one line with the run count, the median and the minimum. */
  const char *argv[] = {DLCC_RUN_BIN, FAKE_OK, "--input", "x=x.npy",
                        "--input", "k=k.npy", "--bench", "5", "--output",
                        "y=y.npy", "--output", "total=t.npy", "--output",
                        "threads=n.npy", NULL};
  char *out;
  ck_assert_int_eq(tu_run(argv, &out), 0);
  double med, min;
  ck_assert_msg(sscanf(out, "bench: 5 runs, median %lf ms, min %lf ms", &med,
                       &min) == 2, "%s", out);
  ck_assert(min <= med);
  free(out);

  const char *help[] = {DLCC_RUN_BIN, "--help", NULL};
  ck_assert_int_eq(tu_run(help, &out), 0);
  ck_assert_ptr_nonnull(strstr(out, "usage: dlcc-run MODEL.so"));
  free(out);
  free(dir);
}
END_TEST

START_TEST(test_dlcc_run_errors) {
  char *dir = run_dir();
  char want[4096];
  expect_run(1,
             "dlcc-run: error: missing input 'x' (f32[2,3]): pass --input "
             "x=FILE.npy\n",
             FAKE_OK, "--input", "k=k.npy", NULL);
  expect_run(1,
             "dlcc-run: error: unknown input 'z'; the model's inputs are: "
             "x (f32[2,3]), k (i64[])\n",
             FAKE_OK, "--input", "z=x.npy", NULL);
  expect_run(1,
             "dlcc-run: error: unknown output 'q'; the model's outputs are: "
             "y (f32[2,3]), total (f64[]), threads (i32[1])\n",
             FAKE_OK, "--input", "x=x.npy", "--input", "k=k.npy", "--output",
             "q=q.npy", NULL);
  expect_run(1, "dlcc-run: error: input 'x' is given twice\n", FAKE_OK,
             "--input", "x=x.npy", "--input", "x=x.npy", NULL);
  expect_run(1,
             "dlcc-run: error: input 'x': expected f32[2,3], got f32[3,2] "
             "from x32.npy\n",
             FAKE_OK, "--input", "x=x32.npy", "--input", "k=k.npy", NULL);
  expect_run(1,
             "dlcc-run: error: input 'x': expected f32[2,3], got f64[2,3] "
             "from xf64.npy\n",
             FAKE_OK, "--input", "x=xf64.npy", "--input", "k=k.npy", NULL);
  expect_run(1,
             "dlcc-run: error: xshort.npy: truncated data: shape (2, 3) of "
             "<f4 needs 24 bytes, found 20\n",
             FAKE_OK, "--input", "x=xshort.npy", "--input", "k=k.npy", NULL);
  expect_run(1,
             "dlcc-run: error: nope.npy: cannot open: No such file or "
             "directory\n",
             FAKE_OK, "--input", "x=nope.npy", "--input", "k=k.npy", NULL);
  expect_run(1, "dlcc-run: error: model 'fake': run failed with code 42\n",
             FAKE_OK, "--input", "x=x.npy", "--input", "k=kfail.npy", NULL);
  expect_run(1,
             "dlcc-run: error: no/y.npy: cannot write: No such file or "
             "directory\n",
             FAKE_OK, "--input", "x=x.npy", "--input", "k=k.npy", "--output",
             "y=no/y.npy", NULL);
  snprintf(want, sizeof want,
           "dlcc-run: error: %s: ABI version 7 is not supported (this "
           "runtime reads version 1)\n",
           FAKE_BAD_VERSION);
  expect_run(1, want, FAKE_BAD_VERSION, NULL);
  expect_run(1,
             "dlcc-run: error: x.npy: not a dlcc model: ./x.npy: invalid ELF "
             "header\n",
             "x.npy", NULL);

  /* Usage errors exit with 2. */
  expect_run(2, "dlcc-run: error: unknown option '--frobnicate' (see "
             "dlcc-run --help)\n", FAKE_OK, "--frobnicate", NULL);
  expect_run(2, "dlcc-run: error: option --input needs a value\n", FAKE_OK,
             "--input", NULL);
  expect_run(2, "dlcc-run: error: --input expects NAME=FILE.npy, got "
             "'x.npy'\n", FAKE_OK, "--input", "x.npy", NULL);
  expect_run(2, "dlcc-run: error: --bench expects a number from 1 to "
             "1000000000, got '0'\n", FAKE_OK, "--bench", "0", NULL);
  expect_run(2, "dlcc-run: error: --threads expects a number from 0 to "
             "4096, got 'many'\n", FAKE_OK, "--threads", "many", NULL);
  expect_run(2, "dlcc-run: error: no model given (usage: dlcc-run MODEL.so "
             "[options]; see --help)\n", NULL);
  snprintf(want, sizeof want,
           "dlcc-run: error: unexpected argument 'b.so' (the model is "
           "'%s')\n", FAKE_OK);
  expect_run(2, want, FAKE_OK, "b.so", NULL);
  free(dir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("runtime");
  TCase *tc = tcase_create("runtime");
  tcase_add_test(tc, test_library);
  tcase_add_test(tc, test_describe);
  tcase_add_test(tc, test_run);
  tcase_add_test(tc, test_run_bad_buffers);
  tcase_add_test(tc, test_run_checked);
  tcase_add_test(tc, test_threads);
  tcase_add_test(tc, test_load_errors);
  tcase_add_test(tc, test_load_dir);
  tcase_add_test(tc, test_bare_name);
  tcase_add_test(tc, test_appended_fields);
  tcase_add_test(tc, test_load_twice);
  tcase_add_test(tc, test_concurrent_runs);
  suite_add_tcase(s, tc);
  TCase *tool = tcase_create("dlcc-run");
  tcase_add_test(tool, test_dlcc_run_ok);
  tcase_add_test(tool, test_dlcc_run_errors);
  suite_add_tcase(s, tool);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
