/* dlcc-onnx-test: ONNX's node tests against dlcc. Each case folder holds
 * model.onnx and test_data_set_N/{input,output}_K.pb; a case is compiled
 * in-process with dlc_compile, loaded with the runtime, run on each data set
 * and compared with the expected outputs. Every case runs in a forked child,
 * so that a crash, a hang or a sanitizer report is that case's failure. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dlcc/runtime.h"
#include "driver.h"
#include "tensor_pb.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SKIP = 77 };

#define DEFAULT_DATA "/usr/include/onnx/backend/test/data/node"
#define DEFAULT_RTOL 1e-3
#define DEFAULT_ATOL 1e-5

static const char usage_text[] =
    "usage: dlcc-onnx-test [--data DIR] [--filter SUBSTR] [--expected FILE]\n"
    "                      [--write-expected FILE] [--jobs N] [--timeout S]\n"
    "                      [--verbose] [--help]\n"
    "\n"
    "Runs ONNX's node tests: for each case folder under DIR, compiles\n"
    "model.onnx with dlcc, runs it on every test_data_set_N/input_K.pb and\n"
    "compares the results with output_K.pb (floats: |got - expected| <=\n"
    "atol + rtol * |expected|, rtol 1e-3 and atol 1e-5 unless the case's\n"
    "operator needs more; integers and bools exactly). Each case is:\n"
    "  passed       every output of every data set matches\n"
    "  failed       wrong values, a run or load error, a crash or time-out,\n"
    "               or a compile error that is not about support\n"
    "  unsupported  the compile error says that an operator, type, opset or\n"
    "               form is unsupported, not supported or not implemented,\n"
    "               or that a dimension is 0 (dlcc has no empty tensors)\n"
    "One line is printed per case that does not pass, then a summary:\n"
    "  N passed, M failed, K unsupported (T cases in S s)\n"
    "\n"
    "options:\n"
    "  --data DIR            the case folders (default:\n"
    "                        " DEFAULT_DATA ")\n"
    "  --filter SUBSTR       only the cases whose name contains SUBSTR\n"
    "  --expected FILE       the cases that must pass, one name a line, #\n"
    "                        comments; fail if one of them does not, note\n"
    "                        the passing cases it does not list\n"
    "  --write-expected FILE write the names of the passing cases to FILE\n"
    "                        (not with --filter)\n"
    "  --jobs N              cases run at once (default and most: the\n"
    "                        number of processors)\n"
    "  --timeout S           seconds a case may take (default 60)\n"
    "  -v, --verbose         a line for every case, passing ones too\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 when every case listed in --expected passes (without\n"
    "--expected: when no case failed); 1 otherwise; 2 on a usage error;\n"
    "77 when DIR does not exist (ctest counts that as skipped).\n";

/* Cases whose reference values need more than the default tolerance, by
 * name prefix (the first matching row wins), each with the reason. A row
 * is added only for a failure seen and understood, never to hide a bug.
 * The table ends with a NULL prefix. */
static const struct tolerance {
  const char *prefix;
  double rtol, atol;
} tolerances[] = {
    {NULL, 0, 0},
};

typedef enum verdict { V_NONE, V_PASS, V_FAIL, V_UNSUPPORTED } verdict;

static const char *const verdict_names[] = {
    [V_NONE] = "NONE", [V_PASS] = "PASS", [V_FAIL] = "FAIL",
    [V_UNSUPPORTED] = "UNSUPPORTED"};

typedef struct test_case {
  char *name;   /* the folder's name */
  verdict v;
  char *msg;    /* malloc'd, one line; NULL for a plain pass */
  double ms;
  pid_t pid;    /* while running */
  double start; /* ms */
} test_case;

typedef struct options {
  const char *data, *expected, *write_expected, *filter;
  long jobs, timeout;
  bool verbose;
} options;

static int error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dlcc-onnx-test: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the entries of dir that start with prefix and are
 * folders, sorted; NULL-terminated, malloc'd. */
