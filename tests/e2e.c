#define _GNU_SOURCE
#include "tests/e2e.h"

#include <dlcc/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/eval.h"
#include "ir/loop.h"
#include "passes/lower.h"
#include "passes/passes.h"
#include "tools/driver.h"

void e2e_open(e2e_prog *p, const char *name, const char *body) {
  *p = (e2e_prog){.name = name};
  p->dir = tu_tmpdir(name);
  p->dsl = tu_path(p->dir, "m.dsl");
  p->so = tu_path(p->dir, "m.so");
  ck_assert(asprintf(&p->text, "model m {\n%s\n}\n", body) > 0);
  tu_write_file(p->dsl, p->text, strlen(p->text));
  tu_sink_open(&p->s);
}

void e2e_compile(e2e_prog *p, int opt_level) {
  dlc_compile_options o = {
      .input = p->dsl, .output = p->so, .opt_level = opt_level, .pipeline = p->passes,
      .no_tile = p->no_tile};
  ck_assert_msg(dlc_compile(&o, p->s.d) == DLC_OK, "%s: compile failed:\n%s", p->name,
                tu_sink_text(&p->s));
  p->g = dlc_frontend_compile(p->dsl, p->text, strlen(p->text), NULL, p->s.d);
  ck_assert_msg(p->g != NULL, "%s: %s", p->name, tu_sink_text(&p->s));
}

void e2e_close(e2e_prog *p) {
  dlc_graph_free(p->g);
  tu_sink_close(&p->s);
  free(p->text);
  free(p->dsl);
  free(p->so);
  free(p->dir);
}

