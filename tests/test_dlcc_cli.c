#define _GNU_SOURCE
/* The dlcc tool as a user runs it: every --emit form, byte-identical
 * output for the same input, -O levels, --print-after, option errors, and
 * a wrong program giving a located error with exit status 1. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *mlp = DLCC_SOURCE_DIR "/examples/mlp.dsl";
static const char *mlp_w = "--weights=" DLCC_SOURCE_DIR "/examples/mlp.safetensors";

START_TEST(test_so_is_deterministic) {
  char *dir = tu_tmpdir("det");
  char *a = tu_path(dir, "a.so"), *b = tu_path(dir, "b.so");
  const char *argv1[] = {DLCC_BIN, mlp, mlp_w, "-o", a, NULL};
  const char *argv2[] = {DLCC_BIN, mlp, mlp_w, "-o", b, NULL};
  char *out = NULL;
  ck_assert_msg(tu_run(argv1, &out) == 0, "%s", out);
  free(out);
  ck_assert_int_eq(tu_run(argv2, NULL), 0);
  size_t na, nb;
  char *da = tu_read_file(a, &na), *db = tu_read_file(b, &nb);
  ck_assert_ptr_nonnull(da);
  ck_assert_uint_eq(na, nb);
  ck_assert_msg(memcmp(da, db, na) == 0, "two compiles differ");
  free(da);
  free(db);
  free(a);
  free(b);
  free(dir);
}
END_TEST

/* --emit forms write what they name, and the same text twice */
START_TEST(test_emit_forms) {
  static const struct {
    const char *flag, *needle;
  } forms[] = {
      {"--emit=graph", "= matmul(x, w1) : f32[1,256]"},
      {"--emit=loops", "kernel k0_matmul+add+relu("},
      {"--emit=llvm", "@dlcc_model_entry() "},
      {"--emit=asm", "dlcc_model_entry:"},
  };
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    const char *argv[] = {DLCC_BIN, forms[i].flag, mlp, mlp_w, NULL};
    char *o1 = NULL, *o2 = NULL;
    ck_assert_int_eq(tu_run(argv, &o1), 0);
    ck_assert_int_eq(tu_run(argv, &o2), 0);
    ck_assert_msg(strstr(o1, forms[i].needle) != NULL, "%s: no '%s' in:\n%.2000s",
                  forms[i].flag, forms[i].needle, o1);
    ck_assert_str_eq(o1, o2);
    free(o1);
    free(o2);
  }
  char *dir = tu_tmpdir("obj");
  char *obj = tu_path(dir, "m.o");
  const char *argv[] = {DLCC_BIN, "--emit=obj", "-O0", mlp, mlp_w, "-o", obj, NULL};
  ck_assert_int_eq(tu_run(argv, NULL), 0);
  size_t n;
  char *data = tu_read_file(obj, &n);
  ck_assert_ptr_nonnull(data);
  ck_assert(n > 4 && memcmp(data, "\177ELF", 4) == 0);
  free(data);
  free(obj);
  free(dir);
}
END_TEST