static char **list_dirs(const char *dir, const char *prefix, int *count) {
  *count = 0;
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  struct dirent *e;
  while (v && (e = readdir(d))) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)))
      continue;
    char *p = xasprintf("%s/%s", dir, e->d_name);
    struct stat st;
    bool ok = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!ok)
      continue;
    if (n + 1 >= cap) {
      char **nv = realloc(v, (cap *= 2) * sizeof *v);
      if (!nv)
        break;
      v = nv;
    }
    v[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (!v)
    return NULL;
  v[n] = NULL;
  qsort(v, n, sizeof *v, cmp_str);
  *count = (int)n;
  return v;
}

static void free_list(char **v) {
  for (char **p = v; p && *p; p++)
    free(*p);
  free(v);
}

/* ---- One case, in the child ---------------------------------------------- */

/* What a case ends with, as the child reports it. */
typedef struct outcome {
  verdict v;
  char msg[2048];
} outcome;

static verdict set(outcome *o, verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static verdict set(outcome *o, verdict v, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->msg, sizeof o->msg, fmt, ap);
  va_end(ap);
  for (char *p = o->msg; *p; p++) /* one line */
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return o->v = v;
}

/* "[2,3]"; "[]" for a scalar. */
static const char *dims_str(int rank, const int64_t *dims, char *buf,
                            size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "",
                          (long long)dims[i]);
  if (n < cap)
    snprintf(buf + n, cap - n, "]");
  return buf;
}

/* "f32[2,3]", as dlcc-run writes types. */
static const char *type_str(dlcc_dtype t, int rank, const int64_t *dims,
                            char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s", dlcc_dtype_name(t));
  if (n < cap)
    dims_str(rank, dims, buf + n, cap - n);
  return buf;
}

/* The first line of the compiler's diagnostics that says "error:" (the
 * first line when none does), into buf. */
static const char *first_error(const char *text, char *buf, size_t cap) {
  const char *line = strstr(text, "error:");
  if (line)
    while (line > text && line[-1] != '\n')
      line--;
  else
    line = text;
  size_t n = strcspn(line, "\n");
  if (n >= cap)
    n = cap - 1;
  memcpy(buf, line, n);
  buf[n] = 0;
  return buf;
}

/* Phrases of compile errors about what dlcc does not (yet) support rather
 * than about a mistake in the model: an operator, attribute, element type,
 * opset or form it declines, e.g. "... has element type UINT8, which dlcc
 * does not support", "... opset 6 ...; dlcc supports opsets 7 to 17", and
 * empty tensors (a dimension of 0), which dlcc does not have. */
static const char *const unsupported_phrases[] = {
    "unsupported",   "not supported", "not implemented", "does not support",
    "dlcc supports", "every dimension must be at least 1"};

static bool says_unsupported(const char *text) {
  for (size_t i = 0; i < sizeof unsupported_phrases / sizeof *unsupported_phrases; i++)
    if (strstr(text, unsupported_phrases[i]))
      return true;
  return false;
}

static void tolerance_for(const char *name, double *rtol, double *atol) {
  *rtol = DEFAULT_RTOL;
  *atol = DEFAULT_ATOL;
  for (size_t i = 0; tolerances[i].prefix; i++)
    if (!strncmp(name, tolerances[i].prefix, strlen(tolerances[i].prefix))) {
      *rtol = tolerances[i].rtol;
      *atol = tolerances[i].atol;
      return;
    }
}

static double value(dlcc_dtype t, const void *data, int64_t i) {
  switch (t) {
  case DLCC_F32: return ((const float *)data)[i];
  case DLCC_F64: return ((const double *)data)[i];
  case DLCC_I32: return ((const int32_t *)data)[i];
  case DLCC_I64: return (double)((const int64_t *)data)[i];
  case DLCC_BOOL: return ((const uint8_t *)data)[i];
  }
  return 0;
}

static bool close_enough(dlcc_dtype t, const void *got, const void *want,
                         int64_t i, double rtol, double atol) {
  if (t == DLCC_I64)
    return ((const int64_t *)got)[i] == ((const int64_t *)want)[i];
  if (t != DLCC_F32 && t != DLCC_F64)
    return value(t, got, i) == value(t, want, i);
  double g = value(t, got, i), w = value(t, want, i);
  if (isnan(w) || isnan(g))
    return isnan(w) && isnan(g);
  if (isinf(w) || isinf(g))
    return g == w;
  return fabs(g - w) <= atol + rtol * fabs(w);
}

