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

#endif
