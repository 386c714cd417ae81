/* TensorProto files through the code protoc-c generates from onnx.proto:
 * unpack, then check that the type is one dlcc has, that the data sits in
 * exactly one place (raw_data or the typed field the type uses) and that
 * its size matches the dims, before copying it out. */
#define _GNU_SOURCE
#include "fileio.h"
#include "tensor_pb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.pb-c.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor_pb.c reads and writes little-endian raw_data in place"
#endif



/* TensorProto.DataType, with the values newer ONNX versions added, so that
 * a message can name any type a file may hold. */
static const char *const type_names[] = {
    [0] = "UNDEFINED",       [1] = "FLOAT",           [2] = "UINT8",
    [3] = "INT8",            [4] = "UINT16",          [5] = "INT16",
    [6] = "INT32",           [7] = "INT64",           [8] = "STRING",
    [9] = "BOOL",            [10] = "FLOAT16",        [11] = "DOUBLE",
    [12] = "UINT32",         [13] = "UINT64",         [14] = "COMPLEX64",
    [15] = "COMPLEX128",     [16] = "BFLOAT16",       [17] = "FLOAT8E4M3FN",
    [18] = "FLOAT8E4M3FNUZ", [19] = "FLOAT8E5M2",     [20] = "FLOAT8E5M2FNUZ",
    [21] = "UINT4",          [22] = "INT4",           [23] = "FLOAT4E2M1",
};

const char *dlc_tensor_pb_type_name(int data_type) {
  if (data_type < 0 || (size_t)data_type >= sizeof type_names / sizeof *type_names)
    return NULL;
  return type_names[data_type];
}

/* The typed fields of a TensorProto. */
typedef enum field {
  F_FLOAT,
  F_DOUBLE,
  F_INT32,
  F_INT64,
  F_STRING,
  F_UINT64,
  F_COUNT
} field;

static const char *const field_names[F_COUNT] = {
    [F_FLOAT] = "float_data",   [F_DOUBLE] = "double_data",
    [F_INT32] = "int32_data",   [F_INT64] = "int64_data",
    [F_STRING] = "string_data", [F_UINT64] = "uint64_data",
};

/* The types dlcc has: ONNX's code, the element size (as the runtime's
 * dlcc_dtype_size, which this library does not link) and the typed field
 * ONNX keeps them in. */
static const struct pb_type {
  int onnx;
  dlcc_dtype dtype;
  size_t size;
  field typed;
} pb_types[] = {
    {ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, DLCC_F32, 4, F_FLOAT},
    {ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, DLCC_F64, 8, F_DOUBLE},
    {ONNX__TENSOR_PROTO__DATA_TYPE__INT32, DLCC_I32, 4, F_INT32},
    {ONNX__TENSOR_PROTO__DATA_TYPE__INT64, DLCC_I64, 8, F_INT64},
    {ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, DLCC_BOOL, 1, F_INT32},
};

static const struct pb_type *by_onnx(int onnx) {
  for (size_t i = 0; i < sizeof pb_types / sizeof *pb_types; i++)
    if (pb_types[i].onnx == onnx)
      return &pb_types[i];
  return NULL;
}

static const struct pb_type *by_dtype(dlcc_dtype t) {
  for (size_t i = 0; i < sizeof pb_types / sizeof *pb_types; i++)
    if (pb_types[i].dtype == t)
      return &pb_types[i];
  return NULL;
}

void dlc_tensor_pb_free(dlc_tensor_pb *t) {
  if (!t)
    return;
  free(t->data);
  free(t->name);
  t->data = NULL;
  t->name = NULL;
  t->nbytes = 0;
}

/* "FLOAT [2,3]"; "FLOAT []" for a scalar. */
static const char *type_str(const struct pb_type *pt, int rank,
                            const int64_t *dims, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s [", type_names[pt->onnx]);
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "",
                          (long long)dims[i]);
  if (n < cap)
    snprintf(buf + n, cap - n, "]");
  return buf;
}

/* The number of elements of each typed field. */
static void field_counts(const Onnx__TensorProto *t, size_t n[F_COUNT]) {
  n[F_FLOAT] = t->n_float_data;
  n[F_DOUBLE] = t->n_double_data;
  n[F_INT32] = t->n_int32_data;
  n[F_INT64] = t->n_int64_data;
  n[F_STRING] = t->n_string_data;
  n[F_UINT64] = t->n_uint64_data;
}

