/* The .safetensors reader: an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the data.
 * The file is mapped read-only and checked completely when opened, so a
 * malformed file is one clear error and never a crash later. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "frontend/frontend.h"
#include "ir/arena.h"
#include "ir/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; big-endian hosts are not supported"
#endif

struct named {
  const char *name;
  int tensor;
};

struct dlc_safetensors {
  char *path;
  unsigned char *map;
  size_t size;
  dlc_arena *arena; /* names and shapes */
  dlc_st_tensor *tensors;
  int n, cap;
  struct named *by_name; /* sorted by name, for lookups */
};

/* The dtypes of the format and their sizes; dlcc binds the supported ones. */
static const struct {
  const char *name;
  size_t size;
  bool supported;
  dlc_dtype dtype;
} st_dtypes[] = {
    {"F32", 4, true, DLC_F32},   {"F64", 8, true, DLC_F64},
    {"I32", 4, true, DLC_I32},   {"I64", 8, true, DLC_I64},
    {"F16", 2, false, 0},        {"BF16", 2, false, 0},
    {"I8", 1, false, 0},         {"U8", 1, false, 0},
    {"BOOL", 1, true, DLC_BOOL}, {"I16", 2, false, 0},
    {"U16", 2, false, 0},        {"U32", 4, false, 0},
    {"U64", 8, false, 0},        {"F8_E4M3", 1, false, 0},
    {"F8_E5M2", 1, false, 0},
};

/* Reports "error: FILE: message" and returns false. */
static bool fail(dlc_diag *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(dlc_diag *d, const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dlc_error(d, dlc_noloc(), "%s: %s", path, msg);
  return false;
}

/* A JSON number that is a non-negative integer exactly representable. */
static bool json_count(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j))
    return false;
  double v = j->valuedouble;
  if (!isfinite(v) || v < 0 || v != floor(v) || v > 9007199254740992.0)
    return false;
  *out = (uint64_t)v;
  return true;
}

/* One header entry: {"dtype": .., "shape": [..], "data_offsets": [b, e]}. */
static bool read_entry(dlc_safetensors *st, const cJSON *j, uint64_t datalen,
                       dlc_diag *d, dlc_st_tensor *t, uint64_t range[2]) {
  const char *p = st->path, *name = j->string;
  if (!cJSON_IsObject(j))
    return fail(d, p, "tensor '%s': entry is not a JSON object", name);
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
  if (!cJSON_IsString(dt))
    return fail(d, p, "tensor '%s': missing or invalid \"dtype\" (expected "
                "a string)", name);
  size_t k = 0, nd = sizeof st_dtypes / sizeof *st_dtypes;
  while (k < nd && strcmp(st_dtypes[k].name, dt->valuestring) != 0)
    k++;
  if (k == nd)
    return fail(d, p, "tensor '%s': unknown dtype '%.40s'", name,
                dt->valuestring);
  t->name = dlc_arena_strdup(st->arena, name);
  t->dtype_name = st_dtypes[k].name;
  t->supported = st_dtypes[k].supported;
  t->dtype = st_dtypes[k].dtype;

  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
  if (!cJSON_IsArray(sh))
    return fail(d, p, "tensor '%s': missing or invalid \"shape\" (expected "
                "an array of non-negative integers)", name);
  int rank = cJSON_GetArraySize(sh);
  int64_t *dims = dlc_arena_alloc(st->arena, sizeof *dims * (size_t)(rank + 1));
  uint64_t numel = 1;
  bool too_many = false;
  for (int i = 0; i < rank; i++) {
    uint64_t v;
    if (!json_count(cJSON_GetArrayItem(sh, i), &v))
      return fail(d, p, "tensor '%s': \"shape\" entry %d is not a "
                  "non-negative integer", name, i);
    dims[i] = (int64_t)v;
    if (v && numel > UINT64_MAX / 2 / st_dtypes[k].size / v)
      too_many = true;
    else
      numel *= v;
  }
  if (too_many)
    return fail(d, p, "tensor '%s': shape has too many elements", name);
  t->rank = rank;
  t->dims = dims;
  t->numel = (int64_t)numel;

  const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
  if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
      !json_count(cJSON_GetArrayItem(off, 0), &range[0]) ||
      !json_count(cJSON_GetArrayItem(off, 1), &range[1]))
    return fail(d, p, "tensor '%s': missing or invalid \"data_offsets\" "
                "(expected [begin, end], non-negative integers)", name);
  if (range[1] < range[0])
    return fail(d, p, "tensor '%s': data_offsets end %llu is before begin "
                "%llu", name, (unsigned long long)range[1],
                (unsigned long long)range[0]);
  if (range[1] > datalen)
    return fail(d, p, "tensor '%s': data_offsets [%llu, %llu] exceed the "
                "data region (%llu bytes)", name,
                (unsigned long long)range[0], (unsigned long long)range[1],
                (unsigned long long)datalen);
  uint64_t want = numel * st_dtypes[k].size;
  if (range[1] - range[0] != want)
    return fail(d, p, "tensor '%s': holds %llu bytes, but %llu elements of "
                "%s take %llu", name,
                (unsigned long long)(range[1] - range[0]),
                (unsigned long long)numel, t->dtype_name,
                (unsigned long long)want);
  t->nbytes = (size_t)want;
  return true;
}

