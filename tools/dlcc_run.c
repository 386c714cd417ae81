/* dlcc-run: loads a compiled model.so through the public runtime API, feeds
 * it .npy or ONNX TensorProto (.pb) files by input name, runs it (optionally
 * many times, timed), and writes or prints the outputs. Every error is one
 * line on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlcc/runtime.h"
#include "npy.h"
#include "tensor_pb.h"

enum { EXIT_ERROR = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: dlcc-run MODEL.so [--input NAME=FILE]... [--output NAME=FILE]...\n"
    "                [--bench N] [--threads N] [--help]\n"
    "\n"
    "Runs a model compiled by dlcc on inputs read from .npy files or ONNX\n"
    "TensorProto (.pb) files.\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE       the model's input NAME (repeat for each "
    "input);\n"
    "                          the file must have its dtype and shape "
    "exactly\n"
    "  --output NAME=FILE      write output NAME to a file; outputs not\n"
    "                          written are printed: name, type, first "
    "values\n"
    "  --bench N               after one warm-up run, run N times and "
    "print\n"
    "                          the median and minimum latency in ms\n"
    "  --threads N             threads the model may use (0: the default,\n"
    "                          $DLCC_NUM_THREADS or the processor count)\n"
    "  -h, --help              show this help\n"
    "\n"
    "A FILE ending in .pb is an ONNX TensorProto (written with raw_data);\n"
    "any other FILE is a .npy file. Options also take the form\n"
    "--input=NAME=FILE.\n"
    "\n"
    "Exit status: 0 on success; 1 on an error with the model, its inputs,\n"
    "the run or a file; 2 on a usage error (unknown option, missing or bad\n"
    "option value, no model).\n";

/* One --input or --output: NAME=FILE. */
typedef struct binding {
  char *name; /* malloc'd */
  const char *file;
  int index; /* in the model's inputs or outputs */
} binding;

typedef struct options {
  const char *model;
  binding *inputs, *outputs;
  int num_inputs, num_outputs;
  long bench; /* 0: no benchmark */
  int threads; /* -1: not given */
} options;

static int error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dlcc-run: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

/* ---- Command line ------------------------------------------------------- */

static int parse_binding(const char *opt, const char *v, binding *b) {
  const char *eq = strchr(v, '=');
  if (!eq || eq == v || !eq[1])
    return error(EXIT_USAGE, "%s expects NAME=FILE.npy, got '%s'", opt, v);
  b->name = strndup(v, (size_t)(eq - v));
  b->file = eq + 1;
  b->index = -1;
  return b->name ? 0 : error(EXIT_ERROR, "out of memory");
}

static int parse_long(const char *opt, const char *v, long lo, long hi,
                      long *out) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || end == v || *end || n < lo || n > hi)
    return error(EXIT_USAGE, "%s expects a number from %ld to %ld, got '%s'",
                 opt, lo, hi, v);
  *out = n;
  return 0;
}

/* Returns 0, or an exit status; -1 when --help was printed. */
static int parse_args(int argc, char **argv, options *o) {
  o->inputs = calloc((size_t)argc, sizeof *o->inputs);
  o->outputs = calloc((size_t)argc, sizeof *o->outputs);
  if (!o->inputs || !o->outputs)
    return error(EXIT_ERROR, "out of memory");
  int only_files = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_files || a[0] != '-' || !a[1]) {
      if (o->model)
        return error(EXIT_USAGE,
                     "unexpected argument '%s' (the model is '%s')", a,
                     o->model);
      o->model = a;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_files = 1;
      continue;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_text, stdout);
      return -1;
    }
    static const char *const opts[] = {"--input", "--output", "--bench",
                                       "--threads"};
    const char *opt = NULL, *v = NULL;
    for (int k = 0; k < 4 && !opt; k++) {
      size_t n = strlen(opts[k]);
      if (!strncmp(a, opts[k], n) && (a[n] == 0 || a[n] == '=')) {
        opt = opts[k];
        v = a[n] == '=' ? a + n + 1 : NULL;
      }
    }
    if (!opt)
      return error(EXIT_USAGE, "unknown option '%s' (see dlcc-run --help)", a);
    if (!v) {
      if (i + 1 >= argc)
        return error(EXIT_USAGE, "option %s needs a value", opt);
      v = argv[++i];
    }
    int rc = 0;
    long n;
    if (opt == opts[0])
      rc = parse_binding(opt, v, &o->inputs[o->num_inputs++]);
    else if (opt == opts[1])
      rc = parse_binding(opt, v, &o->outputs[o->num_outputs++]);
    else if (opt == opts[2])
      rc = parse_long(opt, v, 1, 1000000000L, &o->bench);
    else if ((rc = parse_long(opt, v, 0, 4096, &n)) == 0)
      o->threads = (int)n;
    if (rc)
      return rc;
  }
  if (!o->model)
    return error(EXIT_USAGE,
                 "no model given (usage: dlcc-run MODEL.so [options]; see "
                 "--help)");
  return 0;
}

