/* The safetensors reader and weight binding: small files written here,
 * valid and malformed in every way the reader checks, each failure with
 * its exact message; --weights binding with its missing, mismatch and
 * unused diagnostics; load() relative to the .dsl file. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tests/testutil.h"

static char *dir;
static tu_sink sink;
static void setup(void) {
  dir = tu_tmpdir("safetensors");
  tu_sink_open(&sink);
}
static void teardown(void) {
  tu_sink_close(&sink);
  free(dir);
}

/* Writes dir/name: the 8-byte little-endian length of header, header,
 * then n bytes of data. Returns the path, malloc'd. */
static char *write_st(const char *name, const char *header, const void *data,
                      size_t n) {
  size_t h = strlen(header);
  unsigned char *buf = malloc(8 + h + n + 1);
  for (int i = 0; i < 8; i++)
    buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
  memcpy(buf + 8, header, h);
  if (n)
    memcpy(buf + 8 + h, data, n);
  char *path = tu_path(dir, name);
  tu_write_file(path, buf, 8 + h + n);
  free(buf);
  return path;
}

/* A file with a[2,3] f32 = 0..5, k[2] i64 = {-7, 1<<40}, h[4] f16 and an
 * empty tensor; the 3-byte padding of the header leaves the data
 * unaligned. */
static char *sample(const char *name) {
  unsigned char data[56];
  float a[6] = {0, 1, 2, 3, 4, 5};
  int64_t k[2] = {-7, (int64_t)1 << 40};
  memcpy(data, a, 24);
  memcpy(data + 24, k, 16);
  memset(data + 40, 0x3c, 8);
  memset(data + 48, 0x11, 8);
  return write_st(name,
                  "{\"__metadata__\": {\"format\": \"pt\"}, "
                  "\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], "
                  "\"data_offsets\": [0, 24]}, "
                  "\"k\": {\"dtype\": \"I64\", \"shape\": [2], "
                  "\"data_offsets\": [24, 40]}, "
                  "\"h\": {\"dtype\": \"F16\", \"shape\": [4], "
                  "\"data_offsets\": [40, 48]}, "
                  "\"e\": {\"dtype\": \"F64\", \"shape\": [0, 3], "
                  "\"data_offsets\": [48, 48]}, "
                  "\"d\": {\"dtype\": \"F64\", \"shape\": [], "
                  "\"data_offsets\": [48, 56]}}   ",
                  data, sizeof data);
}

START_TEST(open_valid) {
  char *path = sample("w.safetensors");
  dlc_safetensors *st = dlc_safetensors_open(path, sink.d);
  ck_assert_msg(st != NULL, "%s", tu_sink_text(&sink));
  ck_assert_str_eq(tu_sink_text(&sink), "");
  ck_assert_str_eq(dlc_safetensors_path(st), path);
  ck_assert_int_eq(dlc_safetensors_count(st), 5);
  ck_assert_int_eq(dlc_safetensors_find(st, "nope"), -1);
  ck_assert_int_eq(dlc_safetensors_find(st, "__metadata__"), -1);
  const dlc_st_tensor *a = dlc_safetensors_tensor(st, 0);
  ck_assert_int_eq(dlc_safetensors_find(st, "a"), 0);
  ck_assert_str_eq(a->name, "a");
  ck_assert_str_eq(a->dtype_name, "F32");
  ck_assert(a->supported);
  ck_assert_int_eq(a->dtype, DLC_F32);
  ck_assert_int_eq(a->rank, 2);
  ck_assert_int_eq(a->dims[1], 3);
  ck_assert_int_eq(a->numel, 6);
  ck_assert_uint_eq(a->nbytes, 24);
  float f;
  memcpy(&f, (const char *)a->data + 8, 4);
  ck_assert_float_eq(f, 2);
  const dlc_st_tensor *h = dlc_safetensors_tensor(st, 2);
  ck_assert_int_eq(dlc_safetensors_find(st, "h"), 2);
  ck_assert_str_eq(h->dtype_name, "F16");
  ck_assert(!h->supported);
  const dlc_st_tensor *d = dlc_safetensors_tensor(st, dlc_safetensors_find(st, "d"));
  ck_assert_int_eq(d->rank, 0);
  ck_assert_int_eq(d->numel, 1);
  dlc_safetensors_close(st);
  dlc_safetensors_close(NULL);
  free(path);
}
END_TEST

