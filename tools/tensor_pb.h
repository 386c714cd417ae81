/* Reading and writing ONNX TensorProto files (.pb), the form ONNX's test
 * data comes in: FLOAT, DOUBLE, INT32, INT64 and BOOL tensors, held in
 * raw_data or in the typed fields. The API follows npy.h: every malformed
 * file is an error with a one-line message that starts with the file name;
 * nothing here exits or aborts. */
#ifndef DLC_TENSOR_PB_H
#define DLC_TENSOR_PB_H

#include <stddef.h>
#include <stdint.h>

#include "dlcc/runtime.h"

/* The most dimensions read or written (as for .npy files). */
#define DLC_TENSOR_PB_MAX_RANK 64

typedef struct dlc_tensor_pb {
  dlcc_dtype dtype;
  int rank;                             /* 0 for a scalar */
  int64_t dims[DLC_TENSOR_PB_MAX_RANK]; /* each >= 0 */
  void *data;                           /* malloc'd, nbytes long (never NULL) */
  size_t nbytes;                        /* numel * element size */
  char *name; /* malloc'd; the TensorProto's name, "" when it has none */
} dlc_tensor_pb;

/* Where dlc_tensor_pb_write puts the elements. */
typedef enum dlc_tensor_pb_layout {
  DLC_TENSOR_PB_RAW = 0,   /* raw_data, little-endian (what onnx writes) */
  DLC_TENSOR_PB_TYPED = 1, /* float_data, double_data, int32_data (also for
                              BOOL) or int64_data */
} dlc_tensor_pb_layout;

/* Reads the TensorProto file at path into *out. Returns 0 on success; -1
 * on error with a one-line message in err (errlen bytes, may be
 * truncated), e.g.
 *   "x.pb: not a TensorProto (malformed or truncated protobuf)"
 *   "x.pb: unsupported data type UINT8 (dlcc reads FLOAT, DOUBLE, INT32,
 *    INT64, BOOL)"
 *   "x.pb: raw_data of FLOAT [2,3] needs 24 bytes, found 20"
 * *out is zeroed on error, so dlc_tensor_pb_free is harmless either way. */
int dlc_tensor_pb_read(const char *path, dlc_tensor_pb *out, char *err,
                       size_t errlen);

/* As dlc_tensor_pb_read, for the whole file already in memory; name is used
 * in messages. */
int dlc_tensor_pb_parse(const void *buf, size_t len, const char *name,
                        dlc_tensor_pb *out, char *err, size_t errlen);

/* Writes a tensor as a TensorProto named tensor_name (NULL or "": no name)
 * with its elements laid out as layout says. dims has rank entries (may be
 * NULL when rank is 0); data holds numel elements of dtype (BOOL: bytes 0
 * or 1). Returns 0, or -1 with a message in err. */
int dlc_tensor_pb_write(const char *path, const char *tensor_name,
                        dlcc_dtype dtype, int rank, const int64_t *dims,
                        const void *data, dlc_tensor_pb_layout layout,
                        char *err, size_t errlen);

/* Frees what dlc_tensor_pb_read allocated; NULL is harmless, and so is a
 * second call. */
void dlc_tensor_pb_free(dlc_tensor_pb *t);

/* ONNX's name for a TensorProto data_type value: "FLOAT", "UINT8",
 * "BFLOAT16", ...; NULL if the value is not one ONNX defines. */
const char *dlc_tensor_pb_type_name(int data_type);

#endif