START_TEST(test_print_after) {
  const char *argv[] = {DLCC_BIN, "--emit=graph", "--print-after=dce", mlp, mlp_w, "-o", "/dev/null", NULL};
  char *out = NULL;
  ck_assert_int_eq(tu_run(argv, &out), 0);
  ck_assert_msg(strstr(out, "// -- graph after dce --\nmodel mlp {\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "graph after fold") == NULL, "%s", out);
  free(out);
  const char *all[] = {DLCC_BIN, "--emit=loops", "--print-after-all", mlp, mlp_w, "-o", "/dev/null", NULL};
  ck_assert_int_eq(tu_run(all, &out), 0);
  ck_assert_ptr_nonnull(strstr(out, "// -- graph after fold --"));
  ck_assert_ptr_nonnull(strstr(out, "// -- graph after cse --"));
  ck_assert_ptr_nonnull(strstr(out, "// -- graph after dce --"));
  const char *low = strstr(out, "// -- loops after lower --");
  ck_assert_ptr_nonnull(low);
  const char *til = strstr(low, "// -- loops after tile --");
  ck_assert_ptr_nonnull(til);
  /* lowering leaves the 1x784x256 product as its plain nest, which tile
   * replaces with register tiles */
  const char *nest = strstr(low, "kernel k0_matmul+add+relu(t7, x, w1, b1) {\n    local %v");
  ck_assert_msg(nest && nest < til, "%s", low);
  ck_assert_ptr_nonnull(strstr(nest, " in 0..1 parallel product {\n"));
  const char *par = strstr(til, "// -- loops after parallelize --");
  ck_assert_ptr_nonnull(par);
  const char *tiled = strstr(til, "kernel k0_matmul+add+relu(t7, x, b1, acc, w1.packed) {\n");
  ck_assert(tiled && tiled < par);
  ck_assert(strstr(til, " product {") == NULL || strstr(til, " product {") > par);
  const char *vec = strstr(par, "// -- loops after vectorize --");
  ck_assert_ptr_nonnull(vec);
  const char *unr = strstr(vec, "// -- loops after unroll --");
  ck_assert_ptr_nonnull(unr);
  ck_assert_ptr_nonnull(strstr(unr, "// -- loops after plan --"));
  free(out);
  /* a loop pass alone: the 784x256 product's column tiles are worth
   * threads */
  const char *one[] = {DLCC_BIN, "--print-after=parallelize", mlp, mlp_w, "-o", "/dev/null", NULL};
  ck_assert_int_eq(tu_run(one, &out), 0);
  const char *head = "// -- loops after parallelize --\nmodule mlp {\n";
  ck_assert(strncmp(out, head, strlen(head)) == 0);
  const char *k0 = strstr(out, "(t7, x, b1, acc, w1.packed) {\n    for %i");
  ck_assert_ptr_nonnull(k0);
  ck_assert(strncmp(strchr(strstr(k0, "for %i") + 4, ' '), " in 0..5 parallel {\n", 20) == 0);
  ck_assert(strstr(out, "after vectorize") == NULL && strstr(out, "after lower") == NULL);
  free(out);
  /* --no-tile leaves the products as their plain nests */
  const char *plain[] = {DLCC_BIN, "--no-tile", "--emit=loops", mlp, mlp_w, "-o", "-", NULL};
  ck_assert_int_eq(tu_run(plain, &out), 0);
  ck_assert_msg(strstr(out, "(t7, x, w1, b1) {\n    local %v") != NULL, "%s", out);
  ck_assert_msg(strstr(out, " in 0..1 serial product {\n") != NULL, "%s", out);
  ck_assert(strstr(out, "acc") == NULL);
  free(out);
}
END_TEST

/* Weights streamed from memory are prefetched a block ahead (matmul with
 * packed B, convolution on channel blocks); weights that stay in cache
 * are not. */
START_TEST(test_prefetch_large_weights) {
  char *dir = tu_tmpdir("pf");
  char *src = tu_path(dir, "m.dsl");
  const char *text = "model m {\n"
                     "  input x : f32[1,64,9,9]\n"
                     "  weight w : f32[320,64,3,3] = random(seed=1)\n"
                     "  weight ws : f32[16,64,3,3] = random(seed=2)\n"
                     "  output y = conv2d(x, w, pad=1)\n"
                     "  output z = conv2d(x, ws, pad=1)\n"
                     "  input a : f32[100,600]\n"
                     "  weight b : f32[600,200] = random(seed=3)\n"
                     "  output c = a @ b\n"
                     "}\n";
  tu_write_file(src, text, strlen(text));
  const char *argv[] = {DLCC_BIN, "--emit=loops", src, NULL};
  char *out = NULL;
  ck_assert_int_eq(tu_run(argv, &out), 0);
  ck_assert_msg(strstr(out, "prefetch w.nchwc[min(") != NULL, "%.3000s", out);
  ck_assert_msg(strstr(out, "prefetch b.packed[min(") != NULL, "%.3000s", out);
  ck_assert_msg(strstr(out, "prefetch ws.") == NULL, "%.3000s", out);
  free(out);
  free(src);
  free(dir);
}
END_TEST

START_TEST(test_option_errors) {
  static const struct {
    const char *arg, *msg;
  } cases[] = {
      {"--emit=pdf", "dlcc: error: unknown --emit kind 'pdf' (expected so, graph, loops, llvm, asm or obj)\n"},
      {"-O7", "dlcc: error: invalid optimization level '-O7' (use -O0 to -O3)\n"},
      {"--frobnicate", "dlcc: error: unknown option '--frobnicate' (see dlcc --help)\n"},
      {"--print-after=nopass", "dlcc: error: unknown pass 'nopass' in --print-after (see dlcc --help)\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *argv[] = {DLCC_BIN, cases[i].arg, mlp, NULL};
    char *out = NULL;
    ck_assert_int_eq(tu_run(argv, &out), 1);
    ck_assert_str_eq(out, cases[i].msg);
    free(out);
  }
  const char *both[] = {DLCC_BIN, "--no-tile", "--print-after=tile", mlp, NULL};
  char *out = NULL;
  ck_assert_int_eq(tu_run(both, &out), 1);
  ck_assert_str_eq(out, "dlcc: error: --print-after=tile with --no-tile: the tile pass does not run\n");
  free(out);
  const char *none[] = {DLCC_BIN, NULL};
  ck_assert_int_eq(tu_run(none, &out), 1);
  ck_assert_str_eq(out, "dlcc: error: no input file (see dlcc --help)\n");
  free(out);
  const char *help[] = {DLCC_BIN, "--help", NULL};
  ck_assert_int_eq(tu_run(help, &out), 0);
  for (const char *const *f = (const char *const[]){"-o FILE", "-O0", "--emit=KIND", "--weights=FILE",
                                                     "--target=TRIPLE", "--cpu=NAME", "--print-after-all",
                                                     "--print-after=PASS", "fold", "cse", "dce",
                                                     "loop passes", "tile", "parallelize", "vectorize", "unroll", "plan",
                                                     "--no-tile", NULL};
       *f; f++)
    ck_assert_msg(strstr(out, *f) != NULL, "--help lacks %s", *f);
  free(out);
}
END_TEST

START_TEST(test_wrong_program) {
  char *dir = tu_tmpdir("bad");
  char *dsl = tu_path(dir, "bad.dsl");
  const char *text = "model bad {\n  input x : f32[1, 784]\n  weight w : f32[785, 256] = zeros\n"
                     "  output y = relu(x @ w)\n}\n";
  tu_write_file(dsl, text, strlen(text));
  const char *argv[] = {DLCC_BIN, dsl, "-o", "/dev/null", NULL};
  char *out = NULL;
  ck_assert_int_eq(tu_run(argv, &out), 1);
  char *want = NULL;
  ck_assert(asprintf(&want,
                     "%s:4:19: error: matmul: inner dimensions differ: f32[1,784] @ f32[785,256]\n"
                     "  output y = relu(x @ w)\n"
                     "                  ^\n",
                     dsl) > 0);
  ck_assert_str_eq(out, want);
  free(want);
  free(out);
  const char *missing[] = {DLCC_BIN, "/nonexistent/m.dsl", NULL};
  ck_assert_int_eq(tu_run(missing, &out), 1);
  ck_assert_ptr_nonnull(strstr(out, "/nonexistent/m.dsl"));
  free(out);
  free(dsl);
  free(dir);
}
END_TEST

/* Every optimization level and an explicit CPU without AVX-512 give the
 * same answers through dlcc-run. */
START_TEST(test_levels_and_cpu) {
  char *dir = tu_tmpdir("lvl");
  const char *variants[][3] = {{"-O0", NULL}, {"-O1", NULL}, {"-O3", NULL},
                               {"-O2", "--cpu=x86-64"}, {"-O2", "--cpu=haswell"}};
  char *first = NULL;
  for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
    char name[32];
    snprintf(name, sizeof name, "m%zu.so", i);
    char *so = tu_path(dir, name);
    const char *argv[] = {DLCC_BIN, mlp, mlp_w, variants[i][0], "-o", so, variants[i][1], NULL};
    char *out = NULL;
    ck_assert_msg(tu_run(argv, &out) == 0, "%s", out);
    free(out);
    const char *run[] = {DLCC_RUN_BIN, so, "--input", "x=" DLCC_SOURCE_DIR "/examples/x.npy", NULL};
    ck_assert_int_eq(tu_run(run, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "y: f32[1,10] = ["));
    if (!first)
      first = out;
    else {
      /* printed to a few digits: equal across schedules */
      ck_assert_str_eq(out, first);
      free(out);
    }
    free(so);
  }
  free(first);
  free(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("dlcc_cli");
  TCase *tc = tcase_create("cli");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_so_is_deterministic);
  tcase_add_test(tc, test_emit_forms);
  tcase_add_test(tc, test_print_after);
  tcase_add_test(tc, test_prefetch_large_weights);
  tcase_add_test(tc, test_option_errors);
  tcase_add_test(tc, test_wrong_program);
  tcase_add_test(tc, test_levels_and_cpu);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