/* "[0,1,2]": the index of element i of a tensor. */
static const char *index_str(const dlcc_tensor_info *t, int64_t i, char *buf,
                             size_t cap) {
  int64_t idx[DLCC_MAX_RANK];
  for (int d = t->rank - 1; d >= 0; d--) {
    idx[d] = i % t->dims[d];
    i /= t->dims[d];
  }
  return dims_str(t->rank, idx, buf, cap);
}

static verdict compare(const dlcc_tensor_info *t, const void *got,
                       const dlc_tensor_pb *want, const char *where,
                       double rtol, double atol, outcome *o) {
  int64_t n = dlcc_tensor_numel(t), bad = 0, first = -1;
  for (int64_t i = 0; i < n; i++)
    if (!close_enough(t->dtype, got, want->data, i, rtol, atol)) {
      if (first < 0)
        first = i;
      bad++;
    }
  if (!bad)
    return V_PASS;
  char ty[256], at[256];
  bool fl = t->dtype == DLCC_F32 || t->dtype == DLCC_F64;
  char tol[96] = "";
  if (fl)
    snprintf(tol, sizeof tol, " (rtol %g, atol %g)", rtol, atol);
  return set(o, V_FAIL,
             "%s, output '%s' (%s): %lld of %lld values differ; first at "
             "%s: got %.9g, expected %.9g%s",
             where, t->name, type_str(t->dtype, t->rank, t->dims, ty, sizeof ty),
             (long long)bad, (long long)n, index_str(t, first, at, sizeof at),
             value(t->dtype, got, first), value(t->dtype, want->data, first),
             tol);
}

/* Reads dir/prefix_0.pb, prefix_1.pb, ... while they exist. */
static verdict read_pbs(const char *dir, const char *prefix, dlc_tensor_pb **out,
                        int *count, outcome *o) {
  *out = NULL;
  *count = 0;
  for (int k = 0;; k++) {
    char *p = xasprintf("%s/%s_%d.pb", dir, prefix, k);
    if (!p)
      return set(o, V_FAIL, "out of memory");
    if (!is_file(p)) {
      free(p);
      return V_PASS;
    }
    dlc_tensor_pb *nv = realloc(*out, (size_t)(k + 1) * sizeof **out);
    if (!nv) {
      free(p);
      return set(o, V_FAIL, "out of memory");
    }
    *out = nv;
    char err[1024];
    int rc = dlc_tensor_pb_read(p, &nv[k], err, sizeof err);
    free(p);
    if (rc != 0)
      return set(o, V_FAIL, "%s", err);
    *count = k + 1;
  }
}

static void free_pbs(dlc_tensor_pb *v, int n) {
  for (int i = 0; i < n; i++)
    dlc_tensor_pb_free(&v[i]);
  free(v);
}

/* The model's tensor for the k-th file of a data set: the one of the
 * same name when the file has a name the model knows, else the k-th. */
static int match(dlcc_model *m, bool outputs, const dlc_tensor_pb *pb, int k) {
  int i = !pb->name[0]     ? -1
          : outputs        ? dlcc_model_find_output(m, pb->name)
                           : dlcc_model_find_input(m, pb->name);
  return i >= 0 ? i : k;
}

