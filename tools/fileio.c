/* Errors and whole-file reading for the tensor file readers. */
#include "fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dlc_fail(dlc_errbuf *e, const char *fmt, ...) {
  if (!e->buf || e->len == 0)
    return -1;
  int n = snprintf(e->buf, e->len, "%s: ", e->name);
  if (n >= 0 && (size_t)n < e->len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

unsigned char *dlc_slurp(const char *path, size_t *len, dlc_errbuf *e) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    dlc_fail(e, "cannot open: %s", strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  unsigned char *b = malloc(cap);
  for (;;) {
    if (!b) {
      dlc_fail(e, "out of memory reading the file");
      break;
    }
    n += fread(b + n, 1, cap - n, f);
    if (n < cap)
      break;
    unsigned char *nb = cap < SIZE_MAX / 2 ? realloc(b, cap *= 2) : NULL;
    if (!nb)
      free(b);
    b = nb;
  }
  if (b && ferror(f)) {
    dlc_fail(e, "cannot read: %s", strerror(errno));
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = n;
  return b;
}
