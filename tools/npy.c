/* .npy files: the magic "\x93NUMPY", a version, a header length, then a
 * Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the raw array. The dict is parsed
 * by a small scanner that takes its keys in any order, any spacing and a
 * trailing comma, and checks every length against the bytes really there. */
#define _GNU_SOURCE
#include "fileio.h"
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads and writes little-endian data in place"
#endif

static const char magic[6] = "\x93NUMPY";



const char *dlc_npy_descr(dlcc_dtype dtype) {
  switch (dtype) {
  case DLCC_F32: return "<f4";
  case DLCC_F64: return "<f8";
  case DLCC_I32: return "<i4";
  case DLCC_I64: return "<i8";
  case DLCC_BOOL: return "|b1";
  }
  return NULL;
}

void dlc_npy_free(dlc_npy *a) {
  if (!a)
    return;
  free(a->data);
  a->data = NULL;
  a->nbytes = 0;
}

/* ---- The header dict ---------------------------------------------------- */

typedef struct scanner {
  const char *p, *end;
  dlc_errbuf *e;
} scanner;

static void skip_space(scanner *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* A piece of header text made printable for a one-line message. */
static const char *quote(const char *p, size_t n, char *buf, size_t cap) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (j + 8 >= cap) { /* room for one escape, "..." and the NUL */
      memcpy(buf + j, "...", 3);
      j += 3;
      break;
    }
    unsigned char c = (unsigned char)p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      buf[j++] = (char)c;
    else
      j += (size_t)snprintf(buf + j, cap - j, "\\x%02x", c);
  }
  buf[j] = 0;
  return buf;
}

/* What comes next, quoted, for "expected X, found Y" messages. */
static const char *next_text(scanner *s, char *buf, size_t cap) {
  if (s->p >= s->end)
    return "the end of the header";
  size_t n = (size_t)(s->end - s->p);
  buf[0] = '\'';
  quote(s->p, n < 12 ? n : 12, buf + 1, cap - 5);
  strcat(buf, n > 12 ? "...'" : "'");
  return buf;
}

static int expect(scanner *s, char c, const char *what) {
  skip_space(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return 0;
  }
  char buf[64];
  return dlc_fail(s->e, "malformed header: expected '%c' %s, found %s", c, what,
              next_text(s, buf, sizeof buf));
}

/* A Python string literal in '' or "" (no escapes in the keys and values a
 * .npy header has; a backslash just takes the next character). */
static int scan_string(scanner *s, const char **str, size_t *n) {
  skip_space(s);
  if (s->p >= s->end || (*s->p != '\'' && *s->p != '"')) {
    char buf[64];
    return dlc_fail(s->e, "malformed header: expected a quoted string, found %s",
                next_text(s, buf, sizeof buf));
  }
  char q = *s->p++;
  *str = s->p;
  while (s->p < s->end && *s->p != q)
    s->p += (*s->p == '\\' && s->p + 1 < s->end) ? 2 : 1;
  if (s->p >= s->end)
    return dlc_fail(s->e, "malformed header: unterminated string");
  *n = (size_t)(s->p - *str);
  s->p++;
  return 0;
}

static int word_is(const char *p, size_t n, const char *w) {
  return strlen(w) == n && memcmp(p, w, n) == 0;
}

/* descr: the dtype. Little-endian '<' (or native '=' or none, which is
 * little-endian here) for the four types dlcc has. */
static int parse_descr(scanner *s, dlcc_dtype *out) {
  skip_space(s);
  if (s->p < s->end && *s->p == '[')
    return dlc_fail(s->e, "unsupported dtype: structured arrays are not supported");
  const char *d;
  size_t n;
  if (scan_string(s, &d, &n) != 0)
    return -1;
  char shown[64];
  quote(d, n, shown, sizeof shown);
  char order = n > 0 && strchr("<>|=", d[0]) ? d[0] : 0;
  const char *code = order ? d + 1 : d;
  size_t cn = order ? n - 1 : n;
  static const struct { const char *code; dlcc_dtype t; } known[] = {
      {"f4", DLCC_F32}, {"f8", DLCC_F64}, {"i4", DLCC_I32}, {"i8", DLCC_I64},
      {"b1", DLCC_BOOL}};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (!word_is(code, cn, known[i].code))
      continue;
    if (order == '>')
      return dlc_fail(s->e,
                  "big-endian dtype '%s' is not supported (save it as '<%s')",
                  shown, known[i].code);
    if (order == '|' && known[i].t != DLCC_BOOL)
      return dlc_fail(s->e,
                  "invalid dtype '%s': byte order '|' is only for 1-byte "
                  "types",
                  shown);
    *out = known[i].t;
    return 0;
  }
  return dlc_fail(s->e,
              "unsupported dtype '%s' (dlcc reads <f4, <f8, <i4, <i8, |b1)", shown);
}

