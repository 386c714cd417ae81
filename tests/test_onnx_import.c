/* The ONNX importer: models built here with the generated protobuf-c
 * structs and packed to files, valid and malformed in every way the
 * importer checks, each failure with its exact message; --shape bindings,
 * external data, the unsupported-operator listing, the dlcc driver, and a
 * sweep over the ONNX test data that must never crash. */
#define _GNU_SOURCE
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/onnx/onnx_import.h"
#include "frontend/onnx/onnx_internal.h"
#include "ir/arena.h"
#include "ir/eval.h"
#include "tests/testutil.h"

#define T_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define T_DOUBLE ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
#define T_INT32 ONNX__TENSOR_PROTO__DATA_TYPE__INT32
#define T_INT64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64
#define T_BOOL ONNX__TENSOR_PROTO__DATA_TYPE__BOOL
#define T_FLOAT16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
#define NODE_DATA "/usr/include/onnx/backend/test/data/node"

static char *dir;
static void setup(void) { dir = tu_tmpdir("onnx"); }
static void teardown(void) { free(dir); }

/* ---- building models ---- */

/* A model under construction; everything lives in the arena. */
typedef struct mb {
  dlc_arena *a;
  Onnx__ModelProto m;
  Onnx__GraphProto g;
} mb;

/* Room for element n of arr: arrays grown only here hold a power of two
 * elements, so they double when n reaches one. */
static void *grow(dlc_arena *a, void *arr, size_t n, size_t elem) {
  if (n && (n & (n - 1)))
    return arr;
  void *p = dlc_arena_alloc(a, (n ? 2 * n : 1) * elem);
  if (n)
    memcpy(p, arr, n * elem);
  return p;
}
#define APPEND(a, arr, n, v)                                                   \
  do {                                                                         \
    (arr) = grow(a, arr, n, sizeof *(arr));                                    \
    (arr)[(n)++] = (v);                                                        \
  } while (0)

/* Splits "a,,b" into {"a", "", "b"}; "" is no items. */
static char **split(dlc_arena *a, const char *s, size_t *n) {
  char **v = NULL;
  *n = 0;
  if (!*s)
    return NULL;
  for (;;) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    APPEND(a, v, *n, dlc_arena_strndup(a, s, len));
    if (!e)
      return v;
    s = e + 1;
  }
}

static void mb_opset(mb *b, const char *domain, int64_t version) {
  Onnx__OperatorSetIdProto *op = dlc_arena_alloc(b->a, sizeof *op);
  onnx__operator_set_id_proto__init(op);
  op->domain = dlc_arena_strdup(b->a, domain);
  op->has_version = 1;
  op->version = version;
  APPEND(b->a, b->m.opset_import, b->m.n_opset_import, op);
}

/* A model at opset (0: none imported) with an empty graph "g". */
static mb *mb_new(int64_t opset) {
  mb *b = calloc(1, sizeof *b);
  b->a = dlc_arena_new();
  onnx__model_proto__init(&b->m);
  onnx__graph_proto__init(&b->g);
  b->m.has_ir_version = 1;
  b->m.ir_version = 8;
  b->m.graph = &b->g;
  b->g.name = "g";
  if (opset)
    mb_opset(b, "", opset);
  return b;
}

static void mb_free(mb *b) {
  dlc_arena_free(b->a);
  free(b);
}

/* shape: "N,3,?" (a number, a dim_param, or ? for neither); NULL: no
 * shape; "": a scalar. */
