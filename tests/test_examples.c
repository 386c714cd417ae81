#define _GNU_SOURCE
/* The examples, whole: each is compiled to a .so, run through the runtime
 * on seeded random inputs, and compared with the reference evaluator. */
#include <dlcc/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/eval.h"
#include "testutil.h"
#include "tools/driver.h"

static void check_example(const char *name, double rtol, double atol) {
  char *dsl = NULL;
  ck_assert(asprintf(&dsl, "%s/examples/%s.dsl", DLCC_SOURCE_DIR, name) > 0);
  char *dir = tu_tmpdir(name), *so = tu_path(dir, "m.so");
  tu_sink s;
  tu_sink_open(&s);
  dlc_compile_options o = {.input = dsl, .output = so, .opt_level = 2};
  ck_assert_msg(dlc_compile(&o, s.d) == DLC_OK, "%s", tu_sink_text(&s));
  dlc_graph *g = dlc_frontend_compile_file(dsl, NULL, s.d);
  ck_assert_msg(g != NULL, "%s", tu_sink_text(&s));

  dlcc_model *m = NULL;
  ck_assert_msg(dlcc_model_load(so, &m) == DLCC_OK, "%s", dlcc_model_error(m));
  void *ins[4] = {0}, *outs[4] = {0}, *want[4] = {0};
  for (int i = 0; i < g->ninputs; i++) {
    const dlc_type *t = &g->inputs[i]->type;
    ins[i] = malloc(dlc_type_bytes(t));
    tu_fill_random(t->dtype, ins[i], dlc_type_numel(t), 99 + (uint64_t)i, -1, 1);
  }
  for (int i = 0; i < g->noutputs; i++)
    outs[i] = malloc(dlc_type_bytes(&g->outputs[i].node->type));
  ck_assert_msg(dlcc_model_run(m, (const void *const *)ins, outs) == DLCC_OK, "%s",
                dlcc_model_error(m));
  ck_assert(dlc_eval_graph(g, (const void *const *)ins, want, s.d) == DLC_OK);
  for (int i = 0; i < g->noutputs; i++) {
    const dlc_type *t = &g->outputs[i].node->type;
    tu_assert_close(g->outputs[i].name, t->dtype, outs[i], want[i], dlc_type_numel(t),
                    rtol, atol);
    free(outs[i]);
    free(want[i]);
  }
  for (int i = 0; i < g->ninputs; i++)
    free(ins[i]);
  dlcc_model_free(m);
  dlc_graph_free(g);
  tu_sink_close(&s);
  free(so);
  free(dir);
  free(dsl);
}

START_TEST(test_mlp_example) {
  /* examples/mlp.dsl takes its weights from a file */
  char *dir = tu_tmpdir("mlpx"), *so = tu_path(dir, "m.so");
  tu_sink s;
  tu_sink_open(&s);
  const char *dsl = DLCC_SOURCE_DIR "/examples/mlp.dsl";
  dlc_compile_options o = {.input = dsl, .output = so, .opt_level = 2,
                           .weights = DLCC_SOURCE_DIR "/examples/mlp.safetensors"};
  ck_assert_msg(dlc_compile(&o, s.d) == DLC_OK, "%s", tu_sink_text(&s));
  tu_sink_close(&s);
  free(so);
  free(dir);
}
END_TEST

START_TEST(test_lenet) { check_example("lenet", 1e-4, 1e-5); }
END_TEST

START_TEST(test_bert_layer) { check_example("bert_layer", 1e-3, 1e-4); }
END_TEST

START_TEST(test_resnet18) { check_example("resnet18", 1e-3, 1e-3); }
END_TEST

int main(void) {
  Suite *s = suite_create("examples");
  TCase *tc = tcase_create("examples");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_mlp_example);
  tcase_add_test(tc, test_lenet);
  tcase_add_test(tc, test_bert_layer);
  tcase_add_test(tc, test_resnet18);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
