/* ONNX TensorProto decoding: initializers and Constant tensors become a
 * dlc type and data. Lengths are checked against the dims exactly before
 * anything is allocated, and external data is read only from files inside
 * the model's folder, so a hostile file is an error, never a stray read. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir/util.h"
#include "onnx_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; big-endian hosts are not supported"
#endif

static const char *const onnx_type_names[] = {
    "UNDEFINED", "FLOAT",     "UINT8",      "INT8",         "UINT16",
    "INT16",     "INT32",     "INT64",      "STRING",       "BOOL",
    "FLOAT16",   "DOUBLE",    "UINT32",     "UINT64",       "COMPLEX64",
    "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
    "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1",
};

const char *onnx_dtype_name(onnx_ctx *c, int32_t t) {
  if (t >= 0 && (size_t)t < sizeof onnx_type_names / sizeof *onnx_type_names)
    return onnx_type_names[t];
  return dlc_arena_printf(c->arena, "%" PRId32, t);
}

bool onnx_dtype_map(int32_t t, dlc_dtype *out) {
  switch (t) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *out = DLC_F32; return true;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *out = DLC_F64; return true;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *out = DLC_I32; return true;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *out = DLC_I64; return true;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *out = DLC_BOOL; return true;
  default: return false;
  }
}

static const char *dims_str(onnx_ctx *c, const int64_t *dims, size_t n) {
  char buf[DLC_TYPE_STRLEN];
  size_t k = (size_t)snprintf(buf, sizeof buf, "[");
  for (size_t i = 0; i < n && k < sizeof buf; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%" PRId64, i ? "," : "",
                          dims[i]);
  if (k < sizeof buf)
    snprintf(buf + k, sizeof buf - k, "]");
  return dlc_arena_strdup(c->arena, buf);
}

/* A decimal integer >= 0 that fits int64_t. */
static bool parse_size(const char *s, int64_t *out) {
  if (!s || !*s)
    return false;
  int64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
      return false;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return true;
}

/* A location is confined to the model's folder: relative, and no ".."
 * component (symbolic links inside the folder are followed). */
static bool location_escapes(const char *loc) {
  if (loc[0] == '/')
    return true;
  for (const char *p = loc; *p;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.')
      return true;
    p += n;
    while (*p == '/')
      p++;
  }
  return false;
}

/* Reads nbytes of external data into a new buffer. */
static dlc_status read_external(onnx_ctx *c, const Onnx__TensorProto *t,
                                const char *what, size_t nbytes, void **out) {
  const char *location = NULL, *offset_s = NULL, *length_s = NULL;
  for (size_t i = 0; i < t->n_external_data; i++) {
    const Onnx__StringStringEntryProto *kv = t->external_data[i];
    if (!kv->key)
      continue;
    if (strcmp(kv->key, "location") == 0)
      location = kv->value;
    else if (strcmp(kv->key, "offset") == 0)
      offset_s = kv->value;
    else if (strcmp(kv->key, "length") == 0)
      length_s = kv->value;
  }
  if (!location || !*location) {
    dlc_error(c->d, c->loc, "%s: external data has no location", what);
    return DLC_ERROR;
  }
  if (location[0] == '/') {
    dlc_error(c->d, c->loc,
              "%s: external data location '%s' is an absolute path; it must "
              "be relative to the model's folder",
              what, location);
    return DLC_ERROR;
  }
  if (location_escapes(location)) {
    dlc_error(c->d, c->loc,
              "%s: external data location '%s' leaves the model's folder "
              "('..' is not allowed)",
              what, location);
    return DLC_ERROR;
  }
  int64_t offset = 0, length = (int64_t)nbytes;
  if (offset_s && !parse_size(offset_s, &offset)) {
    dlc_error(c->d, c->loc,
              "%s: external data offset '%s' is not a non-negative integer",
              what, offset_s);
    return DLC_ERROR;
  }
  if (length_s && !parse_size(length_s, &length)) {
    dlc_error(c->d, c->loc,
              "%s: external data length '%s' is not a non-negative integer",
              what, length_s);
    return DLC_ERROR;
  }
  if (length != (int64_t)nbytes) {
    dlc_error(c->d, c->loc,
              "%s: external data length %" PRId64
              " does not match the %zu bytes of its shape",
              what, length, nbytes);
    return DLC_ERROR;
  }
  const char *file = dlc_arena_printf(c->arena, "%s/%s", c->dir, location);
  FILE *f = fopen(file, "rb");
  if (!f) {
    dlc_error(c->d, c->loc, "%s: cannot read external data file '%s': %s",
              what, location, strerror(errno));
    return DLC_ERROR;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    dlc_error(c->d, c->loc,
              "%s: cannot read external data file '%s': not a regular file",
              what, location);
    fclose(f);
    return DLC_ERROR;
  }
  if (offset > (int64_t)st.st_size || length > (int64_t)st.st_size - offset) {
    dlc_error(c->d, c->loc,
              "%s: external data file '%s' is too short: %" PRId64
              " bytes at offset %" PRId64 " needed, the file has %jd",
              what, location, length, offset, (intmax_t)st.st_size);
    fclose(f);
    return DLC_ERROR;
  }
  void *buf = dlc_xmalloc(nbytes ? nbytes : 1);
  if (fseeko(f, (off_t)offset, SEEK_SET) != 0 ||
      fread(buf, 1, nbytes, f) != nbytes) {
    dlc_error(c->d, c->loc, "%s: cannot read external data file '%s': %s",
              what, location, ferror(f) ? strerror(errno) : "file shrank");
    free(buf);
    fclose(f);
    return DLC_ERROR;
  }
  fclose(f);
  *out = buf;
  return DLC_OK;
}

