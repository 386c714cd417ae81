/* The .npy reader and writer: round trips for each dtype and shape, the
 * header forms numpy and others write (versions 1.0, 2.0, 3.0, any key
 * order, spacing, trailing commas), and the exact one-line message for each
 * malformed or truncated file. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tools/npy.h"

/* A .npy file in memory: the preamble for version major.minor, the header
 * dict exactly as given, then n bytes of data. Returns the length. */
static size_t build(unsigned char *buf, int major, int minor,
                    const char *dict, const void *data, size_t n) {
  size_t h = strlen(dict), pre = major == 1 ? 10 : 12;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = (unsigned char)minor;
  for (size_t i = 0; i < pre - 8; i++)
    buf[8 + i] = (unsigned char)(h >> (8 * i));
  memcpy(buf + pre, dict, h);
  if (n)
    memcpy(buf + pre + h, data, n);
  return pre + h + n;
}

static const float six[6] = {1, 2, 3, 4, 5, 6};
#define F32_23 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

START_TEST(test_round_trip) {
  char *dir = tu_tmpdir("npy");
  static const dlcc_dtype types[] = {DLCC_F32, DLCC_F64, DLCC_I32, DLCC_I64,
                                     DLCC_BOOL};
  static const struct {
    int rank;
    int64_t dims[3];
  } shapes[] = {{0, {0}}, {1, {5}}, {2, {2, 3}}, {3, {2, 3, 4}},
                {1, {0}}, {2, {3, 0}}, {1, {1}}};
  for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      int64_t n = 1;
      for (int i = 0; i < shapes[s].rank; i++)
        n *= shapes[s].dims[i];
      size_t bytes = (size_t)n * dlcc_dtype_size(types[t]);
      unsigned char *data = malloc(bytes + 1);
      for (size_t i = 0; i < bytes; i++)
        data[i] = (unsigned char)(i * 7 + t);
      char *path = tu_path(dir, "a.npy"), err[512];
      ck_assert_msg(dlc_npy_write(path, types[t], shapes[s].rank,
                                  shapes[s].dims, data, err, sizeof err) == 0,
                    "%s", err);
      size_t len;
      char *file = tu_read_file(path, &len);
      ck_assert_uint_eq((len - bytes) % 64, 0); /* data aligned as numpy */
      ck_assert_int_eq(file[6], 1);
      free(file);

      dlc_npy a;
      ck_assert_msg(dlc_npy_read(path, &a, err, sizeof err) == 0, "%s", err);
      ck_assert_int_eq(a.dtype, types[t]);
      ck_assert_int_eq(a.rank, shapes[s].rank);
      for (int i = 0; i < a.rank; i++)
        ck_assert_int_eq(a.dims[i], shapes[s].dims[i]);
      ck_assert_uint_eq(a.nbytes, bytes);
      ck_assert_ptr_nonnull(a.data);
      ck_assert_int_eq(memcmp(a.data, data, bytes), 0);
      ck_assert_int_eq(a.major, 1);
      dlc_npy_free(&a);
      dlc_npy_free(&a); /* twice is harmless */
      free(data);
      free(path);
    }
  }
  dlc_npy_free(NULL);
  free(dir);
}
END_TEST

/* The header as numpy writes it, padded so the data starts at 128. */
START_TEST(test_written_header) {
  char *dir = tu_tmpdir("npy-hdr");
  char *path = tu_path(dir, "x.npy"), err[512];
  int64_t dims[] = {2, 3};
  ck_assert_int_eq(dlc_npy_write(path, DLCC_F32, 2, dims, six, err, sizeof err),
                   0);
  size_t len;
  char *f = tu_read_file(path, &len);
  ck_assert_uint_eq(len, 128 + 24);
  ck_assert_int_eq(memcmp(f, "\x93NUMPY\x01\x00\x76\x00", 10), 0);
  ck_assert_int_eq(memcmp(f + 10, F32_23, strlen(F32_23)), 0);
  for (size_t i = 10 + strlen(F32_23); i < 127; i++)
    ck_assert_int_eq(f[i], ' ');
  ck_assert_int_eq(f[127], '\n');
  free(f);
  free(path);

  path = tu_path(dir, "v.npy");
  int64_t five[] = {5};
  ck_assert_int_eq(dlc_npy_write(path, DLCC_I64, 1, five,
                                 (int64_t[5]){1, 2, 3, 4, 5}, err, sizeof err),
                   0);
  f = tu_read_file(path, &len);
  ck_assert_ptr_nonnull(strstr(f + 10, "'descr': '<i8'"));
  ck_assert_ptr_nonnull(strstr(f + 10, "'shape': (5,), }"));
  free(f);
  free(path);
  path = tu_path(dir, "s.npy");
  ck_assert_int_eq(dlc_npy_write(path, DLCC_F64, 0, NULL, (double[]){2.5}, err,
                                 sizeof err),
                   0);
  f = tu_read_file(path, &len);
  ck_assert_ptr_nonnull(strstr(f + 10, "'shape': (), }"));
  free(f);
  free(path);
  free(dir);
}
END_TEST