char *e2e_kernel_names(e2e_prog *p, bool packed) {
  tu_sink *s = &p->s;
  dlc_graph *pg = dlc_frontend_compile(p->dsl, p->text, strlen(p->text), NULL, s->d);
  ck_assert_msg(pg != NULL, "%s", tu_sink_text(s));
  ck_assert_int_eq(dlc_run_passes(pg, p->passes, &(dlc_pass_options){.verify_each = true}, s->d),
                   DLC_OK);
  dlc_lmodule *lm = dlc_lower_to_loops(pg, s->d);
  ck_assert_msg(lm != NULL, "%s", tu_sink_text(s));
  ck_assert_int_eq(dlc_run_loop_passes(lm, &(dlc_pass_options){.verify_each = true}, s->d),
                   DLC_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  for (int i = 0; i < lm->nkernels; i++) {
    const dlc_kernel *k = lm->kernels[i];
    fprintf(f, "%s%s", i ? " " : "", k->name);
    int np = 0;
    for (int q = 0; packed && q < k->nparams; q++) {
      const char *nm = k->params[q]->name;
      size_t n = strlen(nm);
      if (k->params[q]->kind == DLC_BUF_CONST &&
          ((n > 7 && strcmp(nm + n - 7, ".packed") == 0) ||
           (n > 6 && strcmp(nm + n - 6, ".nchwc") == 0)))
        fprintf(f, "%s%s", np++ ? "," : "[", nm);
    }
    if (np)
      fputc(']', f);
  }
  fclose(f);
  dlc_lmodule_free(lm);
  dlc_graph_free(pg);
  return buf;
}

void **e2e_inputs(const dlc_graph *g, double lo, double hi) {
  void **ins = calloc((size_t)g->ninputs + 1, sizeof *ins);
  for (int i = 0; i < g->ninputs; i++) {
    const dlc_type *t = &g->inputs[i]->type;
    ins[i] = malloc(dlc_type_bytes(t) + 1);
    tu_fill_random(t->dtype, ins[i], dlc_type_numel(t), 1234 + (uint64_t)i, lo, hi);
  }
  return ins;
}

void e2e_free_bufs(void **bufs, int n) {
  for (int i = 0; i < n; i++)
    free(bufs[i]);
  free(bufs);
}

void e2e_assert_outputs(const char *name, int opt_level, const dlc_graph *g, void *const *got,
                        void *const *want, double rtol, double atol) {
  for (int i = 0; i < g->noutputs; i++) {
    const dlc_type *t = &g->outputs[i].node->type;
    char what[160];
    snprintf(what, sizeof what, "%s -O%d output %s", name, opt_level, g->outputs[i].name);
    tu_assert_close(what, t->dtype, got[i], want[i], dlc_type_numel(t), rtol, atol);
  }
}

/* Runs the model with n threads into fresh output buffers filled with 0xff
 * bytes (NaN for floats), so an element no kernel writes cannot pass. With
 * by_env the model is loaded anew under DLCC_NUM_THREADS=n (the runtime
 * reads it at load); otherwise *m is loaded once and set to n threads. */
static void **run_threads(const e2e_prog *p, dlcc_model **m, void **ins, int n, bool by_env) {
  const dlc_graph *eg = p->g;
  if (by_env || !*m) {
    char v[8];
    snprintf(v, sizeof v, "%d", n);
    if (by_env)
      setenv("DLCC_NUM_THREADS", v, 1);
    dlcc_model_free(*m);
    *m = NULL;
    ck_assert_msg(dlcc_model_load(p->so, m) == DLCC_OK, "%s: load: %s", p->name,
                  dlcc_model_error(*m));
    ck_assert_int_eq(dlcc_model_num_inputs(*m), eg->ninputs);
    ck_assert_int_eq(dlcc_model_num_outputs(*m), eg->noutputs);
  }
  if (!by_env)
    ck_assert_int_eq(dlcc_model_set_num_threads(*m, n), DLCC_OK);
  ck_assert_int_eq(dlcc_model_num_threads(*m), n);
  void **outs = calloc((size_t)eg->noutputs + 1, sizeof *outs);
  for (int i = 0; i < eg->noutputs; i++) {
    size_t bytes = dlc_type_bytes(&eg->outputs[i].node->type);
    outs[i] = malloc(bytes + 1);
    memset(outs[i], 0xff, bytes + 1);
  }
  ck_assert_msg(dlcc_model_run(*m, (const void *const *)ins, outs) == DLCC_OK, "%s: run: %s",
                p->name, dlcc_model_error(*m));
  return outs;
}

static void run_threaded(const e2e_case *c, int opt_level, bool packed, bool no_tile) {
  e2e_prog p;
  e2e_open(&p, c->name, c->body);
  p.passes = c->passes;
  p.no_tile = no_tile;
  if (c->kernels && opt_level == 2 && !no_tile) {
    char *k = e2e_kernel_names(&p, packed);
    ck_assert_msg(strcmp(k, c->kernels) == 0, "%s: kernels\n  got  %s\n  want %s", c->name, k,
                  c->kernels);
    free(k);
  }
  e2e_compile(&p, opt_level);
  const dlc_graph *eg = p.g;

  dlcc_model *m = NULL;
  void **ins = e2e_inputs(eg, c->lo, c->hi);
  void *want[16] = {0};
  ck_assert(eg->noutputs <= 16);
  ck_assert(dlc_eval_graph(eg, (const void *const *)ins, want, p.s.d) == DLC_OK);

  bool env = opt_level == 0;
  void **one = run_threads(&p, &m, ins, 1, env);
  e2e_assert_outputs(c->name, opt_level, eg, one, want, c->rtol, c->atol);
  for (int n = 2; n <= 3; n++) {
    void **more = run_threads(&p, &m, ins, n, env);
    for (int i = 0; i < eg->noutputs; i++) {
      const dlc_type *t = &eg->outputs[i].node->type;
      size_t es = dlc_dtype_size(t->dtype);
      int64_t numel = dlc_type_numel(t);
      for (int64_t e = 0; e < numel; e++)
        ck_assert_msg(memcmp((char *)one[i] + e * (int64_t)es, (char *)more[i] + e * (int64_t)es,
                             es) == 0,
                      "%s -O%d output %s: %d threads differ from 1 at element %lld", c->name,
                      opt_level, eg->outputs[i].name, n, (long long)e);
    }
    e2e_free_bufs(more, eg->noutputs);
  }
  e2e_free_bufs(one, eg->noutputs);
  for (int i = 0; i < eg->noutputs; i++)
    free(want[i]);
  e2e_free_bufs(ins, eg->ninputs);
  dlcc_model_free(m);
  e2e_close(&p);
}

void e2e_run_threaded(const e2e_case *c, int opt_level, bool packed) {
  run_threaded(c, opt_level, packed, false);
}

void e2e_run_plain(const e2e_case *c) { run_threaded(c, 2, false, true); }

TCase *e2e_loop_tcase(const char *name, const TTest *o2, const TTest *o0, int ncases) {
  TCase *t = tcase_create(name);
  tcase_set_timeout(t, 120);
  tcase_add_loop_test(t, o2, 0, ncases);
  tcase_add_loop_test(t, o0, 0, ncases);
  return t;
}

int e2e_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