/* Runs one data set folder through the loaded model. */
static verdict run_data_set(dlcc_model *m, const char *dir, const char *set_name,
                            double rtol, double atol, outcome *o) {
  dlc_tensor_pb *ins = NULL, *outs = NULL;
  int nin = 0, nout = 0;
  int ni = dlcc_model_num_inputs(m), no = dlcc_model_num_outputs(m);
  const void **inp = calloc((size_t)ni + 1, sizeof *inp);
  size_t *in_bytes = calloc((size_t)ni + 1, sizeof *in_bytes);
  void **outp = calloc((size_t)no + 1, sizeof *outp);
  size_t *out_bytes = calloc((size_t)no + 1, sizeof *out_bytes);
  int *out_of = calloc((size_t)no + 1, sizeof *out_of); /* file per output */
  verdict v = V_PASS;
  if (!inp || !in_bytes || !outp || !out_bytes || !out_of)
    v = set(o, V_FAIL, "out of memory");
  if (v == V_PASS)
    v = read_pbs(dir, "input", &ins, &nin, o);
  if (v == V_PASS)
    v = read_pbs(dir, "output", &outs, &nout, o);
  if (v == V_PASS && (nin != ni || nout != no))
    v = set(o, V_FAIL, "%s has %d inputs and %d outputs, the model %d and %d",
            set_name, nin, nout, ni, no);
  char want[256], got[256];
  for (int k = 0; v == V_PASS && k < nin; k++) {
    int i = match(m, false, &ins[k], k);
    dlcc_tensor_info t;
    dlcc_model_input_info(m, i, &t);
    if (inp[i]) {
      v = set(o, V_FAIL, "%s: input %d and another file are both for input '%s'",
              set_name, k, t.name);
      break;
    }
    bool same = ins[k].dtype == t.dtype && ins[k].rank == t.rank;
    for (int d = 0; same && d < t.rank; d++)
      same = ins[k].dims[d] == t.dims[d];
    if (!same)
      v = set(o, V_FAIL, "%s, input %d '%s': the model takes %s, the data is %s",
              set_name, k, t.name, type_str(t.dtype, t.rank, t.dims, want, sizeof want),
              type_str(ins[k].dtype, ins[k].rank, ins[k].dims, got, sizeof got));
    inp[i] = ins[k].data;
    in_bytes[i] = ins[k].nbytes;
  }
  for (int k = 0; v == V_PASS && k < nout; k++) {
    int i = match(m, true, &outs[k], k);
    dlcc_tensor_info t;
    dlcc_model_output_info(m, i, &t);
    if (outp[i]) {
      v = set(o, V_FAIL, "%s: output %d and another file are both for output '%s'",
              set_name, k, t.name);
      break;
    }
    bool same = outs[k].dtype == t.dtype && outs[k].rank == t.rank;
    for (int d = 0; same && d < t.rank; d++)
      same = outs[k].dims[d] == t.dims[d];
    if (!same) {
      v = set(o, V_FAIL, "%s, output %d '%s': the model makes %s, expected %s",
              set_name, k, t.name, type_str(t.dtype, t.rank, t.dims, got, sizeof got),
              type_str(outs[k].dtype, outs[k].rank, outs[k].dims, want, sizeof want));
      break;
    }
    out_bytes[i] = dlcc_tensor_bytes(&t);
    out_of[i] = k;
    if (!(outp[i] = calloc(1, out_bytes[i] ? out_bytes[i] : 1)))
      v = set(o, V_FAIL, "out of memory");
  }
  if (v == V_PASS &&
      dlcc_model_run_checked(m, inp, in_bytes, outp, out_bytes) != DLCC_OK)
    v = set(o, V_FAIL, "%s: run failed: %s", set_name, dlcc_model_error(m));
  for (int i = 0; v == V_PASS && i < no; i++) {
    dlcc_tensor_info t;
    dlcc_model_output_info(m, i, &t);
    v = compare(&t, outp[i], &outs[out_of[i]], set_name, rtol, atol, o);
  }
  for (int i = 0; outp && i < no; i++)
    free(outp[i]);
  free(inp);
  free(in_bytes);
  free(outp);
  free(out_bytes);
  free(out_of);
  free_pbs(ins, nin);
  free_pbs(outs, nout);
  return v;
}

/* The model file of a case: model.onnx, or model.dsl (which the runner's
 * own tests use to make cases without an ONNX exporter). */
static char *model_path(const char *case_dir) {
  char *p = xasprintf("%s/model.onnx", case_dir);
  if (p && !is_file(p)) {
    char *q = xasprintf("%s/model.dsl", case_dir);
    if (q && is_file(q)) {
      free(p);
      return q;
    }
    free(q);
  }
  return p;
}