/* Where the typed field holds the elements of an ONNX type, and how many. */
static const void *typed_field(const Onnx__TensorProto *t, size_t *count) {
  switch (t->data_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    *count = t->n_float_data;
    return t->float_data;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    *count = t->n_double_data;
    return t->double_data;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    *count = t->n_int32_data;
    return t->int32_data;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    *count = t->n_int64_data;
    return t->int64_data;
  default:
    *count = 0;
    return NULL;
  }
}

static void length_error(onnx_ctx *c, const char *what, const dlc_type *type,
                         const char *field, size_t have, size_t need,
                         const char *unit) {
  char ts[DLC_TYPE_STRLEN];
  dlc_error(c->d, c->loc,
            "%s (%s): %s holds %zu %s, its shape needs %zu (data %s than its "
            "shape)",
            what, dlc_type_str(type, ts, sizeof ts), field, have, unit, need,
            have < need ? "shorter" : "longer");
}

dlc_status onnx_tensor_decode(onnx_ctx *c, const Onnx__TensorProto *t,
                              const char *what, dlc_type *type,
                              const void **data, void **owned, bool *empty) {
  *data = NULL;
  *owned = NULL;
  *empty = false;
  dlc_dtype dt;
  if (!onnx_dtype_map(t->data_type, &dt)) {
    dlc_error(c->d, c->loc,
              "%s has element type %s, which dlcc does not support (supported: "
              "FLOAT, DOUBLE, INT32, INT64, BOOL)",
              what, onnx_dtype_name(c, t->data_type));
    return DLC_ERROR;
  }
  if (t->n_dims > DLC_MAX_RANK) {
    dlc_error(c->d, c->loc, "%s has %zu dimensions; dlcc supports at most %d",
              what, t->n_dims, DLC_MAX_RANK);
    return DLC_ERROR;
  }
  if (t->segment) {
    dlc_error(c->d, c->loc, "%s is a segment of a tensor (not supported)",
              what);
    return DLC_ERROR;
  }
  *type = (dlc_type){.dtype = dt, .rank = (int)t->n_dims};
  int64_t numel = 1;
  bool zero = false;
  for (size_t i = 0; i < t->n_dims; i++) {
    int64_t v = t->dims[i];
    if (v < 0) {
      dlc_error(c->d, c->loc, "%s has a negative dimension %s", what,
                dims_str(c, t->dims, t->n_dims));
      return DLC_ERROR;
    }
    type->dims[i] = v;
    if (v == 0)
      zero = true;
    else if (v > ONNX_MAX_NUMEL / numel) {
      dlc_error(c->d, c->loc, "%s has more than 2^40 elements %s", what,
                dims_str(c, t->dims, t->n_dims));
      return DLC_ERROR;
    } else
      numel *= v;
  }
  if (zero) {
    *empty = true;
    return DLC_OK;
  }
  size_t esize = dlc_dtype_size(dt);
  size_t nbytes = (size_t)numel * esize;
  if (t->has_data_location &&
      t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    if (read_external(c, t, what, nbytes, owned) != DLC_OK)
      return DLC_ERROR;
    *data = *owned;
  } else if (t->has_raw_data) {
    if (t->raw_data.len != nbytes) {
      length_error(c, what, type, "raw_data", t->raw_data.len, nbytes,
                   "bytes");
      return DLC_ERROR;
    }
    *data = t->raw_data.data;
  } else {
    size_t count;
    const void *field = typed_field(t, &count);
    if (count != (size_t)numel) {
      static const char *const names[] = {
          [DLC_F32] = "float_data", [DLC_F64] = "double_data",
          [DLC_I32] = "int32_data", [DLC_I64] = "int64_data",
          [DLC_BOOL] = "int32_data"};
      length_error(c, what, type, names[dt], count, (size_t)numel,
                   "elements");
      return DLC_ERROR;
    }
    if (dt == DLC_BOOL) {
      uint8_t *b = dlc_xmalloc((size_t)numel);
      for (int64_t i = 0; i < numel; i++)
        b[i] = t->int32_data[i] != 0;
      *owned = b;
      *data = b;
      return DLC_OK;
    }
    *data = field;
  }
  if (dt == DLC_BOOL) {
    /* any nonzero byte is true; the IR holds 0 or 1 */
    const uint8_t *src = *data;
    uint8_t *b = *owned ? *owned : dlc_xmalloc((size_t)numel);
    for (int64_t i = 0; i < numel; i++)
      b[i] = src[i] != 0;
    *owned = b;
    *data = b;
  }
  return DLC_OK;
}

dlc_node *onnx_tensor_const(onnx_node_ctx *nc, const Onnx__TensorProto *t) {
  onnx_ctx *c = nc->ctx;
  const char *what =
      t->name && *t->name
          ? dlc_arena_printf(c->arena, "%s: tensor '%s'", nc->what, t->name)
          : dlc_arena_printf(c->arena, "%s: tensor", nc->what);
  dlc_type type;
  const void *data;
  void *owned;
  bool empty;
  if (onnx_tensor_decode(c, t, what, &type, &data, &owned, &empty) != DLC_OK)
    return NULL;
  if (empty) {
    char ts[DLC_TYPE_STRLEN];
    dlc_error(c->d, c->loc,
              "%s (%s) is empty; tensors with a 0 dimension are not supported",
              what, dlc_type_str(&type, ts, sizeof ts));
    return NULL;
  }
  dlc_node *n = dlc_graph_add_const(nc->g, &type, data, nc->loc);
  free(owned);
  return n;
}