/* Compiles src as dir/m.dsl (written there) with weights. */
static dlc_graph *compile(const char *src, dlc_safetensors *weights) {
  char *path = tu_path(dir, "m.dsl");
  tu_write_file(path, src, strlen(src));
  dlc_graph *g = dlc_frontend_compile_file(path, weights, sink.d);
  free(path);
  return g;
}

static dlc_node *named(dlc_graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->name && !strcmp(g->nodes[i]->name, name))
      return g->nodes[i];
  ck_abort_msg("no node %s", name);
  return NULL;
}

START_TEST(bind) {
  char *path = sample("w.safetensors");
  dlc_safetensors *st = dlc_safetensors_open(path, sink.d);
  ck_assert_ptr_nonnull(st);
  dlc_graph *g = compile("model m {\n"
                         "  weight a : f32[2, 3]\n"
                         "  weight k : i64[2]\n"
                         "  weight d : f64[]\n"
                         "  weight e : f64[3] = zeros\n"
                         "  output y = a\n"
                         "  output z = k\n"
                         "  output w = d + e\n"
                         "}\n",
                         st);
  ck_assert_msg(g != NULL, "%s", tu_sink_text(&sink));
  char *want = NULL;
  ck_assert_int_gt(asprintf(&want,
                            "warning: %s: tensor 'h' is not used by the "
                            "model\n"
                            "warning: %s: tensor 'e' is not used by the "
                            "model\n",
                            path, path),
                   0);
  ck_assert_str_eq(tu_sink_text(&sink), want);
  float a[6] = {0, 1, 2, 3, 4, 5};
  tu_assert_close("a", DLC_F32, named(g, "a")->data, a, 6, 0, 0);
  int64_t k[2] = {-7, (int64_t)1 << 40};
  tu_assert_close("k", DLC_I64, named(g, "k")->data, k, 2, 0, 0);
  double d;
  memset(&d, 0x11, sizeof d);
  tu_assert_close("d", DLC_F64, named(g, "d")->data, &d, 1, 0, 0);
  dlc_graph_free(g);
  dlc_safetensors_close(st);
  free(want);
  free(path);
}
END_TEST

START_TEST(bind_errors) {
  char *path = sample("w.safetensors");
  dlc_safetensors *st = dlc_safetensors_open(path, sink.d);
  ck_assert_ptr_nonnull(st);
  dlc_graph *g = compile("model m {\n"
                         "  weight w1 : f32[784, 256]\n"
                         "  weight a : f32[3, 2]\n"
                         "  weight k : i32[2]\n"
                         "  weight h : f32[4]\n"
                         "  output y = a\n"
                         "}\n",
                         st);
  ck_assert_ptr_null(g);
  char *want = NULL;
  ck_assert_int_gt(asprintf(&want,
      "%s/m.dsl:2:10: error: tensor 'w1' not found in %s\n"
      "  weight w1 : f32[784, 256]\n"
      "         ^\n"
      "%s/m.dsl:3:10: error: weight 'a' is declared f32[3,2], but tensor 'a' "
      "in %s is f32[2,3]\n"
      "  weight a : f32[3, 2]\n"
      "         ^\n"
      "%s/m.dsl:4:10: error: weight 'k' is declared i32[2], but tensor 'k' "
      "in %s is i64[2]\n"
      "  weight k : i32[2]\n"
      "         ^\n"
      "%s/m.dsl:5:10: error: tensor 'h' in %s has dtype F16, which is not "
      "supported (supported: F32, F64, I32, I64, BOOL)\n"
      "  weight h : f32[4]\n"
      "         ^\n",
      dir, path, dir, path, dir, path, dir, path), 0);
  ck_assert_str_eq(tu_sink_text(&sink), want);
  dlc_safetensors_close(st);
  free(want);
  free(path);
}
END_TEST

