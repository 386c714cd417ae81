/* Reading and writing numpy .npy files (format versions 1.0, 2.0 and 3.0)
 * for the tools and tests: little-endian f32, f64, i32 and i64 arrays in C
 * order. Every malformed file is an error with a one-line message that
 * starts with the file name; nothing here exits or aborts. */
#ifndef DLC_NPY_H
#define DLC_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "dlcc/runtime.h"

/* numpy's own limit on dimensions (NPY_MAXDIMS in numpy 2). */
#define DLC_NPY_MAX_RANK 64

typedef struct dlc_npy {
  dlcc_dtype dtype;
  int rank;                       /* 0 for a scalar: shape () */
  int64_t dims[DLC_NPY_MAX_RANK]; /* each >= 0 */
  void *data;                     /* malloc'd, nbytes long (never NULL) */
  size_t nbytes;                  /* numel * element size */
  int major, minor;               /* the format version read */
} dlc_npy;

/* Reads the .npy file at path into *out. Returns 0 on success; -1 on error
 * with a one-line message in err (errlen bytes, may be truncated), e.g.
 *   "x.npy: truncated data: shape (2, 3) of <f4 needs 24 bytes, found 20"
 * Bytes after the array's data are an error too ("... 4 bytes of trailing
 * data ..."), since they mean the header does not describe the file.
 * *out is zeroed on error, so dlc_npy_free is harmless either way. */
int dlc_npy_read(const char *path, dlc_npy *out, char *err, size_t errlen);

/* As dlc_npy_read, for the whole file already in memory; name is used in
 * messages. */
int dlc_npy_parse(const void *buf, size_t len, const char *name, dlc_npy *out,
                  char *err, size_t errlen);

/* Writes an array as format 1.0 (2.0 if the header needs more than 65535
 * bytes), with the header padded so the data starts at a multiple of 64 as
 * numpy does. dims has rank entries (may be NULL when rank is 0); data holds
 * numel elements of dtype. Returns 0, or -1 with a message in err. */
int dlc_npy_write(const char *path, dlcc_dtype dtype, int rank,
                  const int64_t *dims, const void *data, char *err,
                  size_t errlen);

/* Frees the data of an array read by dlc_npy_read; NULL is harmless. */
void dlc_npy_free(dlc_npy *a);

/* numpy's name for a dtype: "<f4", "<f8", "<i4", "<i8"; NULL if unknown. */
const char *dlc_npy_descr(dlcc_dtype dtype);

#endif