static int parse_bool(scanner *s, const char *key, int *out) {
  skip_space(s);
  const char *w = s->p;
  while (s->p < s->end && ((*s->p >= 'A' && *s->p <= 'Z') ||
                           (*s->p >= 'a' && *s->p <= 'z')))
    s->p++;
  size_t n = (size_t)(s->p - w);
  if (word_is(w, n, "True") || word_is(w, n, "False")) {
    *out = n == 4;
    return 0;
  }
  s->p = w;
  char buf[64];
  return dlc_fail(s->e, "malformed header: '%s' must be True or False, found %s",
              key, next_text(s, buf, sizeof buf));
}

/* shape: a tuple of non-negative integers: (), (3,), (2, 3), (2, 3,).
 * Python 2 wrote longs as 3L. */
static int parse_shape(scanner *s, dlc_npy *out) {
  if (expect(s, '(', "to start 'shape'") != 0)
    return -1;
  out->rank = 0;
  for (;;) {
    skip_space(s);
    if (s->p < s->end && *s->p == ')') {
      s->p++;
      break;
    }
    const char *start = s->p;
    int64_t v = 0;
    int digits = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
      int dgt = *s->p++ - '0';
      if (v > (INT64_MAX - dgt) / 10)
        return dlc_fail(s->e, "bad shape: dimension %d is too large", out->rank);
      v = v * 10 + dgt;
      digits++;
    }
    if (digits && s->p < s->end && (*s->p == 'L' || *s->p == 'l'))
      s->p++;
    if (!digits) {
      char buf[64];
      s->p = start;
      return dlc_fail(s->e,
                  "bad shape: expected a non-negative integer, found %s",
                  next_text(s, buf, sizeof buf));
    }
    if (out->rank == DLC_NPY_MAX_RANK)
      return dlc_fail(s->e, "bad shape: more than %d dimensions",
                  DLC_NPY_MAX_RANK);
    out->dims[out->rank++] = v;
    skip_space(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      continue;
    }
    if (s->p < s->end && *s->p == ')') {
      /* (3) is the number 3 in Python, not a tuple. */
      if (out->rank == 1)
        return dlc_fail(s->e, "bad shape: '(%lld)' is not a tuple (write "
                    "'(%lld,)')", (long long)v, (long long)v);
      s->p++;
      break;
    }
    char buf[64];
    return dlc_fail(s->e, "bad shape: expected ',' or ')', found %s",
                next_text(s, buf, sizeof buf));
  }
  return 0;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int parse_dict(scanner *s, dlc_npy *out) {
  if (expect(s, '{', "at the start of the header") != 0)
    return -1;
  int seen = 0, fortran = 0;
  for (;;) {
    skip_space(s);
    if (s->p < s->end && *s->p == '}') {
      s->p++;
      break;
    }
    const char *key;
    size_t kn;
    if (scan_string(s, &key, &kn) != 0)
      return -1;
    char shown[64];
    quote(key, kn, shown, sizeof shown);
    int k = word_is(key, kn, "descr")           ? KEY_DESCR
            : word_is(key, kn, "fortran_order") ? KEY_FORTRAN
            : word_is(key, kn, "shape")         ? KEY_SHAPE
                                                : 0;
    if (!k)
      return dlc_fail(s->e, "malformed header: unknown key '%s'", shown);
    if (seen & k)
      return dlc_fail(s->e, "malformed header: duplicate key '%s'", shown);
    seen |= k;
    char what[96];
    snprintf(what, sizeof what, "after '%s'", shown);
    if (expect(s, ':', what) != 0)
      return -1;
    int rc = k == KEY_DESCR     ? parse_descr(s, &out->dtype)
             : k == KEY_FORTRAN ? parse_bool(s, "fortran_order", &fortran)
                                : parse_shape(s, out);
    if (rc != 0)
      return -1;
    skip_space(s);
    if (s->p < s->end && *s->p == ',') {
      s->p++;
      continue;
    }
    if (s->p < s->end && *s->p == '}') {
      s->p++;
      break;
    }
    char buf[64];
    return dlc_fail(s->e, "malformed header: expected ',' or '}' after the value "
                "of '%s', found %s", shown, next_text(s, buf, sizeof buf));
  }
  skip_space(s);
  if (s->p < s->end) {
    char buf[64];
    return dlc_fail(s->e, "malformed header: unexpected %s after the dict",
                next_text(s, buf, sizeof buf));
  }
  static const struct { int k; const char *name; } keys[] = {
      {KEY_DESCR, "descr"}, {KEY_FORTRAN, "fortran_order"}, {KEY_SHAPE, "shape"}};
  for (int i = 0; i < 3; i++)
    if (!(seen & keys[i].k))
      return dlc_fail(s->e, "malformed header: missing key '%s'", keys[i].name);
  if (fortran)
    return dlc_fail(s->e, "fortran_order arrays are not supported (save a "
                "C-order array, e.g. np.ascontiguousarray)");
  return 0;
}