static verdict run_case(const char *case_dir, const char *name,
                        const char *work, outcome *o) {
  char *model = model_path(case_dir);
  char *so = xasprintf("%s/model.so", work);
  char *diag_text = NULL;
  size_t diag_len = 0;
  FILE *df = open_memstream(&diag_text, &diag_len);
  dlc_diag *d = df ? dlc_diag_new(df) : NULL;
  dlcc_model *m = NULL;
  char **sets = NULL;
  verdict v = V_PASS;
  if (!model || !so || !d) {
    v = set(o, V_FAIL, "out of memory");
    goto out;
  }
  dlc_compile_options co = {
      .input = model, .output = so, .emit = DLC_EMIT_SO, .opt_level = 2};
  dlc_status st = dlc_compile(&co, d);
  int errors = dlc_diag_errors(d);
  fflush(df);
  if (st != DLC_OK || errors) {
    char line[1024];
    first_error(diag_text ? diag_text : "", line, sizeof line);
    if (!line[0])
      snprintf(line, sizeof line, "failed with no diagnostic");
    /* "model.onnx:...", not the whole path the case's name already says */
    size_t cl = strlen(case_dir);
    const char *shown = !strncmp(line, case_dir, cl) && line[cl] == '/'
                            ? line + cl + 1 : line;
    v = set(o, says_unsupported(diag_text ? diag_text : "") ? V_UNSUPPORTED : V_FAIL,
            "compile: %s", shown);
    goto out;
  }
  if (dlcc_model_load(so, &m) != DLCC_OK) {
    v = set(o, V_FAIL, "load: %s", m ? dlcc_model_error(m) : "out of memory");
    goto out;
  }
  dlcc_model_set_num_threads(m, 1); /* the cases themselves run in parallel */
  int nsets;
  sets = list_dirs(case_dir, "test_data_set_", &nsets);
  if (!sets || nsets == 0) {
    v = set(o, V_FAIL, "no test_data_set_* folder");
    goto out;
  }
  double rtol, atol;
  tolerance_for(name, &rtol, &atol);
  for (int i = 0; v == V_PASS && i < nsets; i++) {
    char *dir = xasprintf("%s/%s", case_dir, sets[i]);
    v = dir ? run_data_set(m, dir, sets[i], rtol, atol, o)
            : set(o, V_FAIL, "out of memory");
    free(dir);
  }
  if (v == V_PASS)
    set(o, V_PASS, "%d data set%s", nsets, nsets == 1 ? "" : "s");
out:
  free_list(sets);
  dlcc_model_free(m);
  dlc_diag_free(d);
  if (df)
    fclose(df);
  free(diag_text);
  free(model);
  free(so);
  return o->v = v;
}

/* Signals on which the runner stops its children and removes its
 * temporary folder before exiting; SIGPIPE too, as when the output goes to
 * `head`. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

/* The child: stdout and stderr to work/log, the outcome to work/result. */
static void child_main(const options *opt, const test_case *c, const char *work) {
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
    signal(stop_signals[i], SIG_DFL);
  alarm((unsigned)opt->timeout);
  char *log = xasprintf("%s/log", work), *res = xasprintf("%s/result", work);
  char *case_dir = xasprintf("%s/%s", opt->data, c->name);
  if (!log || !res || !case_dir || !freopen(log, "w", stdout) ||
      dup2(fileno(stdout), 2) < 0)
    _exit(3);
  setvbuf(stdout, NULL, _IONBF, 0);
  static outcome o; /* static: large, and the child does nothing else */
  run_case(case_dir, c->name, work, &o);
  FILE *f = fopen(res, "w");
  int ok = f && fprintf(f, "%d\n%s\n", (int)o.v, o.msg) > 0;
  if (f && fclose(f) != 0)
    ok = 0;
  free(log);
  free(res);
  free(case_dir);
  exit(ok ? 0 : 3); /* exit, not _exit: leak checkers report here */
}

/* ---- The runner, in the parent ------------------------------------------- */

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  return remove(path);
}

