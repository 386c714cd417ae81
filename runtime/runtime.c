/* Loading a model.so: dlopen, find the entry symbol, and check every field
 * of the ABI struct before anything is trusted, so that a damaged or foreign
 * library becomes an error text and never a crash. Also the small library
 * functions (versions, status and dtype names) and the describing calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef DLCC_VERSION
#define DLCC_VERSION "0.0.0"
#endif

/* v1 of dlcc_abi_model ends after producer. */
#define ABI_V1_SIZE 72
_Static_assert(sizeof(dlcc_abi_model) == ABI_V1_SIZE, "ABI v1 layout");
_Static_assert(sizeof(dlcc_abi_tensor) == 24, "ABI tensor layout");

/* Sanity bounds for what a model may declare. */
#define MAX_TENSORS 100000
#define MAX_TENSOR_BYTES ((uint64_t)1 << 62)

static const int64_t no_dims[1] = {0}; /* dims of a scalar: never read */

/* ---- Library ------------------------------------------------------------ */

DLCC_API const char *dlcc_runtime_version(void) { return DLCC_VERSION; }

DLCC_API int dlcc_runtime_abi_version(void) { return DLCC_ABI_VERSION; }

DLCC_API const char *dlcc_status_string(dlcc_status s) {
  switch (s) {
  case DLCC_OK: return "ok";
  case DLCC_ERR_INVALID_ARGUMENT: return "invalid argument";
  case DLCC_ERR_NO_MEMORY: return "out of memory";
  case DLCC_ERR_IO: return "cannot open file";
  case DLCC_ERR_NOT_A_MODEL: return "not a dlcc model";
  case DLCC_ERR_LOAD: return "cannot load library";
  case DLCC_ERR_ABI_VERSION: return "unsupported ABI version";
  case DLCC_ERR_BAD_MODEL: return "malformed model";
  case DLCC_ERR_SIZE_MISMATCH: return "buffer size mismatch";
  case DLCC_ERR_RUN_FAILED: return "model run failed";
  }
  return "unknown status";
}

DLCC_API const char *dlcc_dtype_name(dlcc_dtype t) {
  switch (t) {
  case DLCC_F32: return "f32";
  case DLCC_F64: return "f64";
  case DLCC_I32: return "i32";
  case DLCC_I64: return "i64";
  case DLCC_BOOL: return "bool";
  }
  return "unknown";
}

DLCC_API size_t dlcc_dtype_size(dlcc_dtype t) {
  switch (t) {
  case DLCC_F32: case DLCC_I32: return 4;
  case DLCC_F64: case DLCC_I64: return 8;
  case DLCC_BOOL: return 1;
  }
  return 0;
}

DLCC_API int64_t dlcc_tensor_numel(const dlcc_tensor_info *info) {
  if (!info || (info->rank > 0 && !info->dims))
    return 0;
  int64_t n = 1;
  for (int i = 0; i < info->rank; i++)
    n *= info->dims[i];
  return n;
}

DLCC_API size_t dlcc_tensor_bytes(const dlcc_tensor_info *info) {
  if (!info)
    return 0;
  return (size_t)dlcc_tensor_numel(info) * dlcc_dtype_size(info->dtype);
}

char *dlcc__type_str(const dlcc_tensor_info *t, char *buf, size_t n) {
  size_t len = (size_t)snprintf(buf, n, "%s[", dlcc_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "",
                            (long long)t->dims[i]);
  if (len < n)
    snprintf(buf + len, n - len, "]");
  return buf;
}

int dlcc__default_threads(void) {
  const char *env = getenv("DLCC_NUM_THREADS");
  if (env && *env) {
    char *end;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (!errno && *end == 0 && v >= 1 && v <= 4096)
      return (int)v;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? (int)(n > 4096 ? 4096 : n) : 1;
}

/* ---- Errors ------------------------------------------------------------- */

dlcc_status dlcc__fail(dlcc_model *m, dlcc_status s, const char *fmt, ...) {
  if (!m)
    return s;
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&m->lock);
  vsnprintf(m->err, m->errcap, fmt, ap);
  pthread_mutex_unlock(&m->lock);
  va_end(ap);
  return s;
}

DLCC_API const char *dlcc_model_error(const dlcc_model *m) {
  return m ? m->err : "out of memory";
}

