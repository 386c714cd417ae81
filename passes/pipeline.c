/* The pass manager: parses a comma-separated pipeline of pass names, runs
 * the passes in order, and prints or verifies the graph after each one when
 * asked (DESIGN principle 7: every stage can be seen). */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "ir/util.h"

typedef struct passinfo {
  const char *name;
  dlc_pass_fn fn;
  const char *desc;
} passinfo;

enum {
#define X(id, name, fn, desc) PASS_##id,
#include "passes.def"
#undef X
  NUM_PASSES
};

static const passinfo passes[NUM_PASSES] = {
#define X(id, name_, fn_, desc_) [PASS_##id] = {.name = name_, .fn = fn_, .desc = desc_},
#include "passes.def"
#undef X
};

static const passinfo *find(const char *name, size_t len) {
  for (int i = 0; i < NUM_PASSES; i++)
    if (strlen(passes[i].name) == len && strncmp(passes[i].name, name, len) == 0)
      return &passes[i];
  return NULL;
}

bool dlc_pass_exists(const char *name) {
  return name && find(name, strlen(name)) != NULL;
}

void dlc_pass_list(FILE *out) {
  for (int i = 0; i < NUM_PASSES; i++)
    fprintf(out, "  %-8s %s\n", passes[i].name, passes[i].desc);
}

/* "fold, cse, dce": the names in table order, for error messages. */
static void known_passes(char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < NUM_PASSES && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "",
                            passes[i].name);
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Splits the pipeline into passes; reports the first unknown name. Empty
 * entries (a trailing comma) are ignored. */
static dlc_status parse(const char *pipeline, const passinfo ***out, int *n,
                        dlc_diag *d) {
  int cap = 0;
  *out = NULL;
  *n = 0;
  for (const char *p = pipeline; *p;) {
    const char *e = strchr(p, ',');
    if (!e)
      e = p + strlen(p);
    const char *s = p, *t = e;
    while (s < t && is_space(*s))
      s++;
    while (t > s && is_space(t[-1]))
      t--;
    if (t > s) {
      const passinfo *pi = find(s, (size_t)(t - s));
      if (!pi) {
        char known[256];
        known_passes(known, sizeof known);
        dlc_error(d, dlc_noloc(),
                  "unknown pass '%.*s' in the pipeline (known passes: %s)",
                  (int)(t - s), s, known);
        free(*out);
        *out = NULL;
        *n = 0;
        return DLC_ERROR;
      }
      DLC_PUSH(*out, *n, cap, pi);
    }
    p = *e ? e + 1 : e;
  }
  return DLC_OK;
}

dlc_status dlc_run_passes(dlc_graph *g, const char *pipeline,
                          const dlc_pass_options *o, dlc_diag *d) {
  static const dlc_pass_options none = {0};
  if (!o)
    o = &none;
  if (!pipeline)
    pipeline = DLC_DEFAULT_PIPELINE;
  if (o->print_after && !dlc_pass_exists(o->print_after)) {
    char known[256];
    known_passes(known, sizeof known);
    dlc_error(d, dlc_noloc(),
              "unknown pass '%s' for --print-after (known passes: %s)",
              o->print_after, known);
    return DLC_ERROR;
  }
  const passinfo **list;
  int n;
  if (parse(pipeline, &list, &n, d) != DLC_OK)
    return DLC_ERROR;
  FILE *out = o->print_out ? o->print_out : stderr;
  dlc_status st = DLC_OK;
  for (int i = 0; i < n && st == DLC_OK; i++) {
    const passinfo *pi = list[i];
    /* fusion marks describe the graph as the fuse pass left it; any other
     * pass may change what they point at, so they go (fuse runs last) */
    if (pi->fn != dlc_pass_fuse)
      for (int k = 0; k < g->nnodes; k++)
        g->nodes[k]->fused_into = NULL;
    st = pi->fn(g, d);
    if (st != DLC_OK)
      break;
    if (o->print_after_all ||
        (o->print_after && strcmp(o->print_after, pi->name) == 0)) {
      fprintf(out, "// -- graph after %s --\n", pi->name);
      dlc_graph_print(g, out);
      fflush(out);
    }
    if (o->verify_each && dlc_graph_verify(g, d) != DLC_OK) {
      dlc_error(d, dlc_noloc(),
                "internal: the graph is invalid after pass '%s'",
                pi->name);
      st = DLC_ERROR;
    }
  }
  free(list);
  return st;
}

/* ---- loop passes ---- */

typedef struct loop_passinfo {
  const char *name;
  dlc_loop_pass_fn fn;
  const char *desc;
} loop_passinfo;

static const loop_passinfo loop_passes[] = {
#define X(id, name_, fn_, desc_) {.name = name_, .fn = fn_, .desc = desc_},
#include "loop_passes.def"
#undef X
};
#define NUM_LOOP_PASSES (int)(sizeof loop_passes / sizeof *loop_passes)

bool dlc_loop_pass_exists(const char *name) {
  for (int i = 0; name && i < NUM_LOOP_PASSES; i++)
    if (strcmp(loop_passes[i].name, name) == 0)
      return true;
  return false;
}

void dlc_loop_pass_list(FILE *out) {
  for (int i = 0; i < NUM_LOOP_PASSES; i++)
    fprintf(out, "  %-11s %s\n", loop_passes[i].name, loop_passes[i].desc);
}

dlc_status dlc_run_loop_passes(dlc_lmodule *m, const dlc_pass_options *o, dlc_diag *d) {
  static const dlc_pass_options none = {0};
  if (!o)
    o = &none;
  FILE *out = o->print_out ? o->print_out : stderr;
  for (int i = 0; i < NUM_LOOP_PASSES; i++) {
    const loop_passinfo *pi = &loop_passes[i];
    if (o->no_tile && pi->fn == dlc_loop_pass_tile)
      continue;
    pi->fn(m);
    if (o->print_after_all || (o->print_after && strcmp(o->print_after, pi->name) == 0)) {
      fprintf(out, "// -- loops after %s --\n", pi->name);
      dlc_lmodule_print(m, out);
      fflush(out);
    }
    if (o->verify_each && dlc_lmodule_verify(m, d) != DLC_OK) {
      dlc_error(d, dlc_noloc(), "internal: the loops are invalid after pass '%s'", pi->name);
      return DLC_ERROR;
    }
  }
  return DLC_OK;
}