static void rm_tree(const char *path) {
  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The first line of a file, or "" (into buf). */
static const char *first_line(const char *path, char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (f) {
    if (!fgets(buf, (int)cap, f))
      buf[0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    fclose(f);
  }
  return buf;
}

/* Reads a finished child's outcome from its work folder. */
static void collect(test_case *c, int status, const char *work, long timeout) {
  char *res = xasprintf("%s/result", work), *log = xasprintf("%s/log", work);
  char line[2048] = "", logline[1024] = "";
  if (log)
    first_line(log, logline, sizeof logline);
  FILE *f = res ? fopen(res, "r") : NULL;
  int v = 0;
  if (f && fscanf(f, "%d", &v) == 1 && fgetc(f) == '\n' && fgets(line, sizeof line, f))
    line[strcspn(line, "\n")] = 0;
  else
    v = 0;
  if (f)
    fclose(f);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    c->v = V_FAIL;
    c->msg = sig == SIGALRM ? xasprintf("timed out after %ld s", timeout)
                            : xasprintf("crashed (%s)%s%s", strsignal(sig),
                                        logline[0] ? ": " : "", logline);
  } else if (v < V_PASS || v > V_UNSUPPORTED) {
    c->v = V_FAIL;
    c->msg = xasprintf("exited with status %d and no result%s%s",
                       WEXITSTATUS(status), logline[0] ? ": " : "", logline);
  } else if (WEXITSTATUS(status) != 0) {
    c->v = V_FAIL;
    c->msg = xasprintf("exited with status %d after the case (%s)%s%s",
                       WEXITSTATUS(status), verdict_names[v],
                       logline[0] ? ": " : "", logline);
  } else {
    c->v = (verdict)v;
    c->msg = strdup(line);
  }
  free(res);
  free(log);
}

static void print_case(const test_case *c, bool verbose) {
  if (c->v == V_PASS && !verbose)
    return;
  if (verbose)
    printf("%-11s %s (%.0f ms): %s\n", verdict_names[c->v], c->name, c->ms,
           c->msg ? c->msg : "");
  else
    printf("%-11s %s: %s\n", verdict_names[c->v], c->name, c->msg ? c->msg : "");
  fflush(stdout);
}

/* Runs every case, at most opt->jobs at a time, printing them in order as
 * they finish. Returns 0, or an exit status when the run could not go on. */
static int run_all(const options *opt, test_case *cases, int n) {
  char tmpl[4096];
  const char *tmp = getenv("TMPDIR");
  snprintf(tmpl, sizeof tmpl, "%s/dlcc-onnx-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmpl))
    return error(EXIT_FAILED, "cannot make a temporary folder %s: %s", tmpl,
                 strerror(errno));
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
    sigaction(stop_signals[i], &sa, NULL);
  int next = 0, running = 0, printed = 0, rc = 0;
  while ((next < n && !interrupted) || running > 0) {
    if (next < n && !interrupted && running < opt->jobs) {
      test_case *c = &cases[next];
      char *work = xasprintf("%s/%d", tmpl, next);
      if (!work || mkdir(work, 0700) != 0) {
        free(work);
        rc = error(EXIT_FAILED, "cannot make a work folder in %s", tmpl);
        interrupted = 1;
        continue;
      }
      fflush(NULL);
      c->start = now_ms();
      c->pid = fork();
      if (c->pid == 0)
        child_main(opt, c, work);
      free(work);
      if (c->pid < 0) {
        rc = error(EXIT_FAILED, "fork: %s", strerror(errno));
        interrupted = 1;
        continue;
      }
      next++;
      running++;
      continue;
    }
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) {
        for (int i = 0; i < next; i++) /* stop ours, then reap them */
          if (cases[i].pid > 0)
            kill(cases[i].pid, SIGKILL);
        continue;
      }
      break;
    }
    for (int i = 0; i < next; i++) {
      test_case *c = &cases[i];
      if (c->pid != pid)
        continue;
      char *work = xasprintf("%s/%d", tmpl, i);
      c->pid = 0;
      c->ms = now_ms() - c->start;
      if (work)
        collect(c, status, work, opt->timeout);
      if (!c->v)
        c->v = V_FAIL;
      if (work)
        rm_tree(work);
      free(work);
      running--;
    }
    /* after an interrupt the cases still running were killed by us:
     * nothing more is printed */
    while (!interrupted && printed < next && cases[printed].v != V_NONE)
      print_case(&cases[printed++], opt->verbose);
  }
  rm_tree(tmpl);
  if (interrupted && !rc)
    rc = error(128 + (int)interrupted, "interrupted after %d of %d cases",
               printed, n);
  return rc;
}