/* Headers that must all read as f32 (2, 3). */
START_TEST(test_header_forms) {
  static const char *const forms[] = {
      F32_23 "          \n",
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3)}",
      ("  { 'descr' : '<f4' ,\n\t'fortran_order' : False , 'shape' : ( 2 , 3 ,"
       " ) , }  \r\n"),
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
      "{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3)}",
      "{'descr': '=f4', 'fortran_order': False, 'shape': (2, 3)}",
  };
  for (int major = 1; major <= 3; major++) {
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
      unsigned char buf[512];
      size_t n = build(buf, major, 0, forms[i], six, sizeof six);
      dlc_npy a;
      char err[512];
      ck_assert_msg(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err) == 0,
                    "form %zu v%d: %s", i, major, err);
      ck_assert_int_eq(a.dtype, DLCC_F32);
      ck_assert_int_eq(a.rank, 2);
      ck_assert_int_eq(a.dims[0], 2);
      ck_assert_int_eq(a.dims[1], 3);
      ck_assert_int_eq(a.major, major);
      ck_assert_int_eq(memcmp(a.data, six, sizeof six), 0);
      dlc_npy_free(&a);
    }
  }
  /* Scalars and 1-tuples. */
  unsigned char buf[512];
  dlc_npy a;
  char err[512];
  size_t n = build(buf, 1, 0,
                   "{'descr': '<i4', 'fortran_order': False, 'shape': ()}",
                   (int32_t[]){-7}, 4);
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), 0);
  ck_assert_int_eq(a.rank, 0);
  ck_assert_int_eq(*(int32_t *)a.data, -7);
  dlc_npy_free(&a);
  n = build(buf, 2, 0,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}",
            (int64_t[]){1LL << 40}, 8);
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), 0);
  ck_assert_int_eq(a.rank, 1);
  ck_assert_int_eq(*(int64_t *)a.data, 1LL << 40);
  dlc_npy_free(&a);
}
END_TEST

/* Each malformed header, with the message it must give. */
static const struct {
  const char *dict;
  size_t data; /* bytes of data after the header */
  const char *msg;
} bad_headers[] = {
    {"{'descr': '<f4', 'fortran_order': False}", 0,
     "malformed header: missing key 'shape'"},
    {"{'fortran_order': False, 'shape': ()}", 0,
     "malformed header: missing key 'descr'"},
    {"{'descr': '<f4', 'shape': ()}", 4,
     "malformed header: missing key 'fortran_order'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}", 4,
     "malformed header: unknown key 'extra'"},
    {"{'descr': '<f4', 'descr': '<f4'}", 0,
     "malformed header: duplicate key 'descr'"},
    {"['descr', 'shape']", 0,
     "malformed header: expected '{' at the start of the header, found "
     "'['descr', 's...'"},
    {"", 0,
     "malformed header: expected '{' at the start of the header, found the "
     "end of the header"},
    {"{'descr", 0, "malformed header: unterminated string"},
    {"{descr: '<f4'}", 0,
     "malformed header: expected a quoted string, found 'descr: '<f4'...'"},
    {"{'descr' '<f4'}", 0,
     "malformed header: expected ':' after 'descr', found ''<f4'}'"},
    {"{'descr': '<f4' 'shape': ()}", 0,
     "malformed header: expected ',' or '}' after the value of 'descr', "
     "found ''shape': ()}'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", 0,
     "bad shape: expected a non-negative integer, found '-3)}'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", 0,
     "bad shape: '(3)' is not a tuple (write '(3,)')"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3)}", 0,
     "bad shape: expected ',' or ')', found '; 3)}'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': 6}", 0,
     "malformed header: expected '(' to start 'shape', found '6}'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3", 0,
     "bad shape: expected ',' or ')', found the end of the header"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
     0, "bad shape: dimension 0 is too large"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (4000000000, "
     "4000000000, 4000000000)}",
     0, "bad shape: the array is too large"},
    {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}", 24,
     "fortran_order arrays are not supported (save a C-order array, e.g. "
     "np.ascontiguousarray)"},
    {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", 24,
     "malformed header: 'fortran_order' must be True or False, found '0, "
     "'shape': ...'"},
    {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3)}", 24,
     "big-endian dtype '>f4' is not supported (save it as '<f4')"},
    {"{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3)}", 24,
     "invalid dtype '|f4': byte order '|' is only for 1-byte types"},
    {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3)}", 12,
     "unsupported dtype '<f2' (dlcc reads <f4, <f8, <i4, <i8, |b1)"},
    {"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3)}", 6,
     "unsupported dtype '|u1' (dlcc reads <f4, <f8, <i4, <i8, |b1)"},
    {"{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3)}", 5,
     "truncated data: shape (2, 3) of |b1 needs 6 bytes, found 5"},
    {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", 8,
     "unsupported dtype: structured arrays are not supported"},
    {"{'descr': 4, 'fortran_order': False, 'shape': (2,)}", 8,
     "malformed header: expected a quoted string, found '4, 'fortran_...'"},
    {F32_23, 20, "truncated data: shape (2, 3) of <f4 needs 24 bytes, found 20"},
    {F32_23, 0, "truncated data: shape (2, 3) of <f4 needs 24 bytes, found 0"},
    {"{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 7,
     "truncated data: shape () of <f8 needs 8 bytes, found 7"},
    {"{'descr': '<i4', 'fortran_order': False, 'shape': (5,)}", 16,
     "truncated data: shape (5,) of <i4 needs 20 bytes, found 16"},
    {F32_23, 28,
     "4 bytes of trailing data: shape (2, 3) of <f4 needs 24 bytes, found 28"},
    {F32_23 " x", 24, "malformed header: unexpected 'x' after the dict"},
    {"{'\x01\n': 1}", 0, "malformed header: unknown key '\\x01\\x0a'"},
};