DLCC_API size_t dlcc_model_error_copy(const dlcc_model *m, char *buf,
                                      size_t size) {
  if (!m)
    return (size_t)snprintf(buf, size, "out of memory");
  dlcc_model *mm = (dlcc_model *)m; /* the lock is not part of the value */
  pthread_mutex_lock(&mm->lock);
  size_t n = (size_t)snprintf(buf, size, "%s", m->err);
  pthread_mutex_unlock(&mm->lock);
  return n;
}

/* ---- Loading ------------------------------------------------------------ */

/* A handle with room for error texts about path; NULL if out of memory. */
static dlcc_model *model_new(const char *path) {
  dlcc_model *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  /* Texts quote the path and dlerror's text (which quotes it again). */
  m->errcap = 1024 + 2 * (path ? strlen(path) : 0);
  m->err = calloc(1, m->errcap);
  if (!m->err || pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m->err);
    free(m);
    return NULL;
  }
  if (pthread_mutex_init(&m->run_lock, NULL) != 0) {
    pthread_mutex_destroy(&m->lock);
    free(m->err);
    free(m);
    return NULL;
  }
  m->load_status = DLCC_ERR_INVALID_ARGUMENT;
  m->name = m->producer = "";
  m->default_threads = dlcc__default_threads();
  atomic_init(&m->num_threads, m->default_threads);
  return m;
}

/* Opens path as a file first, so that "no such file" is an I/O error and
 * not a loader message, and tells ELF files from others. */
static dlcc_status check_file(dlcc_model *m, const char *path, int *is_elf) {
  *is_elf = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return dlcc__fail(m, DLCC_ERR_IO, "%s: cannot open: %s", path,
                      strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return dlcc__fail(m, DLCC_ERR_IO, "%s: cannot open: %s", path,
                      strerror(EISDIR));
  }
  unsigned char magic[4];
  ssize_t n = read(fd, magic, sizeof magic);
  *is_elf = n == 4 && memcmp(magic, "\177ELF", 4) == 0;
  close(fd);
  return DLCC_OK;
}

static int is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* Checks one input or output and copies what the runtime needs. */
static dlcc_status check_tensor(dlcc_model *m, const char *path,
                                const char *kind, int i,
                                const dlcc_abi_tensor *t, rt_tensor *out) {
  if (!t->name)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL, "%s: %s %d has a NULL name",
                      path, kind, i);
  if (dlcc_dtype_size((dlcc_dtype)t->dtype) == 0)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: %s %d ('%s') has unknown dtype code %d (this "
                      "runtime reads 1 to 5)",
                      path, kind, i, t->name, (int)t->dtype);
  if (t->rank < 0 || t->rank > DLCC_MAX_RANK)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: %s %d ('%s') has rank %d (must be 0 to %d)", path,
                      kind, i, t->name, (int)t->rank, DLCC_MAX_RANK);
  if (t->rank > 0 && !t->dims)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: %s %d ('%s') has rank %d and NULL dims", path,
                      kind, i, t->name, (int)t->rank);
  uint64_t bytes = dlcc_dtype_size((dlcc_dtype)t->dtype);
  for (int d = 0; d < t->rank; d++) {
    if (t->dims[d] < 1)
      return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                        "%s: %s %d ('%s') has dims[%d] = %lld (must be >= 1)",
                        path, kind, i, t->name, d, (long long)t->dims[d]);
    if ((uint64_t)t->dims[d] > MAX_TENSOR_BYTES / bytes)
      return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                        "%s: %s %d ('%s') is too large (over 2^62 bytes)",
                        path, kind, i, t->name);
    bytes *= (uint64_t)t->dims[d];
  }
  out->info.name = t->name;
  out->info.dtype = (dlcc_dtype)t->dtype;
  out->info.rank = t->rank;
  out->info.dims = t->rank ? t->dims : no_dims;
  out->bytes = (size_t)bytes;
  return DLCC_OK;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks a list of inputs or outputs; names must be distinct. */