static void free_options(options *o) {
  for (int i = 0; i < o->num_inputs; i++)
    free(o->inputs[i].name);
  for (int i = 0; i < o->num_outputs; i++)
    free(o->outputs[i].name);
  free(o->inputs);
  free(o->outputs);
}

/* ---- Types and values --------------------------------------------------- */

/* "f32[1,784]" into buf; "f32[]" for a scalar. */
static const char *type_str(dlcc_dtype t, int rank, const int64_t *dims,
                            char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s[", dlcc_dtype_name(t));
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "",
                          (long long)dims[i]);
  if (n < cap)
    snprintf(buf + n, cap - n, "]");
  return buf;
}

static const char *info_str(const dlcc_tensor_info *t, char *buf, size_t cap) {
  return type_str(t->dtype, t->rank, t->dims, buf, cap);
}

/* "x (f32[2,3]), k (i64[])" for error messages, into a malloc'd string. */
static char *list_tensors(dlcc_model *m, int outputs) {
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  if (!f)
    return NULL;
  int n = outputs ? dlcc_model_num_outputs(m) : dlcc_model_num_inputs(m);
  for (int i = 0; i < n; i++) {
    dlcc_tensor_info t;
    char ty[256];
    if (outputs)
      dlcc_model_output_info(m, i, &t);
    else
      dlcc_model_input_info(m, i, &t);
    fprintf(f, "%s%s (%s)", i ? ", " : "", t.name, info_str(&t, ty, sizeof ty));
  }
  fclose(f);
  return s;
}

static void print_values(const dlcc_tensor_info *t, const void *data) {
  char ty[256];
  int64_t n = dlcc_tensor_numel(t);
  printf("%s: %s = [", t->name, info_str(t, ty, sizeof ty));
  for (int64_t i = 0; i < n && i < 8; i++) {
    if (i)
      fputs(", ", stdout);
    switch (t->dtype) {
    case DLCC_F32: printf("%g", ((const float *)data)[i]); break;
    case DLCC_F64: printf("%g", ((const double *)data)[i]); break;
    case DLCC_I32: printf("%d", ((const int32_t *)data)[i]); break;
    case DLCC_I64: printf("%lld", (long long)((const int64_t *)data)[i]); break;
    case DLCC_BOOL: fputs(((const uint8_t *)data)[i] ? "true" : "false", stdout); break;
    }
  }
  printf("%s]\n", n > 8 ? ", ..." : "");
}

/* ---- Running ------------------------------------------------------------ */

/* Finds each binding's tensor; a name twice or not in the model is an
 * error that lists what the model has. */
