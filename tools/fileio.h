/* Shared by the tensor file readers (npy.c, tensor_pb.c): errors as
 * "name: message" in the caller's buffer, and reading a whole file. */
#ifndef DLC_FILEIO_H
#define DLC_FILEIO_H

#include <stddef.h>

typedef struct dlc_errbuf {
  char *buf;
  size_t len;
  const char *name;
} dlc_errbuf;

/* "name: message" into the caller's buffer; returns -1. */
int dlc_fail(dlc_errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The whole file, malloc'd (at least one byte, so that empty files work);
 * NULL with the reason in e. */
unsigned char *dlc_slurp(const char *path, size_t *len, dlc_errbuf *e);

#endif