typedef struct span {
  uint64_t begin, end;
  int tensor;
} span;

static int by_begin(const void *a, const void *b) {
  const span *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->tensor - y->tensor;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const struct named *)a)->name,
                ((const struct named *)b)->name);
}

/* Checks the header and fills st->tensors. */
static bool read_header(dlc_safetensors *st, dlc_diag *d) {
  const char *p = st->path;
  if (st->size < 8)
    return fail(d, p, "file is too short to be a safetensors file (%zu "
                "bytes)", st->size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | st->map[i];
  if (hlen > st->size - 8)
    return fail(d, p, "header length %llu exceeds the file size (%zu bytes)",
                (unsigned long long)hlen, st->size);
  const char *text = (const char *)st->map + 8, *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
  if (!root)
    return fail(d, p, "header is not valid JSON");
  bool ok = true;
  for (const char *q = end; ok && q && q < text + hlen; q++)
    if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
      ok = fail(d, p, "header has data after its JSON object");
  if (ok && !cJSON_IsObject(root))
    ok = fail(d, p, "header is not a JSON object");
  uint64_t datalen = st->size - 8 - hlen;
  const unsigned char *data = st->map + 8 + hlen;
  span *spans = NULL;
  int nspans = 0, capspans = 0;
  for (const cJSON *j = ok ? root->child : NULL; ok && j; j = j->next) {
    if (strcmp(j->string, "__metadata__") == 0) {
      if (!cJSON_IsObject(j))
        ok = fail(d, p, "\"__metadata__\" is not a JSON object");
      continue;
    }
    dlc_st_tensor t = {0};
    uint64_t range[2] = {0, 0};
    ok = read_entry(st, j, datalen, d, &t, range);
    if (!ok)
      break;
    t.data = data + range[0];
    span s = {range[0], range[1], st->n};
    if (range[1] > range[0]) /* empty tensors overlap nothing */
      DLC_PUSH(spans, nspans, capspans, s);
    DLC_PUSH(st->tensors, st->n, st->cap, t);
  }
  /* Sorted by begin, two ranges overlap only if two neighbours do. */
  if (ok)
    qsort(spans, (size_t)nspans, sizeof *spans, by_begin);
  for (int i = 1; ok && i < nspans; i++)
    if (spans[i - 1].end > spans[i].begin)
      ok = fail(d, p, "tensors '%s' and '%s' overlap in the data region",
                st->tensors[spans[i - 1].tensor].name,
                st->tensors[spans[i].tensor].name);
  free(spans);
  cJSON_Delete(root);
  if (!ok)
    return false;
  st->by_name = dlc_xmalloc(sizeof *st->by_name * (size_t)(st->n + 1));
  for (int i = 0; i < st->n; i++)
    st->by_name[i] = (struct named){st->tensors[i].name, i};
  qsort(st->by_name, (size_t)st->n, sizeof *st->by_name, cmp_name);
  for (int i = 1; i < st->n; i++)
    if (!strcmp(st->by_name[i].name, st->by_name[i - 1].name))
      return fail(d, p, "tensor '%s' appears twice in the header",
                  st->by_name[i].name);
  return true;
}

dlc_safetensors *dlc_safetensors_open(const char *path, dlc_diag *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(d, path, "cannot open file: %s", strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fail(d, path, "not a regular file");
    close(fd);
    return NULL;
  }
  dlc_safetensors *st = dlc_xcalloc(1, sizeof *st);
  st->path = dlc_xstrdup(path);
  st->arena = dlc_arena_new();
  st->size = (size_t)sb.st_size;
  if (st->size > 0) {
    void *m = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      fail(d, path, "cannot map file: %s", strerror(errno));
      st->size = 0;
      close(fd);
      dlc_safetensors_close(st);
      return NULL;
    }
    st->map = m;
  }
  close(fd);
  if (!read_header(st, d)) {
    dlc_safetensors_close(st);
    return NULL;
  }
  return st;
}

void dlc_safetensors_close(dlc_safetensors *st) {
  if (!st)
    return;
  if (st->map)
    munmap(st->map, st->size);
  dlc_arena_free(st->arena);
  free(st->tensors);
  free(st->by_name);
  free(st->path);
  free(st);
}

const char *dlc_safetensors_path(const dlc_safetensors *st) {
  return st->path;
}

int dlc_safetensors_count(const dlc_safetensors *st) { return st->n; }

const dlc_st_tensor *dlc_safetensors_tensor(const dlc_safetensors *st,
                                            int i) {
  DLC_ASSERT(i >= 0 && i < st->n);
  return &st->tensors[i];
}

int dlc_safetensors_find(const dlc_safetensors *st, const char *name) {
  int lo = 0, hi = st->n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(st->by_name[mid].name, name);
    if (c == 0)
      return st->by_name[mid].tensor;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}