/* BOOL tensors bind to bool weights; bytes other than 0 and 1 are an
 * error. */
START_TEST(bind_bool) {
  unsigned char data[5] = {1, 0, 1, 1, 2};
  char *path = write_st("b.safetensors",
                        "{\"m\": {\"dtype\": \"BOOL\", \"shape\": [2, 2], "
                        "\"data_offsets\": [0, 4]}, "
                        "\"bad\": {\"dtype\": \"BOOL\", \"shape\": [1], "
                        "\"data_offsets\": [4, 5]}}",
                        data, sizeof data);
  dlc_safetensors *st = dlc_safetensors_open(path, sink.d);
  ck_assert_msg(st != NULL, "%s", tu_sink_text(&sink));
  const dlc_st_tensor *m = dlc_safetensors_tensor(st, 0);
  ck_assert(m->supported);
  ck_assert_int_eq(m->dtype, DLC_BOOL);
  dlc_graph *g = compile("model m {\n"
                         "  weight m : bool[2, 2]\n"
                         "  input x : f32[2, 2]\n"
                         "  output y = where(m, x, 0)\n"
                         "}\n",
                         st);
  ck_assert_msg(g != NULL, "%s", tu_sink_text(&sink));
  tu_assert_close("m", DLC_BOOL, named(g, "m")->data, data, 4, 0, 0);
  dlc_graph_free(g);
  ck_assert_ptr_null(compile("model m {\n"
                             "  weight bad : bool[1]\n"
                             "  output y = bad\n"
                             "}\n",
                             st));
  char *want = NULL;
  ck_assert_int_gt(asprintf(&want,
      "warning: %s: tensor 'bad' is not used by the model\n"
      "%s/m.dsl:2:10: error: tensor 'bad' in %s holds a bool other than 0 "
      "or 1 (element 0 is 2)\n"
      "  weight bad : bool[1]\n"
      "         ^\n",
      path, dir, path), 0);
  ck_assert_str_eq(tu_sink_text(&sink), want);
  free(want);
  dlc_safetensors_close(st);
  free(path);
}
END_TEST

START_TEST(load) {
  free(sample("w.safetensors"));
  dlc_graph *g = compile("model m {\n"
                         "  weight p : f32[2, 3] = load(\"w.safetensors\", \"a\")\n"
                         "  weight q : i64[2] = load(\"w.safetensors\", \"k\")\n"
                         "  output y = p\n"
                         "  output z = q\n"
                         "}\n",
                         NULL);
  ck_assert_msg(g != NULL, "%s", tu_sink_text(&sink));
  ck_assert_str_eq(tu_sink_text(&sink), "");
  float a[6] = {0, 1, 2, 3, 4, 5};
  tu_assert_close("p", DLC_F32, named(g, "p")->data, a, 6, 0, 0);
  dlc_graph_free(g);

  g = compile("model m {\n"
              "  weight p : f32[2] = load(\"nothere.safetensors\", \"a\")\n"
              "  weight r : f32[2] = load(\"nothere.safetensors\", \"b\")\n"
              "  weight q : f32[2] = load(\"w.safetensors\", \"zz\")\n"
              "  weight s : f32[6] = load(\"w.safetensors\", \"a\")\n"
              "  output y = p\n"
              "}\n",
              NULL);
  ck_assert_ptr_null(g);
  char *want = NULL;
  ck_assert_int_gt(asprintf(&want,
      "error: %s/nothere.safetensors: cannot open file: No such file or "
      "directory\n"
      "%s/m.dsl:2:28: note: in this load()\n"
      "  weight p : f32[2] = load(\"nothere.safetensors\", \"a\")\n"
      "                           ^\n"
      "%s/m.dsl:4:45: error: tensor 'zz' not found in %s/w.safetensors\n"
      "  weight q : f32[2] = load(\"w.safetensors\", \"zz\")\n"
      "                                            ^\n"
      "%s/m.dsl:5:10: error: weight 's' is declared f32[6], but tensor 'a' "
      "in %s/w.safetensors is f32[2,3]\n"
      "  weight s : f32[6] = load(\"w.safetensors\", \"a\")\n"
      "         ^\n",
      dir, dir, dir, dir, dir, dir), 0);
  ck_assert_str_eq(tu_sink_text(&sink), want);
  free(want);
}
END_TEST