/* Checks the unpacked message and copies its data into out. */
static int convert(const Onnx__TensorProto *t, dlc_errbuf *e, dlc_tensor_pb *out) {
  /* SequenceProto and OptionalProto, which ONNX's test data also has,
   * keep their values in field 3: a TensorProto's segment. */
  if (t->segment)
    return dlc_fail(e, "segmented tensors are not supported (or the file is a "
                "SequenceProto or OptionalProto, not a TensorProto)");
  if ((t->has_data_location &&
       t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
      t->n_external_data)
    return dlc_fail(e, "external data is not supported");
  if (!t->has_data_type || t->data_type == 0)
    return dlc_fail(e, "no data type (data_type is missing or UNDEFINED)");
  const struct pb_type *pt = by_onnx(t->data_type);
  if (!pt) {
    const char *tn = dlc_tensor_pb_type_name(t->data_type);
    if (!tn)
      return dlc_fail(e, "unknown data type %d", (int)t->data_type);
    return dlc_fail(e, "unsupported data type %s (dlcc reads FLOAT, DOUBLE, "
                "INT32, INT64, BOOL)", tn);
  }
  if (t->n_dims > DLC_TENSOR_PB_MAX_RANK)
    return dlc_fail(e, "%zu dimensions, more than %d", t->n_dims,
                DLC_TENSOR_PB_MAX_RANK);
  out->dtype = pt->dtype;
  out->rank = (int)t->n_dims;
  size_t esize = pt->size;
  uint64_t numel = 1;
  for (int i = 0; i < out->rank; i++) {
    int64_t d = t->dims[i];
    if (d < 0)
      return dlc_fail(e, "negative dimension %lld at index %d", (long long)d, i);
    if (d && numel > (UINT64_MAX >> 4) / (uint64_t)d)
      return dlc_fail(e, "the tensor is too large");
    numel *= (uint64_t)d;
    out->dims[i] = d;
  }
  char ty[64 * 24];
  type_str(pt, out->rank, out->dims, ty, sizeof ty);
  uint64_t nbytes = numel * esize;

  size_t counts[F_COUNT];
  field_counts(t, counts);
  for (int f = 0; f < F_COUNT; f++) {
    if (!counts[f] || f == (int)pt->typed)
      continue;
    if (t->has_raw_data)
      return dlc_fail(e, "both raw_data and %s hold data", field_names[f]);
    return dlc_fail(e, "%s tensor has %s (expected raw_data or %s)",
                type_names[pt->onnx], field_names[f], field_names[pt->typed]);
  }
  size_t typed = counts[pt->typed];
  if (t->has_raw_data && typed)
    return dlc_fail(e, "both raw_data and %s hold data", field_names[pt->typed]);

  if (t->has_raw_data) {
    if (t->raw_data.len != nbytes)
      return dlc_fail(e, "raw_data of %s needs %llu bytes, found %zu", ty,
                  (unsigned long long)nbytes, t->raw_data.len);
  } else if (typed != numel) {
    if (typed == 0)
      return dlc_fail(e, "no data: %s needs %llu values in raw_data or %s", ty,
                  (unsigned long long)numel, field_names[pt->typed]);
    return dlc_fail(e, "%s of %s needs %llu values, found %zu",
                field_names[pt->typed], ty, (unsigned long long)numel, typed);
  }

  out->nbytes = (size_t)nbytes;
  out->data = malloc(nbytes ? (size_t)nbytes : 1);
  if (!out->data)
    return dlc_fail(e, "out of memory (%llu bytes)", (unsigned long long)nbytes);
  if (t->has_raw_data) {
    if (nbytes)
      memcpy(out->data, t->raw_data.data, (size_t)nbytes);
  } else if (pt->dtype == DLCC_BOOL) {
    uint8_t *b = out->data;
    for (size_t i = 0; i < numel; i++)
      b[i] = (uint8_t)t->int32_data[i];
  } else {
    const void *src = pt->typed == F_FLOAT    ? (const void *)t->float_data
                      : pt->typed == F_DOUBLE ? (const void *)t->double_data
                      : pt->typed == F_INT32  ? (const void *)t->int32_data
                                              : (const void *)t->int64_data;
    if (nbytes)
      memcpy(out->data, src, (size_t)nbytes);
  }
  /* dlcc's bools are bytes that are 0 or 1; anything else would make
   * comparisons and selects in compiled code disagree with ONNX's. */
  if (pt->dtype == DLCC_BOOL) {
    const char *where = t->has_raw_data ? "raw_data" : "int32_data";
    for (size_t i = 0; i < numel; i++) {
      long long v = t->has_raw_data ? ((const uint8_t *)t->raw_data.data)[i]
                                    : (long long)t->int32_data[i];
      if (v != 0 && v != 1)
        return dlc_fail(e, "BOOL value %lld at index %zu of %s is not 0 or 1", v,
                    i, where);
    }
  }
  out->name = strdup(t->name ? t->name : "");
  if (!out->name)
    return dlc_fail(e, "out of memory");
  return 0;
}

int dlc_tensor_pb_parse(const void *buf, size_t len, const char *name,
                        dlc_tensor_pb *out, char *err, size_t errlen) {
  dlc_errbuf e = {err, errlen, name ? name : "<memory>"};
  memset(out, 0, sizeof *out);
  if (!buf && len)
    return dlc_fail(&e, "no data");
  Onnx__TensorProto *t =
      onnx__tensor_proto__unpack(NULL, len, buf ? buf : (const void *)"");
  if (!t)
    return dlc_fail(&e, "not a TensorProto (malformed or truncated protobuf)");
  int rc = convert(t, &e, out);
  onnx__tensor_proto__free_unpacked(t, NULL);
  if (rc != 0) {
    dlc_tensor_pb_free(out);
    memset(out, 0, sizeof *out);
  }
  return rc;
}


int dlc_tensor_pb_read(const char *path, dlc_tensor_pb *out, char *err,
                       size_t errlen) {
  dlc_errbuf e = {err, errlen, path};
  memset(out, 0, sizeof *out);
  size_t len;
  unsigned char *b = dlc_slurp(path, &len, &e);
  if (!b)
    return -1;
  int rc = dlc_tensor_pb_parse(b, len, path, out, err, errlen);
  free(b);
  return rc;
}

/* ---- Writing ------------------------------------------------------------ */

int dlc_tensor_pb_write(const char *path, const char *tensor_name,
                        dlcc_dtype dtype, int rank, const int64_t *dims,
                        const void *data, dlc_tensor_pb_layout layout,
                        char *err, size_t errlen) {
  dlc_errbuf e = {err, errlen, path};
  const struct pb_type *pt = by_dtype(dtype);
  if (!pt)
    return dlc_fail(&e, "cannot write dtype code %d", (int)dtype);
  if (rank < 0 || rank > DLC_TENSOR_PB_MAX_RANK || (rank > 0 && !dims))
    return dlc_fail(&e, "cannot write rank %d", rank);
  if (layout != DLC_TENSOR_PB_RAW && layout != DLC_TENSOR_PB_TYPED)
    return dlc_fail(&e, "cannot write layout %d", (int)layout);
  uint64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return dlc_fail(&e, "cannot write a negative dimension (%lld)",
                  (long long)dims[i]);
    if (dims[i] && numel > (UINT64_MAX >> 4) / (uint64_t)dims[i])
      return dlc_fail(&e, "cannot write: the tensor is too large");
    numel *= (uint64_t)dims[i];
  }
  size_t nbytes = (size_t)numel * pt->size;
  if (nbytes && !data)
    return dlc_fail(&e, "cannot write: data is NULL");

  Onnx__TensorProto t;
  onnx__tensor_proto__init(&t);
  t.n_dims = (size_t)rank;
  t.dims = (int64_t *)dims; /* pack only reads */
  t.has_data_type = 1;
  t.data_type = pt->onnx;
  t.name = tensor_name && *tensor_name ? (char *)tensor_name : NULL;
  int32_t *bools = NULL;
  void *mut = (void *)data; /* pack only reads */
  if (layout == DLC_TENSOR_PB_RAW) {
    t.has_raw_data = 1;
    t.raw_data.len = nbytes;
    t.raw_data.data = mut;
  } else if (dtype == DLCC_BOOL) {
    bools = malloc(numel ? (size_t)numel * sizeof *bools : 1);
    if (!bools)
      return dlc_fail(&e, "out of memory");
    for (size_t i = 0; i < numel; i++)
      bools[i] = ((const uint8_t *)data)[i] != 0;
    t.n_int32_data = (size_t)numel;
    t.int32_data = bools;
  } else if (dtype == DLCC_F32) {
    t.n_float_data = (size_t)numel;
    t.float_data = mut;
  } else if (dtype == DLCC_F64) {
    t.n_double_data = (size_t)numel;
    t.double_data = mut;
  } else if (dtype == DLCC_I32) {
    t.n_int32_data = (size_t)numel;
    t.int32_data = mut;
  } else {
    t.n_int64_data = (size_t)numel;
    t.int64_data = mut;
  }
  size_t len = onnx__tensor_proto__get_packed_size(&t);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) {
    free(bools);
    return dlc_fail(&e, "out of memory");
  }
  onnx__tensor_proto__pack(&t, buf);
  free(bools);

  FILE *f = fopen(path, "wb");
  if (!f) {
    free(buf);
    return dlc_fail(&e, "cannot write: %s", strerror(errno));
  }
  int ok = len == 0 || fwrite(buf, 1, len, f) == len;
  int saved = errno;
  free(buf);
  if (fclose(f) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (!ok)
    return dlc_fail(&e, "cannot write: %s", strerror(saved));
  return 0;
}
