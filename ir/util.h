/* Small helpers every layer of the compiler uses: checked allocation,
 * growable arrays, and the assertion macros for compiler bugs. */
#ifndef DLC_UTIL_H
#define DLC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Compiler bugs, never user errors: print file and line, then abort. */
#define DLC_ASSERT(c)                                                          \
  ((c) ? (void)0 : dlc_assert_fail(#c, __FILE__, __LINE__))
#define dlc_unreachable() dlc_assert_fail("unreachable", __FILE__, __LINE__)
_Noreturn void dlc_assert_fail(const char *what, const char *file, int line);

void *dlc_xmalloc(size_t n);
void *dlc_xcalloc(size_t n, size_t size);
void *dlc_xrealloc(void *p, size_t n);
char *dlc_xstrdup(const char *s);

/* Grow *arr (of *cap elements of size elem) to hold at least need elements. */
void dlc_grow(void **arr, int *cap, int need, size_t elem);
#define DLC_PUSH(arr, n, cap, v)                                               \
  do {                                                                         \
    dlc_grow((void **)&(arr), &(cap), (n) + 1, sizeof *(arr));                 \
    (arr)[(n)++] = (v);                                                        \
  } while (0)

/* Reads a whole file; returns NULL and sets errno on failure. */
char *dlc_read_file(const char *path, size_t *len);

#endif