static dlcc_status check_tensors(dlcc_model *m, const char *path,
                                 const char *kind, int32_t count, int min,
                                 const dlcc_abi_tensor *ts, rt_tensor **out) {
  if (count < min || count > MAX_TENSORS)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: num_%ss is %d (must be %d to %d)", path, kind,
                      (int)count, min, MAX_TENSORS);
  if (count > 0 && !ts)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL, "%s: %ss is NULL but num_%ss is %d",
                      path, kind, kind, (int)count);
  *out = calloc(count ? (size_t)count : 1, sizeof **out);
  const char **names = calloc(count ? (size_t)count : 1, sizeof *names);
  if (!*out || !names) {
    free(names);
    return dlcc__fail(m, DLCC_ERR_NO_MEMORY, "out of memory");
  }
  dlcc_status s = DLCC_OK;
  for (int i = 0; i < count && s == DLCC_OK; i++) {
    s = check_tensor(m, path, kind, i, &ts[i], &(*out)[i]);
    names[i] = ts[i].name;
  }
  if (s == DLCC_OK && count > 1) {
    qsort(names, (size_t)count, sizeof *names, cmp_names);
    for (int i = 1; i < count; i++)
      if (strcmp(names[i - 1], names[i]) == 0) {
        s = dlcc__fail(m, DLCC_ERR_BAD_MODEL, "%s: duplicate %s name '%s'",
                       path, kind, names[i]);
        break;
      }
  }
  free(names);
  return s;
}

/* Checks the ABI struct field by field; fills m on success. */
static dlcc_status check_abi(dlcc_model *m, const char *path,
                             const dlcc_abi_model *a) {
  if (!a)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL, "%s: %s returned NULL", path,
                      DLCC_ENTRY_SYMBOL);
  if (a->abi_version != DLCC_ABI_VERSION)
    return dlcc__fail(m, DLCC_ERR_ABI_VERSION,
                      "%s: ABI version %u is not supported (this runtime "
                      "reads version %d)",
                      path, (unsigned)a->abi_version, DLCC_ABI_VERSION);
  if (a->struct_size < ABI_V1_SIZE)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: ABI struct is %u bytes, less than the %d of "
                      "version %d",
                      path, (unsigned)a->struct_size, ABI_V1_SIZE,
                      DLCC_ABI_VERSION);
  if (!a->name)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL, "%s: model name is NULL", path);
  dlcc_status s = check_tensors(m, path, "input", a->num_inputs, 0,
                                a->inputs, &m->inputs);
  if (s == DLCC_OK)
    s = check_tensors(m, path, "output", a->num_outputs, 1, a->outputs,
                      &m->outputs);
  if (s != DLCC_OK)
    return s;
  if (!a->run)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL, "%s: run function is NULL", path);
  if (!is_pow2(a->workspace_align) &&
      !(a->workspace_align == 0 && a->workspace_size == 0))
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: workspace_align %llu is not a power of two", path,
                      (unsigned long long)a->workspace_align);
  if (a->workspace_align > ((uint64_t)1 << 30) ||
      a->workspace_size > MAX_TENSOR_BYTES)
    return dlcc__fail(m, DLCC_ERR_BAD_MODEL,
                      "%s: workspace of %llu bytes aligned to %llu is too "
                      "large",
                      path, (unsigned long long)a->workspace_size,
                      (unsigned long long)a->workspace_align);
  m->name = a->name;
  m->producer = a->producer ? a->producer : "";
  m->num_inputs = a->num_inputs;
  m->num_outputs = a->num_outputs;
  m->workspace_size = a->workspace_size;
  m->workspace_align = a->workspace_align ? a->workspace_align : 1;
  m->run = a->run;
  return DLCC_OK;
}

static dlcc_status load(dlcc_model *m, const char *path) {
  if (!path)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT, "model path is NULL");
  if (!*path)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT, "model path is empty");
  int is_elf;
  dlcc_status s = check_file(m, path, &is_elf);
  if (s != DLCC_OK)
    return s;
  /* A bare name would make dlopen search the library path. */
  char *dlpath = malloc(strlen(path) + 3);
  if (!dlpath)
    return dlcc__fail(m, DLCC_ERR_NO_MEMORY, "out of memory");
  sprintf(dlpath, "%s%s", strchr(path, '/') ? "" : "./", path);
  m->lib = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
  free(dlpath);
  if (!m->lib) {
    const char *why = dlerror();
    if (!why)
      why = "unknown error";
    if (is_elf)
      return dlcc__fail(m, DLCC_ERR_LOAD, "%s: cannot load: %s", path, why);
    return dlcc__fail(m, DLCC_ERR_NOT_A_MODEL, "%s: not a dlcc model: %s",
                      path, why);
  }
  dlerror();
  void *sym = dlsym(m->lib, DLCC_ENTRY_SYMBOL);
  if (!sym)
    return dlcc__fail(m, DLCC_ERR_NOT_A_MODEL,
                      "%s: not a dlcc model (no symbol %s)", path,
                      DLCC_ENTRY_SYMBOL);
  dlcc_abi_entry_fn entry;
  memcpy(&entry, &sym, sizeof entry); /* object to function pointer */
  return check_abi(m, path, entry());
}

