/* Arena allocator: chunks of at least 64 KiB, bumped, freed all at once. */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  _Alignas(64) unsigned char data[];
} chunk;

struct dlc_arena {
  chunk *head;
};

dlc_arena *dlc_arena_new(void) {
  dlc_arena *a = dlc_xcalloc(1, sizeof *a);
  return a;
}

void dlc_arena_free(dlc_arena *a) {
  if (!a)
    return;
  for (chunk *c = a->head, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(a);
}

void *dlc_arena_alloc(dlc_arena *a, size_t size) {
  size_t align = size >= 64 ? 64 : 16;
  chunk *c = a->head;
  size_t off = c ? (c->used + align - 1) & ~(align - 1) : 0;
  if (!c || off + size > c->size) {
    size_t cap = size > 65536 ? size : 65536;
    c = dlc_xmalloc(sizeof *c + cap);
    c->size = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    off = 0;
  }
  void *p = c->data + off;
  c->used = off + size;
  memset(p, 0, size);
  return p;
}

char *dlc_arena_strndup(dlc_arena *a, const char *s, size_t n) {
  char *p = dlc_arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *dlc_arena_strdup(dlc_arena *a, const char *s) {
  return dlc_arena_strndup(a, s, strlen(s));
}

char *dlc_arena_printf(dlc_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = dlc_arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}