/* "(2, 3)" as Python prints a tuple. */
static const char *shape_str(const dlc_npy *a, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "(");
  for (int i = 0; i < a->rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                          (long long)a->dims[i]);
  if (n < cap)
    snprintf(buf + n, cap - n, a->rank == 1 ? ",)" : ")");
  return buf;
}

/* Parses everything before the data; *data_off is where the data starts.
 * Fills out->nbytes from the shape and checks it against len. */
static int parse_header(const unsigned char *b, size_t len, dlc_errbuf *e,
                        dlc_npy *out, size_t *data_off) {
  size_t m = len < 6 ? len : 6;
  if (memcmp(b, magic, m) != 0)
    return dlc_fail(e, "not a .npy file (bad magic)");
  if (len < 10)
    return dlc_fail(e, "truncated: %zu bytes is too short for a .npy header", len);
  out->major = b[6];
  out->minor = b[7];
  size_t hlen, hstart;
  if (out->major == 1 && out->minor == 0) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else if ((out->major == 2 || out->major == 3) && out->minor == 0) {
    if (len < 12)
      return dlc_fail(e, "truncated: %zu bytes is too short for a .npy header",
                  len);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
           (size_t)b[11] << 24;
    hstart = 12;
  } else {
    return dlc_fail(e, "unsupported .npy format version %d.%d (dlcc reads 1.0, "
                "2.0 and 3.0)", out->major, out->minor);
  }
  if (hlen > len - hstart)
    return dlc_fail(e, "truncated header: it says %zu bytes, the file has %zu "
                "after the preamble", hlen, len - hstart);
  scanner s = {(const char *)b + hstart, (const char *)b + hstart + hlen, e};
  if (parse_dict(&s, out) != 0)
    return -1;

  size_t esize = dlcc_dtype_size(out->dtype);
  uint64_t nbytes = esize;
  for (int i = 0; i < out->rank; i++) {
    uint64_t d = (uint64_t)out->dims[i];
    if (d && nbytes > (UINT64_MAX >> 2) / d)
      return dlc_fail(e, "bad shape: the array is too large");
    nbytes *= d;
  }
  *data_off = hstart + hlen;
  size_t have = len - *data_off;
  char sh[64 * 24];
  if (nbytes > have)
    return dlc_fail(e, "truncated data: shape %s of %s needs %llu bytes, found "
                "%zu", shape_str(out, sh, sizeof sh),
                dlc_npy_descr(out->dtype), (unsigned long long)nbytes, have);
  if (nbytes < have)
    return dlc_fail(e, "%llu bytes of trailing data: shape %s of %s needs %llu "
                "bytes, found %zu", (unsigned long long)(have - nbytes),
                shape_str(out, sh, sizeof sh), dlc_npy_descr(out->dtype),
                (unsigned long long)nbytes, have);
  out->nbytes = (size_t)nbytes;
  return 0;
}