/* Each malformed file: its bytes and the message after "error: PATH: ". */
typedef struct bad {
  const char *name;
  const char *header; /* NULL: raw bytes below */
  const char *raw;
  size_t rawlen;
  size_t datalen;
  const char *msg;
} bad;

#define ENTRY(dt, shape, off)                                                  \
  "{\"a\": {\"dtype\": " dt ", \"shape\": " shape ", \"data_offsets\": " off  \
  "}}"

static const bad bads[] = {
    {"short", NULL, "\x05\0\0\0\0", 5, 0,
     "file is too short to be a safetensors file (5 bytes)"},
    {"empty", NULL, "", 0, 0,
     "file is too short to be a safetensors file (0 bytes)"},
    {"hlen", NULL, "\xe8\x03\0\0\0\0\0\0{}xxxxxxxxxx", 20, 0,
     "header length 1000 exceeds the file size (20 bytes)"},
    {"hlen_huge", NULL, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, 0,
     "header length 18446744073709551615 exceeds the file size (10 bytes)"},
    {"notjson", "{\"a\": ", NULL, 0, 0, "header is not valid JSON"},
    {"trailing", "{} x", NULL, 0, 0, "header has data after its JSON object"},
    {"notobject", "[1, 2]", NULL, 0, 0, "header is not a JSON object"},
    {"entry", "{\"a\": 3}", NULL, 0, 0,
     "tensor 'a': entry is not a JSON object"},
    {"nodtype", "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", NULL,
     0, 4, "tensor 'a': missing or invalid \"dtype\" (expected a string)"},
    {"dtypenum", ENTRY("5", "[1]", "[0, 4]"), NULL, 0, 4,
     "tensor 'a': missing or invalid \"dtype\" (expected a string)"},
    {"dtypeunknown", ENTRY("\"F7\"", "[1]", "[0, 4]"), NULL, 0, 4,
     "tensor 'a': unknown dtype 'F7'"},
    {"noshape", "{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}",
     NULL, 0, 4,
     "tensor 'a': missing or invalid \"shape\" (expected an array of "
     "non-negative integers)"},
    {"shapeneg", ENTRY("\"F32\"", "[2, -1]", "[0, 4]"), NULL, 0, 4,
     "tensor 'a': \"shape\" entry 1 is not a non-negative integer"},
    {"shapefrac", ENTRY("\"F32\"", "[1.5]", "[0, 4]"), NULL, 0, 4,
     "tensor 'a': \"shape\" entry 0 is not a non-negative integer"},
    {"shapestr", ENTRY("\"F32\"", "[\"2\"]", "[0, 4]"), NULL, 0, 4,
     "tensor 'a': \"shape\" entry 0 is not a non-negative integer"},
    {"shapebig", ENTRY("\"F32\"", "[9007199254740992, 9007199254740992]",
                       "[0, 4]"), NULL, 0, 4,
     "tensor 'a': shape has too many elements"},
    {"nooffsets", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", NULL, 0, 4,
     "tensor 'a': missing or invalid \"data_offsets\" (expected [begin, "
     "end], non-negative integers)"},
    {"offsets3", ENTRY("\"F32\"", "[1]", "[0, 4, 8]"), NULL, 0, 8,
     "tensor 'a': missing or invalid \"data_offsets\" (expected [begin, "
     "end], non-negative integers)"},
    {"offsetneg", ENTRY("\"F32\"", "[1]", "[-4, 0]"), NULL, 0, 4,
     "tensor 'a': missing or invalid \"data_offsets\" (expected [begin, "
     "end], non-negative integers)"},
    {"offsetfrac", ENTRY("\"F32\"", "[1]", "[0, 4.5]"), NULL, 0, 8,
     "tensor 'a': missing or invalid \"data_offsets\" (expected [begin, "
     "end], non-negative integers)"},
    {"backwards", ENTRY("\"F32\"", "[1]", "[8, 4]"), NULL, 0, 8,
     "tensor 'a': data_offsets end 4 is before begin 8"},
    {"outside", ENTRY("\"F32\"", "[2]", "[0, 8]"), NULL, 0, 4,
     "tensor 'a': data_offsets [0, 8] exceed the data region (4 bytes)"},
    {"length", ENTRY("\"F32\"", "[2, 2]", "[0, 12]"), NULL, 0, 16,
     "tensor 'a': holds 12 bytes, but 4 elements of F32 take 16"},
    {"overlap",
     "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
     " \"b\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
     NULL, 0, 12, "tensors 'a' and 'b' overlap in the data region"},
    {"duplicate",
     "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
     " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
     NULL, 0, 8, "tensor 'a' appears twice in the header"},
    {"metadata", "{\"__metadata__\": [1]}", NULL, 0, 0,
     "\"__metadata__\" is not a JSON object"},
};

