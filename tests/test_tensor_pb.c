/* ONNX TensorProto (.pb) files: round trips for each dtype through raw_data
 * and the typed fields, real files from ONNX's test data, the exact
 * one-line message for each malformed file, dlcc-run with .pb inputs and
 * outputs, and dlcc-onnx-test on cases made here from small .dsl models. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx.pb-c.h"
#include "testutil.h"
#include "tools/npy.h"
#include "tools/tensor_pb.h"

#define ONNX_NODE_DATA "/usr/include/onnx/backend/test/data/node"

START_TEST(test_round_trip) {
  char *dir = tu_tmpdir("pb");
  static const dlcc_dtype types[] = {DLCC_F32, DLCC_F64, DLCC_I32, DLCC_I64,
                                     DLCC_BOOL};
  static const struct {
    int rank;
    int64_t dims[3];
  } shapes[] = {{0, {0}}, {1, {5}}, {2, {2, 3}}, {3, {2, 3, 4}},
                {1, {0}}, {2, {3, 0}}, {1, {1}}};
  static const dlc_tensor_pb_layout layouts[] = {DLC_TENSOR_PB_RAW,
                                                 DLC_TENSOR_PB_TYPED};
  char *path = tu_path(dir, "a.pb");
  for (size_t t = 0; t < sizeof types / sizeof *types; t++)
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
      for (size_t l = 0; l < 2; l++) {
        int64_t n = 1;
        for (int i = 0; i < shapes[s].rank; i++)
          n *= shapes[s].dims[i];
        size_t bytes = (size_t)n * dlcc_dtype_size(types[t]);
        unsigned char *data = malloc(bytes + 1);
        for (size_t i = 0; i < bytes; i++) /* bools must be 0 or 1 */
          data[i] = types[t] == DLCC_BOOL ? (unsigned char)(i % 3 == 1)
                                          : (unsigned char)(i * 7 + t);
        char err[512];
        const char *name = l ? "tensor_x" : NULL;
        ck_assert_msg(dlc_tensor_pb_write(path, name, types[t], shapes[s].rank,
                                          shapes[s].dims, data, layouts[l],
                                          err, sizeof err) == 0,
                      "%s", err);
        dlc_tensor_pb a;
        ck_assert_msg(dlc_tensor_pb_read(path, &a, err, sizeof err) == 0,
                      "%s", err);
        ck_assert_int_eq(a.dtype, types[t]);
        ck_assert_int_eq(a.rank, shapes[s].rank);
        for (int i = 0; i < a.rank; i++)
          ck_assert_int_eq(a.dims[i], shapes[s].dims[i]);
        ck_assert_uint_eq(a.nbytes, bytes);
        ck_assert_ptr_nonnull(a.data);
        ck_assert_int_eq(memcmp(a.data, data, bytes), 0);
        ck_assert_str_eq(a.name, name ? name : "");
        dlc_tensor_pb_free(&a);
        dlc_tensor_pb_free(&a); /* twice is harmless */

        /* the layout really is the one asked for */
        size_t len;
        char *file = tu_read_file(path, &len);
        Onnx__TensorProto *p =
            onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)file);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(p->has_raw_data, l == 0);
        size_t typed = p->n_float_data + p->n_double_data + p->n_int32_data +
                       p->n_int64_data;
        ck_assert_uint_eq(typed, l == 0 ? 0 : (size_t)n);
        if (types[t] == DLCC_BOOL && l == 1)
          ck_assert_uint_eq(p->n_int32_data, (size_t)n);
        onnx__tensor_proto__free_unpacked(p, NULL);
        free(file);
        free(data);
      }
  dlc_tensor_pb_free(NULL);
  free(path);
  free(dir);
}
END_TEST

START_TEST(test_type_names) {
  ck_assert_str_eq(dlc_tensor_pb_type_name(1), "FLOAT");
  ck_assert_str_eq(dlc_tensor_pb_type_name(9), "BOOL");
  ck_assert_str_eq(dlc_tensor_pb_type_name(16), "BFLOAT16");
  ck_assert_str_eq(dlc_tensor_pb_type_name(22), "INT4");
  ck_assert_ptr_null(dlc_tensor_pb_type_name(-1));
  ck_assert_ptr_null(dlc_tensor_pb_type_name(99));
}
END_TEST