int dlc_npy_parse(const void *buf, size_t len, const char *name, dlc_npy *out,
                  char *err, size_t errlen) {
  dlc_errbuf e = {err, errlen, name ? name : "<memory>"};
  memset(out, 0, sizeof *out);
  if (!buf && len)
    return dlc_fail(&e, "no data");
  size_t off;
  if (parse_header(buf ? buf : "", len, &e, out, &off) != 0) {
    memset(out, 0, sizeof *out);
    return -1;
  }
  out->data = malloc(out->nbytes ? out->nbytes : 1);
  if (!out->data) {
    size_t n = out->nbytes;
    memset(out, 0, sizeof *out);
    return dlc_fail(&e, "out of memory (%zu bytes)", n);
  }
  memcpy(out->data, (const char *)buf + off, out->nbytes);
  return 0;
}


int dlc_npy_read(const char *path, dlc_npy *out, char *err, size_t errlen) {
  dlc_errbuf e = {err, errlen, path};
  memset(out, 0, sizeof *out);
  size_t len, off;
  unsigned char *b = dlc_slurp(path, &len, &e);
  if (!b)
    return -1;
  if (parse_header(b, len, &e, out, &off) != 0) {
    free(b);
    memset(out, 0, sizeof *out);
    return -1;
  }
  /* Keep the file's buffer as the data, without a second copy. */
  memmove(b, b + off, out->nbytes);
  unsigned char *d = realloc(b, out->nbytes ? out->nbytes : 1);
  out->data = d ? d : b;
  return 0;
}

/* ---- Writing ------------------------------------------------------------ */

int dlc_npy_write(const char *path, dlcc_dtype dtype, int rank,
                  const int64_t *dims, const void *data, char *err,
                  size_t errlen) {
  dlc_errbuf e = {err, errlen, path};
  const char *descr = dlc_npy_descr(dtype);
  if (!descr)
    return dlc_fail(&e, "cannot write dtype code %d", (int)dtype);
  if (rank < 0 || rank > DLC_NPY_MAX_RANK || (rank > 0 && !dims))
    return dlc_fail(&e, "cannot write rank %d", rank);
  dlc_npy a = {.dtype = dtype, .rank = rank};
  uint64_t nbytes = dlcc_dtype_size(dtype);
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return dlc_fail(&e, "cannot write a negative dimension (%lld)",
                  (long long)dims[i]);
    if (dims[i] && nbytes > (UINT64_MAX >> 2) / (uint64_t)dims[i])
      return dlc_fail(&e, "cannot write: the array is too large");
    nbytes *= (uint64_t)dims[i];
    a.dims[i] = dims[i];
  }
  if (nbytes && !data)
    return dlc_fail(&e, "cannot write: data is NULL");

  char sh[64 * 24];
  char *dict = NULL;
  int dn = asprintf(&dict, "{'descr': '%s', 'fortran_order': False, "
                    "'shape': %s, }", descr, shape_str(&a, sh, sizeof sh));
  if (dn < 0)
    return dlc_fail(&e, "out of memory");
  /* Pad with spaces and end with '\n' so the data starts at a multiple of
   * 64; the preamble is 10 bytes in version 1.0, 12 in 2.0. */
  size_t pre = 10, hlen = ((pre + (size_t)dn + 1 + 63) & ~(size_t)63) - pre;
  if (hlen > 65535) {
    pre = 12;
    hlen = ((pre + (size_t)dn + 1 + 63) & ~(size_t)63) - pre;
  }
  unsigned char *hdr = malloc(pre + hlen);
  if (!hdr) {
    free(dict);
    return dlc_fail(&e, "out of memory");
  }
  memcpy(hdr, magic, 6);
  hdr[6] = pre == 10 ? 1 : 2;
  hdr[7] = 0;
  for (size_t i = 0; i < pre - 8; i++)
    hdr[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(hdr + pre, dict, (size_t)dn);
  memset(hdr + pre + dn, ' ', hlen - (size_t)dn - 1);
  hdr[pre + hlen - 1] = '\n';
  free(dict);

  FILE *f = fopen(path, "wb");
  if (!f) {
    free(hdr);
    return dlc_fail(&e, "cannot write: %s", strerror(errno));
  }
  int ok = fwrite(hdr, 1, pre + hlen, f) == pre + hlen &&
           (nbytes == 0 || fwrite(data, 1, (size_t)nbytes, f) == nbytes);
  int saved = errno;
  free(hdr);
  if (fclose(f) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (!ok)
    return dlc_fail(&e, "cannot write: %s", strerror(saved));
  return 0;
}