/* ---- Expected lists ------------------------------------------------------ */

/* The names in an expected-pass file: one a line, # starts a comment. */
static char **read_expected(const char *path, int *count) {
  *count = 0;
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t n = 0, cap = 64;
  char **v = malloc(cap * sizeof *v);
  char *line = NULL;
  size_t lcap = 0;
  while (v && getline(&line, &lcap, f) >= 0) {
    line[strcspn(line, "#")] = 0;
    char *s = line + strspn(line, " \t\r\n");
    s[strcspn(s, " \t\r\n")] = 0;
    if (!*s)
      continue;
    if (n + 1 >= cap) {
      char **nv = realloc(v, (cap *= 2) * sizeof *v);
      if (!nv)
        break;
      v = nv;
    }
    v[n++] = strdup(s);
  }
  free(line);
  fclose(f);
  if (v)
    v[n] = NULL;
  *count = (int)n;
  return v;
}

static test_case *find_case(test_case *cases, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(cases[i].name, name))
      return &cases[i];
  return NULL;
}

/* Every listed case that was run must have passed; a listed case missing
 * from the data folder is an error too (the list is stale). */
static int check_expected(const options *opt, test_case *cases, int n,
                          char **all, int nall) {
  int nexp, bad = 0;
  char **exp = read_expected(opt->expected, &nexp);
  if (!exp)
    return error(EXIT_FAILED, "cannot read %s: %s", opt->expected, strerror(errno));
  for (int i = 0; i < nexp; i++) {
    if (opt->filter && !strstr(exp[i], opt->filter))
      continue;
    test_case *c = find_case(cases, n, exp[i]);
    bool exists = false;
    for (int k = 0; k < nall && !exists; k++)
      exists = !strcmp(all[k], exp[i]);
    if (!exists) {
      error(0, "%s is listed in %s but is not a case in %s", exp[i],
            opt->expected, opt->data);
      bad++;
    } else if (c && c->v != V_PASS) {
      error(0, "%s is listed in %s but %s", exp[i], opt->expected,
            c->v == V_FAIL ? "failed" : "is unsupported");
      bad++;
    }
  }
  int unlisted = 0;
  for (int i = 0; i < n; i++) {
    bool listed = false;
    for (int k = 0; k < nexp && !listed; k++)
      listed = !strcmp(exp[k], cases[i].name);
    if (cases[i].v == V_PASS && !listed) {
      printf("note: %s passes but is not listed in %s\n", cases[i].name,
             opt->expected);
      unlisted++;
    }
  }
  if (unlisted)
    printf("note: %d passing case%s not listed; regenerate the list with "
           "--write-expected %s\n", unlisted, unlisted == 1 ? " is" : "s are",
           opt->expected);
  free_list(exp);
  if (bad)
    error(0, "%d case%s listed in %s did not pass", bad, bad == 1 ? "" : "s",
          opt->expected);
  return bad ? EXIT_FAILED : 0;
}

static int write_expected(const options *opt, const test_case *cases, int n) {
  FILE *f = fopen(opt->write_expected, "w");
  if (!f)
    return error(EXIT_FAILED, "cannot write %s: %s", opt->write_expected,
                 strerror(errno));
  fprintf(f, "# ONNX node tests that dlcc passes; the onnx_conformance test\n"
             "# fails when one of them does not. Regenerate with\n"
             "#   dlcc-onnx-test --write-expected tests/onnx/expected_pass.txt\n");
  for (int i = 0; i < n; i++)
    if (cases[i].v == V_PASS)
      fprintf(f, "%s\n", cases[i].name);
  if (fclose(f) != 0)
    return error(EXIT_FAILED, "cannot write %s: %s", opt->write_expected,
                 strerror(errno));
  return 0;
}

