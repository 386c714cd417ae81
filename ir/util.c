/* Checked allocation and assertion support shared by the compiler layers. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void dlc_assert_fail(const char *what, const char *file, int line) {
  fprintf(stderr, "dlcc: internal error: %s:%d: assertion failed: %s\n", file,
          line, what);
  abort();
}

static void *check(void *p) {
  if (!p) {
    fputs("dlcc: out of memory\n", stderr);
    abort();
  }
  return p;
}

void *dlc_xmalloc(size_t n) { return check(malloc(n ? n : 1)); }
void *dlc_xcalloc(size_t n, size_t size) {
  return check(calloc(n ? n : 1, size ? size : 1));
}
void *dlc_xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1)); }
char *dlc_xstrdup(const char *s) { return check(strdup(s)); }

void dlc_grow(void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap)
    return;
  int c = *cap ? *cap : 8;
  while (c < need)
    c *= 2;
  *arr = dlc_xrealloc(*arr, (size_t)c * elem);
  *cap = c;
}

char *dlc_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = dlc_xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap)
      buf = dlc_xrealloc(buf, cap *= 2);
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (r == 0)
      break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    errno = EIO;
    return NULL;
  }
  buf[n] = 0;
  if (len)
    *len = n;
  return buf;
}