/* Files that onnx itself wrote: raw_data FLOAT and BOOL. */
START_TEST(test_onnx_files) {
  const char *f = ONNX_NODE_DATA "/test_add/test_data_set_0/input_0.pb";
  const char *b = ONNX_NODE_DATA "/test_and2d/test_data_set_0/output_0.pb";
  if (access(f, R_OK) != 0 || access(b, R_OK) != 0)
    return; /* no libonnx-testdata: covered by the round trips */
  dlc_tensor_pb a;
  char err[512];
  ck_assert_msg(dlc_tensor_pb_read(f, &a, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(a.dtype, DLCC_F32);
  ck_assert_int_eq(a.rank, 3);
  ck_assert_int_eq(a.dims[0], 3);
  ck_assert_int_eq(a.dims[1], 4);
  ck_assert_int_eq(a.dims[2], 5);
  ck_assert_uint_eq(a.nbytes, 240);
  ck_assert_str_eq(a.name, "x");
  dlc_tensor_pb_free(&a);
  ck_assert_msg(dlc_tensor_pb_read(b, &a, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(a.dtype, DLCC_BOOL);
  ck_assert_uint_eq(a.nbytes, 12);
  dlc_tensor_pb_free(&a);
  /* a SequenceProto parses, but as a TensorProto with a segment */
  const char *seq = ONNX_NODE_DATA "/test_identity_sequence/test_data_set_0/"
                                   "input_0.pb";
  if (access(seq, R_OK) == 0) {
    ck_assert_int_eq(dlc_tensor_pb_read(seq, &a, err, sizeof err), -1);
    ck_assert_str_eq(strstr(err, ".pb: ") + 5,
                     "segmented tensors are not supported (or the file is a "
                     "SequenceProto or OptionalProto, not a TensorProto)");
  }
}
END_TEST

/* ---- Malformed files -------------------------------------------------------- */

/* Packs t into a malloc'd buffer. */
static uint8_t *pack(const Onnx__TensorProto *t, size_t *len) {
  *len = onnx__tensor_proto__get_packed_size(t);
  uint8_t *b = malloc(*len + 1);
  onnx__tensor_proto__pack(t, b);
  return b;
}

static void expect_parse_error(const void *buf, size_t len, const char *msg) {
  dlc_tensor_pb a;
  memset(&a, 0x5a, sizeof a);
  char err[512];
  ck_assert_int_eq(dlc_tensor_pb_parse(buf, len, "x.pb", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, msg);
  ck_assert_ptr_null(a.data);
  ck_assert_ptr_null(a.name);
  dlc_tensor_pb_free(&a);
}

static void expect_error(const Onnx__TensorProto *t, const char *msg) {
  size_t len;
  uint8_t *b = pack(t, &len);
  expect_parse_error(b, len, msg);
  free(b);
}

static int64_t dims23[] = {2, 3};
static float six[6] = {1, 2, 3, 4, 5, 6};

/* A valid FLOAT [2,3] with its data in float_data. */
static Onnx__TensorProto float23(void) {
  Onnx__TensorProto t;
  onnx__tensor_proto__init(&t);
  t.n_dims = 2;
  t.dims = dims23;
  t.has_data_type = 1;
  t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t.n_float_data = 6;
  t.float_data = six;
  return t;
}

START_TEST(test_malformed) {
  Onnx__TensorProto t = float23();
  size_t len;
  uint8_t *good = pack(&t, &len);
  dlc_tensor_pb a;
  char err[512];
  ck_assert_msg(dlc_tensor_pb_parse(good, len, "x.pb", &a, err, sizeof err) == 0,
                "%s", err);
  ck_assert_int_eq(memcmp(a.data, six, sizeof six), 0);
  dlc_tensor_pb_free(&a);
  /* cut inside the float_data field */
  expect_parse_error(good, len - 3,
                     "x.pb: not a TensorProto (malformed or truncated protobuf)");
  free(good);
  expect_parse_error("\x93NUMPY\x01\x00", 8,
                     "x.pb: not a TensorProto (malformed or truncated protobuf)");
  expect_parse_error("", 0,
                     "x.pb: no data type (data_type is missing or UNDEFINED)");
  expect_parse_error(NULL, 0,
                     "x.pb: no data type (data_type is missing or UNDEFINED)");

  t = float23();
  t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
  t.n_float_data = 0;
  expect_error(&t, "x.pb: unsupported data type UINT8 (dlcc reads FLOAT, "
                   "DOUBLE, INT32, INT64, BOOL)");
  t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
  expect_error(&t, "x.pb: unsupported data type FLOAT16 (dlcc reads FLOAT, "
                   "DOUBLE, INT32, INT64, BOOL)");
  t.data_type = 99;
  expect_error(&t, "x.pb: unknown data type 99");

  t = float23();
  t.n_float_data = 5;
  expect_error(&t, "x.pb: float_data of FLOAT [2,3] needs 6 values, found 5");
  t.n_float_data = 0;
  expect_error(&t, "x.pb: no data: FLOAT [2,3] needs 6 values in raw_data or "
                   "float_data");

  t = float23();
  t.n_float_data = 0;
  t.has_raw_data = 1;
  t.raw_data.len = 20;
  t.raw_data.data = (uint8_t *)six;
  expect_error(&t, "x.pb: raw_data of FLOAT [2,3] needs 24 bytes, found 20");
  t.n_float_data = 6;
  t.raw_data.len = 24;
  expect_error(&t, "x.pb: both raw_data and float_data hold data");

  int64_t i64[6] = {0};
  t = float23();
  t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  expect_error(&t, "x.pb: INT64 tensor has float_data (expected raw_data or "
                   "int64_data)");
  t.n_int64_data = 6;
  t.int64_data = i64;
  expect_error(&t, "x.pb: INT64 tensor has float_data (expected raw_data or "
                   "int64_data)");

  int64_t negative[] = {2, -3};
  t = float23();
  t.dims = negative;
  expect_error(&t, "x.pb: negative dimension -3 at index 1");
  t = float23();
  t.has_data_type = 0;
  t.data_type = 0;
  expect_error(&t, "x.pb: no data type (data_type is missing or UNDEFINED)");

  int32_t bools[6] = {0, 1, 1, 2, 0, 1};
  t = float23();
  t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
  t.n_float_data = 0;
  t.n_int32_data = 6;
  t.int32_data = bools;
  expect_error(&t, "x.pb: BOOL value 2 at index 3 of int32_data is not 0 or 1");
  uint8_t raw_bools[6] = {0, 1, 1, 1, 0, 255};
  t.n_int32_data = 0;
  t.has_raw_data = 1;
  t.raw_data.len = 6;
  t.raw_data.data = raw_bools;
  expect_error(&t, "x.pb: BOOL value 255 at index 5 of raw_data is not 0 or 1");

  t = float23();
  t.has_data_location = 1;
  t.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  expect_error(&t, "x.pb: external data is not supported");
  Onnx__TensorProto__Segment seg;
  onnx__tensor_proto__segment__init(&seg);
  t = float23();
  t.segment = &seg;
  expect_error(&t, "x.pb: segmented tensors are not supported (or the file is "
                   "a SequenceProto or OptionalProto, not a TensorProto)");

  int64_t many[65];
  for (int i = 0; i < 65; i++)
    many[i] = 1;
  t = float23();
  t.n_dims = 65;
  t.dims = many;
  t.n_float_data = 1;
  expect_error(&t, "x.pb: 65 dimensions, more than 64");
}
END_TEST

START_TEST(test_file_errors) {
  char *dir = tu_tmpdir("pberr");
  char *missing = tu_path(dir, "missing.pb"), want[4096], err[512];
  dlc_tensor_pb a;
  ck_assert_int_eq(dlc_tensor_pb_read(missing, &a, err, sizeof err), -1);
  snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
           missing);
  ck_assert_str_eq(err, want);
  ck_assert_int_eq(dlc_tensor_pb_write(missing, NULL, (dlcc_dtype)9, 0, NULL,
                                       six, DLC_TENSOR_PB_RAW, err, sizeof err),
                   -1);
  snprintf(want, sizeof want, "%s: cannot write dtype code 9", missing);
  ck_assert_str_eq(err, want);
  int64_t neg = -1;
  ck_assert_int_eq(dlc_tensor_pb_write(missing, NULL, DLCC_F32, 1, &neg, six,
                                       DLC_TENSOR_PB_RAW, err, sizeof err),
                   -1);
  snprintf(want, sizeof want, "%s: cannot write a negative dimension (-1)",
           missing);
  ck_assert_str_eq(err, want);
  char *nodir = tu_path(dir, "no/such/dir.pb");
  ck_assert_int_eq(dlc_tensor_pb_write(nodir, NULL, DLCC_F32, 0, NULL, six,
                                       DLC_TENSOR_PB_RAW, err, sizeof err),
                   -1);
  snprintf(want, sizeof want, "%s: cannot write: No such file or directory",
           nodir);
  ck_assert_str_eq(err, want);
  free(nodir);
  free(missing);
  free(dir);
}
END_TEST

/* ---- dlcc-run with .pb files ------------------------------------------------ */

/* Compiles model text to dir/m.so with the dlcc tool; returns the path. */
static char *compile_dsl(const char *dir, const char *text) {
  char *dsl = tu_path(dir, "m.dsl"), *so = tu_path(dir, "m.so"), *out = NULL;
  tu_write_file(dsl, text, strlen(text));
  const char *argv[] = {DLCC_BIN, dsl, "-o", so, NULL};
  ck_assert_msg(tu_run(argv, &out) == 0, "%s", out);
  free(out);
  free(dsl);
  return so;
}

static const char add_model[] = "model m {\n"
                                "  input x : f32[2, 3]\n"
                                "  input b : f32[3]\n"
                                "  output y = x + b\n"
                                "  output big = greater(x, b)\n"
                                "}\n";
static const float bias[3] = {10, 20, 30};
static const float sum[6] = {11, 22, 33, 14, 25, 36};

static void write_pb(const char *path, const char *name, dlcc_dtype t, int rank,
                     const int64_t *dims, const void *data,
                     dlc_tensor_pb_layout l) {
  char err[512];
  ck_assert_msg(dlc_tensor_pb_write(path, name, t, rank, dims, data, l, err,
                                    sizeof err) == 0, "%s", err);
}

START_TEST(test_dlcc_run_pb) {
  char *dir = tu_tmpdir("runpb");
  char *so = compile_dsl(dir, add_model);
  char *x = tu_path(dir, "x.pb"), *b = tu_path(dir, "b.npy");
  char *y = tu_path(dir, "y.pb"), *big = tu_path(dir, "big.pb");
  int64_t d3 = 3;
  write_pb(x, "x", DLCC_F32, 2, dims23, six, DLC_TENSOR_PB_TYPED);
  char err[512];
  ck_assert(dlc_npy_write(b, DLCC_F32, 1, &d3, bias, err, sizeof err) == 0);
  char *xa = NULL, *ya = NULL, *ba = NULL, *bga = NULL;
  ck_assert(asprintf(&xa, "x=%s", x) > 0 && asprintf(&ba, "--input=b=%s", b) > 0 &&
            asprintf(&ya, "y=%s", y) > 0 && asprintf(&bga, "big=%s", big) > 0);
  const char *argv[] = {DLCC_RUN_BIN, so, "--input", xa, ba, "--output", ya,
                        "--output", bga, NULL};
  char *out = NULL;
  ck_assert_msg(tu_run(argv, &out) == 0, "%s", out);
  ck_assert_str_eq(out, "");
  free(out);
  dlc_tensor_pb r;
  ck_assert_msg(dlc_tensor_pb_read(y, &r, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(r.dtype, DLCC_F32);
  ck_assert_int_eq(r.rank, 2);
  ck_assert_str_eq(r.name, "y");
  ck_assert_int_eq(memcmp(r.data, sum, sizeof sum), 0);
  dlc_tensor_pb_free(&r);
  ck_assert_msg(dlc_tensor_pb_read(big, &r, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(r.dtype, DLCC_BOOL);
  ck_assert_uint_eq(r.nbytes, 6);
  ck_assert_int_eq(memcmp(r.data, "\0\0\0\0\0\0", 6), 0);
  dlc_tensor_pb_free(&r);

  /* a .pb input with the wrong type, a truncated one, and one that is not
   * there: the same one-line errors as for .npy files */
  double six_d[6] = {0};
  write_pb(x, "x", DLCC_F64, 2, dims23, six_d, DLC_TENSOR_PB_RAW);
  char want[8192];
  ck_assert_int_eq(tu_run(argv, &out), 1);
  snprintf(want, sizeof want,
           "dlcc-run: error: input 'x': expected f32[2,3], got f64[2,3] from %s\n", x);
  ck_assert_str_eq(out, want);
  free(out);
  size_t len;
  write_pb(x, "x", DLCC_F32, 2, dims23, six, DLC_TENSOR_PB_RAW);
  char *bytes = tu_read_file(x, &len);
  tu_write_file(x, bytes, len - 4);
  free(bytes);
  ck_assert_int_eq(tu_run(argv, &out), 1);
  snprintf(want, sizeof want,
           "dlcc-run: error: %s: not a TensorProto (malformed or truncated "
           "protobuf)\n", x);
  ck_assert_str_eq(out, want);
  free(out);
  unlink(x);
  ck_assert_int_eq(tu_run(argv, &out), 1);
  snprintf(want, sizeof want,
           "dlcc-run: error: %s: cannot open: No such file or directory\n", x);
  ck_assert_str_eq(out, want);
  free(out);

  const char *help[] = {DLCC_RUN_BIN, "--help", NULL};
  ck_assert_int_eq(tu_run(help, &out), 0);
  ck_assert_ptr_nonnull(strstr(out, "TensorProto (.pb) files"));
  free(out);
  free(xa);
  free(ba);
  free(ya);
  free(bga);
  free(x);
  free(b);
  free(y);
  free(big);
  free(so);
  free(dir);
}
END_TEST

/* ---- dlcc-onnx-test on cases made from .dsl models -------------------------- */

/* A case folder: model.dsl and test_data_set_0 with the add model's data;
 * y_out is written as output_0.pb. Inputs are named and in the reverse of
 * the model's order, so that they are matched by name. */
static void make_case(const char *root, const char *name, const char *model,
                      const float *y_out) {
  char *dir = tu_path(root, name), *set = NULL;
  ck_assert_int_eq(mkdir(dir, 0777), 0);
  char *dsl = tu_path(dir, "model.dsl");
  tu_write_file(dsl, model, strlen(model));
  ck_assert(asprintf(&set, "%s/test_data_set_0", dir) > 0);
  ck_assert_int_eq(mkdir(set, 0777), 0);
  char *in0 = tu_path(set, "input_0.pb"), *in1 = tu_path(set, "input_1.pb");
  char *out0 = tu_path(set, "output_0.pb"), *out1 = tu_path(set, "output_1.pb");
  int64_t d3 = 3;
  static const uint8_t none[6] = {0};
  write_pb(in0, "b", DLCC_F32, 1, &d3, bias, DLC_TENSOR_PB_RAW);
  write_pb(in1, "x", DLCC_F32, 2, dims23, six, DLC_TENSOR_PB_TYPED);
  write_pb(out0, NULL, DLCC_F32, 2, dims23, y_out, DLC_TENSOR_PB_RAW);
  write_pb(out1, NULL, DLCC_BOOL, 2, dims23, none, DLC_TENSOR_PB_RAW);
  free(in0);
  free(in1);
  free(out0);
  free(out1);
  free(dsl);
  free(set);
  free(dir);
}

START_TEST(test_onnx_test_runner) {
  char *root = tu_tmpdir("onnxtest");
  char *data = tu_path(root, "node");
  ck_assert_int_eq(mkdir(data, 0777), 0);
  float off[6];
  memcpy(off, sum, sizeof off);
  off[4] = 25.1f;
  make_case(data, "test_add_pass", add_model, sum);
  make_case(data, "test_add_wrong", add_model, off);
  make_case(data, "test_syntax",
            "model m {\n  input x : f32[2, 3]\n  output y = x +\n}\n", sum);
  make_case(data, "test_f16",
            "model m {\n  input x : f16[2, 3]\n  output y = x\n}\n", sum);

  char *exp = tu_path(root, "expected.txt"), *out = NULL, *dataopt = NULL;
  ck_assert(asprintf(&dataopt, "--data=%s", data) > 0);
  const char *plain[] = {DLCC_ONNX_TEST_BIN, dataopt, "--jobs", "1", NULL};
  ck_assert_int_eq(tu_run(plain, &out), 1); /* a case failed */
  ck_assert_msg(strstr(out,
                       "FAIL        test_add_wrong: test_data_set_0, output 'y' "
                       "(f32[2,3]): 1 of 6 values differ; first at [1,1]: got "
                       "25, expected 25.1000004 (rtol 0.001, atol 1e-05)\n") &&
                    strstr(out, "UNSUPPORTED test_f16: compile: model.dsl:2:13: "
                                "error: dtype 'f16' is not supported yet") &&
                    strstr(out, "FAIL        test_syntax: compile: model.dsl:") &&
                    !strstr(out, "test_add_pass") &&
                    strstr(out, "1 passed, 2 failed, 1 unsupported (4 cases in "),
                "%s", out);
  free(out);

  /* --verbose names every case; --filter picks some */
  const char *verbose[] = {DLCC_ONNX_TEST_BIN, dataopt, "--filter=add", "-v", NULL};
  ck_assert_int_eq(tu_run(verbose, &out), 1);
  ck_assert_msg(strstr(out, "PASS        test_add_pass (") &&
                    strstr(out, " ms): 1 data set\n") && !strstr(out, "test_f16") &&
                    strstr(out, "1 passed, 1 failed, 0 unsupported (2 cases in "),
                "%s", out);
  free(out);

  /* --write-expected lists what passes; --expected holds the run to it */
  char *wopt = NULL, *eopt = NULL;
  ck_assert(asprintf(&wopt, "--write-expected=%s", exp) > 0);
  ck_assert(asprintf(&eopt, "--expected=%s", exp) > 0);
  const char *write[] = {DLCC_ONNX_TEST_BIN, dataopt, wopt, NULL};
  ck_assert_int_eq(tu_run(write, &out), 1);
  free(out);
  char *text = tu_read_file(exp, NULL);
  ck_assert_str_eq(text,
                   "# ONNX node tests that dlcc passes; the onnx_conformance test\n"
                   "# fails when one of them does not. Regenerate with\n"
                   "#   dlcc-onnx-test --write-expected tests/onnx/expected_pass.txt\n"
                   "test_add_pass\n");
  free(text);
  const char *check[] = {DLCC_ONNX_TEST_BIN, dataopt, eopt, NULL};
  ck_assert_int_eq(tu_run(check, &out), 0); /* unlisted failures are fine */
  free(out);

  static const char listed[] = "# comment\n"
                               "test_add_pass\n"
                               "  test_add_wrong   # a comment too\n"
                               "test_f16\n"
                               "test_gone\n\n";
  tu_write_file(exp, listed, strlen(listed));
  char want[8192];
  ck_assert_int_eq(tu_run(check, &out), 1);
  snprintf(want, sizeof want,
           "dlcc-onnx-test: error: test_add_wrong is listed in %s but failed\n"
           "dlcc-onnx-test: error: test_f16 is listed in %s but is unsupported\n"
           "dlcc-onnx-test: error: test_gone is listed in %s but is not a case in %s\n"
           "dlcc-onnx-test: error: 3 cases listed in %s did not pass\n",
           exp, exp, exp, data, exp);
  ck_assert_msg(strstr(out, want), "%s", out);
  free(out);

  tu_write_file(exp, "test_syntax\n", 12);
  const char *filtered[] = {DLCC_ONNX_TEST_BIN, dataopt, eopt, "--filter=add_", NULL};
  ck_assert_int_eq(tu_run(filtered, &out), 0); /* test_syntax was not run */
  snprintf(want, sizeof want,
           "note: test_add_pass passes but is not listed in %s\n"
           "note: 1 passing case is not listed; regenerate the list with "
           "--write-expected %s\n", exp, exp);
  ck_assert_msg(strstr(out, want), "%s", out);
  free(out);

  /* no data folder: skipped, which ctest counts as such */
  const char *none[] = {DLCC_ONNX_TEST_BIN, "--data=/nonexistent/onnx", NULL};
  ck_assert_int_eq(tu_run(none, &out), 77);
  ck_assert_str_eq(out, "dlcc-onnx-test: skipped: no test data folder "
                        "/nonexistent/onnx (Debian's libonnx-testdata installs it)\n");
  free(out);
  const char *bad[] = {DLCC_ONNX_TEST_BIN, "--jobs=0", NULL};
  ck_assert_int_eq(tu_run(bad, &out), 2);
  ck_assert_msg(
      strstr(out, "dlcc-onnx-test: error: --jobs expects a number from 1 to "),
      "%s", out);
  free(out);
  const char *partial[] = {DLCC_ONNX_TEST_BIN, wopt, "--filter=add", NULL};
  ck_assert_int_eq(tu_run(partial, &out), 2);
  ck_assert_str_eq(out, "dlcc-onnx-test: error: --write-expected writes the "
                        "list of every case; it cannot be used with --filter\n");
  free(out);
  free(wopt);
  free(eopt);
  free(dataopt);
  free(exp);
  free(data);
  free(root);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tensor_pb");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_type_names);
  tcase_add_test(tc, test_onnx_files);
  tcase_add_test(tc, test_malformed);
  tcase_add_test(tc, test_file_errors);
  tcase_add_test(tc, test_dlcc_run_pb);
  tcase_add_test(tc, test_onnx_test_runner);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