/* ---- main ---------------------------------------------------------------- */

static int parse_number(const char *opt, const char *v, long lo, long hi,
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

/* Returns 0, an exit status, or -1 after --help. */
static int parse_args(int argc, char **argv, options *o) {
  enum { O_DATA = 256, O_EXPECTED, O_WRITE, O_FILTER, O_JOBS, O_TIMEOUT };
  static const struct option longs[] = {
      {"data", required_argument, 0, O_DATA},
      {"expected", required_argument, 0, O_EXPECTED},
      {"write-expected", required_argument, 0, O_WRITE},
      {"filter", required_argument, 0, O_FILTER},
      {"jobs", required_argument, 0, O_JOBS},
      {"timeout", required_argument, 0, O_TIMEOUT},
      {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  if (nproc < 1)
    nproc = 1;
  *o = (options){.data = DEFAULT_DATA, .jobs = nproc, .timeout = 60};
  opterr = 0;
  int c, rc = 0;
  while (!rc && (c = getopt_long(argc, argv, ":vhj:", longs, NULL)) != -1) {
    switch (c) {
    case O_DATA: o->data = optarg; break;
    case O_EXPECTED: o->expected = optarg; break;
    case O_WRITE: o->write_expected = optarg; break;
    case O_FILTER: o->filter = optarg; break;
    case 'j':
    case O_JOBS: rc = parse_number("--jobs", optarg, 1, nproc, &o->jobs); break;
    case O_TIMEOUT: rc = parse_number("--timeout", optarg, 1, 3600, &o->timeout); break;
    case 'v': o->verbose = true; break;
    case 'h': fputs(usage_text, stdout); return -1;
    case ':': return error(EXIT_USAGE, "option '%s' needs a value", argv[optind - 1]);
    default:
      return error(EXIT_USAGE, "unknown option '%s' (see dlcc-onnx-test --help)",
                   argv[optind - 1]);
    }
  }
  if (!rc && optind < argc)
    rc = error(EXIT_USAGE, "unexpected argument '%s' (see dlcc-onnx-test --help)",
               argv[optind]);
  /* a list written from some of the cases would drop the others */
  if (!rc && o->write_expected && o->filter)
    rc = error(EXIT_USAGE, "--write-expected writes the list of every case; "
               "it cannot be used with --filter");
  return rc;
}

int main(int argc, char **argv) {
  options opt;
  int rc = parse_args(argc, argv, &opt);
  if (rc)
    return rc < 0 ? 0 : rc;
  struct stat st;
  if (stat(opt.data, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "dlcc-onnx-test: skipped: no test data folder %s (Debian's "
                    "libonnx-testdata installs it)\n", opt.data);
    return EXIT_SKIP;
  }
  int nall;
  char **all = list_dirs(opt.data, "", &nall);
  if (!all)
    return error(EXIT_FAILED, "cannot read %s: %s", opt.data, strerror(errno));
  test_case *cases = calloc((size_t)nall + 1, sizeof *cases);
  int n = 0;
  for (int i = 0; cases && i < nall; i++)
    if (!opt.filter || strstr(all[i], opt.filter))
      cases[n++].name = all[i];
  if (!cases) {
    free_list(all);
    return error(EXIT_FAILED, "out of memory");
  }
  double t0 = now_ms();
  rc = run_all(&opt, cases, n);
  int count[4] = {0};
  for (int i = 0; i < n; i++)
    count[cases[i].v]++;
  if (!rc) {
    printf("%d passed, %d failed, %d unsupported (%d cases in %.1f s)\n",
           count[V_PASS], count[V_FAIL], count[V_UNSUPPORTED], n,
           (now_ms() - t0) / 1e3);
    fflush(stdout);
    if (opt.write_expected)
      rc = write_expected(&opt, cases, n);
    int erc = opt.expected ? check_expected(&opt, cases, n, all, nall)
              : count[V_FAIL] ? EXIT_FAILED
                              : 0;
    if (!rc)
      rc = erc;
  }
  for (int i = 0; i < n; i++)
    free(cases[i].msg);
  free(cases);
  free_list(all);
  return rc;
}