static int match(dlcc_model *m, binding *bs, int n, int outputs) {
  const char *kind = outputs ? "output" : "input";
  for (int i = 0; i < n; i++) {
    binding *b = &bs[i];
    b->index = outputs ? dlcc_model_find_output(m, b->name)
                       : dlcc_model_find_input(m, b->name);
    if (b->index < 0) {
      int count = outputs ? dlcc_model_num_outputs(m) : dlcc_model_num_inputs(m);
      if (count == 0)
        return error(EXIT_ERROR, "unknown %s '%s'; the model has no %ss",
                     kind, b->name, kind);
      char *list = list_tensors(m, outputs);
      error(EXIT_ERROR, "unknown %s '%s'; the model's %ss are: %s", kind,
            b->name, kind, list ? list : "?");
      free(list);
      return EXIT_ERROR;
    }
    for (int j = 0; j < i; j++)
      if (bs[j].index == b->index)
        return error(EXIT_ERROR, "%s '%s' is given twice", kind, b->name);
  }
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* An array read from a .npy or .pb file. */
typedef struct tensor {
  dlcc_dtype dtype;
  int rank;
  int64_t dims[DLC_NPY_MAX_RANK];
  void *data; /* malloc'd */
  size_t nbytes;
} tensor;

_Static_assert(DLC_NPY_MAX_RANK == DLC_TENSOR_PB_MAX_RANK,
               "tensor holds the dims of either file kind");

/* By extension: .pb is an ONNX TensorProto, anything else .npy. */
static int is_pb(const char *path) {
  size_t n = strlen(path);
  return n >= 3 && strcmp(path + n - 3, ".pb") == 0;
}

static int read_tensor(const char *path, tensor *t, char *err, size_t cap) {
  if (is_pb(path)) {
    dlc_tensor_pb a;
    if (dlc_tensor_pb_read(path, &a, err, cap) != 0)
      return -1;
    *t = (tensor){.dtype = a.dtype, .rank = a.rank, .data = a.data,
                  .nbytes = a.nbytes};
    memcpy(t->dims, a.dims, sizeof t->dims);
    free(a.name);
    return 0;
  }
  dlc_npy a;
  if (dlc_npy_read(path, &a, err, cap) != 0)
    return -1;
  *t = (tensor){.dtype = a.dtype, .rank = a.rank, .data = a.data,
                .nbytes = a.nbytes};
  memcpy(t->dims, a.dims, sizeof t->dims);
  return 0;
}

static int write_tensor(const char *path, const dlcc_tensor_info *t,
                        const void *data, char *err, size_t cap) {
  if (is_pb(path))
    return dlc_tensor_pb_write(path, t->name, t->dtype, t->rank, t->dims,
                               data, DLC_TENSOR_PB_RAW, err, cap);
  return dlc_npy_write(path, t->dtype, t->rank, t->dims, data, err, cap);
}

typedef struct buffers {
  int ni, no;
  tensor *in;         /* ni arrays read from files, by model index */
  const void **inp;   /* ni */
  size_t *in_bytes;   /* ni */
  void **out;         /* no, malloc'd */
  size_t *out_bytes;  /* no */
} buffers;

static void free_buffers(buffers *b) {
  for (int i = 0; b->in && i < b->ni; i++)
    free(b->in[i].data);
  for (int i = 0; b->out && i < b->no; i++)
    free(b->out[i]);
  free(b->in);
  free(b->inp);
  free(b->in_bytes);
  free(b->out);
  free(b->out_bytes);
}

/* Reads the input files and checks each against the model's type. */
static int read_inputs(dlcc_model *m, const options *o, buffers *b) {
  for (int i = 0; i < b->ni; i++) {
    dlcc_tensor_info t;
    dlcc_model_input_info(m, i, &t);
    const binding *bd = NULL;
    for (int k = 0; k < o->num_inputs && !bd; k++)
      if (o->inputs[k].index == i)
        bd = &o->inputs[k];
    char want[256], got[256], err[1024];
    if (!bd)
      return error(EXIT_ERROR, "missing input '%s' (%s): pass --input %s=FILE.npy",
                   t.name, info_str(&t, want, sizeof want), t.name);
    tensor *a = &b->in[i];
    if (read_tensor(bd->file, a, err, sizeof err) != 0)
      return error(EXIT_ERROR, "%s", err);
    int same = a->dtype == t.dtype && a->rank == t.rank;
    for (int d = 0; same && d < t.rank; d++)
      same = a->dims[d] == t.dims[d];
    if (!same)
      return error(EXIT_ERROR, "input '%s': expected %s, got %s from %s",
                   t.name, info_str(&t, want, sizeof want),
                   type_str(a->dtype, a->rank, a->dims, got, sizeof got),
                   bd->file);
    b->inp[i] = a->data;
    b->in_bytes[i] = a->nbytes;
  }
  return 0;
}

static int run_model(dlcc_model *m, const options *o, buffers *b) {
  int rc = read_inputs(m, o, b);
  if (rc)
    return rc;
  for (int i = 0; i < b->no; i++) {
    dlcc_tensor_info t;
    dlcc_model_output_info(m, i, &t);
    b->out_bytes[i] = dlcc_tensor_bytes(&t);
    if (!(b->out[i] = calloc(1, b->out_bytes[i] ? b->out_bytes[i] : 1)))
      return error(EXIT_ERROR, "out of memory for output '%s' (%zu bytes)",
                   t.name, b->out_bytes[i]);
  }
  if (dlcc_model_run_checked(m, b->inp, b->in_bytes, b->out, b->out_bytes) !=
      DLCC_OK)
    return error(EXIT_ERROR, "%s", dlcc_model_error(m));

  if (o->bench > 0) {
    double *ms = malloc((size_t)o->bench * sizeof *ms);
    if (!ms)
      return error(EXIT_ERROR, "out of memory");
    for (long i = 0; i < o->bench; i++) {
      double t0 = now_ms();
      if (dlcc_model_run(m, b->inp, b->out) != DLCC_OK) {
        free(ms);
        return error(EXIT_ERROR, "%s", dlcc_model_error(m));
      }
      ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)o->bench, sizeof *ms, cmp_double);
    long h = o->bench / 2;
    double median = o->bench % 2 ? ms[h] : (ms[h - 1] + ms[h]) / 2;
    printf("bench: %ld runs, median %.4f ms, min %.4f ms\n", o->bench,
           median, ms[0]);
    free(ms);
  }

  for (int i = 0; i < b->no; i++) {
    dlcc_tensor_info t;
    dlcc_model_output_info(m, i, &t);
    const binding *bd = NULL;
    for (int k = 0; k < o->num_outputs && !bd; k++)
      if (o->outputs[k].index == i)
        bd = &o->outputs[k];
    char err[1024];
    if (!bd)
      print_values(&t, b->out[i]);
    else if (write_tensor(bd->file, &t, b->out[i], err, sizeof err) != 0)
      return error(EXIT_ERROR, "%s", err);
  }
  return 0;
}

