/* Implementation of the test helpers. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/eval.h"
#include "passes/passes.h"

extern char **environ;

int tu_run(const char *const argv[], char **out) {
  char tmpl[] = "/tmp/dlcc-test-out-XXXXXX";
  int fd = mkstemp(tmpl);
  ck_assert_int_ge(fd, 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  int status = -1;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  char *text = tu_read_file(tmpl, NULL);
  unlink(tmpl);
  if (out)
    *out = text ? text : strdup("");
  else
    free(text);
  return status;
}

char *tu_tmpdir(const char *tag) {
  char base[4096];
  snprintf(base, sizeof base, "%s/testtmp", DLCC_BUILD_DIR);
  mkdir(base, 0777);
  char *p = NULL;
  if (asprintf(&p, "%s/%s-%d-XXXXXX", base, tag, (int)getpid()) < 0)
    abort();
  ck_assert_ptr_nonnull(mkdtemp(p));
  return p;
}

char *tu_path(const char *dir, const char *name) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    abort();
  return p;
}

void tu_write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

char *tu_read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (cap - len < 2)
      buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[len] = 0;
  if (n)
    *n = len;
  return buf;
}

void tu_sink_open(tu_sink *s) {
  s->buf = NULL;
  s->len = 0;
  s->f = open_memstream(&s->buf, &s->len);
  s->d = dlc_diag_new(s->f);
}

const char *tu_sink_text(tu_sink *s) {
  fflush(s->f);
  return s->buf ? s->buf : "";
}

void tu_sink_close(tu_sink *s) {
  dlc_diag_free(s->d);
  fclose(s->f);
  free(s->buf);
  s->d = NULL;
  s->buf = NULL;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void tu_fill_random(dlc_dtype dt, void *data, int64_t n, uint64_t seed,
                    double lo, double hi) {
  uint64_t s = seed;
  for (int64_t i = 0; i < n; i++) {
    double u = (double)(splitmix(&s) >> 11) * 0x1.0p-53;
    double v = lo + u * (hi - lo);
    switch (dt) {
    case DLC_F32: ((float *)data)[i] = (float)v; break;
    case DLC_F64: ((double *)data)[i] = v; break;
    case DLC_I32: ((int32_t *)data)[i] = (int32_t)floor(lo + u * (hi - lo + 1)); break;
    case DLC_I64: ((int64_t *)data)[i] = (int64_t)floor(lo + u * (hi - lo + 1)); break;
    case DLC_BOOL: ((uint8_t *)data)[i] = u < 0.5; break;
    default: ck_abort_msg("tu_fill_random: dtype");
    }
  }
}

static double get(dlc_dtype dt, const void *p, int64_t i) {
  switch (dt) {
  case DLC_F32: return ((const float *)p)[i];
  case DLC_F64: return ((const double *)p)[i];
  case DLC_I32: return ((const int32_t *)p)[i];
  case DLC_I64: return (double)((const int64_t *)p)[i];
  case DLC_BOOL: return ((const uint8_t *)p)[i];
  default: ck_abort_msg("tu_assert_close: dtype");
  }
  return 0;
}

void tu_assert_close(const char *what, dlc_dtype dt, const void *got,
                     const void *want, int64_t n, double rtol, double atol) {
  for (int64_t i = 0; i < n; i++) {
    double g = get(dt, got, i), w = get(dt, want, i);
    int ok;
    if (dlc_dtype_is_float(dt))
      ok = (isnan(g) && isnan(w)) || (isinf(w) && g == w) ||
           fabs(g - w) <= atol + rtol * fabs(w);
    else
      ok = g == w;
    ck_assert_msg(ok, "%s: element %lld: got %.9g, want %.9g", what,
                  (long long)i, g, w);
  }
}

tu_graph_fx tu_fx;

void tu_fx_setup(void) {
  tu_sink_open(&tu_fx.sink);
  tu_fx.g = dlc_graph_new("t");
}

void tu_fx_teardown(void) {
  dlc_graph_free(tu_fx.g);
  tu_fx.g = NULL;
  tu_sink_close(&tu_fx.sink);
}

dlc_type tu_ty(dlc_dtype dt, int rank, ...) {
  dlc_type t = {.dtype = dt, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++)
    t.dims[i] = va_arg(ap, int);
  va_end(ap);
  return t;
}

dlc_loc tu_at(int line, int col) {
  return (dlc_loc){dlc_diag_intern(tu_fx.sink.d, "t.dsl"), line, col};
}

dlc_node *tu_in(const char *name, dlc_type t) {
  return dlc_graph_add_input(tu_fx.g, name, &t, dlc_noloc());
}

dlc_node *tu_weight(const char *name, dlc_type t, const void *data) {
  return dlc_graph_add_weight(tu_fx.g, name, &t, data, dlc_noloc());
}

dlc_node *tu_cnst(dlc_type t, const void *data) {
  return dlc_graph_add_const(tu_fx.g, &t, data, dlc_noloc());
}

void tu_out(const char *name, dlc_node *n) {
  dlc_graph_add_output(tu_fx.g, name, n, dlc_noloc());
}

dlc_node *tu_build(dlc_op op, dlc_loc loc, int nin, dlc_node *const *ins,
                   const dlc_attrs *attrs) {
  dlc_node *n =
      dlc_graph_build(tu_fx.g, op, loc, nin, ins, attrs, tu_fx.sink.d);
  ck_assert_msg(n != NULL, "%s", tu_sink_text(&tu_fx.sink));
  return n;
}

dlc_node *tu_opn(dlc_op op, int nin, dlc_node *const *ins,
                 const dlc_attrs *attrs) {
  return tu_build(op, dlc_noloc(), nin, ins, attrs);
}

dlc_node *tu_op1(dlc_op op, dlc_node *a, const dlc_attrs *attrs) {
  return tu_opn(op, 1, &a, attrs);
}

dlc_node *tu_op2(dlc_op op, dlc_node *a, dlc_node *b) {
  dlc_node *ab[2] = {a, b};
  return tu_opn(op, 2, ab, NULL);
}

char *tu_graph_text(const dlc_graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dlc_graph_print(g, f);
  fclose(f);
  return buf;
}

void tu_expect_passes(const char *pipeline, const char *want) {
  dlc_pass_options o = {.verify_each = true};
  ck_assert_int_eq(dlc_run_passes(tu_fx.g, pipeline, &o, tu_fx.sink.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&tu_fx.sink), "");
  char *got = tu_graph_text(tu_fx.g);
  ck_assert_str_eq(got, want);
  free(got);
}

void tu_expect_type(const dlc_node *n, const char *want) {
  char buf[DLC_TYPE_STRLEN];
  ck_assert_str_eq(dlc_type_str(&n->type, buf, sizeof buf), want);
}

void tu_assert_type(const dlc_type *got, dlc_type want) {
  char a[DLC_TYPE_STRLEN], b[DLC_TYPE_STRLEN];
  ck_assert_msg(dlc_type_equal(got, &want), "type %s, want %s",
                dlc_type_str(got, a, sizeof a),
                dlc_type_str(&want, b, sizeof b));
}

void *tu_eval_op(dlc_op op, int nin, const dlc_type *types,
                 const void *const *data, const dlc_attrs *attrs,
                 const dlc_type *want, dlc_type *rt, dlc_attrs *attr_out) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_graph_new("t");
  dlc_node *in[8];
  ck_assert_int_le(nin, 8);
  for (int i = 0; i < nin; i++) {
    char name[16];
    snprintf(name, sizeof name, "x%d", i);
    in[i] = dlc_graph_add_input(g, name, &types[i], dlc_noloc());
  }
  dlc_node *n = dlc_graph_build(g, op, dlc_noloc(), nin, in, attrs, s.d);
  ck_assert_msg(n != NULL, "build %s: %s", dlc_ops[op].name, tu_sink_text(&s));
  if (want)
    tu_assert_type(&n->type, *want);
  dlc_graph_add_output(g, "y", n, dlc_noloc());
  if (rt)
    *rt = n->type;
  if (attr_out) {
    *attr_out = n->attr; /* ints point into the arena: copy them */
    if (n->attr.nints) {
      size_t sz = sizeof(int64_t) * (size_t)n->attr.nints;
      attr_out->ints = malloc(sz);
      memcpy(attr_out->ints, n->attr.ints, sz);
    }
  }
  void *out = NULL;
  ck_assert_int_eq(dlc_eval_graph(g, data, &out, s.d), DLC_OK);
  ck_assert_str_eq(tu_sink_text(&s), "");
  dlc_graph_free(g);
  tu_sink_close(&s);
  return out;
}
