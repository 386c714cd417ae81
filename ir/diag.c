/* The diagnostic sink: formats messages, shows the source line with a caret
 * under the column, counts errors. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct source {
  char *name;
  char *text; /* NULL when only the name is known */
  size_t len;
} source;

struct dlc_diag {
  FILE *out;
  source *srcs;
  int nsrcs, cap;
  int errors, warnings, limit;
};

dlc_diag *dlc_diag_new(FILE *out) {
  dlc_diag *d = dlc_xcalloc(1, sizeof *d);
  d->out = out;
  d->limit = 50;
  return d;
}

void dlc_diag_free(dlc_diag *d) {
  if (!d)
    return;
  for (int i = 0; i < d->nsrcs; i++) {
    free(d->srcs[i].name);
    free(d->srcs[i].text);
  }
  free(d->srcs);
  free(d);
}

static source *find(dlc_diag *d, const char *file) {
  for (int i = 0; i < d->nsrcs; i++)
    if (d->srcs[i].name == file || strcmp(d->srcs[i].name, file) == 0)
      return &d->srcs[i];
  return NULL;
}

const char *dlc_diag_intern(dlc_diag *d, const char *file) {
  source *s = find(d, file);
  if (s)
    return s->name;
  source n = {dlc_xstrdup(file), NULL, 0};
  DLC_PUSH(d->srcs, d->nsrcs, d->cap, n);
  return n.name;
}

const char *dlc_diag_add_source(dlc_diag *d, const char *file,
                                const char *text, size_t len) {
  const char *name = dlc_diag_intern(d, file);
  source *s = find(d, name);
  free(s->text);
  s->text = dlc_xmalloc(len + 1);
  memcpy(s->text, text, len);
  s->text[len] = 0;
  s->len = len;
  return name;
}

void dlc_diag_set_limit(dlc_diag *d, int max_errors) { d->limit = max_errors; }
int dlc_diag_errors(const dlc_diag *d) { return d->errors; }
int dlc_diag_warnings(const dlc_diag *d) { return d->warnings; }

/* Prints the source line of loc and a caret under its column; tabs in the
 * line are kept in the caret line so the caret stays aligned. */
static void show_line(dlc_diag *d, dlc_loc loc) {
  source *s = loc.file ? find(d, loc.file) : NULL;
  if (!s || !s->text || loc.line <= 0)
    return;
  const char *p = s->text, *end = s->text + s->len;
  for (int l = 1; l < loc.line && p < end; p++)
    if (*p == '\n')
      l++;
  if (p > end)
    return;
  const char *e = p;
  while (e < end && *e != '\n' && *e != '\r')
    e++;
  fprintf(d->out, "%.*s\n", (int)(e - p), p);
  int col = loc.col > 0 ? loc.col : 1;
  for (int i = 1; i < col && p + i - 1 < e; i++)
    fputc(p[i - 1] == '\t' ? '\t' : ' ', d->out);
  fputs("^\n", d->out);
}

void dlc_diag_report(dlc_diag *d, dlc_severity sev, dlc_loc loc,
                     const char *fmt, ...) {
  static const char *const names[] = {"error", "warning", "note"};
  if (sev == DLC_SEV_ERROR)
    d->errors++;
  if (sev == DLC_SEV_WARNING)
    d->warnings++;
  if (!d->out)
    return; /* a silent sink only counts */
  if (d->errors > d->limit) {
    if (sev == DLC_SEV_ERROR && d->errors == d->limit + 1)
      fprintf(d->out, "error: too many errors emitted, stopping now\n");
    return;
  }
  if (loc.file && loc.line > 0)
    fprintf(d->out, "%s:%d:%d: ", loc.file, loc.line, loc.col);
  else if (loc.file)
    fprintf(d->out, "%s: ", loc.file);
  fprintf(d->out, "%s: ", names[sev]);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(d->out, fmt, ap);
  va_end(ap);
  fputc('\n', d->out);
  show_line(d, loc);
}
