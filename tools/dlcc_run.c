/* dlcc-run: loads a compiled model.so through the public runtime API, feeds
 * it .npy or ONNX TensorProto (.pb) files by input name, runs it (optionally
 * many times, timed as a whole or per kernel), and writes or prints the
 * outputs. Every error is one line on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dlcc/runtime.h"
#include "npy.h"
#include "tensor_pb.h"

enum { EXIT_ERROR = 1, EXIT_USAGE = 2 };

/* --profile keeps every kernel's time of every run to take medians. */
#define MAX_PROFILE_RUNS 1000000L
/* Kernel indices past this are not the compiler's; they are ignored. */
#define MAX_KERNELS (1 << 20)

static const char usage_text[] =
    "usage: dlcc-run MODEL.so [--input NAME=FILE]... [--output NAME=FILE]...\n"
    "                [--bench N] [--profile N] [--threads N] [--help]\n"
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
    "  --profile N             after one warm-up run, run N times and "
    "print\n"
    "                          a table of the model's kernels: each one's\n"
    "                          median time in ms and share of the total,\n"
    "                          slowest first (with --bench: after it)\n"
    "  --threads N             threads the model may use (0: the default,\n"
    "                          $DLCC_NUM_THREADS or the processor count)\n"
    "  -h, --help              show this help\n"
    "\n"
    "--bench and --profile also print 'memory:' lines: the model's\n"
    "workspace (its activations), the input and output bytes, and the\n"
    "process's peak resident memory.\n"
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
  long profile; /* 0: no profile */
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
                                       "--threads", "--profile"};
    const char *opt = NULL, *v = NULL;
    for (int k = 0; k < 5 && !opt; k++) {
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
    else if (opt == opts[4])
      rc = parse_long(opt, v, 1, MAX_PROFILE_RUNS, &o->profile);
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

/* The median of n sorted values. */
static double median(const double *v, long n) {
  long h = n / 2;
  return n % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

/* --bench: runs n times; prints the median and minimum latency. */
static int bench(dlcc_model *m, long n, const buffers *b) {
  double *ms = malloc((size_t)n * sizeof *ms);
  if (!ms)
    return error(EXIT_ERROR, "out of memory");
  for (long i = 0; i < n; i++) {
    double t0 = now_ms();
    if (dlcc_model_run(m, b->inp, b->out) != DLCC_OK) {
      free(ms);
      return error(EXIT_ERROR, "%s", dlcc_model_error(m));
    }
    ms[i] = now_ms() - t0;
  }
  qsort(ms, (size_t)n, sizeof *ms, cmp_double);
  /* Scripts parse this line (bench/run.sh): keep it as it is. */
  printf("bench: %ld runs, median %.4f ms, min %.4f ms\n", n, median(ms, n),
         ms[0]);
  free(ms);
  return 0;
}

/* One kernel's times over the profiled runs. */
typedef struct kernel_times {
  const char *name; /* the model's */
  int index;
  double *ms;       /* one per run, 0 where a run did not report it */
  double median;
} kernel_times;

typedef struct profile_data {
  long runs, run;     /* run: the one in progress */
  kernel_times *k;    /* by kernel index; ms NULL if never reported */
  int n;              /* entries in k */
  int out_of_memory;
} profile_data;

/* Makes room for kernel index i; returns 0 if out of memory. */
static int grow_kernels(profile_data *p, int i) {
  if (i < p->n)
    return 1;
  int n = i + 1 > 2 * p->n ? i + 1 : 2 * p->n;
  kernel_times *k = realloc(p->k, (size_t)n * sizeof *k);
  if (!k)
    return 0;
  memset(k + p->n, 0, (size_t)(n - p->n) * sizeof *k);
  p->k = k;
  p->n = n;
  return 1;
}

/* The profile callback: adds one kernel's time to the run in progress. */
static void on_kernel(void *user, int kernel, const char *name,
                      double seconds) {
  profile_data *p = user;
  if (kernel < 0 || kernel >= MAX_KERNELS || p->out_of_memory)
    return;
  if (!grow_kernels(p, kernel)) {
    p->out_of_memory = 1;
    return;
  }
  kernel_times *k = &p->k[kernel];
  if (!k->ms && !(k->ms = calloc((size_t)p->runs, sizeof *k->ms))) {
    p->out_of_memory = 1;
    return;
  }
  k->name = name;
  k->index = kernel;
  k->ms[p->run] += seconds * 1e3;
}

/* Slowest first; equal times by index, so the order is deterministic. */
static int cmp_kernels(const void *a, const void *b) {
  const kernel_times *x = a, *y = b;
  if (x->median != y->median)
    return x->median < y->median ? 1 : -1;
  return (x->index > y->index) - (x->index < y->index);
}

/* The table: one row per reported kernel, then the total of the medians. */
static void print_profile(profile_data *p) {
  int rows = 0, width = (int)strlen("kernel");
  for (int i = 0; i < p->n; i++) {
    kernel_times *k = &p->k[i];
    if (!k->ms)
      continue;
    qsort(k->ms, (size_t)p->runs, sizeof *k->ms, cmp_double);
    k->median = median(k->ms, p->runs);
    int w = (int)strlen(k->name);
    width = w > width ? w : width;
    /* Compact by swapping (rows <= i), so each ms array stays owned once. */
    kernel_times t = p->k[rows];
    p->k[rows++] = *k;
    *k = t;
  }
  if (rows == 0) {
    printf("profile: %ld runs; the model reports no kernels (it was "
           "compiled without kernel reporting)\n",
           p->runs);
    return;
  }
  qsort(p->k, (size_t)rows, sizeof *p->k, cmp_kernels);
  double total = 0;
  for (int i = 0; i < rows; i++)
    total += p->k[i].median;
  printf("profile: %ld runs, %d kernels, median time of each\n", p->runs,
         rows);
  printf("%5s  %-*s %10s %6s\n", "#", width, "kernel", "ms", "%");
  for (int i = 0; i < rows; i++)
    printf("%5d  %-*s %10.4f %6.1f\n", p->k[i].index, width, p->k[i].name,
           p->k[i].median,
           total > 0 ? 100 * p->k[i].median / total : 0.0);
  printf("%5s  %-*s %10.4f %6.1f\n", "", width, "total", total, 100.0);
}

static void free_profile(profile_data *p) {
  for (int i = 0; i < p->n; i++)
    free(p->k[i].ms);
  free(p->k);
}

/* --profile: runs n times with the runtime's profiler and prints the
 * kernels' median times. */
static int profile(dlcc_model *m, long n, const buffers *b) {
  profile_data p = {.runs = n};
  int rc = 0;
  for (p.run = 0; p.run < n && !rc; p.run++)
    if (dlcc_model_run_profiled(m, b->inp, b->out, on_kernel, &p) != DLCC_OK)
      rc = error(EXIT_ERROR, "%s", dlcc_model_error(m));
  if (!rc && p.out_of_memory)
    rc = error(EXIT_ERROR, "out of memory for the profile");
  if (!rc)
    print_profile(&p);
  free_profile(&p);
  return rc;
}

/* "N bytes", with the size in KiB, MiB or GiB from 1 KiB on. */
static void print_bytes(uint64_t n) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
  printf("%llu bytes", (unsigned long long)n);
  if (n < 1024)
    return;
  double v = (double)n / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    u++;
  }
  printf(" (%.*f %s)", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
}

/* The memory lines after --bench and --profile. */
static void print_memory(dlcc_model *m, const buffers *b) {
  uint64_t in = 0, out = 0;
  for (int i = 0; i < b->ni; i++)
    in += b->in_bytes[i];
  for (int i = 0; i < b->no; i++)
    out += b->out_bytes[i];
  fputs("memory: workspace (activations) ", stdout);
  print_bytes(dlcc_model_workspace_size(m));
  fputs("\nmemory: inputs ", stdout);
  print_bytes(in);
  fputs(", outputs ", stdout);
  print_bytes(out);
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    fputs("\nmemory: peak RSS ", stdout);
    print_bytes((uint64_t)ru.ru_maxrss * 1024); /* Linux counts KiB */
  }
  putchar('\n');
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

  if (o->bench > 0 && (rc = bench(m, o->bench, b)) != 0)
    return rc;
  if (o->profile > 0 && (rc = profile(m, o->profile, b)) != 0)
    return rc;
  if (o->bench > 0 || o->profile > 0)
    print_memory(m, b);

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
