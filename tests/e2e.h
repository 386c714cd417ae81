/* The end-to-end harness shared by test_fusion, test_gemm and test_e2e_ops:
 * a DSL program is compiled in-process to a .so, run through the runtime
 * and compared with the reference evaluator on its unoptimized graph. */
#ifndef DLC_TESTS_E2E_H
#define DLC_TESTS_E2E_H

#include <stdbool.h>

#include "ir/graph.h"
#include "tests/testutil.h"

/* One program under test: its text in a fresh folder named after the case,
 * the .so it compiles to, and the graph the evaluator runs. */
typedef struct e2e_prog {
  const char *name;
  char *dir, *dsl, *so, *text;
  tu_sink s;
  const char *passes; /* the graph pipeline; NULL: the default */
  bool no_tile;       /* matrix products left as their plain nests */
  dlc_graph *g;       /* set by e2e_compile */
} e2e_prog;

/* Writes "model m {\n<body>\n}\n" to <tmp>/m.dsl and opens p->s. */
void e2e_open(e2e_prog *p, const char *name, const char *body);
/* Compiles p to p->so at opt_level and builds p->g from the same text. */
void e2e_compile(e2e_prog *p, int opt_level);
void e2e_close(e2e_prog *p);

/* The kernel names of p after its pipeline, space-separated
 * (malloc'd). With packed each is followed by the constants packed at
 * compile time it reads: "k0_matmul[w.packed] k1_conv2d_nchwc[w1.nchwc]". */
char *e2e_kernel_names(e2e_prog *p, bool packed);

/* A calloc'd array of g's inputs, each random in [lo, hi) from a fixed
 * seed per position; free with e2e_free_bufs(ins, g->ninputs). */
void **e2e_inputs(const dlc_graph *g, double lo, double hi);
void e2e_free_bufs(void **bufs, int n);

/* Checks each output of g in got against want, naming the case, the
 * optimization level and the output on a mismatch. */
void e2e_assert_outputs(const char *name, int opt_level, const dlc_graph *g,
                        void *const *got, void *const *want, double rtol,
                        double atol);

typedef struct e2e_case {
  const char *name;
  const char *body;    /* statements inside model m { } */
  const char *kernels; /* the kernels lowering makes, in order, or NULL */
  double lo, hi;       /* input range */
  double rtol, atol;
  const char *passes;  /* the graph pipeline; NULL: the default */
} e2e_case;

/* Compiles c at opt_level; checks its kernels (once, at -O2, listed as
 * e2e_kernel_names does with packed); runs it with 1 thread against the
 * evaluator, then with 2 and 3 threads bit for bit against 1. At -O0 the
 * thread count comes from $DLCC_NUM_THREADS. */
void e2e_run_threaded(const e2e_case *c, int opt_level, bool packed);
/* The same with the tile pass skipped (dlcc --no-tile): the matrix
 * products run as the plain nests lowering made, at -O2. */
void e2e_run_plain(const e2e_case *c);

/* A test case "name" (120 s timeout) that runs o2 and o0 for each of
 * ncases, the usual shape of a table of end-to-end programs. */
TCase *e2e_loop_tcase(const char *name, const TTest *o2, const TTest *o0,
                      int ncases);
/* Runs s and returns the exit status for main. */
int e2e_run_suite(Suite *s);

#endif