START_TEST(test_bad_headers) {
  static unsigned char data[64];
  for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
    unsigned char buf[1024];
    size_t n = build(buf, 1, 0, bad_headers[i].dict, data, bad_headers[i].data);
    dlc_npy a;
    char err[512], want[600];
    a.data = (void *)1;
    ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), -1);
    ck_assert_ptr_null(a.data); /* zeroed on error */
    snprintf(want, sizeof want, "t.npy: %s", bad_headers[i].msg);
    ck_assert_msg(strcmp(err, want) == 0, "case %zu:\n got  %s\n want %s", i,
                  err, want);
    ck_assert_ptr_null(strchr(err, '\n'));
  }
}
END_TEST

START_TEST(test_bad_rank) {
  char dict[1024] = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 65; i++)
    strcat(dict, "1, ");
  strcat(dict, ")}");
  unsigned char buf[2048];
  size_t n = build(buf, 1, 0, dict, six, 4);
  dlc_npy a;
  char err[512];
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: bad shape: more than 64 dimensions");
}
END_TEST

/* Preambles: the magic, the version, the header length. */
START_TEST(test_bad_preamble) {
  dlc_npy a;
  char err[512];
  ck_assert_int_eq(dlc_npy_parse("hello world", 11, "t.npy", &a, err, sizeof err),
                   -1);
  ck_assert_str_eq(err, "t.npy: not a .npy file (bad magic)");
  ck_assert_int_eq(dlc_npy_parse("", 0, "t.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: truncated: 0 bytes is too short for a .npy "
                        "header");
  ck_assert_int_eq(dlc_npy_parse("\x93NUMPY\x01", 7, "t.npy", &a, err,
                                 sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: truncated: 7 bytes is too short for a .npy "
                        "header");
  ck_assert_int_eq(dlc_npy_parse("\x93NUMPY\x02\x00\x05\x00", 10, "t.npy", &a,
                                 err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: truncated: 10 bytes is too short for a .npy "
                        "header");

  unsigned char buf[512];
  size_t n = build(buf, 4, 0, F32_23, six, 24);
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: unsupported .npy format version 4.0 (dlcc "
                        "reads 1.0, 2.0 and 3.0)");
  n = build(buf, 1, 1, F32_23, six, 24);
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: unsupported .npy format version 1.1 (dlcc "
                        "reads 1.0, 2.0 and 3.0)");

  /* A header length past the end of the file. */
  n = build(buf, 1, 0, F32_23, NULL, 0);
  buf[8] = 200;
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: truncated header: it says 200 bytes, the file "
                        "has 59 after the preamble");
  n = build(buf, 2, 0, F32_23, NULL, 0);
  buf[11] = 0xff;
  ck_assert_int_eq(dlc_npy_parse(buf, n, "t.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: truncated header: it says 4278190139 bytes, "
                        "the file has 59 after the preamble");
}
END_TEST

/* Every prefix of a good file, and every byte of it flipped, gives an
 * error or a result, never a crash (the sanitizer build checks reads). */
START_TEST(test_truncated_and_corrupt) {
  unsigned char buf[512], copy[512];
  size_t n = build(buf, 1, 0, F32_23, six, sizeof six);
  dlc_npy a;
  char err[512];
  for (size_t len = 0; len < n; len++) {
    unsigned char *p = malloc(len ? len : 1); /* exact size for ASan */
    memcpy(p, buf, len);
    ck_assert_int_eq(dlc_npy_parse(p, len, "t.npy", &a, err, sizeof err), -1);
    ck_assert_ptr_null(strchr(err, '\n'));
    free(p);
  }
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, buf, n);
      copy[i] ^= (unsigned char)(1 << bit);
      unsigned char *p = malloc(n);
      memcpy(p, copy, n);
      if (dlc_npy_parse(p, n, "t.npy", &a, err, sizeof err) == 0)
        dlc_npy_free(&a);
      else
        ck_assert_ptr_null(strchr(err, '\n'));
      free(p);
    }
  }
}
END_TEST

