/* Helpers shared by the Check test programs: running the tools, temporary
 * folders, capturing diagnostics as text, deterministic random data. */
#ifndef DLC_TESTUTIL_H
#define DLC_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/diag.h"
#include "ir/graph.h"

/* Runs argv (NULL-terminated; argv[0] a path) with stdout and stderr
 * captured together into *out (malloc'd, NUL-terminated; may be NULL).
 * Returns the exit status, or -1 if it did not exit normally. */
int tu_run(const char *const argv[], char **out);

/* A fresh, empty folder under the build tree for this test; malloc'd. */
char *tu_tmpdir(const char *tag);
/* dir + "/" + name, malloc'd. */
char *tu_path(const char *dir, const char *name);
void tu_write_file(const char *path, const void *data, size_t n);
/* NULL if the file cannot be read; n may be NULL. */
char *tu_read_file(const char *path, size_t *n);

/* A diagnostic sink whose output is collected as text. */
typedef struct tu_sink {
  dlc_diag *d;
  FILE *f;
  char *buf;
  size_t len;
} tu_sink;
void tu_sink_open(tu_sink *s);
const char *tu_sink_text(tu_sink *s); /* everything reported so far */
void tu_sink_close(tu_sink *s);

/* Fills n elements of dtype dt: floats uniform in [lo, hi), integers in
 * [lo, hi] rounded, bools 0 or 1 evenly, from a fixed seed. */
void tu_fill_random(dlc_dtype dt, void *data, int64_t n, uint64_t seed,
                    double lo, double hi);

/* Compares n elements: |a-b| <= atol + rtol*|b| for floats, equality for
 * integers. On mismatch fails the test naming what and the first index. */
void tu_assert_close(const char *what, dlc_dtype dt, const void *got,
                     const void *want, int64_t n, double rtol, double atol);

/* ---- building graphs ---------------------------------------------------
 * The tests of the IR and the passes build a graph node by node in one
 * fixture: a fresh graph named "t" and a sink for its diagnostics, made by
 * tu_fx_setup and freed by tu_fx_teardown (a Check checked fixture). The
 * builders below add to tu_fx.g and report to tu_fx.sink. */
typedef struct tu_graph_fx {
  dlc_graph *g;
  tu_sink sink;
} tu_graph_fx;
extern tu_graph_fx tu_fx;
void tu_fx_setup(void);
void tu_fx_teardown(void);

/* A type of dtype dt and rank dims, given as int: tu_ty(DLC_F32, 2, 3, 4)
 * is f32[3,4]. */
dlc_type tu_ty(dlc_dtype dt, int rank, ...);
/* A location in t.dsl with no source text registered: only the first line
 * of a diagnostic prints. */
dlc_loc tu_at(int line, int col);
dlc_node *tu_in(const char *name, dlc_type t);
dlc_node *tu_weight(const char *name, dlc_type t, const void *data);
dlc_node *tu_cnst(dlc_type t, const void *data);
void tu_out(const char *name, dlc_node *n);
/* Builds op(ins...) at loc; fails the test with the diagnostics if the
 * shape rule rejects it. */
dlc_node *tu_build(dlc_op op, dlc_loc loc, int nin, dlc_node *const *ins,
                   const dlc_attrs *attrs);
/* tu_build without a location. */
dlc_node *tu_opn(dlc_op op, int nin, dlc_node *const *ins,
                 const dlc_attrs *attrs);
dlc_node *tu_op1(dlc_op op, dlc_node *a, const dlc_attrs *attrs);
dlc_node *tu_op2(dlc_op op, dlc_node *a, dlc_node *b);

/* dlc_graph_print's text, malloc'd. */
char *tu_graph_text(const dlc_graph *g);
/* Runs the pass pipeline on tu_fx.g with the verifier on, which must
 * report nothing, and checks the printed graph is exactly want. */
void tu_expect_passes(const char *pipeline, const char *want);

/* The node's type prints as want, e.g. "f32[3,17]". */
void tu_expect_type(const dlc_node *n, const char *want);
/* *got equals want; the failure names both. */
void tu_assert_type(const dlc_type *got, dlc_type want);

/* Builds op(x0, x1, ...) as a one-node graph of its own on inputs of the
 * given types (through the shape rule), evaluates it on data and returns
 * the malloc'd result. When want is not NULL the result type must equal
 * *want; *rt (when not NULL) receives the result type, *attr_out (when not
 * NULL) the normalized attributes, its ints malloc'd. */
void *tu_eval_op(dlc_op op, int nin, const dlc_type *types,
                 const void *const *data, const dlc_attrs *attrs,
                 const dlc_type *want, dlc_type *rt, dlc_attrs *attr_out);

#endif
