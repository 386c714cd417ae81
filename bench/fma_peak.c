/* The machine's f32 FMA peak, measured: each thread runs independent chains
 * of vector FMAs (AVX-512 when the CPU has it, else AVX2+FMA), enough
 * accumulators to cover the FMA latency on two ports (Cascade Lake: latency
 * 4, 2 ports -> 8 chains in flight; 16 are used), and no loads or stores.
 *
 *   fma_peak THREADS [SECONDS]
 *
 * Each thread runs the loop for about SECONDS (default 0.3) after a warm-up
 * that brings the core to its AVX clock; all threads start together. Prints
 * one line: "THREADS GFLOPS ISA", GFLOPS being the total over the threads
 * (1 FMA = 2 flops), the best of 5 rounds.
 *
 * Build: cc -O2 -pthread bench/fma_peak.c -o fma_peak (the vector code is
 * compiled with target attributes; no -m flags needed).
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define ITERS 1000000L /* per call; 16 FMAs each */

/* Returns a value derived from the accumulators so that nothing is
 * optimized away. Flops per call: ITERS * 16 chains * 16 lanes * 2. */
__attribute__((target("avx512f"), noinline)) static float
chains512(float seed) {
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  /* Distinct starting values, so that the compiler cannot merge chains. */
#define S(k) _mm512_set1_ps(seed + (float)(k))
  __m512 c0 = S(0), c1 = S(1), c2 = S(2), c3 = S(3), c4 = S(4), c5 = S(5),
         c6 = S(6), c7 = S(7), c8 = S(8), c9 = S(9), c10 = S(10), c11 = S(11),
         c12 = S(12), c13 = S(13), c14 = S(14), c15 = S(15);
#undef S
  for (long i = 0; i < ITERS; i++) {
#define F(c) c = _mm512_fmadd_ps(c, a, b)
    F(c0); F(c1); F(c2); F(c3); F(c4); F(c5); F(c6); F(c7);
    F(c8); F(c9); F(c10); F(c11); F(c12); F(c13); F(c14); F(c15);
#undef F
  }
  __m512 s = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                    _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
      _mm512_add_ps(
          _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
          _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15))));
  return _mm512_reduce_add_ps(s);
}

/* AVX2: 16 registers, so 12 chains (latency 4 or 5, 2 ports). */
__attribute__((target("avx2,fma"), noinline)) static float chains256(float seed) {
  __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
#define S(k) _mm256_set1_ps(seed + (float)(k))
  __m256 c0 = S(0), c1 = S(1), c2 = S(2), c3 = S(3), c4 = S(4), c5 = S(5),
         c6 = S(6), c7 = S(7), c8 = S(8), c9 = S(9), c10 = S(10), c11 = S(11);
#undef S
  for (long i = 0; i < ITERS; i++) {
#define F(c) c = _mm256_fmadd_ps(c, a, b)
    F(c0); F(c1); F(c2); F(c3); F(c4); F(c5);
    F(c6); F(c7); F(c8); F(c9); F(c10); F(c11);
#undef F
  }
  __m256 s = _mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
      _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)),
                    _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11))));
  float v[8];
  _mm256_storeu_ps(v, s);
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}

static int use512;
static double seconds = 0.3;
static pthread_barrier_t barrier;
static volatile float sink;

typedef struct {
  double flops, elapsed;
} result;

static void *worker(void *arg) {
  result *r = arg;
  double per_call = use512 ? ITERS * 16.0 * 16 * 2 : ITERS * 12.0 * 8 * 2;
  float acc = 0;
  /* Warm-up: ~0.1 s, so the core runs at its vector clock. */
  double t = now();
  while (now() - t < 0.1) acc += use512 ? chains512(1.0f) : chains256(1.0f);
  pthread_barrier_wait(&barrier);
  long calls = 0;
  double t0 = now(), t1;
  do {
    acc += use512 ? chains512(1.0f) : chains256(1.0f);
    calls++;
    t1 = now();
  } while (t1 - t0 < seconds);
  r->flops = per_call * (double)calls;
  r->elapsed = t1 - t0;
  sink = acc;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: fma_peak THREADS [SECONDS]\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  if (argc == 3) seconds = atof(argv[2]);
  if (threads < 1 || threads > 1024 || !(seconds > 0)) {
    fprintf(stderr, "fma_peak: bad arguments\n");
    return 2;
  }
  __builtin_cpu_init();
  use512 = __builtin_cpu_supports("avx512f");
  if (!use512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    printf("%d n/a none\n", threads);
    return 0;
  }
  pthread_t *tid = malloc(sizeof(pthread_t) * (size_t)threads);
  result *res = calloc((size_t)threads, sizeof(result));
  if (!tid || !res) return 1;
  double best = 0;
  for (int round = 0; round < 5; round++) {
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++)
      if (pthread_create(&tid[i], NULL, worker, &res[i]) != 0) {
        fprintf(stderr, "fma_peak: pthread_create failed\n");
        return 1;
      }
    double total = 0;
    for (int i = 0; i < threads; i++) {
      pthread_join(tid[i], NULL);
      total += res[i].flops / res[i].elapsed;
    }
    pthread_barrier_destroy(&barrier);
    if (total > best) best = total;
  }
  printf("%d %.1f %s\n", threads, best * 1e-9, use512 ? "avx512" : "avx2");
  free(tid);
  free(res);
  return 0;
}