/* Drops everything a failed load acquired; the error text stays. */
static void unload(dlcc_model *m) {
  free(m->inputs);
  free(m->outputs);
  m->inputs = m->outputs = NULL;
  m->num_inputs = m->num_outputs = 0;
  if (m->lib)
    dlclose(m->lib);
  m->lib = NULL;
  m->name = m->producer = "";
  m->run = NULL;
}

DLCC_API dlcc_status dlcc_model_load(const char *path, dlcc_model **out) {
  if (!out)
    return DLCC_ERR_INVALID_ARGUMENT;
  dlcc_model *m = *out = model_new(path);
  if (!m)
    return DLCC_ERR_NO_MEMORY;
  dlcc_status s = load(m, path);
  if (s != DLCC_OK)
    unload(m);
  m->load_status = s;
  return s;
}

DLCC_API void dlcc_model_free(dlcc_model *m) {
  if (!m)
    return;
  dlcc__run_cleanup(m);
  unload(m);
  pthread_mutex_destroy(&m->run_lock);
  pthread_mutex_destroy(&m->lock);
  free(m->err);
  free(m);
}

/* ---- Describing --------------------------------------------------------- */

DLCC_API const char *dlcc_model_name(const dlcc_model *m) {
  return m ? m->name : "";
}

DLCC_API const char *dlcc_model_producer(const dlcc_model *m) {
  return m ? m->producer : "";
}

DLCC_API int dlcc_model_num_inputs(const dlcc_model *m) {
  return m ? m->num_inputs : 0;
}

DLCC_API int dlcc_model_num_outputs(const dlcc_model *m) {
  return m ? m->num_outputs : 0;
}

DLCC_API uint64_t dlcc_model_workspace_size(const dlcc_model *m) {
  return m && m->load_status == DLCC_OK ? m->workspace_size : 0;
}

static dlcc_status get_info(dlcc_model *m, const char *kind, int i, int n,
                            const rt_tensor *ts, dlcc_tensor_info *info) {
  if (!m)
    return DLCC_ERR_INVALID_ARGUMENT;
  if (m->load_status != DLCC_OK)
    return m->load_status;
  if (!info)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT,
                      "dlcc_model_%s_info: info is NULL", kind);
  if (i < 0 || i >= n)
    return dlcc__fail(m, DLCC_ERR_INVALID_ARGUMENT,
                      "%s index %d is out of range (the model has %d)", kind,
                      i, n);
  *info = ts[i].info;
  return DLCC_OK;
}

DLCC_API dlcc_status dlcc_model_input_info(dlcc_model *m, int i,
                                           dlcc_tensor_info *info) {
  return get_info(m, "input", i, m ? m->num_inputs : 0, m ? m->inputs : NULL,
                  info);
}

DLCC_API dlcc_status dlcc_model_output_info(dlcc_model *m, int i,
                                            dlcc_tensor_info *info) {
  return get_info(m, "output", i, m ? m->num_outputs : 0,
                  m ? m->outputs : NULL, info);
}

static int find(const rt_tensor *ts, int n, const char *name) {
  for (int i = 0; name && i < n; i++)
    if (strcmp(ts[i].info.name, name) == 0)
      return i;
  return -1;
}

DLCC_API int dlcc_model_find_input(const dlcc_model *m, const char *name) {
  return m ? find(m->inputs, m->num_inputs, name) : -1;
}

DLCC_API int dlcc_model_find_output(const dlcc_model *m, const char *name) {
  return m ? find(m->outputs, m->num_outputs, name) : -1;
}
