/* Weight initializers: zeros, ones, a number, random(seed=N, scale=S) and
 * load("file", "tensor"), and binding uninitialized weights to the
 * --weights file by name. random() is specified exactly in
 * docs/language.md so that its data is the same on every host. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ast.h"
#include "ir/util.h"

typedef struct loaded {
  char *path;
  dlc_safetensors *st; /* NULL: it failed to open (reported once) */
} loaded;

struct dlc_weights {
  dlc_diag *d;
  const char *dir;
  dlc_safetensors *bound;
  bool *used; /* per tensor of bound */
  loaded *files;
  int nfiles, capfiles;
};

#define EXPECTED                                                               \
  "expected zeros, ones, a number, random(seed=N) or load(\"file\", "          \
  "\"tensor\")"

dlc_weights *dlc_weights_new(dlc_diag *d, const char *dir,
                             dlc_safetensors *bound) {
  dlc_weights *w = dlc_xcalloc(1, sizeof *w);
  w->d = d;
  w->dir = dir;
  w->bound = bound;
  if (bound)
    w->used = dlc_xcalloc((size_t)dlc_safetensors_count(bound) + 1,
                          sizeof *w->used);
  return w;
}

void dlc_weights_free(dlc_weights *w) {
  if (!w)
    return;
  for (int i = 0; i < w->nfiles; i++) {
    free(w->files[i].path);
    dlc_safetensors_close(w->files[i].st);
  }
  free(w->files);
  free(w->used);
  free(w);
}

void dlc_weights_warn_unused(dlc_weights *w) {
  if (!w->bound)
    return;
  for (int i = 0; i < dlc_safetensors_count(w->bound); i++)
    if (!w->used[i])
      dlc_warning(w->d, dlc_noloc(), "%s: tensor '%s' is not used by the model",
                  dlc_safetensors_path(w->bound),
                  dlc_safetensors_tensor(w->bound, i)->name);
}

