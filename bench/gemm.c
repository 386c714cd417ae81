/* f32 GEMM timing, C[M,N] = A[M,K] * B[K,N], row-major, for one
 * implementation chosen at compile time (bench/run.sh builds one binary
 * per implementation, so each runs in its own process and thread pools
 * never meet):
 *
 *   -DGEMM_DLCC      a model.so compiled by dlcc from
 *                    `input a: f32[M,K]; input b: f32[K,N]; output c = a @ b`,
 *                    run through the runtime C API (libdlcc-runtime)
 *   -DGEMM_DNNL      oneDNN's dnnl_sgemm (threads: OMP_NUM_THREADS)
 *   -DGEMM_OPENBLAS  OpenBLAS's cblas_sgemm (threads: openblas_set_num_threads
 *                    and OPENBLAS_NUM_THREADS)
 *
 *   gemm-IMPL M K N THREADS MIN_SECONDS MIN_RUNS [MODEL.so]
 *
 * Warms up (at least one run and 0.1 s), then times single calls until at
 * least MIN_RUNS calls and MIN_SECONDS of them; checks 64 sampled entries of
 * C against a double-precision dot product (a wrong result is an error,
 * exit 1). Prints one line:
 *
 *   IMPL M K N THREADS RUNS MEDIAN_MS MIN_MS GFLOPS(median)
 *
 * `gemm-IMPL --info` prints the library's version (and OpenBLAS's kernel
 * set, e.g. SkylakeX).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(GEMM_DLCC)
#include <dlcc/runtime.h>
#define IMPL "dlcc"
#elif defined(GEMM_DNNL)
#include <dnnl.h>
#define IMPL "onednn"
#elif defined(GEMM_OPENBLAS)
/* Declared here rather than from cblas.h: Debian has several cblas.h
 * (reference, OpenBLAS variants) and only these few symbols are needed. */
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k,
                 float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);
void openblas_set_num_threads(int n);
char *openblas_get_corename(void);
#define IMPL "openblas"
#else
#error "define GEMM_DLCC, GEMM_DNNL or GEMM_OPENBLAS"
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void *xalloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
    fprintf(stderr, "gemm-%s: out of memory\n", IMPL);
    exit(1);
  }
  return p;
}

static long M, K, N;
static float *A, *B, *C;

#if defined(GEMM_DLCC)
static dlcc_model *model;
#endif