START_TEST(test_files) {
  char *dir = tu_tmpdir("npy-files");
  ck_assert_int_eq(chdir(dir), 0);
  dlc_npy a;
  char err[512];
  ck_assert_int_eq(dlc_npy_read("nope.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "nope.npy: cannot open: No such file or directory");
  ck_assert_ptr_null(a.data);
  dlc_npy_free(&a);
  ck_assert_int_eq(dlc_npy_read(".", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, ".: cannot read: Is a directory");

  unsigned char buf[512];
  size_t n = build(buf, 3, 0, F32_23, six, 20);
  tu_write_file("short.npy", buf, n);
  ck_assert_int_eq(dlc_npy_read("short.npy", &a, err, sizeof err), -1);
  ck_assert_str_eq(err, "short.npy: truncated data: shape (2, 3) of <f4 needs "
                        "24 bytes, found 20");
  n = build(buf, 3, 0, F32_23, six, 24);
  tu_write_file("v3.npy", buf, n);
  ck_assert_int_eq(dlc_npy_read("v3.npy", &a, err, sizeof err), 0);
  ck_assert_int_eq(a.major, 3);
  ck_assert_int_eq(memcmp(a.data, six, 24), 0);
  dlc_npy_free(&a);

  /* A file larger than one read. */
  int64_t big = 100000;
  double *d = malloc((size_t)big * sizeof *d);
  for (int64_t i = 0; i < big; i++)
    d[i] = (double)i / 3;
  ck_assert_int_eq(dlc_npy_write("big.npy", DLCC_F64, 1, &big, d, err,
                                 sizeof err), 0);
  ck_assert_int_eq(dlc_npy_read("big.npy", &a, err, sizeof err), 0);
  ck_assert_int_eq(a.dims[0], big);
  ck_assert_int_eq(memcmp(a.data, d, (size_t)big * sizeof *d), 0);
  dlc_npy_free(&a);
  free(d);
  free(dir);
}
END_TEST

START_TEST(test_write_errors) {
  char err[512];
  int64_t dims[] = {2, -1};
  ck_assert_int_eq(dlc_npy_write("t.npy", (dlcc_dtype)9, 0, NULL, six, err,
                                 sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: cannot write dtype code 9");
  ck_assert_int_eq(dlc_npy_write("t.npy", DLCC_F32, 2, dims, six, err,
                                 sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: cannot write a negative dimension (-1)");
  ck_assert_int_eq(dlc_npy_write("t.npy", DLCC_F32, 65, dims, six, err,
                                 sizeof err), -1);
  ck_assert_str_eq(err, "t.npy: cannot write rank 65");
  ck_assert_int_eq(dlc_npy_write("/nonexistent/dir/t.npy", DLCC_F32, 0, NULL,
                                 six, err, sizeof err), -1);
  ck_assert_str_eq(err, "/nonexistent/dir/t.npy: cannot write: No such file "
                        "or directory");
  ck_assert_str_eq(dlc_npy_descr(DLCC_F64), "<f8");
  ck_assert_ptr_null(dlc_npy_descr((dlcc_dtype)0));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("npy");
  TCase *tc = tcase_create("npy");
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_written_header);
  tcase_add_test(tc, test_header_forms);
  tcase_add_test(tc, test_bad_headers);
  tcase_add_test(tc, test_bad_rank);
  tcase_add_test(tc, test_bad_preamble);
  tcase_add_test(tc, test_truncated_and_corrupt);
  tcase_add_test(tc, test_files);
  tcase_add_test(tc, test_write_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
