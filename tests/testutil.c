/* Implementation of the test helpers. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