/* "f32[784,256]" for a tensor of a file, whatever its rank. */
static char *tensor_str(const dlc_st_tensor *x, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", dlc_dtype_name(x->dtype));
  for (int i = 0; i < x->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "",
                          (long long)x->dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
  return buf;
}

/* Tensor i of st as the data of weight name, declared t at loc. */
static const void *take(dlc_weights *w, dlc_safetensors *st, int i,
                        const char *name, dlc_loc loc, const dlc_type *t) {
  const dlc_st_tensor *x = dlc_safetensors_tensor(st, i);
  const char *path = dlc_safetensors_path(st);
  if (!x->supported) {
    dlc_error(w->d, loc, "tensor '%s' in %s has dtype %s, which is not "
              "supported (supported: F32, F64, I32, I64, BOOL)", x->name, path,
              x->dtype_name);
    return NULL;
  }
  bool same = x->dtype == t->dtype && x->rank == t->rank;
  for (int k = 0; same && k < t->rank; k++)
    same = x->dims[k] == t->dims[k];
  if (!same) {
    char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
    dlc_error(w->d, loc, "weight '%s' is declared %s, but tensor '%s' in %s "
              "is %s", name, dlc_type_str(t, s1, sizeof s1), x->name, path,
              tensor_str(x, s2, sizeof s2));
    return NULL;
  }
  if (t->dtype == DLC_BOOL)
    for (size_t k = 0; k < x->nbytes; k++)
      if (((const unsigned char *)x->data)[k] > 1) {
        dlc_error(w->d, loc, "tensor '%s' in %s holds a bool other than 0 or "
                  "1 (element %zu is %d)", x->name, path, k,
                  ((const unsigned char *)x->data)[k]);
        return NULL;
      }
  return x->data;
}

/* The weight's buffer, zeroed; NULL after an error if it is too big. */
static void *alloc_data(dlc_weights *w, const char *name, dlc_loc loc,
                        const dlc_type *t) {
  size_t bytes = dlc_type_bytes(t);
  void *p = calloc(1, bytes ? bytes : 1);
  if (!p)
    dlc_error(w->d, loc, "weight '%s' is too large to initialize (%zu bytes)",
              name, bytes);
  return p;
}

static void fill(void *buf, const dlc_type *t, const dlc_scalar *v) {
  size_t es = dlc_dtype_size(t->dtype);
  int64_t n = dlc_type_numel(t);
  for (int64_t i = 0; i < n; i++)
    memcpy((char *)buf + (size_t)i * es, v, es);
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Element i draws u = (splitmix64() >> 11) * 2^-53, uniform in [0, 1).
 * Floats: -scale + u * 2 * scale, rounded to the dtype. Integers, with
 * K = floor(scale): floor(-K + u * (2K + 1)), uniform in [-K, K]. Bools:
 * u < 0.5 (scale is not used). */
static void fill_random(void *buf, const dlc_type *t, uint64_t seed,
                        double scale) {
  uint64_t s = seed;
  int64_t n = dlc_type_numel(t);
  double k = floor(scale);
  for (int64_t i = 0; i < n; i++) {
    double u = (double)(splitmix64(&s) >> 11) * 0x1.0p-53;
    double f = -scale + u * (2 * scale);
    double v = fmin(fmax(floor(-k + u * (2 * k + 1)), -k), k);
    switch (t->dtype) {
    case DLC_F32: ((float *)buf)[i] = (float)f; break;
    case DLC_F64: ((double *)buf)[i] = f; break;
    case DLC_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
    case DLC_I64: ((int64_t *)buf)[i] = (int64_t)v; break;
    case DLC_BOOL: ((uint8_t *)buf)[i] = u < 0.5; break;
    default: dlc_unreachable();
    }
  }
}

/* random(seed=N) | random(seed=N, scale=S) */
static const void *init_random(dlc_weights *w, const dlc_ast *e,
                               const char *name, const dlc_type *t,
                               void **owned) {
  bool ok = true;
  const dlc_ast *seed = NULL, *scale = NULL;
  int64_t sv = 0;
  double scv = 1;
  for (const dlc_ast *a = e->kids; a; a = a->next) {
    const dlc_ast **slot = NULL;
    if (a->kind != DLC_AST_KWARG)
      dlc_error(w->d, a->loc, "random() takes keyword arguments only: "
                "random(seed=N) or random(seed=N, scale=S)");
    else if (!strcmp(a->str, "seed"))
      slot = &seed;
    else if (!strcmp(a->str, "scale"))
      slot = &scale;
    else
      dlc_error(w->d, a->loc, "unknown keyword '%.*s' for 'random'",
                dlc_ast_textlen(a->str), a->str);
    if (slot && *slot)
      dlc_error(w->d, a->loc, "keyword '%s' given twice", a->str);
    if (!slot || *slot) {
      ok = false;
      continue;
    }
    *slot = a;
    const dlc_ast *v = a->lhs;
    if (slot == &seed) {
      if (v->kind != DLC_AST_INT || v->neg) {
        dlc_error(w->d, v->loc, "seed must be a non-negative integer");
        ok = false;
      } else {
        ok &= dlc_literal_int(w->d, v, "seed", &sv);
      }
    } else {
      dlc_scalar x;
      if (!dlc_ast_is_literal(v) || v->neg) {
        dlc_error(w->d, v->loc, "scale must be a non-negative number");
        ok = false;
      } else if (dlc_literal_convert(w->d, v, DLC_F64, &x)) {
        scv = x.f64;
      } else {
        ok = false;
      }
    }
  }
  if (ok && !seed) {
    dlc_error(w->d, e->loc, "random() needs a seed: random(seed=N)");
    ok = false;
  }
  double limit = t->dtype == DLC_I32 ? 2147483647.0 : 9007199254740992.0;
  if (ok && (t->dtype == DLC_I32 || t->dtype == DLC_I64) && scv > limit) {
    dlc_error(w->d, scale->lhs->loc, "scale is too large for %s (at most %.0f)",
              dlc_dtype_name(t->dtype), limit);
    ok = false;
  }
  if (!ok)
    return NULL;
  void *buf = alloc_data(w, name, e->loc, t);
  if (buf)
    fill_random(buf, t, (uint64_t)sv, scv);
  return *owned = buf;
}

/* A load() path: relative ones are relative to the .dsl file's folder. */
static char *resolve(const dlc_weights *w, const char *path) {
  if (path[0] == '/' || !w->dir[0])
    return dlc_xstrdup(path);
  size_t a = strlen(w->dir), b = strlen(path);
  char *s = dlc_xmalloc(a + b + 2);
  memcpy(s, w->dir, a);
  s[a] = '/';
  memcpy(s + a + 1, path, b + 1);
  return s;
}

/* Each file is opened once per compilation, its failure reported once. */
static dlc_safetensors *open_cached(dlc_weights *w, char *path, bool *fresh) {
  for (int i = 0; i < w->nfiles; i++)
    if (!strcmp(w->files[i].path, path)) {
      free(path);
      *fresh = false;
      return w->files[i].st;
    }
  *fresh = true;
  loaded f = {path, dlc_safetensors_open(path, w->d)};
  DLC_PUSH(w->files, w->nfiles, w->capfiles, f);
  return f.st;
}

/* load("file.safetensors", "tensor") */
static const void *init_load(dlc_weights *w, const dlc_ast *e,
                             const char *name, dlc_loc loc,
                             const dlc_type *t) {
  const dlc_ast *args[2] = {0};
  int n = 0;
  bool ok = true;
  for (const dlc_ast *a = e->kids; a; a = a->next) {
    if (a->kind == DLC_AST_KWARG) {
      dlc_error(w->d, a->loc, "unknown keyword '%.*s' for 'load'",
                dlc_ast_textlen(a->str), a->str);
      ok = false;
    } else if (n < 2) {
      args[n++] = a;
    } else {
      n++;
    }
  }
  if (n != 2) {
    dlc_error(w->d, e->loc, "load() expects 2 arguments: "
              "load(\"file.safetensors\", \"tensor\"), got %d", n);
    return NULL;
  }
  for (int i = 0; i < 2; i++)
    if (args[i]->kind != DLC_AST_STRING) {
      dlc_error(w->d, args[i]->loc, "argument %d of load() must be a string",
                i + 1);
      ok = false;
    }
  if (!ok)
    return NULL;
  bool fresh;
  dlc_safetensors *st = open_cached(w, resolve(w, args[0]->str), &fresh);
  if (!st) {
    if (fresh)
      dlc_note(w->d, args[0]->loc, "in this load()");
    return NULL;
  }
  int i = dlc_safetensors_find(st, args[1]->str);
  if (i < 0) {
    dlc_error(w->d, args[1]->loc, "tensor '%s' not found in %s", args[1]->str,
              dlc_safetensors_path(st));
    return NULL;
  }
  return take(w, st, i, name, loc, t);
}

/* init = zeros | ones | number | random(...) | load(...) */
static const void *init_data(dlc_weights *w, const char *name, dlc_loc loc,
                             const dlc_type *t, const dlc_ast *init,
                             void **owned) {
  switch (init->kind) {
  case DLC_AST_NAME:
    if (!strcmp(init->str, "zeros"))
      return *owned = alloc_data(w, name, init->loc, t);
    if (!strcmp(init->str, "ones")) {
      dlc_ast one = {.kind = DLC_AST_INT, .loc = init->loc, .mag = 1,
                     .str = "1"};
      dlc_scalar v;
      dlc_literal_convert(w->d, &one, t->dtype, &v);
      if ((*owned = alloc_data(w, name, init->loc, t)))
        fill(*owned, t, &v);
      return *owned;
    }
    break;
  case DLC_AST_INT:
  case DLC_AST_FLOAT: {
    dlc_scalar v;
    if (!dlc_literal_convert(w->d, init, t->dtype, &v))
      return NULL;
    if ((*owned = alloc_data(w, name, init->loc, t)))
      fill(*owned, t, &v);
    return *owned;
  }
  case DLC_AST_CALL:
    if (!strcmp(init->str, "random"))
      return init_random(w, init, name, t, owned);
    if (!strcmp(init->str, "load"))
      return init_load(w, init, name, loc, t);
    break;
  case DLC_AST_ERROR:
    return NULL;
  default:
    dlc_error(w->d, init->loc, "invalid initializer (" EXPECTED ")");
    return NULL;
  }
  dlc_error(w->d, init->loc, "unknown initializer '%.*s' (" EXPECTED ")",
            dlc_ast_textlen(init->str), init->str);
  return NULL;
}

const void *dlc_weights_data(dlc_weights *w, const char *name, dlc_loc loc,
                             const dlc_type *t, const dlc_ast *init,
                             void **owned) {
  *owned = NULL;
  if (init)
    return init_data(w, name, loc, t, init, owned);
  if (!w->bound) {
    dlc_error(w->d, loc, "weight '%s' has no initializer and no weights file "
              "was given (pass --weights FILE)", name);
    return NULL;
  }
  int i = dlc_safetensors_find(w->bound, name);
  if (i < 0) {
    dlc_error(w->d, loc, "tensor '%s' not found in %s", name,
              dlc_safetensors_path(w->bound));
    return NULL;
  }
  w->used[i] = true;
  return take(w, w->bound, i, name, loc, t);
}