static void gemm(void) {
#if defined(GEMM_DLCC)
  const void *in[] = {A, B};
  void *out[] = {C};
  if (dlcc_model_run(model, in, out) != DLCC_OK) {
    fprintf(stderr, "gemm-dlcc: run failed: %s\n", dlcc_model_error(model));
    exit(1);
  }
#elif defined(GEMM_DNNL)
  dnnl_status_t st = dnnl_sgemm('N', 'N', M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
  if (st != dnnl_success) {
    fprintf(stderr, "gemm-onednn: dnnl_sgemm failed (status %d)\n", (int)st);
    exit(1);
  }
#else
  cblas_sgemm(101 /* CblasRowMajor */, 111 /* CblasNoTrans */, 111, (int)M,
              (int)N, (int)K, 1.0f, A, (int)K, B, (int)N, 0.0f, C, (int)N);
#endif
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--info") == 0) {
#if defined(GEMM_DLCC)
    printf("dlcc runtime %s\n", dlcc_runtime_version());
#elif defined(GEMM_DNNL)
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d (%s)\n", v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "non-OpenMP");
#else
    printf("OpenBLAS, %s kernels\n", openblas_get_corename());
#endif
    return 0;
  }
  if (argc < 7 || argc > 8) {
    fprintf(stderr,
            "usage: gemm-%s M K N THREADS MIN_SECONDS MIN_RUNS [MODEL.so]\n",
            IMPL);
    return 2;
  }
  M = atol(argv[1]);
  K = atol(argv[2]);
  N = atol(argv[3]);
  int threads = atoi(argv[4]);
  double min_s = atof(argv[5]);
  int min_runs = atoi(argv[6]);
  if (M < 1 || K < 1 || N < 1 || threads < 1 || min_runs < 1) {
    fprintf(stderr, "gemm-%s: bad arguments\n", IMPL);
    return 2;
  }

#if defined(GEMM_DLCC)
  if (argc != 8) {
    fprintf(stderr, "gemm-dlcc: needs MODEL.so\n");
    return 2;
  }
  if (dlcc_model_load(argv[7], &model) != DLCC_OK) {
    fprintf(stderr, "gemm-dlcc: %s\n",
            model ? dlcc_model_error(model) : "out of memory");
    return 1;
  }
  dlcc_tensor_info ia, ib, ic;
  if (dlcc_model_num_inputs(model) != 2 || dlcc_model_num_outputs(model) != 1 ||
      dlcc_model_input_info(model, 0, &ia) != DLCC_OK ||
      dlcc_model_input_info(model, 1, &ib) != DLCC_OK ||
      dlcc_model_output_info(model, 0, &ic) != DLCC_OK ||
      ia.rank != 2 || ib.rank != 2 || ic.rank != 2 || ia.dtype != DLCC_F32 ||
      ib.dtype != DLCC_F32 || ic.dtype != DLCC_F32 || ia.dims[0] != M ||
      ia.dims[1] != K || ib.dims[0] != K || ib.dims[1] != N ||
      ic.dims[0] != M || ic.dims[1] != N) {
    fprintf(stderr, "gemm-dlcc: %s is not a %ldx%ld @ %ldx%ld f32 matmul\n",
            argv[7], M, K, K, N);
    return 1;
  }
  if (dlcc_model_set_num_threads(model, threads) != DLCC_OK) {
    fprintf(stderr, "gemm-dlcc: set_num_threads: %s\n", dlcc_model_error(model));
    return 1;
  }
#elif defined(GEMM_OPENBLAS)
  openblas_set_num_threads(threads);
#endif

  A = xalloc((size_t)M * K * sizeof(float));
  B = xalloc((size_t)K * N * sizeof(float));
  C = xalloc((size_t)M * N * sizeof(float));
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < (size_t)M * K; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    A[i] = (float)((double)(s >> 40) / (double)(1 << 24) * 2.0 - 1.0);
  }
  for (size_t i = 0; i < (size_t)K * N; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    B[i] = (float)((double)(s >> 40) / (double)(1 << 24) * 2.0 - 1.0);
  }
  memset(C, 0, (size_t)M * N * sizeof(float));

  /* Warm-up: at least one run and 0.1 s (caches, page faults, thread
   * pools, JIT-compiled kernels, the CPU's clock). */
  double t0 = now();
  do gemm();
  while (now() - t0 < 0.1);

  /* Check a sample of C. */
  for (int t = 0; t < 64; t++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    long i = (long)((s >> 33) % (uint64_t)M);
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    long j = (long)((s >> 33) % (uint64_t)N);
    double ref = 0, mag = 0;
    for (long k = 0; k < K; k++) {
      ref += (double)A[i * K + k] * B[k * N + j];
      mag += fabs((double)A[i * K + k] * B[k * N + j]);
    }
    double got = C[i * N + j];
    if (!(fabs(got - ref) <= 1e-3 * mag + 1e-6)) {
      fprintf(stderr, "gemm-%s: wrong result for %ldx%ldx%ld: C[%ld,%ld] = %g, expected %g\n",
              IMPL, M, K, N, i, j, got, ref);
      return 1;
    }
  }

  size_t cap = 1024, n = 0;
  double *times = xalloc(cap * sizeof(double)), total = 0;
  while (n < (size_t)min_runs || total < min_s) {
    double a = now();
    gemm();
    double dt = now() - a;
    if (n == cap) {
      double *bigger = xalloc(2 * cap * sizeof(double));
      memcpy(bigger, times, cap * sizeof(double));
      free(times);
      times = bigger;
      cap *= 2;
    }
    times[n++] = dt;
    total += dt;
    if (n >= 100000) break;
  }
  qsort(times, n, sizeof(double), cmp_double);
  double med = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  double flops = 2.0 * (double)M * (double)K * (double)N;
  printf("%s %ld %ld %ld %d %zu %.4f %.4f %.2f\n", IMPL, M, K, N, threads, n,
         med * 1e3, times[0] * 1e3, flops / med * 1e-9);
#if defined(GEMM_DLCC)
  dlcc_model_free(model);
#endif
  free(times);
  free(A);
  free(B);
  free(C);
  return 0;
}