static int run_tool(const options *o) {
  dlcc_model *m = NULL;
  if (dlcc_model_load(o->model, &m) != DLCC_OK) {
    int rc = error(EXIT_ERROR, "%s", dlcc_model_error(m));
    dlcc_model_free(m);
    return rc;
  }
  int rc = 0;
  if (o->threads >= 0 && dlcc_model_set_num_threads(m, o->threads) != DLCC_OK)
    rc = error(EXIT_ERROR, "%s", dlcc_model_error(m));
  if (!rc)
    rc = match(m, o->inputs, o->num_inputs, 0);
  if (!rc)
    rc = match(m, o->outputs, o->num_outputs, 1);
  buffers b = {.ni = dlcc_model_num_inputs(m), .no = dlcc_model_num_outputs(m)};
  if (!rc) {
    size_t ni = b.ni ? (size_t)b.ni : 1, no = (size_t)b.no;
    b.in = calloc(ni, sizeof *b.in);
    b.inp = calloc(ni, sizeof *b.inp);
    b.in_bytes = calloc(ni, sizeof *b.in_bytes);
    b.out = calloc(no, sizeof *b.out);
    b.out_bytes = calloc(no, sizeof *b.out_bytes);
    if (!b.in || !b.inp || !b.in_bytes || !b.out || !b.out_bytes)
      rc = error(EXIT_ERROR, "out of memory");
  }
  if (!rc)
    rc = run_model(m, o, &b);
  free_buffers(&b);
  dlcc_model_free(m);
  return rc;
}

int main(int argc, char **argv) {
  options o = {.threads = -1};
  int rc = parse_args(argc, argv, &o);
  if (rc == 0)
    rc = run_tool(&o);
  else if (rc < 0)
    rc = 0; /* --help */
  free_options(&o);
  if (fflush(stdout) != 0 && rc == 0)
    rc = error(EXIT_ERROR, "cannot write the output: %s", strerror(errno));
  return rc;
}
