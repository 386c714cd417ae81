/* Diagnostics: user errors go to a sink with a source location, printed in
 * clang's form (file:line:col: error: message, the source line, a caret).
 * Library code reports through a sink and returns a status; only main exits. */
#ifndef DLC_DIAG_H
#define DLC_DIAG_H

#include <stdio.h>

typedef struct dlc_loc {
  const char *file; /* NULL: no file */
  int line, col;    /* 1-based; line 0: no position in the file */
} dlc_loc;

typedef enum dlc_status { DLC_OK = 0, DLC_ERROR = 1 } dlc_status;

typedef enum dlc_severity {
  DLC_SEV_ERROR,
  DLC_SEV_WARNING,
  DLC_SEV_NOTE,
} dlc_severity;

typedef struct dlc_diag dlc_diag;

/* A sink that prints to out (stderr for the tools, a memstream in tests);
 * out NULL makes a silent sink that only counts. */
dlc_diag *dlc_diag_new(FILE *out);
void dlc_diag_free(dlc_diag *d); /* NULL is harmless */

/* Registers a file's text so diagnostics in it can show the source line.
 * The text is copied. The returned name is interned and lives as long as
 * the sink; use it as dlc_loc.file. */
const char *dlc_diag_add_source(dlc_diag *d, const char *file,
                                const char *text, size_t len);
/* Interns a file name without source text. */
const char *dlc_diag_intern(dlc_diag *d, const char *file);

void dlc_diag_report(dlc_diag *d, dlc_severity sev, dlc_loc loc,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define dlc_error(d, loc, ...) dlc_diag_report(d, DLC_SEV_ERROR, loc, __VA_ARGS__)
#define dlc_warning(d, loc, ...)                                               \
  dlc_diag_report(d, DLC_SEV_WARNING, loc, __VA_ARGS__)
#define dlc_note(d, loc, ...) dlc_diag_report(d, DLC_SEV_NOTE, loc, __VA_ARGS__)

int dlc_diag_errors(const dlc_diag *d);
int dlc_diag_warnings(const dlc_diag *d);

/* Stops printing after this many errors (default 50), printing one line that
 * says so; the error count still grows. */
void dlc_diag_set_limit(dlc_diag *d, int max_errors);

/* A location with no file position. */
static inline dlc_loc dlc_noloc(void) { return (dlc_loc){0, 0, 0}; }

#endif
