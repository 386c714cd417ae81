/* Bump-pointer arenas: an IR graph or loop module owns one, and its nodes are
 * never freed one by one (DESIGN principle 5). */
#ifndef DLC_ARENA_H
#define DLC_ARENA_H

#include <stddef.h>

typedef struct dlc_arena dlc_arena;

dlc_arena *dlc_arena_new(void);
void dlc_arena_free(dlc_arena *a); /* NULL is harmless */

/* Zeroed memory aligned to 16 bytes (64 when size >= 64); aborts only on
 * out-of-memory, which is not a user error. */
void *dlc_arena_alloc(dlc_arena *a, size_t size);
char *dlc_arena_strdup(dlc_arena *a, const char *s);
char *dlc_arena_strndup(dlc_arena *a, const char *s, size_t n);
char *dlc_arena_printf(dlc_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