START_TEST(malformed) {
  const bad *b = &bads[_i];
  char *path;
  if (b->header) {
    char *zeros = calloc(1, b->datalen + 1);
    path = write_st(b->name, b->header, zeros, b->datalen);
    free(zeros);
  } else {
    path = tu_path(dir, b->name);
    tu_write_file(path, b->raw, b->rawlen);
  }
  ck_assert_ptr_null(dlc_safetensors_open(path, sink.d));
  char *want = NULL;
  ck_assert_int_gt(asprintf(&want, "error: %s: %s\n", path, b->msg), 0);
  ck_assert_str_eq(tu_sink_text(&sink), want);
  free(want);
  free(path);
}
END_TEST

START_TEST(not_a_file) {
  ck_assert_ptr_null(dlc_safetensors_open(dir, sink.d));
  char *path = tu_path(dir, "missing.safetensors");
  ck_assert_ptr_null(dlc_safetensors_open(path, sink.d));
  char *want = NULL;
  ck_assert_int_gt(asprintf(&want,
                            "error: %s: not a regular file\n"
                            "error: %s: cannot open file: No such file or "
                            "directory\n",
                            dir, path),
                   0);
  ck_assert_str_eq(tu_sink_text(&sink), want);
  free(want);
  free(path);
}
END_TEST

/* Random bytes after a plausible header length: an error, never a crash. */
START_TEST(garbage) {
  uint64_t s = 99;
  unsigned char buf[300];
  char *path = tu_path(dir, "garbage.safetensors");
  for (int round = 0; round < 200; round++) {
    size_t n = 8 + (size_t)(round % 290);
    for (size_t i = 0; i < n; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      buf[i] = (unsigned char)(s >> 56);
    }
    uint64_t h = (uint64_t)(round % 300);
    for (int i = 0; i < 8; i++)
      buf[i] = (unsigned char)(h >> (8 * i));
    if (round % 3 == 0 && n > 9)
      buf[8] = '{';
    tu_write_file(path, buf, n);
    dlc_safetensors *st = dlc_safetensors_open(path, sink.d);
    dlc_safetensors_close(st);
  }
  free(path);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("safetensors");
  TCase *t = tcase_create("safetensors");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, open_valid);
  tcase_add_test(t, bind);
  tcase_add_test(t, bind_errors);
  tcase_add_test(t, bind_bool);
  tcase_add_test(t, load);
  tcase_add_loop_test(t, malformed, 0, (int)(sizeof bads / sizeof *bads));
  tcase_add_test(t, not_a_file);
  tcase_add_test(t, garbage);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