static Onnx__TypeProto *tensor_type(mb *b, int32_t elem, const char *shape) {
  Onnx__TypeProto *tp = dlc_arena_alloc(b->a, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = dlc_arena_alloc(b->a, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = elem;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  if (!shape)
    return tp;
  Onnx__TensorShapeProto *sp = dlc_arena_alloc(b->a, sizeof *sp);
  onnx__tensor_shape_proto__init(sp);
  tt->shape = sp;
  size_t n;
  char **dims = split(b->a, shape, &n);
  for (size_t i = 0; i < n; i++) {
    Onnx__TensorShapeProto__Dimension *d = dlc_arena_alloc(b->a, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if ((dims[i][0] >= '0' && dims[i][0] <= '9') || dims[i][0] == '-') {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = strtoll(dims[i], NULL, 10);
    } else if (strcmp(dims[i], "?") != 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = dims[i];
    }
    APPEND(b->a, sp->dim, sp->n_dim, d);
  }
  return tp;
}

static Onnx__ValueInfoProto *mb_input(mb *b, const char *name, int32_t elem,
                                      const char *shape) {
  Onnx__ValueInfoProto *vi = dlc_arena_alloc(b->a, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = dlc_arena_strdup(b->a, name);
  vi->type = tensor_type(b, elem, shape);
  APPEND(b->a, b->g.input, b->g.n_input, vi);
  return vi;
}

static void mb_output(mb *b, const char *name) {
  Onnx__ValueInfoProto *vi = dlc_arena_alloc(b->a, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = dlc_arena_strdup(b->a, name);
  APPEND(b->a, b->g.output, b->g.n_output, vi);
}

/* A tensor with dims "2,3" ("" a scalar) and no data yet. */
static Onnx__TensorProto *mb_tensor(mb *b, const char *name, int32_t dt,
                                    const char *dims) {
  Onnx__TensorProto *t = dlc_arena_alloc(b->a, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = dlc_arena_strdup(b->a, name);
  t->has_data_type = 1;
  t->data_type = dt;
  size_t n;
  char **d = split(b->a, dims, &n);
  for (size_t i = 0; i < n; i++)
    APPEND(b->a, t->dims, t->n_dims, strtoll(d[i], NULL, 10));
  return t;
}

static Onnx__TensorProto *mb_init(mb *b, const char *name, int32_t dt,
                                  const char *dims) {
  Onnx__TensorProto *t = mb_tensor(b, name, dt, dims);
  APPEND(b->a, b->g.initializer, b->g.n_initializer, t);
  return t;
}

static void set_floats(mb *b, Onnx__TensorProto *t, int n) {
  t->n_float_data = (size_t)n;
  t->float_data = dlc_arena_alloc(b->a, sizeof(float) * (size_t)n + 1);
  for (int i = 0; i < n; i++)
    t->float_data[i] = (float)i;
}

static void set_raw(mb *b, Onnx__TensorProto *t, const void *data, size_t n) {
  t->has_raw_data = 1;
  t->raw_data.len = n;
  t->raw_data.data = dlc_arena_alloc(b->a, n + 1);
  memcpy(t->raw_data.data, data, n);
}

/* The external data entries "location", "offset", "length" (NULL: left
 * out). */
static void set_external(mb *b, Onnx__TensorProto *t, const char *location,
                         const char *offset, const char *length) {
  const char *keys[] = {"location", "offset", "length"};
  const char *values[] = {location, offset, length};
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  for (int i = 0; i < 3; i++) {
    if (!values[i])
      continue;
    Onnx__StringStringEntryProto *kv = dlc_arena_alloc(b->a, sizeof *kv);
    onnx__string_string_entry_proto__init(kv);
    kv->key = (char *)keys[i];
    kv->value = dlc_arena_strdup(b->a, values[i]);
    APPEND(b->a, t->external_data, t->n_external_data, kv);
  }
}

/* ins and outs comma-separated; an empty item is an absent input. name
 * NULL: an unnamed node. */
static Onnx__NodeProto *mb_node(mb *b, const char *op, const char *name,
                                const char *ins, const char *outs) {
  Onnx__NodeProto *n = dlc_arena_alloc(b->a, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = dlc_arena_strdup(b->a, op);
  n->name = name ? dlc_arena_strdup(b->a, name) : NULL;
  n->input = split(b->a, ins, &n->n_input);
  n->output = split(b->a, outs, &n->n_output);
  APPEND(b->a, b->g.node, b->g.n_node, n);
  return n;
}

static Onnx__AttributeProto *mb_attr(mb *b, Onnx__NodeProto *n,
                                     const char *name, int type) {
  Onnx__AttributeProto *a = dlc_arena_alloc(b->a, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = dlc_arena_strdup(b->a, name);
  a->has_type = 1;
  a->type = type;
  APPEND(b->a, n->attribute, n->n_attribute, a);
  return a;
}

/* Packs the model to dir/file; returns the path (malloc'd). */
static char *mb_write(mb *b, const char *file) {
  size_t n = onnx__model_proto__get_packed_size(&b->m);
  uint8_t *buf = malloc(n + 1);
  onnx__model_proto__pack(&b->m, buf);
  char *path = tu_path(dir, file);
  tu_write_file(path, buf, n);
  free(buf);
  return path;
}

/* ---- importing ---- */

/* Imports path with the bindings (NULL-terminated list, or NULL); the
 * diagnostics land in *text (malloc'd). */
static dlc_graph *import(const char *path, const char *const *shapes,
                         char **text) {
  int n = 0;
  while (shapes && shapes[n])
    n++;
  dlc_onnx_options o = {.shapes = shapes, .nshapes = n};
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_onnx_import_file(path, &o, s.d);
  *text = strdup(tu_sink_text(&s));
  tu_sink_close(&s);
  return g;
}

static dlc_graph *import_ok(const char *path, const char *const *shapes) {
  char *text;
  dlc_graph *g = import(path, shapes, &text);
  ck_assert_msg(g != NULL, "import failed: %s", text);
  ck_assert_str_eq(text, "");
  tu_sink s;
  tu_sink_open(&s);
  ck_assert_int_eq(dlc_graph_verify(g, s.d), DLC_OK);
  tu_sink_close(&s);
  free(text);
  return g;
}

/* Expects the import to fail with exactly these errors (NULL-terminated
 * messages, each printed as "PATH: error: MESSAGE"). */
static void expect_errors(const char *path, const char *const *shapes, ...) {
  char *want = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&want, &len);
  va_list ap;
  va_start(ap, shapes);
  for (const char *m; (m = va_arg(ap, const char *));)
    fprintf(f, "%s: error: %s\n", path, m);
  va_end(ap);
  fclose(f);
  char *text;
  dlc_graph *g = import(path, shapes, &text);
  ck_assert_msg(g == NULL, "import of %s succeeded", path);
  ck_assert_str_eq(text, want);
  free(text);
  free(want);
}

static dlc_node *output(dlc_graph *g, const char *name) {
  for (int i = 0; i < g->noutputs; i++)
    if (strcmp(g->outputs[i].name, name) == 0)
      return g->outputs[i].node;
  ck_abort_msg("no output %s", name);
  return NULL;
}

static void check_type(const dlc_node *n, const char *want) {
  char buf[DLC_TYPE_STRLEN];
  ck_assert_str_eq(dlc_type_str(&n->type, buf, sizeof buf), want);
}

/* ---- valid models ---- */

/* Inputs, initializers in every data form, an input that is also an
 * initializer (IR version 3 style), outputs that are inputs and weights. */
START_TEST(inputs_and_initializers) {
  mb *b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2,3");
  mb_input(b, "w", T_FLOAT, "2,3"); /* the initializer wins */
  mb_input(b, "n", T_INT64, "4");
  mb_input(b, "s", T_DOUBLE, "");
  mb_input(b, "m", T_BOOL, "1,1,1,1,1,1,1,2");
  mb_input(b, "j", T_INT32, "5");
  set_floats(b, mb_init(b, "w", T_FLOAT, "2,3"), 6);
  int64_t k[2] = {-7, (int64_t)1 << 40};
  set_raw(b, mb_init(b, "k", T_INT64, "2"), k, sizeof k);
  Onnx__TensorProto *t = mb_init(b, "b", T_BOOL, "3");
  t->n_int32_data = 3;
  t->int32_data = dlc_arena_alloc(b->a, 12);
  t->int32_data[1] = 5;
  t->int32_data[2] = 1;
  uint8_t bb[2] = {0, 7};
  set_raw(b, mb_init(b, "bb", T_BOOL, "2"), bb, 2);
  t = mb_init(b, "d", T_DOUBLE, "");
  t->n_double_data = 1;
  t->double_data = dlc_arena_alloc(b->a, 8);
  t->double_data[0] = 2.5;
  int32_t i32[2] = {1, -2};
  set_raw(b, mb_init(b, "i", T_INT32, "1,2"), i32, sizeof i32);
  t = mb_init(b, "i64", T_INT64, "2");
  t->n_int64_data = 2;
  t->int64_data = dlc_arena_alloc(b->a, 16);
  t->int64_data[0] = 3;
  t->int64_data[1] = -3;
  mb_init(b, "unused_empty", T_FLOAT, "0,3");
  const char *outs[] = {"x", "w", "k", "b", "bb", "d", "i", "i64", "n", "s", "m", "j"};
  for (size_t o = 0; o < sizeof outs / sizeof *outs; o++)
    mb_output(b, outs[o]);
  char *path = mb_write(b, "model.onnx");
  dlc_graph *g = import_ok(path, NULL);
  ck_assert_str_eq(g->name, "g");
  ck_assert_int_eq(g->ninputs, 5);
  const char *in_names[] = {"x", "n", "s", "m", "j"};
  const char *in_types[] = {"f32[2,3]", "i64[4]", "f64[]", "bool[1,1,1,1,1,1,1,2]",
                            "i32[5]"};
  for (int i = 0; i < 5; i++) {
    ck_assert_str_eq(g->inputs[i]->name, in_names[i]);
    check_type(g->inputs[i], in_types[i]);
    ck_assert_ptr_eq(output(g, in_names[i]), g->inputs[i]);
  }
  ck_assert_int_eq(g->noutputs, 12);
  dlc_node *w = output(g, "w");
  ck_assert_int_eq(w->op, DLC_OP_WEIGHT);
  ck_assert_str_eq(w->name, "w");
  check_type(w, "f32[2,3]");
  for (int i = 0; i < 6; i++)
    ck_assert(((float *)w->data)[i] == (float)i);
  dlc_node *kn = output(g, "k");
  check_type(kn, "i64[2]");
  ck_assert(memcmp(kn->data, k, sizeof k) == 0);
  dlc_node *bn = output(g, "b");
  check_type(bn, "bool[3]");
  ck_assert(memcmp(bn->data, "\0\1\1", 3) == 0);
  ck_assert(memcmp(output(g, "bb")->data, "\0\1", 2) == 0);
  check_type(output(g, "d"), "f64[]");
  ck_assert(*(double *)output(g, "d")->data == 2.5);
  check_type(output(g, "i"), "i32[1,2]");
  ck_assert(memcmp(output(g, "i")->data, i32, sizeof i32) == 0);
  ck_assert_int_eq(((int64_t *)output(g, "i64")->data)[1], -3);
  dlc_graph_free(g);
  free(path);
  mb_free(b);
}
END_TEST

/* An IR version newer than the proto, unknown fields and the "ai.onnx"
 * spelling of the default domain still load. */
START_TEST(newer_ir_version) {
  mb *b = mb_new(0);
  mb_opset(b, "ai.onnx", 17);
  b->m.ir_version = 10;
  b->g.name = NULL;
  mb_input(b, "x", T_FLOAT, "2");
  mb_output(b, "x");
  size_t n = onnx__model_proto__get_packed_size(&b->m);
  uint8_t *buf = malloc(n + 8);
  onnx__model_proto__pack(&b->m, buf);
  /* field 100, varint 1; field 101, 2 bytes */
  memcpy(buf + n, "\xa0\x06\x01\xaa\x06\x02hi", 8);
  char *path = tu_path(dir, "new.onnx");
  tu_write_file(path, buf, n + 8);
  dlc_graph *g = import_ok(path, NULL);
  ck_assert_int_eq(g->ninputs, 1);
  ck_assert_str_eq(g->name, "new"); /* the graph has no name: the file's */
  dlc_graph_free(g);
  free(buf);
  free(path);
  mb_free(b);
}
END_TEST

START_TEST(unsupported_types) {
  mb *b = mb_new(13);
  mb_input(b, "h", T_FLOAT16, "2");
  Onnx__ValueInfoProto *vi = mb_input(b, "seq", T_FLOAT, "2");
  Onnx__TypeProto__Sequence *sq = dlc_arena_alloc(b->a, sizeof *sq);
  onnx__type_proto__sequence__init(sq);
  sq->elem_type = tensor_type(b, T_FLOAT, "2");
  vi->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
  vi->type->sequence_type = sq;
  mb_input(b, "notype", T_FLOAT, "2")->type = NULL;
  mb_input(b, "u8", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, "2");
  mb_input(b, "r9", T_FLOAT, "1,1,1,1,1,1,1,1,1");
  Onnx__TensorProto *t = mb_init(b, "hw", T_FLOAT16, "2");
  set_raw(b, t, "abcd", 4);
  mb_init(b, "odd", 99, "2");
  mb_output(b, "h");
  char *path = mb_write(b, "types.onnx");
  expect_errors(
      path, NULL,
      "initializer 'hw' has element type FLOAT16, which dlcc does not support "
      "(supported: FLOAT, DOUBLE, INT32, INT64, BOOL)",
      "initializer 'odd' has element type 99, which dlcc does not support "
      "(supported: FLOAT, DOUBLE, INT32, INT64, BOOL)",
      "graph input 'h' has element type FLOAT16, which dlcc does not support "
      "(supported: FLOAT, DOUBLE, INT32, INT64, BOOL)",
      "graph input 'seq' is not a tensor (sequence, map, optional and sparse "
      "inputs are not supported)",
      "graph input 'notype' has no type",
      "graph input 'u8' has element type UINT8, which dlcc does not support "
      "(supported: FLOAT, DOUBLE, INT32, INT64, BOOL)",
      "graph input 'r9' has 9 dimensions; dlcc supports at most 8", NULL);
  free(path);
  mb_free(b);
}
END_TEST

/* ---- --shape ---- */

static mb *dynamic_model(void) {
  mb *b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "N,3");
  mb_input(b, "y", T_INT64, "batch,?");
  mb_input(b, "z", T_FLOAT, "2");
  set_floats(b, mb_init(b, "w", T_FLOAT, "2"), 2);
  mb_output(b, "x");
  mb_output(b, "y");
  mb_output(b, "z");
  return b;
}

START_TEST(shape_binding) {
  mb *b = dynamic_model();
  char *path = mb_write(b, "dyn.onnx");
  const char *shapes[] = {"x=4x3", "y=4x17", "z=2", NULL};
  dlc_graph *g = import_ok(path, shapes);
  ck_assert_int_eq(g->ninputs, 3);
  check_type(g->inputs[0], "f32[4,3]");
  check_type(g->inputs[1], "i64[4,17]");
  check_type(g->inputs[2], "f32[2]");
  dlc_graph_free(g);
  free(path);
  mb_free(b);
}
END_TEST

START_TEST(shape_unbound) {
  mb *b = dynamic_model();
  mb_input(b, "u", T_FLOAT, NULL);
  char *path = mb_write(b, "dyn.onnx");
  expect_errors(path, NULL,
                "inputs 'x', 'y', 'u' have dynamic dimensions; the model's "
                "inputs are x: f32[N,3], y: i64[batch,?], z: f32[2], u: f32 "
                "(no shape); bind each dynamic input with --shape NAME=DIMS, "
                "for example --shape x=1x3 --shape y=1x1 --shape u=DIMS",
                NULL);
  const char *some[] = {"y=2x2", "u=5", NULL};
  expect_errors(path, some,
                "input 'x' has dynamic dimensions; the model's inputs are x: "
                "f32[N,3], y: i64[batch,?], z: f32[2], u: f32 (no shape); bind "
                "each dynamic input with --shape NAME=DIMS, for example "
                "--shape x=1x3",
                NULL);
  free(path);
  mb_free(b);
}
END_TEST

static const struct {
  const char *shapes[4];
  const char *msg;
} shape_errors[] = {
    {{"x=1x3", "y=1x1", "z"},
     "--shape 'z': expected NAME=DIMS, for example --shape input=1x3x224x224"},
    {{"x=1x3", "y=1x1", "=2"},
     "--shape '=2': expected NAME=DIMS, for example --shape input=1x3x224x224"},
    {{"x=1x3", "y=1x1", "z="},
     "--shape 'z=': DIMS must be 1 to 8 positive integers separated by 'x', "
     "for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "z=0"},
     "--shape 'z=0': DIMS must be 1 to 8 positive integers separated by 'x', "
     "for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "z=2x"},
     "--shape 'z=2x': DIMS must be 1 to 8 positive integers separated by "
     "'x', for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "z=2,3"},
     "--shape 'z=2,3': DIMS must be 1 to 8 positive integers separated by "
     "'x', for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "z=-2"},
     "--shape 'z=-2': DIMS must be 1 to 8 positive integers separated by "
     "'x', for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "z=1x1x1x1x1x1x1x1x1"},
     "--shape 'z=1x1x1x1x1x1x1x1x1': DIMS must be 1 to 8 positive integers "
     "separated by 'x', for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "z=99999999999999999999"},
     "--shape 'z=99999999999999999999': DIMS must be 1 to 8 positive "
     "integers separated by 'x', for example 1x3x224x224"},
    {{"x=1x3", "y=1x1", "q=1x3"},
     "--shape 'q=1x3': the model has no input 'q' (its inputs: 'x', 'y', "
     "'z')"},
    {{"x=1x3", "y=1x1", "w=2"},
     "--shape 'w=2': 'w' is an initializer, not an input (its inputs: 'x', "
     "'y', 'z')"},
    {{"y=1x1", "x=1x3x3"},
     "--shape 'x=1x3x3': input 'x' has 2 dimensions (f32[N,3]), not 3"},
    {{"y=1x1", "x=1x4"},
     "--shape 'x=1x4': dimension 1 of input 'x' is 3 in the model (f32[N,3])"},
    {{"y=1x1", "x=1x3", "z=3"},
     "--shape 'z=3': dimension 0 of input 'z' is 2 in the model (f32[2])"},
    {{"y=1x1", "x=1x3", "x=2x3"},
     "--shape 'x=2x3': input 'x' is bound twice"},
    {{"y=1x1", "x=1x3", "z=2x1"},
     "--shape 'z=2x1': input 'z' has 1 dimension (f32[2]), not 2"},
    {{"y=1x1", "x=1099511627776x3"},
     "graph input 'x' (f32[1099511627776,3]) has more than 2^40 elements"},
};

START_TEST(shape_error) {
  mb *b = dynamic_model();
  char *path = mb_write(b, "dyn.onnx");
  expect_errors(path, shape_errors[_i].shapes, shape_errors[_i].msg, NULL);
  free(path);
  mb_free(b);
}
END_TEST

/* ---- external data ---- */

static const float ext_values[6] = {1.5f, -2, 3, 4, 5, 6};

/* w.bin: 16 bytes of padding, then ext_values; short.bin: 30 bytes. */
static void write_external_files(void) {
  char buf[40];
  memset(buf, 0x5a, 16);
  memcpy(buf + 16, ext_values, 24);
  char *p = tu_path(dir, "w.bin");
  tu_write_file(p, buf, 40);
  free(p);
  p = tu_path(dir, "short.bin");
  tu_write_file(p, buf, 30);
  free(p);
  p = tu_path(dir, "sub");
  mkdir(p, 0777);
  free(p);
  p = tu_path(dir, "sub/..w.bin");
  tu_write_file(p, buf + 16, 24);
  free(p);
}

static char *external_model(const char *location, const char *offset,
                            const char *length) {
  mb *b = mb_new(13);
  set_external(b, mb_init(b, "w", T_FLOAT, "2,3"), location, offset, length);
  mb_output(b, "w");
  char *path = mb_write(b, "ext.onnx");
  mb_free(b);
  return path;
}

START_TEST(external_data) {
  write_external_files();
  const char *cases[][3] = {{"w.bin", "16", "24"},
                            {"w.bin", "16", NULL},
                            {"sub/..w.bin", NULL, NULL},
                            {"./sub//..w.bin", "0", "24"}};
  for (int i = 0; i < 4; i++) {
    char *path = external_model(cases[i][0], cases[i][1], cases[i][2]);
    dlc_graph *g = import_ok(path, NULL);
    dlc_node *w = output(g, "w");
    check_type(w, "f32[2,3]");
    ck_assert(memcmp(w->data, ext_values, 24) == 0);
    dlc_graph_free(g);
    free(path);
  }
}
END_TEST

static const struct {
  const char *location, *offset, *length;
  const char *msg;
} external_errors[] = {
    {"../w.bin", NULL, NULL,
     "initializer 'w': external data location '../w.bin' leaves the model's "
     "folder ('..' is not allowed)"},
    {"sub/../../w.bin", NULL, NULL,
     "initializer 'w': external data location 'sub/../../w.bin' leaves the "
     "model's folder ('..' is not allowed)"},
    {"sub/..", NULL, NULL,
     "initializer 'w': external data location 'sub/..' leaves the model's "
     "folder ('..' is not allowed)"},
    {"/etc/passwd", NULL, NULL,
     "initializer 'w': external data location '/etc/passwd' is an absolute "
     "path; it must be relative to the model's folder"},
    {"short.bin", "16", "24",
     "initializer 'w': external data file 'short.bin' is too short: 24 bytes "
     "at offset 16 needed, the file has 30"},
    {"w.bin", "99999999999", NULL,
     "initializer 'w': external data file 'w.bin' is too short: 24 bytes at "
     "offset 99999999999 needed, the file has 40"},
    {"nope.bin", NULL, NULL,
     "initializer 'w': cannot read external data file 'nope.bin': No such "
     "file or directory"},
    {"sub", NULL, NULL,
     "initializer 'w': cannot read external data file 'sub': not a regular "
     "file"},
    {"w.bin", "16", "20",
     "initializer 'w': external data length 20 does not match the 24 bytes "
     "of its shape"},
    {"w.bin", "-1", NULL,
     "initializer 'w': external data offset '-1' is not a non-negative "
     "integer"},
    {"w.bin", "16", "2x",
     "initializer 'w': external data length '2x' is not a non-negative "
     "integer"},
    {NULL, "0", "24", "initializer 'w': external data has no location"},
    {"", NULL, NULL, "initializer 'w': external data has no location"},
};

START_TEST(external_error) {
  write_external_files();
  char *path = external_model(external_errors[_i].location,
                              external_errors[_i].offset,
                              external_errors[_i].length);
  expect_errors(path, NULL, external_errors[_i].msg, NULL);
  free(path);
}
END_TEST

/* ---- malformed files ---- */

static char *write_bytes(const char *file, const void *data, size_t n) {
  char *path = tu_path(dir, file);
  tu_write_file(path, data, n);
  return path;
}

START_TEST(not_protobuf) {
  const char *msg = "not a valid ONNX model (protobuf parse failed)";
  char *p = write_bytes("text.onnx", "this is not an ONNX model\n", 26);
  expect_errors(p, NULL, msg, NULL);
  free(p);
  p = write_bytes("ff.onnx", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
  expect_errors(p, NULL, msg, NULL);
  free(p);
  /* field 7 (graph) as a varint: the wrong wire type */
  p = write_bytes("wiretype.onnx", "\x08\x08\x38\x01", 4);
  expect_errors(p, NULL, msg, NULL);
  free(p);
  /* field 1 (ir_version) as bytes */
  p = write_bytes("wiretype2.onnx", "\x0a\x01x", 3);
  expect_errors(p, NULL, msg, NULL);
  free(p);
  /* a graph whose node list holds a varint */
  p = write_bytes("wiretype3.onnx", "\x3a\x02\x08\x01", 4);
  expect_errors(p, NULL, msg, NULL);
  free(p);
  p = write_bytes("empty.onnx", "", 0);
  expect_errors(p, NULL, "not a valid ONNX model (it has no graph)", NULL);
  free(p);
  p = tu_path(dir, "missing.onnx");
  expect_errors(p, NULL, "cannot read file: No such file or directory", NULL);
  free(p);
  expect_errors(dir, NULL, "cannot read file: not a regular file", NULL);
}
END_TEST

static mb *small_model(void) {
  mb *b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2,3");
  set_floats(b, mb_init(b, "w", T_FLOAT, "2,3"), 6);
  mb_node(b, "NoSuchOp", "a", "x,w", "y");
  mb_output(b, "y");
  return b;
}

/* Every prefix of a model fails cleanly (or loads); every byte flipped
 * too. Under the sanitizers this is the no-crash check. */
START_TEST(truncated) {
  mb *b = small_model();
  b->g.node[0]->op_type = "Relu";
  b->g.n_node = 0;
  b->g.output[0]->name = "w";
  size_t n = onnx__model_proto__get_packed_size(&b->m);
  uint8_t *buf = malloc(n);
  onnx__model_proto__pack(&b->m, buf);
  char *path = tu_path(dir, "cut.onnx");
  dlc_diag *d = dlc_diag_new(NULL);
  for (size_t len = 0; len <= n; len++) {
    tu_write_file(path, buf, len);
    /* a cut at a field boundary can be a valid model */
    dlc_graph_free(dlc_onnx_import_file(path, NULL, d));
  }
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      buf[i] ^= (uint8_t)(1 << bit);
      tu_write_file(path, buf, n);
      dlc_graph_free(dlc_onnx_import_file(path, NULL, d));
      buf[i] ^= (uint8_t)(1 << bit);
    }
  dlc_diag_free(d);
  /* the exact message for a cut in the middle */
  tu_write_file(path, buf, n / 2);
  expect_errors(path, NULL, "not a valid ONNX model (protobuf parse failed)",
                NULL);
  free(path);
  free(buf);
  mb_free(b);
}
END_TEST

/* TypeProto sequences nested 150 deep in a graph input. */
START_TEST(nested_too_deep) {
  mb *b = mb_new(13);
  Onnx__ValueInfoProto *vi = mb_input(b, "x", T_FLOAT, "2");
  Onnx__TypeProto *tp = vi->type;
  for (int i = 0; i < 150; i++) {
    Onnx__TypeProto__Sequence *sq = dlc_arena_alloc(b->a, sizeof *sq);
    onnx__type_proto__sequence__init(sq);
    sq->elem_type = tp;
    tp = dlc_arena_alloc(b->a, sizeof *tp);
    onnx__type_proto__init(tp);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    tp->sequence_type = sq;
  }
  vi->type = tp;
  mb_output(b, "x");
  char *path = mb_write(b, "deep.onnx");
  expect_errors(path, NULL,
                "not a valid ONNX model (messages nested more than 100 deep)",
                NULL);
  free(path);
  mb_free(b);
}
END_TEST

/* A file that nests a million levels: bytes written by hand. */
START_TEST(nested_hostile) {
  /* ModelProto.graph (7) -> GraphProto.node (1) -> NodeProto.attribute (5)
   * -> AttributeProto.g (6) -> GraphProto.node ..., each message's length
   * the rest of the file. */
  size_t levels = 1000000, n = 6 * levels;
  uint8_t *buf = malloc(n);
  const uint8_t tags[3] = {0x0a, 0x2a, 0x32}; /* node, attribute, g */
  for (size_t i = 0; i < levels; i++) {
    uint8_t *p = buf + 6 * i;
    size_t len = n - 6 * i - 6; /* the rest of the file, as 5-byte varint */
    p[0] = i == 0 ? 0x3a : tags[(i - 1) % 3];
    for (int k = 0; k < 4; k++)
      p[1 + k] = (uint8_t)(((len >> (7 * k)) & 0x7f) | 0x80);
    p[5] = (uint8_t)(len >> 28);
  }
  char *path = write_bytes("hostile.onnx", buf, n);
  char *text;
  dlc_graph *g = import(path, NULL, &text);
  ck_assert_ptr_null(g);
  ck_assert_ptr_nonnull(strstr(text, "not a valid ONNX model"));
  free(text);
  free(path);
  free(buf);
}
END_TEST

static const struct {
  const char *dims;
  int nfloats;   /* -1: raw data of rawbytes bytes instead */
  int rawbytes;
  const char *msg;
} tensor_errors[] = {
    {"2,-1", 0, 0, "initializer 'w' has a negative dimension [2,-1]"},
    {"1048576,1048576,2", 0, 0,
     "initializer 'w' has more than 2^40 elements [1048576,1048576,2]"},
    {"9223372036854775807,9223372036854775807", 0, 0,
     "initializer 'w' has more than 2^40 elements "
     "[9223372036854775807,9223372036854775807]"},
    {"1,1,1,1,1,1,1,1,1", 1, 0,
     "initializer 'w' has 9 dimensions; dlcc supports at most 8"},
    {"2,3", 5, 0,
     "initializer 'w' (f32[2,3]): float_data holds 5 elements, its shape "
     "needs 6 (data shorter than its shape)"},
    {"2,3", 0, 0,
     "initializer 'w' (f32[2,3]): float_data holds 0 elements, its shape "
     "needs 6 (data shorter than its shape)"},
    {"2,3", 7, 0,
     "initializer 'w' (f32[2,3]): float_data holds 7 elements, its shape "
     "needs 6 (data longer than its shape)"},
    {"1048576,1048576", 1, 0,
     "initializer 'w' (f32[1048576,1048576]): float_data holds 1 elements, "
     "its shape needs 1099511627776 (data shorter than its shape)"},
    {"2,3", -1, 20,
     "initializer 'w' (f32[2,3]): raw_data holds 20 bytes, its shape needs "
     "24 (data shorter than its shape)"},
    {"2,3", -1, 25,
     "initializer 'w' (f32[2,3]): raw_data holds 25 bytes, its shape needs "
     "24 (data longer than its shape)"},
    {"", -1, 0,
     "initializer 'w' (f32[]): raw_data holds 0 bytes, its shape needs 4 "
     "(data shorter than its shape)"},
};

START_TEST(tensor_error) {
  mb *b = mb_new(13);
  Onnx__TensorProto *t = mb_init(b, "w", T_FLOAT, tensor_errors[_i].dims);
  if (tensor_errors[_i].nfloats >= 0)
    set_floats(b, t, tensor_errors[_i].nfloats);
  else {
    char raw[32] = {0};
    set_raw(b, t, raw, (size_t)tensor_errors[_i].rawbytes);
  }
  mb_output(b, "w");
  char *path = mb_write(b, "tensor.onnx");
  expect_errors(path, NULL, tensor_errors[_i].msg, NULL);
  free(path);
  mb_free(b);
}
END_TEST

START_TEST(bad_input_dims) {
  mb *b = mb_new(13);
  mb_input(b, "a", T_FLOAT, "2,-1");
  mb_input(b, "b", T_FLOAT, "0");
  mb_input(b, "c", T_FLOAT, "2199023255552");
  mb_input(b, "d", T_FLOAT, "1048576,1048576,2");
  mb_output(b, "a");
  char *path = mb_write(b, "dims.onnx");
  expect_errors(
      path, NULL,
      "graph input 'a': dimension 1 is -1 (every dimension must be at least 1)",
      "graph input 'b': dimension 0 is 0 (every dimension must be at least 1)",
      "graph input 'c': dimension 0 is 2199023255552, over 2^40",
      "graph input 'd' (f32[1048576,1048576,2]) has more than 2^40 elements",
      NULL);
  free(path);
  mb_free(b);
}
END_TEST

START_TEST(graph_structure) {
  /* a cycle */
  mb *b = mb_new(13);
  mb_node(b, "NoSuchOp", "a", "y", "x");
  mb_node(b, "NoSuchOp", "b", "x", "y");
  mb_output(b, "y");
  char *path = mb_write(b, "cycle.onnx");
  expect_errors(path, NULL,
                "node 'a' (NoSuchOp): input 'y' is defined only by a later "
                "node, node 'b' (NoSuchOp): the nodes are not in topological "
                "order or form a cycle",
                "unsupported operator: NoSuchOp (opset 13) in nodes 'a', 'b'",
                NULL);
  free(path);
  mb_free(b);
  /* a node reading its own output */
  b = mb_new(13);
  mb_node(b, "NoSuchOp", "a", "x", "x");
  mb_output(b, "x");
  path = mb_write(b, "self.onnx");
  expect_errors(path, NULL,
                "node 'a' (NoSuchOp): input 'x' is its own output (a cycle)",
                "unsupported operator: NoSuchOp (opset 13) in node 'a'", NULL);
  free(path);
  mb_free(b);
  /* an input nothing defines; an output nothing defines */
  b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  mb_node(b, "NoSuchOp", NULL, "x,,q", "y");
  mb_output(b, "y");
  mb_output(b, "r");
  path = mb_write(b, "undef.onnx");
  expect_errors(path, NULL,
                "node #0 (NoSuchOp): input 'q' is not defined by any graph "
                "input, initializer or node",
                "unsupported operator: NoSuchOp (opset 13) in node #0",
                "graph output 'r' is not defined by any graph input, "
                "initializer or node",
                NULL);
  free(path);
  mb_free(b);
  /* no outputs */
  b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  path = mb_write(b, "noout.onnx");
  expect_errors(path, NULL, "the graph has no outputs", NULL);
  free(path);
  mb_free(b);
  /* an output listed twice, an empty initializer as an output */
  b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  mb_init(b, "e", T_FLOAT, "0");
  mb_output(b, "x");
  mb_output(b, "x");
  mb_output(b, "e");
  path = mb_write(b, "twice.onnx");
  expect_errors(path, NULL, "graph output 'x' is listed twice",
                "graph output 'e' is an empty initializer (tensors with a 0 "
                "dimension are not supported)",
                NULL);
  free(path);
  mb_free(b);
}
END_TEST

START_TEST(duplicate_names) {
  mb *b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  mb_input(b, "x", T_FLOAT, "2");
  set_floats(b, mb_init(b, "w", T_FLOAT, "2"), 2);
  set_floats(b, mb_init(b, "w", T_FLOAT, "2"), 2);
  mb_node(b, "NoSuchOp", "a", "x", "x");
  mb_node(b, "NoSuchOp", "b", "x", "w");
  mb_node(b, "NoSuchOp", "c", "x", "y,y");
  mb_node(b, "NoSuchOp", "d", "x", "y");
  mb_node(b, "", "e", "x", "z");
  mb_output(b, "y");
  char *path = mb_write(b, "dup.onnx");
  expect_errors(
      path, NULL, "initializer 'w' is defined twice",
      "graph input 'x' is listed twice",
      "node 'a' (NoSuchOp): output 'x' is already defined by a graph input",
      "node 'b' (NoSuchOp): output 'w' is already defined by an initializer",
      "node 'c' (NoSuchOp): output 'y' is already defined by this node itself",
      "node 'd' (NoSuchOp): output 'y' is already defined by node 'c' "
      "(NoSuchOp)",
      "node 'e' has no op_type", NULL);
  free(path);
  mb_free(b);
}
END_TEST

START_TEST(opsets) {
  int64_t bad[] = {6, 18, 1};
  for (int i = 0; i < 3; i++) {
    mb *b = mb_new(bad[i]);
    mb_input(b, "x", T_FLOAT, "2");
    mb_output(b, "x");
    char *path = mb_write(b, "opset.onnx");
    char msg[200];
    snprintf(msg, sizeof msg,
             "the model uses opset %lld of the default ONNX domain; dlcc "
             "supports opsets 7 to 17",
             (long long)bad[i]);
    expect_errors(path, NULL, msg, NULL);
    free(path);
    mb_free(b);
  }
  /* no default opset: fine without default-domain nodes */
  mb *b = mb_new(0);
  mb_opset(b, "com.example", 1);
  mb_input(b, "x", T_FLOAT, "2");
  mb_output(b, "x");
  char *path = mb_write(b, "noopset.onnx");
  dlc_graph_free(import_ok(path, NULL));
  free(path);
  mb_node(b, "Relu", "r", "x", "y");
  path = mb_write(b, "noopset.onnx");
  expect_errors(path, NULL,
                "the model imports no opset of the default ONNX domain "
                "(opset_import)",
                NULL);
  free(path);
  mb_free(b);
  b = mb_new(12);
  mb_opset(b, "ai.onnx", 13);
  mb_input(b, "x", T_FLOAT, "2");
  mb_output(b, "x");
  path = mb_write(b, "twoopsets.onnx");
  expect_errors(path, NULL,
                "the model imports the default domain twice, at opsets 12 and "
                "13",
                NULL);
  free(path);
  mb_free(b);
}
END_TEST

/* One error that lists every unsupported operator with its nodes; other
 * domains are unsupported whatever the operator's name. */
START_TEST(unsupported_listing) {
  mb *b = mb_new(13);
  mb_opset(b, "com.example", 1);
  mb_input(b, "x", T_FLOAT, "2");
  mb_node(b, "NoSuchOp", "a", "x", "y1");
  mb_node(b, "NoSuchOp", "b", "y1", "y2");
  mb_node(b, "Relu", "c", "x", "y3")->domain = "com.example";
  mb_node(b, "NoSuchOp", NULL, "y3", "y4");
  mb_node(b, "Baz", "d", "y4", "y5")->domain = "com.other";
  mb_node(b, "NoSuchOp", "e", "x", "y6");
  mb_output(b, "y2");
  mb_output(b, "y5");
  char *path = mb_write(b, "unsup.onnx");
  expect_errors(path, NULL,
                "unsupported operators: NoSuchOp (opset 13) in nodes 'a', 'b', "
                "#3, 'e'; com.example.Relu (opset 1) in node 'c'; "
                "com.other.Baz (opset ?) in node 'd'",
                NULL);
  free(path);
  mb_free(b);
  b = mb_new(17);
  mb_input(b, "x", T_FLOAT, "2");
  for (int i = 0; i < 11; i++) {
    char name[8], out[8];
    snprintf(name, sizeof name, "n%d", i);
    snprintf(out, sizeof out, "y%d", i);
    mb_node(b, "NoSuchOp", name, "x", out);
  }
  mb_output(b, "y10");
  path = mb_write(b, "many.onnx");
  expect_errors(path, NULL,
                "unsupported operator: NoSuchOp (opset 17) in nodes 'n0', "
                "'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7' and 3 more",
                NULL);
  free(path);
  mb_free(b);
}
END_TEST

/* Listings stay bounded however many inputs or operators a file has, and
 * a large file takes linear time (a quadratic importer would time out). */
START_TEST(many) {
  mb *b = mb_new(13);
  for (int i = 0; i < 25; i++) {
    char name[16];
    snprintf(name, sizeof name, "in%d", i);
    mb_input(b, name, T_FLOAT, "N");
  }
  mb_output(b, "in0");
  char *path = mb_write(b, "inputs.onnx");
  char *text;
  ck_assert_ptr_null(import(path, NULL, &text));
  ck_assert_ptr_nonnull(strstr(text, "inputs 'in0', 'in1', "));
  ck_assert_ptr_nonnull(strstr(text, "'in19' and 5 more have dynamic"));
  ck_assert_ptr_nonnull(strstr(text, "in19: f32[N] and 5 more; bind"));
  ck_assert_ptr_nonnull(strstr(text, "--shape in19=1\n"));
  free(text);
  free(path);
  mb_free(b);
  b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  int n = 200000;
  for (int i = 0; i < n; i++) {
    char op[16], out[16];
    snprintf(op, sizeof op, "Op%d", i);
    snprintf(out, sizeof out, "y%d", i);
    mb_node(b, op, NULL, i ? "y0" : "x", out);
  }
  mb_output(b, "y1");
  path = mb_write(b, "nodes.onnx");
  ck_assert_ptr_null(import(path, NULL, &text));
  ck_assert_ptr_nonnull(strstr(text, "Op99 (opset 13) in node #99; and 199900 "
                                     "more operators\n"));
  free(text);
  free(path);
  mb_free(b);
}
END_TEST

/* ---- the converter helpers ---- */

/* Attribute type checks and onnx_build's folding, through an
 * onnx_node_ctx made here (the importer's own state is not needed for
 * attributes). */
START_TEST(attributes) {
  mb *b = mb_new(13);
  Onnx__NodeProto *n = mb_node(b, "Foo", "f", "", "y");
  mb_attr(b, n, "i", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)->i = 7;
  mb_attr(b, n, "f", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)->f = 0.5f;
  Onnx__AttributeProto *a =
      mb_attr(b, n, "ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  int64_t ints[3] = {1, -2, 3};
  a->n_ints = 3;
  a->ints = ints;
  a = mb_attr(b, n, "s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.data = (uint8_t *)"tanhXXX";
  a->s.len = 4;
  a = mb_attr(b, n, "t", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = mb_tensor(b, "val", T_INT64, "2");
  int64_t tv[2] = {4, 5};
  set_raw(b, a->t, tv, sizeof tv);
  a = mb_attr(b, n, "old", 0); /* no type: the field says it */
  a->has_type = 0;
  a->has_i = 1;
  a->i = 9;

  tu_sink s;
  tu_sink_open(&s);
  onnx_ctx c = {.arena = dlc_arena_new(), .d = s.d, .path = "m.onnx",
                .dir = ".", .loc = {"m.onnx", 0, 0}, .opset = 13};
  c.g = dlc_graph_new("t");
  onnx_node_ctx nc = {.ctx = &c, .g = c.g, .d = s.d, .node = n, .opset = 13,
                      .loc = c.loc, .what = "node 'f' (Foo)"};
  int64_t iv = -1, *iv2 = NULL;
  double fv = -1;
  int niv = 0;
  const char *sv = NULL;
  ck_assert(onnx_attr_int(&nc, "i", &iv) && iv == 7);
  ck_assert(onnx_attr_int(&nc, "old", &iv) && iv == 9);
  ck_assert(onnx_attr_float(&nc, "f", &fv) && fv == 0.5);
  ck_assert(onnx_attr_ints(&nc, "ints", &iv2, &niv) && niv == 3 && iv2[1] == -2);
  ck_assert(onnx_attr_string(&nc, "s", &sv));
  ck_assert_str_eq(sv, "tanh");
  const Onnx__TensorProto *t = onnx_attr_tensor(&nc, "t");
  ck_assert_ptr_nonnull(t);
  dlc_node *k = onnx_tensor_const(&nc, t);
  ck_assert_int_eq(k->op, DLC_OP_CONST);
  ck_assert_int_eq(((int64_t *)k->data)[1], 5);
  ck_assert(!onnx_attr_int(&nc, "absent", &iv));
  ck_assert_str_eq(tu_sink_text(&s), "");
  iv = 42;
  ck_assert(!onnx_attr_int(&nc, "f", &iv) && iv == 42);
  ck_assert(!onnx_attr_float(&nc, "ints", &fv));
  ck_assert(!onnx_attr_ints(&nc, "i", &iv2, &niv));
  ck_assert(!onnx_attr_string(&nc, "t", &sv));
  ck_assert_ptr_null(onnx_attr_tensor(&nc, "s"));
  ck_assert_str_eq(
      tu_sink_text(&s),
      "m.onnx: error: node 'f' (Foo): attribute 'f' has type FLOAT, expected INT\n"
      "m.onnx: error: node 'f' (Foo): attribute 'ints' has type INTS, expected "
      "FLOAT\n"
      "m.onnx: error: node 'f' (Foo): attribute 'i' has type INT, expected INTS\n"
      "m.onnx: error: node 'f' (Foo): attribute 't' has type TENSOR, expected "
      "STRING\n"
      "m.onnx: error: node 'f' (Foo): attribute 's' has type STRING, expected "
      "TENSOR\n");

  /* onnx_build: constants fold at once; an input stays a node */
  dlc_type vt = {.dtype = DLC_I64, .rank = 1, .dims = {2}};
  int64_t wv[2] = {10, 20};
  dlc_node *w = dlc_graph_add_weight(c.g, "w", &vt, wv, c.loc);
  dlc_node *ops[2] = {k, w};
  dlc_node *sum = onnx_build(&nc, DLC_OP_ADD, 2, ops, NULL);
  ck_assert_int_eq(sum->op, DLC_OP_CONST);
  ck_assert_int_eq(((int64_t *)sum->data)[0], 14);
  ck_assert_int_eq(((int64_t *)sum->data)[1], 25);
  nc.nin = 2;
  nc.in = ops;
  ck_assert_ptr_eq(onnx_const_input(&nc, 1), w->data);
  dlc_node *x = dlc_graph_add_input(c.g, "x", &vt, c.loc);
  ops[0] = x;
  ck_assert_ptr_null(onnx_const_input(&nc, 0));
  ck_assert_ptr_null(onnx_const_input(&nc, 2));
  dlc_node *add = onnx_build(&nc, DLC_OP_ADD, 2, ops, NULL);
  ck_assert_int_eq(add->op, DLC_OP_ADD);
  /* a shape error is the shape rule's message and a note naming the node */
  dlc_type bt = {.dtype = DLC_I64, .rank = 1, .dims = {3}};
  ops[1] = dlc_graph_add_weight(c.g, "b", &bt, NULL, c.loc);
  tu_sink_close(&s);
  tu_sink_open(&s);
  nc.d = c.d = s.d;
  ck_assert_ptr_null(onnx_build(&nc, DLC_OP_ADD, 2, ops, NULL));
  const char *text = tu_sink_text(&s);
  ck_assert_msg(strncmp(text, "m.onnx: error: ", 15) == 0, "%s", text);
  ck_assert_ptr_nonnull(strstr(text, "\nm.onnx: note: in node 'f' (Foo)\n"));
  dlc_graph_free(c.g);
  dlc_arena_free(c.arena);
  tu_sink_close(&s);
  mb_free(b);
}
END_TEST

/* The node loop with the real converters: constant operands fold at once,
 * the others become graph nodes in order. */
START_TEST(converters) {
  mb *b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  set_floats(b, mb_init(b, "a", T_FLOAT, "2"), 2);
  set_floats(b, mb_init(b, "b", T_FLOAT, "2"), 2);
  mb_node(b, "Add", "fold", "a,b", "c");
  mb_node(b, "Sub", "sub", "x,c", "d");
  mb_node(b, "Relu", "relu", "d", "y");
  mb_output(b, "y");
  mb_output(b, "c");
  char *path = mb_write(b, "conv.onnx");
  dlc_graph *g = import_ok(path, NULL);
  dlc_node *c = output(g, "c");
  ck_assert_int_eq(c->op, DLC_OP_CONST);
  ck_assert(((float *)c->data)[0] == 0 && ((float *)c->data)[1] == 2);
  dlc_node *y = output(g, "y");
  ck_assert_int_eq(y->op, DLC_OP_RELU);
  ck_assert_int_eq(y->in[0]->op, DLC_OP_SUB);
  ck_assert_ptr_eq(y->in[0]->in[0], g->inputs[0]);
  ck_assert_ptr_eq(y->in[0]->in[1], c);
  float x[2] = {5, 1}, want[2] = {5, 0};
  const void *ins[1] = {x};
  void *outs[2] = {NULL, NULL};
  ck_assert_int_eq(dlc_eval_graph(g, ins, outs, NULL), DLC_OK);
  tu_assert_close("y", DLC_F32, outs[0], want, 2, 0, 0);
  free(outs[0]);
  free(outs[1]);
  dlc_graph_free(g);
  free(path);
  mb_free(b);
}
END_TEST

/* A converter's error names its node; what depends on the failed node is
 * not reported again, and the unsupported listing still comes. */
START_TEST(converter_error) {
  mb *b = mb_new(13);
  mb_input(b, "x", T_FLOAT, "2");
  mb_input(b, "z", T_FLOAT, "3");
  mb_node(b, "Add", "bad", "x,z", "s");
  mb_node(b, "Relu", "after", "s", "y");
  mb_node(b, "NoSuchOp", "u", "y", "q");
  mb_output(b, "q");
  char *path = mb_write(b, "converr.onnx");
  char *text;
  ck_assert_ptr_null(import(path, NULL, &text));
  char *note = NULL, *unsup = NULL;
  ck_assert(asprintf(&note, "%s: note: in node 'bad' (Add)\n", path) > 0);
  ck_assert(asprintf(&unsup,
                     "%s: error: unsupported operator: NoSuchOp (opset 13) in "
                     "node 'u'\n",
                     path) > 0);
  /* the shape rule's message, then the note, then the listing */
  ck_assert_msg(strncmp(text, path, strlen(path)) == 0, "%s", text);
  char *at = strstr(text, note);
  ck_assert_msg(at != NULL, "%s", text);
  ck_assert_str_eq(at + strlen(note), unsup);
  ck_assert_ptr_null(strstr(text, "after"));
  free(note);
  free(unsup);
  free(text);
  free(path);
  mb_free(b);
}
END_TEST

/* ---- the driver ---- */

START_TEST(driver) {
  mb *b = dynamic_model();
  char *path = mb_write(b, "drv.onnx");
  char *out = NULL;
  const char *ok[] = {DLCC_BIN, "--emit=graph", "--shape", "x=2x3",
                      "--shape=y=2x5", path, NULL};
  int rc = tu_run(ok, &out);
  ck_assert_msg(rc == 0, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "f32[2,3]"));
  ck_assert_ptr_nonnull(strstr(out, "i64[2,5]"));
  free(out);
  const char *unbound[] = {DLCC_BIN, "--emit=graph", path, NULL};
  ck_assert_int_eq(tu_run(unbound, &out), 1);
  ck_assert_ptr_nonnull(strstr(out, ": error: inputs 'x', 'y' have dynamic"));
  free(out);
  const char *weights[] = {DLCC_BIN, "--weights=w.safetensors", path, NULL};
  ck_assert_int_eq(tu_run(weights, &out), 1);
  ck_assert_str_eq(out, "error: --weights applies to .dsl models\n");
  free(out);
  char *dsl = tu_path(dir, "m.dsl");
  const char *shape_dsl[] = {DLCC_BIN, "--shape=x=1", dsl, NULL};
  ck_assert_int_eq(tu_run(shape_dsl, &out), 1);
  ck_assert_str_eq(out, "error: --shape applies to .onnx models\n");
  free(out);
  const char *help[] = {DLCC_BIN, "--help", NULL};
  ck_assert_int_eq(tu_run(help, &out), 0);
  ck_assert_ptr_nonnull(strstr(out, "--shape=NAME=DIMS"));
  ck_assert_ptr_nonnull(strstr(out, "MODEL.onnx"));
  free(out);
  free(dsl);
  free(path);
  mb_free(b);
}
END_TEST

/* ---- real models ---- */

/* Every model of the ONNX node tests imports or fails with errors, and
 * never crashes; each failure names the file. */
START_TEST(node_test_data) {
  glob_t gl;
  if (glob(NODE_DATA "/*/model.onnx", 0, NULL, &gl) != 0) {
    ck_abort_msg("no ONNX test data under " NODE_DATA);
    return;
  }
  int loaded = 0;
  for (size_t i = 0; i < gl.gl_pathc; i++) {
    char *text;
    dlc_graph *g = import(gl.gl_pathv[i], NULL, &text);
    if (g) {
      loaded++;
      tu_sink s;
      tu_sink_open(&s);
      ck_assert_msg(dlc_graph_verify(g, s.d) == DLC_OK, "%s: %s",
                    gl.gl_pathv[i], tu_sink_text(&s));
      tu_sink_close(&s);
    } else {
      ck_assert_msg(strncmp(text, gl.gl_pathv[i], strlen(gl.gl_pathv[i])) == 0,
                    "%s", text);
    }
    dlc_graph_free(g);
    free(text);
  }
  ck_assert_int_gt((int)gl.gl_pathc, 100);
  fprintf(stderr, "onnx node test data: %d of %zu models import\n", loaded,
          gl.gl_pathc);
  globfree(&gl);
}
END_TEST

/* A TensorProto .pb file of the ONNX test data: its type and data
 * (malloc'd). */
static void *read_pb(const char *path, dlc_type *type) {
  size_t n;
  char *bytes = tu_read_file(path, &n);
  ck_assert_msg(bytes != NULL, "cannot read %s", path);
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, n, (uint8_t *)bytes);
  ck_assert_ptr_nonnull(t);
  tu_sink s;
  tu_sink_open(&s);
  onnx_ctx c = {.arena = dlc_arena_new(), .d = s.d, .path = path, .dir = ".",
                .loc = {path, 0, 0}};
  const void *data;
  void *owned;
  bool empty;
  ck_assert_int_eq(onnx_tensor_decode(&c, t, "tensor", type, &data, &owned,
                                      &empty), DLC_OK);
  ck_assert(!empty);
  size_t bytes_n = dlc_type_bytes(type);
  void *out = malloc(bytes_n);
  memcpy(out, data, bytes_n);
  free(owned);
  onnx__tensor_proto__free_unpacked(t, NULL);
  dlc_arena_free(c.arena);
  tu_sink_close(&s);
  free(bytes);
  return out;
}

/* ONNX's own Relu test: imported and run by the evaluator against the
 * expected output. */
START_TEST(real_relu) {
  const char *model = NODE_DATA "/test_relu/model.onnx";
  dlc_graph *g = import_ok(model, NULL);
  ck_assert_int_eq(g->ninputs, 1);
  ck_assert_int_eq(g->noutputs, 1);
  check_type(g->inputs[0], "f32[3,4,5]");
  dlc_type xt, yt;
  void *x = read_pb(NODE_DATA "/test_relu/test_data_set_0/input_0.pb", &xt);
  void *want = read_pb(NODE_DATA "/test_relu/test_data_set_0/output_0.pb", &yt);
  ck_assert(dlc_type_equal(&xt, &g->inputs[0]->type));
  ck_assert(dlc_type_equal(&yt, &g->outputs[0].node->type));
  const void *ins[1] = {x};
  void *outs[1] = {NULL};
  ck_assert_int_eq(dlc_eval_graph(g, ins, outs, NULL), DLC_OK);
  tu_assert_close("relu", DLC_F32, outs[0], want, dlc_type_numel(&yt), 0, 0);
  free(outs[0]);
  free(x);
  free(want);
  dlc_graph_free(g);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("onnx_import");
  TCase *t = tcase_create("onnx_import");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, inputs_and_initializers);
  tcase_add_test(t, newer_ir_version);
  tcase_add_test(t, unsupported_types);
  tcase_add_test(t, shape_binding);
  tcase_add_test(t, shape_unbound);
  tcase_add_loop_test(t, shape_error, 0,
                      (int)(sizeof shape_errors / sizeof *shape_errors));
  tcase_add_test(t, external_data);
  tcase_add_loop_test(t, external_error, 0,
                      (int)(sizeof external_errors / sizeof *external_errors));
  tcase_add_test(t, not_protobuf);
  tcase_add_test(t, truncated);
  tcase_add_test(t, nested_too_deep);
  tcase_add_test(t, nested_hostile);
  tcase_add_loop_test(t, tensor_error, 0,
                      (int)(sizeof tensor_errors / sizeof *tensor_errors));
  tcase_add_test(t, bad_input_dims);
  tcase_add_test(t, graph_structure);
  tcase_add_test(t, duplicate_names);
  tcase_add_test(t, opsets);
  tcase_add_test(t, unsupported_listing);
  tcase_add_test(t, many);
  tcase_add_test(t, attributes);
  tcase_add_test(t, converters);
  tcase_add_test(t, converter_error);
  tcase_add_test(t, driver);
  tcase_add_test(t, real_relu);
  tcase_add_test(t, node_test_data);
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
