/* The ONNX operator converters (frontend/onnx/ops*.c) on what ONNX's node
 * tests cover poorly: small models built here with the protobuf-c structs,
 * imported, then compared as graph text (after dce) or evaluated with the
 * reference evaluator; the exact text of the unsupported-form errors; and
 * ONNX's own node tests whose shape and index operands are graph inputs,
 * rerun with those inputs made initializers (the conformance runner has to
 * report them unsupported, as dlcc needs such operands as constants). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/onnx/onnx_import.h"
#include "frontend/onnx/onnx_internal.h"
#include "ir/eval.h"
#include "onnx/onnx.pb-c.h"
#include "passes/passes.h"
#include "tests/testutil.h"

enum { F = 1, I32 = 6, I64 = 7, B = 9, F64 = 11 }; /* TensorProto types */

/* ---- building models -------------------------------------------------- */

static tu_sink sink;
static char *dir;
static void **pool; /* every allocation of the model being built */
static int npool, cappool;
static dlc_graph *graph;

static void *mk(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (npool == cappool) {
    cappool = cappool ? 2 * cappool : 64;
    pool = realloc(pool, sizeof *pool * (size_t)cappool);
  }
  pool[npool++] = p;
  return p;
}

static char *mkstr(const char *s) { return strcpy(mk(strlen(s) + 1), s); }

static void *mkcopy(const void *p, size_t n) { return memcpy(mk(n), p, n); }

#define MAXN 32
static Onnx__ModelProto model;
static Onnx__GraphProto gp;
static Onnx__OperatorSetIdProto opset;
static Onnx__OperatorSetIdProto *opsets[1] = {&opset};
static Onnx__NodeProto *nodes[MAXN];
static Onnx__ValueInfoProto *ins[MAXN], *outs[MAXN];
static Onnx__TensorProto *inits[MAXN];

static void setup(void) {
  tu_sink_open(&sink);
  dir = tu_tmpdir("onnx_ops");
}

static void teardown(void) {
  dlc_graph_free(graph);
  graph = NULL;
  for (int i = 0; i < npool; i++)
    free(pool[i]);
  free(pool);
  pool = NULL;
  npool = cappool = 0;
  tu_sink_close(&sink);
  free(dir);
}

/* Starts a model at the given opset of the default domain, with a fresh
 * sink and no imported graph. */
static void begin(int64_t version) {
  dlc_graph_free(graph);
  graph = NULL;
  tu_sink_close(&sink);
  tu_sink_open(&sink);
  model = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
  gp = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
  opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  opset.has_version = 1;
  opset.version = version;
  model.has_ir_version = 1;
  model.ir_version = 8;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.graph = &gp;
  gp.name = "t";
  gp.node = nodes;
  gp.input = ins;
  gp.output = outs;
  gp.initializer = inits;
}

/* "2x3x4" into dims; "" is a scalar. Returns the rank. */
static int parse_dims(const char *s, int64_t *dims) {
  int r = 0;
  while (*s) {
    char *end;
    dims[r++] = strtoll(s, &end, 10);
    s = *end == 'x' ? end + 1 : end;
  }
  return r;
}

/* A graph input of ONNX element type et and shape dims ("1x3x5x5"). */
static void input(const char *name, int et, const char *dims) {
  int64_t d[DLC_MAX_RANK];
  int r = parse_dims(dims, d);
  Onnx__TensorShapeProto *sh = mk(sizeof *sh);
  *sh = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
  sh->n_dim = (size_t)r;
  sh->dim = mk(sizeof *sh->dim * (size_t)(r + 1));
  for (int i = 0; i < r; i++) {
    Onnx__TensorShapeProto__Dimension *dm = mk(sizeof *dm);
    *dm = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dm->dim_value = d[i];
    sh->dim[i] = dm;
  }
  Onnx__TypeProto__Tensor *tt = mk(sizeof *tt);
  *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  tt->has_elem_type = 1;
  tt->elem_type = et;
  tt->shape = sh;
  Onnx__TypeProto *tp = mk(sizeof *tp);
  *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  Onnx__ValueInfoProto *v = mk(sizeof *v);
  *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  v->name = mkstr(name);
  v->type = tp;
  ins[gp.n_input++] = v;
}

static void output(const char *name) {
  Onnx__ValueInfoProto *v = mk(sizeof *v);
  *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  v->name = mkstr(name);
  outs[gp.n_output++] = v;
}

/* A tensor of element type et (F, I64) and shape dims; data holds float
 * or int64_t values. */
static Onnx__TensorProto *tensor(const char *name, int et, const char *dims,
                                 const void *data) {
  int64_t d[DLC_MAX_RANK], n = 1;
  int r = parse_dims(dims, d);
  for (int i = 0; i < r; i++)
    n *= d[i];
  Onnx__TensorProto *t = mk(sizeof *t);
  *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  t->name = mkstr(name);
  t->has_data_type = 1;
  t->data_type = et;
  t->n_dims = (size_t)r;
  t->dims = mkcopy(d, sizeof(int64_t) * (size_t)(r + 1));
  if (et == F) {
    t->n_float_data = (size_t)n;
    t->float_data = mkcopy(data, sizeof(float) * (size_t)n);
  } else {
    ck_assert_int_eq(et, I64);
    t->n_int64_data = (size_t)n;
    t->int64_data = mkcopy(data, sizeof(int64_t) * (size_t)n);
  }
  return t;
}

static void init(const char *name, int et, const char *dims, const void *data) {
  inits[gp.n_initializer++] = tensor(name, et, dims, data);
}

#define FLOATS(...) ((const float[]){__VA_ARGS__})
#define I64S(...) ((const int64_t[]){__VA_ARGS__})

/* A node; ins and outs are comma-separated names, an empty one absent
 * ("x,,min"). */
static void split_names(const char *s, char ***v, size_t *n) {
  *n = 0;
  *v = mk(sizeof **v * (strlen(s) + 2));
  if (!*s)
    return;
  for (;;) {
    const char *c = strchr(s, ',');
    size_t len = c ? (size_t)(c - s) : strlen(s);
    char *name = mk(len + 1);
    memcpy(name, s, len);
    (*v)[(*n)++] = name;
    if (!c)
      return;
    s = c + 1;
  }
}

static Onnx__NodeProto *node(const char *op, const char *in, const char *out) {
  Onnx__NodeProto *n = mk(sizeof *n);
  *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  n->op_type = mkstr(op);
  n->name = mkstr(op);
  split_names(in, &n->input, &n->n_input);
  split_names(out, &n->output, &n->n_output);
  n->attribute = mk(sizeof *n->attribute * 16);
  nodes[gp.n_node++] = n;
  return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name,
                                  Onnx__AttributeProto__AttributeType t) {
  Onnx__AttributeProto *a = mk(sizeof *a);
  *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  a->name = mkstr(name);
  a->has_type = 1;
  a->type = t;
  n->attribute[n->n_attribute++] = a;
  return a;
}

static void attr_i(Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static void attr_f(Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

static void attr_s(Onnx__NodeProto *n, const char *name, const char *s) {
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.data = (uint8_t *)mkstr(s);
  a->s.len = strlen(s);
}

#define attr_ints(n, name, ...)                                                \
  attr_ints_(n, name, sizeof(I64S(__VA_ARGS__)) / sizeof(int64_t),            \
             I64S(__VA_ARGS__))
static void attr_ints_(Onnx__NodeProto *n, const char *name, size_t k,
                       const int64_t *v) {
  Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = k;
  a->ints = mkcopy(v, sizeof(int64_t) * k);
}

static void attr_t(Onnx__NodeProto *n, const char *name,
                   Onnx__TensorProto *t) {
  attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

/* Writes the model to dir/m.onnx and imports it into graph (NULL after
 * errors, which are in the sink). */
static dlc_graph *import(void) {
  size_t n = onnx__model_proto__get_packed_size(&model);
  uint8_t *buf = malloc(n ? n : 1);
  onnx__model_proto__pack(&model, buf);
  char *path = tu_path(dir, "m.onnx");
  tu_write_file(path, buf, n);
  free(buf);
  dlc_graph_free(graph);
  graph = dlc_onnx_import_file(path, NULL, sink.d);
  free(path);
  return graph;
}

/* The imported graph's text after dce. */
static char *text(void) {
  ck_assert_msg(import() != NULL, "import failed:\n%s", tu_sink_text(&sink));
  ck_assert_int_eq(dlc_run_passes(graph, "dce", NULL, sink.d), DLC_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dlc_graph_print(graph, f);
  fclose(f);
  char *s = mkstr(buf);
  free(buf);
  return s;
}

#define ck_text(want) ck_assert_str_eq(text(), want)

/* The messages of a failed import, with the model path cut to "m.onnx". */
static const char *errors(void) {
  ck_assert_msg(import() == NULL, "import succeeded");
  const char *s = tu_sink_text(&sink);
  char *out = mk(strlen(s) + 1), *o = out;
  size_t dl = strlen(dir);
  while (*s) {
    if (strncmp(s, dir, dl) == 0 && s[dl] == '/') {
      s += dl + 1;
      continue;
    }
    *o++ = *s++;
  }
  *o = 0;
  return out;
}

/* Evaluates the imported graph on inputs (one per graph input, in order)
 * and compares output k with want (nwant values of dtype dt). */
static void eval_check(const void *const *inputs, int k, dlc_dtype dt,
                       const void *want, int64_t nwant) {
  ck_assert_msg(graph != NULL || import() != NULL, "import failed:\n%s",
                tu_sink_text(&sink));
  void *outputs[MAXN] = {0};
  ck_assert_int_eq(dlc_eval_graph(graph, inputs, outputs, sink.d), DLC_OK);
  const dlc_type *t = &graph->outputs[k].node->type;
  ck_assert_int_eq(t->dtype, dt);
  ck_assert_int_eq(dlc_type_numel(t), nwant);
  tu_assert_close(graph->outputs[k].name, dt, outputs[k], want, nwant, 1e-5,
                  1e-6);
  for (int i = 0; i < graph->noutputs; i++)
    free(outputs[i]);
}

/* ---- the table -------------------------------------------------------- */

START_TEST(lookup) {
  ck_assert_ptr_nonnull(onnx_find_converter("Add", 7));
  ck_assert_ptr_nonnull(onnx_find_converter("Add", 17));
  ck_assert_ptr_null(onnx_find_converter("Add", 6));
  ck_assert_ptr_null(onnx_find_converter("Add", 18));
  ck_assert_ptr_null(onnx_find_converter("add", 13));
  ck_assert_ptr_null(onnx_find_converter("Gelu", 17));
  ck_assert_ptr_null(onnx_find_converter("LayerNormalization", 16));
  ck_assert_ptr_nonnull(onnx_find_converter("LayerNormalization", 17));
  ck_assert_ptr_null(onnx_find_converter("Where", 8));
  ck_assert_ptr_null(onnx_find_converter("Range", 10));
  /* one form per opset range */
  ck_assert_ptr_ne(onnx_find_converter("Clip", 10), onnx_find_converter("Clip", 11));
  ck_assert_ptr_eq(onnx_find_converter("Clip", 11), onnx_find_converter("Clip", 17));
  ck_assert_ptr_ne(onnx_find_converter("Softmax", 12),
                   onnx_find_converter("Softmax", 13));
  ck_assert_ptr_ne(onnx_find_converter("ReduceSum", 12),
                   onnx_find_converter("ReduceSum", 13));
}
END_TEST

/* ---- contractions ----------------------------------------------------- */

START_TEST(gemm_trans_alpha_beta) {
  begin(13);
  input("a", F, "3x2");
  input("b", F, "4x3");
  init("c", F, "4", FLOATS(1, 2, 3, 4));
  Onnx__NodeProto *n = node("Gemm", "a,b,c", "y");
  attr_i(n, "transA", 1);
  attr_i(n, "transB", 1);
  attr_f(n, "alpha", 0.5f);
  attr_f(n, "beta", 2.0f);
  output("y");
  ck_text("model t {\n"
          "  input a : f32[3,2]\n"
          "  input b : f32[4,3]\n"
          "  %0 = transpose(a, perm=[1,0]) : f32[2,3]\n"
          "  %1 = transpose(b, perm=[1,0]) : f32[3,4]\n"
          "  %2 = matmul(%0, %1) : f32[2,4]\n"
          "  %3 = const 0.5 : f32[]\n"
          "  %4 = mul(%2, %3) : f32[2,4]\n"
          "  %5 = const [2, 4, 6, 8] : f32[4]\n"
          "  %6 = add(%4, %5) : f32[2,4]\n"
          "  output y = %6\n"
          "}\n");
  /* a' = [[1,3,5],[2,4,6]], b' = the 3x4 of b's columns */
  const float a[] = {1, 2, 3, 4, 5, 6};
  const float b[] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1};
  const float want[] = {0.5f * 1 + 2, 0.5f * 3 + 4, 0.5f * 5 + 6, 0.5f * 9 + 8,
                        0.5f * 2 + 2, 0.5f * 4 + 4, 0.5f * 6 + 6, 0.5f * 12 + 8};
  eval_check((const void *[]){a, b}, 0, DLC_F32, want, 8);
}
END_TEST

START_TEST(gemm_no_c) {
  begin(11);
  input("a", F, "2x3");
  input("b", F, "3x4");
  node("Gemm", "a,b", "y");
  output("y");
  ck_text("model t {\n"
          "  input a : f32[2,3]\n"
          "  input b : f32[3,4]\n"
          "  %0 = matmul(a, b) : f32[2,4]\n"
          "  output y = %0\n"
          "}\n");
}
END_TEST

START_TEST(gemm_c_too_big) {
  begin(13);
  input("a", F, "1x3");
  input("b", F, "3x4");
  input("c", F, "2x4");
  node("Gemm", "a,b,c", "y");
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Gemm' (Gemm): C f32[2,4] "
                             "does not broadcast to the product f32[1,4]\n");
}
END_TEST

START_TEST(matmul_vectors) {
  static const char *const cases[][4] = {
      /* a, b, result type */
      {"3", "3x4", "f32[4]"},
      {"2x3", "3", "f32[2]"},
      {"3", "3", "f32[]"},
      {"3", "5x3x4", "f32[5,4]"},
      {"5x2x3", "3", "f32[5,2]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    begin(13);
    input("a", F, cases[i][0]);
    input("b", F, cases[i][1]);
    node("MatMul", "a,b", "y");
    output("y");
    ck_assert_msg(import() != NULL, "%s", tu_sink_text(&sink));
    char s[DLC_TYPE_STRLEN];
    ck_assert_str_eq(
        dlc_type_str(&graph->outputs[0].node->type, s, sizeof s), cases[i][2]);
  }
  /* [1,2,3] @ [[1,0],[0,1],[1,1]] = [4, 5] */
  begin(13);
  input("a", F, "3");
  init("b", F, "3x2", FLOATS(1, 0, 0, 1, 1, 1));
  node("MatMul", "a,b", "y");
  output("y");
  eval_check((const void *[]){FLOATS(1, 2, 3)}, 0, DLC_F32, FLOATS(4, 5), 2);
}
END_TEST

/* ---- windows ---------------------------------------------------------- */

/* A 1x1x5x6 input and a 3x3 weight with stride 2. SAME keeps
 * ceil(in / 2) = 3 rows and columns: the rows need (3-1)*2 + 3 - 5 = 2 pads,
 * one each side; the columns need 1, at the end (UPPER) or the beginning
 * (LOWER). With dilation 2 the window spans 5: 4 rows, 3 columns. */
static void conv_model(const char *auto_pad, int64_t dil) {
  begin(11);
  input("x", F, "1x1x5x6");
  input("w", F, "2x1x3x3");
  Onnx__NodeProto *n = node("Conv", "x,w", "y");
  attr_s(n, "auto_pad", auto_pad);
  attr_ints(n, "strides", 2, 2);
  if (dil != 1)
    attr_ints(n, "dilations", dil, dil);
  output("y");
}

START_TEST(conv_auto_pad) {
  conv_model("SAME_UPPER", 1);
  ck_assert_ptr_nonnull(strstr(text(), "conv2d(x, w, stride=[2,2], "
                               "pad=[1,0,1,1], dilation=[1,1], groups=1) : "
                               "f32[1,2,3,3]"));
  conv_model("SAME_LOWER", 1);
  ck_assert_ptr_nonnull(strstr(text(), "pad=[1,1,1,0], dilation=[1,1], "
                               "groups=1) : f32[1,2,3,3]"));
  conv_model("VALID", 1);
  ck_assert_ptr_nonnull(strstr(text(), "pad=[0,0,0,0], dilation=[1,1], "
                               "groups=1) : f32[1,2,2,2]"));
  /* dilation 2: the window spans 5, so height needs 2*2+5-5 = 4 and width
   * 4+5-6 = 3 */
  conv_model("SAME_UPPER", 2);
  ck_assert_ptr_nonnull(strstr(text(), "pad=[2,1,2,2], dilation=[2,2], "
                               "groups=1) : f32[1,2,3,3]"));
  conv_model("SAME_LOWER", 2);
  ck_assert_ptr_nonnull(strstr(text(), "pad=[2,2,2,1], dilation=[2,2], "
                               "groups=1) : f32[1,2,3,3]"));
}
END_TEST

START_TEST(conv_pads_group_bias_1d) {
  begin(11);
  input("x", F, "1x4x5x5");
  input("w", F, "6x2x3x3");
  input("b", F, "6");
  Onnx__NodeProto *n = node("Conv", "x,w,b", "y");
  attr_ints(n, "pads", 0, 1, 2, 3); /* top, left, bottom, right */
  attr_i(n, "group", 2);
  attr_ints(n, "kernel_shape", 3, 3);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "conv2d(x, w, b, stride=[1,1], "
                               "pad=[0,1,2,3], dilation=[1,1], groups=2) : "
                               "f32[1,6,5,7]"));
  /* 1-D: lifted to a height of 1 */
  begin(11);
  input("x", F, "1x2x7");
  input("w", F, "3x2x3");
  n = node("Conv", "x,w", "y");
  attr_ints(n, "pads", 1, 2);
  attr_ints(n, "strides", 2);
  output("y");
  ck_text("model t {\n"
          "  input x : f32[1,2,7]\n"
          "  input w : f32[3,2,3]\n"
          "  %0 = unsqueeze(x, shape=[1,2,1,7]) : f32[1,2,1,7]\n"
          "  %1 = unsqueeze(w, shape=[3,2,1,3]) : f32[3,2,1,3]\n"
          "  %2 = conv2d(%0, %1, stride=[1,2], pad=[0,1,0,2], dilation=[1,1], "
          "groups=1) : f32[1,3,1,4]\n"
          "  %3 = squeeze(%2, shape=[1,3,4]) : f32[1,3,4]\n"
          "  output y = %3\n"
          "}\n");
}
END_TEST

START_TEST(conv_kernel_shape_mismatch) {
  begin(11);
  input("x", F, "1x1x5x5");
  input("w", F, "1x1x3x3");
  attr_ints(node("Conv", "x,w", "y"), "kernel_shape", 2, 2);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Conv' (Conv): kernel_shape "
                             "differs from the weight's spatial dimensions\n");
}
END_TEST

/* MaxPool over [1,2,3,4,5] with kernel 2, stride 2: ceil_mode gives a
 * third window [5] (the end padded by 1). */
START_TEST(pool_ceil_mode) {
  begin(12);
  input("x", F, "1x1x1x5");
  Onnx__NodeProto *n = node("MaxPool", "x", "y");
  attr_ints(n, "kernel_shape", 1, 2);
  attr_ints(n, "strides", 1, 2);
  attr_i(n, "ceil_mode", 1);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "max_pool2d(x, kernel=[1,2], "
                               "stride=[1,2], pad=[0,0,0,1]) : f32[1,1,1,3]"));
  eval_check((const void *[]){FLOATS(1, 2, 3, 4, 5)}, 0, DLC_F32,
             FLOATS(2, 4, 5), 3);
  /* the same with AveragePool: the last window's mean is of one element */
  begin(12);
  input("x", F, "1x1x1x5");
  n = node("AveragePool", "x", "y");
  attr_ints(n, "kernel_shape", 1, 2);
  attr_ints(n, "strides", 1, 2);
  attr_i(n, "ceil_mode", 1);
  output("y");
  eval_check((const void *[]){FLOATS(1, 2, 3, 4, 5)}, 0, DLC_F32,
             FLOATS(1.5, 3.5, 5), 3);
  /* when ceil and floor agree, nothing changes */
  begin(12);
  input("x", F, "1x1x4x4");
  n = node("MaxPool", "x", "y");
  attr_ints(n, "kernel_shape", 2, 2);
  attr_ints(n, "strides", 2, 2);
  attr_i(n, "ceil_mode", 1);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "pad=[0,0,0,0]) : f32[1,1,2,2]"));
}
END_TEST

START_TEST(pool_unsupported_forms) {
  begin(12);
  input("x", F, "1x1x1x5");
  Onnx__NodeProto *n = node("AveragePool", "x", "y");
  attr_ints(n, "kernel_shape", 1, 2);
  attr_ints(n, "strides", 1, 2);
  attr_i(n, "ceil_mode", 1);
  attr_i(n, "count_include_pad", 1);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'AveragePool' (AveragePool): "
                             "ceil_mode=1 is not supported with "
                             "count_include_pad=1 when it changes the output "
                             "size\n");
  begin(12);
  input("x", F, "1x1x5x5");
  n = node("MaxPool", "x", "y");
  attr_ints(n, "kernel_shape", 2, 2);
  attr_ints(n, "dilations", 2, 2);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'MaxPool' (MaxPool): "
                             "dilations other than 1 are not supported for "
                             "pooling\n");
  begin(12);
  input("x", F, "1x1x5x5");
  attr_ints(node("MaxPool", "x", "y,i"), "kernel_shape", 2, 2);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'MaxPool' (MaxPool): "
                             "output 1 (Indices) is not supported\n");
  begin(12);
  input("x", F, "1x1x5x5x5");
  attr_ints(node("MaxPool", "x", "y"), "kernel_shape", 2, 2, 2);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'MaxPool' (MaxPool): 3-D "
                             "windows are not supported (only 1-D and 2-D): "
                             "the input is f32[1,1,5,5,5]\n");
}
END_TEST

/* ---- normalizations --------------------------------------------------- */

/* Before opset 13 Softmax normalizes x coerced to 2-D at axis: with
 * axis=1 over [2,2,2], each of the 2 rows of 4 sums to 1. */
START_TEST(softmax_coerced) {
  begin(11);
  input("x", F, "2x2x2");
  node("Softmax", "x", "y");
  output("y");
  ck_text("model t {\n"
          "  input x : f32[2,2,2]\n"
          "  %0 = flatten(x, shape=[2,4]) : f32[2,4]\n"
          "  %1 = softmax(%0, axis=1) : f32[2,4]\n"
          "  %2 = reshape(%1, shape=[2,2,2]) : f32[2,2,2]\n"
          "  output y = %2\n"
          "}\n");
  const float x[] = {0, 0, 0, 0, 1, 2, 3, 4};
  float want[8] = {0.25f, 0.25f, 0.25f, 0.25f};
  double sum = 0;
  for (int i = 4; i < 8; i++)
    sum += exp(x[i]);
  for (int i = 4; i < 8; i++)
    want[i] = (float)(exp(x[i]) / sum);
  eval_check((const void *[]){x}, 0, DLC_F32, want, 8);
  /* the last axis needs no coercion; opset 13 takes the axis as it is */
  begin(11);
  input("x", F, "2x2x2");
  attr_i(node("LogSoftmax", "x", "y"), "axis", -1);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "= log_softmax(x, axis=2) : f32[2,2,2]"));
  begin(13);
  input("x", F, "2x2x2");
  attr_i(node("Softmax", "x", "y"), "axis", 1);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "= softmax(x, axis=1) : f32[2,2,2]\n"
                                       "  output y = %0"));
}
END_TEST

START_TEST(layer_norm_outputs) {
  begin(17);
  input("x", F, "2x3");
  init("s", F, "3", FLOATS(1, 1, 1));
  node("LayerNormalization", "x,s", "y,mean,inv");
  output("y");
  output("mean");
  output("inv");
  const float x[] = {1, 2, 3, 0, 0, 6};
  const float mean[] = {2, 2};
  const float inv[] = {(float)(1 / sqrt(2.0 / 3 + 1e-5)),
                       (float)(1 / sqrt(8.0 + 1e-5))};
  eval_check((const void *[]){x}, 1, DLC_F32, mean, 2);
  eval_check((const void *[]){x}, 2, DLC_F32, inv, 2);
  ck_assert_int_eq(graph->outputs[1].node->type.rank, 2); /* [2,1] */
}
END_TEST

/* ---- reductions ------------------------------------------------------- */

START_TEST(reduce_forms) {
  /* ReduceSum 13: axes an input; none given and noop_with_empty_axes is
   * the identity */
  begin(13);
  input("x", F, "2x3");
  attr_i(node("ReduceSum", "x", "y"), "noop_with_empty_axes", 1);
  output("y");
  ck_text("model t {\n  input x : f32[2,3]\n  output y = x\n}\n");
  begin(13);
  input("x", F, "2x3");
  init("axes", I64, "1", I64S(-1));
  attr_i(node("ReduceSum", "x,axes", "y"), "keepdims", 0);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "sum(x, axes=[1], keepdims=0) : f32[2]"));
  /* LogSumExp without overflow: log(e^1000 + e^1000) = 1000 + log 2 */
  begin(13);
  input("x", F, "2");
  node("ReduceLogSumExp", "x", "y");
  output("y");
  eval_check((const void *[]){FLOATS(1000, 1000)}, 0, DLC_F32,
             FLOATS((float)(1000 + log(2.0))), 1);
  begin(13);
  input("x", F, "2x2");
  attr_ints(node("ReduceL2", "x", "y"), "axes", 1);
  output("y");
  eval_check((const void *[]){FLOATS(3, 4, 6, 8)}, 0, DLC_F32, FLOATS(5, 10),
             2);
}
END_TEST

/* ---- elementwise ------------------------------------------------------ */

START_TEST(compare_or_equal) {
  begin(13);
  input("a", F, "4");
  input("b", F, "4");
  node("LessOrEqual", "a,b", "le");
  node("GreaterOrEqual", "a,b", "ge");
  output("le");
  output("ge");
  const float a[] = {1, 2, 3, NAN}, b[] = {2, 2, 2, 0};
  const uint8_t le[] = {1, 1, 0, 0}, ge[] = {0, 1, 1, 0};
  eval_check((const void *[]){a, b}, 0, DLC_BOOL, le, 4);
  eval_check((const void *[]){a, b}, 1, DLC_BOOL, ge, 4);
}
END_TEST

START_TEST(clip_forms) {
  /* opset 6 to 10: attributes */
  begin(7);
  input("x", F, "3");
  attr_f(node("Clip", "x", "y"), "max", 1.5f);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "clip(x, max=1.5) : f32[3]"));
  /* from 11: constant inputs become attributes, others maximum/minimum */
  begin(11);
  input("x", F, "3");
  input("hi", F, "");
  init("lo", F, "", FLOATS(-1));
  node("Clip", "x,lo,hi", "y");
  output("y");
  ck_text("model t {\n"
          "  input x : f32[3]\n"
          "  input hi : f32[]\n"
          "  %0 = clip(x, min=-1) : f32[3]\n"
          "  %1 = minimum(%0, hi) : f32[3]\n"
          "  output y = %1\n"
          "}\n");
  eval_check((const void *[]){FLOATS(-5, 0.5, 5), FLOATS(2)}, 0, DLC_F32,
             FLOATS(-1, 0.5, 2), 3);
}
END_TEST

START_TEST(cast_and_dropout) {
  begin(13);
  input("x", F, "2");
  attr_i(node("Cast", "x", "y"), "to", 10);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Cast' (Cast): casting to "
                             "FLOAT16 is not supported (only to FLOAT, DOUBLE, "
                             "INT32, INT64 and BOOL)\n");
  begin(13);
  input("x", F, "2");
  init("ratio", F, "", FLOATS(0.5));
  init("train", I64, "", I64S(1));
  node("Dropout", "x,ratio,train", "y");
  output("y");
  /* training_mode is a bool; an i64 one is still read as a flag */
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Dropout' (Dropout): "
                             "training_mode=1 with a ratio other than 0 "
                             "(random dropout) is not supported\n");
  /* inference: the identity and a mask of ones */
  begin(13);
  input("x", F, "2");
  node("Dropout", "x", "y,mask");
  output("y");
  output("mask");
  ck_text("model t {\n"
          "  input x : f32[2]\n"
          "  %0 = const [true, true] : bool[2]\n"
          "  output y = x\n"
          "  output mask = %0\n"
          "}\n");
}
END_TEST

/* ---- data movement ---------------------------------------------------- */

START_TEST(reshape_zero_minus_one) {
  begin(13);
  input("x", F, "2x3x4");
  init("shape", I64, "3", I64S(0, -1, 2));
  node("Reshape", "x,shape", "y");
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "reshape(x, shape=[2,6,2]) : f32[2,6,2]"));
  begin(14);
  input("x", F, "2x3x4");
  init("shape", I64, "2", I64S(0, 12));
  attr_i(node("Reshape", "x,shape", "y"), "allowzero", 1);
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Reshape' (Reshape): shape "
                             "[0,12] with allowzero=1 makes an empty tensor, "
                             "which dlcc does not support\n");
  begin(13);
  input("x", F, "2x3x4");
  input("shape", I64, "2");
  node("Reshape", "x,shape", "y");
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Reshape' (Reshape): input "
                             "1 (shape) is computed, which is not supported: "
                             "dlcc needs it as a constant\n");
}
END_TEST

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters write
 * x.view(x.size(0), -1): folded at import into one reshape. */
START_TEST(shape_chain_folds) {
  begin(13);
  input("x", F, "2x3x4");
  init("zero", I64, "", I64S(0));
  init("axes", I64, "1", I64S(0));
  init("minus1", I64, "1", I64S(-1));
  node("Shape", "x", "s");
  node("Gather", "s,zero", "n");
  node("Unsqueeze", "n,axes", "n1");
  node("Concat", "n1,minus1", "shape");
  attr_i(nodes[3], "axis", 0);
  node("Reshape", "x,shape", "y");
  output("y");
  ck_text("model t {\n"
          "  input x : f32[2,3,4]\n"
          "  %0 = reshape(x, shape=[2,12]) : f32[2,12]\n"
          "  output y = %0\n"
          "}\n");
  /* Shape's start and end (opset 15) */
  begin(15);
  input("x", F, "2x3x4x5");
  Onnx__NodeProto *n = node("Shape", "x", "y");
  attr_i(n, "start", 1);
  attr_i(n, "end", -1);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "const [3, 4] : i64[2]"));
}
END_TEST

/* x = 0..23 as [2,3,4]; ONNX clamps like Python, except that a start
 * below -dim becomes 0 with a negative step too. */
START_TEST(slice_multi_axis) {
  begin(13);
  input("x", F, "2x3x4");
  init("starts", I64, "3", I64S(-1, INT64_MAX, -100));
  init("ends", I64, "3", I64S(INT64_MIN, 0, -2));
  init("axes", I64, "3", I64S(2, 1, 0));
  init("steps", I64, "3", I64S(-2, -1, 1));
  node("Slice", "x,starts,ends,axes,steps", "y");
  output("y");
  /* axis 2 keeps indices 3, 1; axis 1 keeps 2, 1; axis 0 is [-100:-2],
   * which is [0:0]: empty */
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Slice' (Slice): the slice "
                             "of axis 0 of f32[2,2,2] is empty (starts -100, "
                             "ends -2, steps 1), and empty tensors are not "
                             "supported\n");
  begin(13);
  input("x", F, "2x3x4");
  init("starts", I64, "3", I64S(-1, INT64_MAX, -100));
  init("ends", I64, "3", I64S(INT64_MIN, 0, -1));
  init("axes", I64, "3", I64S(2, 1, -3));
  init("steps", I64, "3", I64S(-2, -1, 1));
  node("Slice", "x,starts,ends,axes,steps", "y");
  output("y");
  ck_text("model t {\n"
          "  input x : f32[2,3,4]\n"
          "  %0 = slice(x, axis=2, start=3, step=-2) : f32[2,3,2]\n"
          "  %1 = slice(%0, axis=1, start=2, step=-1) : f32[2,2,2]\n"
          "  %2 = slice(%1, axis=0, start=0, step=1) : f32[1,2,2]\n"
          "  output y = %2\n"
          "}\n");
  float x[24];
  for (int i = 0; i < 24; i++)
    x[i] = (float)i;
  /* x[0, [2,1], [3,1]] */
  eval_check((const void *[]){x}, 0, DLC_F32, FLOATS(11, 9, 7, 5), 4);
  /* a start below -dim with a negative step is 0: x[-100::-1] is [x[0]] */
  begin(13);
  input("x", F, "4");
  init("starts", I64, "1", I64S(-100));
  init("ends", I64, "1", I64S(INT64_MIN));
  init("axes", I64, "1", I64S(0));
  init("steps", I64, "1", I64S(-1));
  node("Slice", "x,starts,ends,axes,steps", "y");
  output("y");
  eval_check((const void *[]){FLOATS(1, 2, 3, 4)}, 0, DLC_F32, FLOATS(1), 1);
  /* opset 9: attributes, no steps */
  begin(9);
  input("x", F, "2x3x4");
  Onnx__NodeProto *n = node("Slice", "x", "y");
  attr_ints(n, "starts", 1, -3);
  attr_ints(n, "ends", 1000, -1);
  attr_ints(n, "axes", 0, 2);
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "%0 = slice(x, axis=0, start=1, step=1) "
                               ": f32[1,3,4]\n  %1 = slice(%0, axis=2, "
                               "start=1, step=1) : f32[1,3,2]\n"));
}
END_TEST

START_TEST(expand_both_ways) {
  begin(13);
  input("x", F, "3x1");
  init("shape", I64, "3", I64S(2, 1, 4));
  node("Expand", "x,shape", "y");
  output("y");
  ck_assert_ptr_nonnull(strstr(text(), "broadcast_to(x, shape=[2,3,4]) : "
                               "f32[2,3,4]"));
  begin(13);
  input("x", F, "3x4");
  init("shape", I64, "2", I64S(1, 1));
  node("Expand", "x,shape", "y");
  output("y");
  ck_text("model t {\n  input x : f32[3,4]\n  output y = x\n}\n");
  begin(13);
  input("x", F, "3x2");
  init("shape", I64, "1", I64S(4));
  node("Expand", "x,shape", "y");
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Expand' (Expand): cannot "
                             "broadcast f32[3,2] with shape [4]\n");
}
END_TEST

START_TEST(split_forms) {
  /* opset 11: the split attribute */
  begin(11);
  input("x", F, "5x2");
  attr_ints(node("Split", "x", "a,b"), "split", 2, 3);
  output("a");
  output("b");
  ck_text("model t {\n"
          "  input x : f32[5,2]\n"
          "  %0 = slice(x, axis=0, start=0, step=1) : f32[2,2]\n"
          "  %1 = slice(x, axis=0, start=2, step=1) : f32[3,2]\n"
          "  output a = %0\n"
          "  output b = %1\n"
          "}\n");
  /* opset 13: an input; equal parts from the outputs without it */
  begin(13);
  input("x", F, "2x6");
  init("split", I64, "3", I64S(1, 4, 1));
  attr_i(node("Split", "x,split", "a,b,c"), "axis", -1);
  output("c");
  ck_assert_ptr_nonnull(strstr(text(), "slice(x, axis=1, start=5, step=1) : "
                               "f32[2,1]"));
  begin(13);
  input("x", F, "2x6");
  attr_i(node("Split", "x", "a,b,c"), "axis", 1);
  output("a");
  output("b");
  output("c");
  float x[12];
  for (int i = 0; i < 12; i++)
    x[i] = (float)i;
  eval_check((const void *[]){x}, 1, DLC_F32, FLOATS(2, 3, 8, 9), 4);
  begin(13);
  input("x", F, "2x5");
  attr_i(node("Split", "x", "a,b"), "axis", 1);
  output("a");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Split' (Split): dimension "
                             "5 (axis 1) does not split into 2 equal parts\n");
  begin(13);
  input("x", F, "2x5");
  init("split", I64, "2", I64S(2, 2));
  attr_i(node("Split", "x,split", "a,b"), "axis", 1);
  output("a");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Split' (Split): split "
                             "[2,2] adds up to 4, not to dimension 5 (axis "
                             "1)\n");
}
END_TEST

START_TEST(pad_modes) {
  static const char *const modes[] = {"constant", "edge", "reflect"};
  static const float want[3][6] = {
      {9, 9, 1, 2, 3, 9},
      {1, 1, 1, 2, 3, 3},
      {3, 2, 1, 2, 3, 2},
  };
  for (int m = 0; m < 3; m++) {
    begin(13);
    input("x", F, "3");
    init("pads", I64, "2", I64S(2, 1));
    init("v", F, "", FLOATS(9));
    attr_s(node("Pad", m == 0 ? "x,pads,v" : "x,pads", "y"), "mode", modes[m]);
    output("y");
    eval_check((const void *[]){FLOATS(1, 2, 3)}, 0, DLC_F32, want[m], 6);
  }
  /* 2-D with a crop: pads [1, -1, 0, 1] on [2,3] (opset 2 attributes) */
  begin(10);
  input("x", F, "2x3");
  Onnx__NodeProto *n = node("Pad", "x", "y");
  attr_ints(n, "pads", 1, -1, 0, 1);
  attr_s(n, "mode", "edge");
  output("y");
  eval_check((const void *[]){FLOATS(1, 2, 3, 4, 5, 6)}, 0, DLC_F32,
             FLOATS(2, 3, 3, 2, 3, 3, 5, 6, 6), 9);
  begin(13);
  input("x", F, "3");
  init("pads", I64, "2", I64S(3, 0));
  attr_s(node("Pad", "x,pads", "y"), "mode", "reflect");
  output("y");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Pad' (Pad): reflect pads 3 "
                             "and 0 along axis 0 must be smaller than the "
                             "dimension 3\n");
}
END_TEST

START_TEST(constants) {
  begin(13);
  Onnx__NodeProto *n = node("ConstantOfShape", "shape", "y");
  init("shape", I64, "2", I64S(2, 2));
  attr_t(n, "value", tensor("", I64, "1", I64S(7)));
  attr_i(node("Constant", "", "c"), "value_int", 5);
  node("Range", "c,lim,d", "r");
  init("lim", I64, "", I64S(-1));
  init("d", I64, "", I64S(-2));
  output("y");
  output("r");
  ck_text("model t {\n"
          "  %0 = const [7, 7, 7, 7] : i64[2,2]\n"
          "  %1 = const [5, 3, 1] : i64[3]\n"
          "  output y = %0\n"
          "  output r = %1\n"
          "}\n");
  begin(13);
  attr_s(node("Constant", "", "c"), "value_string", "hi");
  output("c");
  ck_assert_str_eq(errors(), "m.onnx: error: node 'Constant' (Constant): the "
                             "attribute 'value_string' is not supported\n");
}
END_TEST

START_TEST(activations) {
  begin(13);
  input("x", F, "4");
  node("Softplus", "x", "sp");
  node("Elu", "x", "elu");
  attr_f(node("HardSigmoid", "x", "hs"), "alpha", 0.25f);
  init("slope", F, "1", FLOATS(0.1f));
  node("PRelu", "x,slope", "pr");
  output("sp");
  output("elu");
  output("hs");
  output("pr");
  const float x[] = {-100, -1, 0, 100};
  float sp[4], elu[4], hs[4], pr[4];
  for (int i = 0; i < 4; i++) {
    sp[i] = (float)(x[i] > 0 ? x[i] + log1p(exp(-x[i])) : log1p(exp(x[i])));
    elu[i] = x[i] < 0 ? (float)expm1(x[i]) : x[i];
    hs[i] = fminf(1, fmaxf(0, 0.25f * x[i] + 0.5f));
    pr[i] = x[i] < 0 ? 0.1f * x[i] : x[i];
  }
  eval_check((const void *[]){x}, 0, DLC_F32, sp, 4);
  eval_check((const void *[]){x}, 1, DLC_F32, elu, 4);
  eval_check((const void *[]){x}, 2, DLC_F32, hs, 4);
  eval_check((const void *[]){x}, 3, DLC_F32, pr, 4);
}
END_TEST

/* ---- ONNX node tests with constant operands --------------------------- */

#define NODE_DATA "/usr/include/onnx/backend/test/data/node"

/* A TensorProto file's values as dlc_dtype data (malloc'd), its type in
 * *t. */
static void *read_pb(const char *path, dlc_type *t) {
  size_t n;
  char *buf = tu_read_file(path, &n);
  ck_assert_msg(buf != NULL, "cannot read %s", path);
  Onnx__TensorProto *p = onnx__tensor_proto__unpack(NULL, n, (uint8_t *)buf);
  free(buf);
  ck_assert_msg(p != NULL, "%s: not a TensorProto", path);
  *t = (dlc_type){.rank = (int)p->n_dims};
  for (size_t i = 0; i < p->n_dims; i++)
    t->dims[i] = p->dims[i];
  ck_assert_msg(onnx_dtype_map(p->data_type, &t->dtype), "%s: type %d", path,
                (int)p->data_type);
  size_t bytes = dlc_type_bytes(t);
  void *data = malloc(bytes ? bytes : 1);
  int64_t k = dlc_type_numel(t);
  if (p->has_raw_data) {
    ck_assert_uint_eq(p->raw_data.len, bytes);
    memcpy(data, p->raw_data.data, bytes);
  } else {
    for (int64_t i = 0; i < k; i++)
      switch (t->dtype) {
      case DLC_F32: ((float *)data)[i] = p->float_data[i]; break;
      case DLC_F64: ((double *)data)[i] = p->double_data[i]; break;
      case DLC_I32: ((int32_t *)data)[i] = p->int32_data[i]; break;
      case DLC_I64: ((int64_t *)data)[i] = p->int64_data[i]; break;
      case DLC_BOOL: ((uint8_t *)data)[i] = p->int32_data[i] != 0; break;
      default: ck_abort();
      }
  }
  onnx__tensor_proto__free_unpacked(p, NULL);
  return data;
}

static const struct {
  const char *name;
  unsigned consts; /* bit i: graph input i becomes an initializer */
} node_cases[] = {
    {"test_reshape_extended_dims", 2},  {"test_reshape_negative_dim", 2},
    {"test_reshape_negative_extended_dims", 2},
    {"test_reshape_one_dim", 2},        {"test_reshape_reduced_dims", 2},
    {"test_reshape_reordered_all_dims", 2},
    {"test_reshape_reordered_last_dims", 2},
    {"test_reshape_zero_and_negative_dim", 2},
    {"test_reshape_zero_dim", 2},       {"test_slice", 30},
    {"test_slice_default_axes", 6},     {"test_slice_default_steps", 14},
    {"test_slice_end_out_of_bounds", 30}, {"test_slice_neg", 30},
    {"test_slice_neg_steps", 30},       {"test_slice_negative_axes", 14},
    {"test_split_variable_parts_1d", 2}, {"test_split_variable_parts_2d", 2},
    {"test_split_variable_parts_default_axis", 2},
    {"test_squeeze", 2},                {"test_squeeze_negative_axes", 2},
    {"test_unsqueeze_axis_0", 2},       {"test_unsqueeze_axis_1", 2},
    {"test_unsqueeze_axis_2", 2},       {"test_unsqueeze_negative_axes", 2},
    {"test_unsqueeze_three_axes", 2},   {"test_unsqueeze_two_axes", 2},
    {"test_unsqueeze_unsorted_axes", 2}, {"test_expand_dim_changed", 2},
    {"test_expand_dim_unchanged", 2},   {"test_tile", 2},
    {"test_tile_precomputed", 2},       {"test_constant_pad", 6},
    {"test_edge_pad", 2},               {"test_reflect_pad", 2},
    {"test_reduce_sum_keepdims_example", 2},
    {"test_reduce_sum_do_not_keepdims_random", 2},
    {"test_reduce_sum_negative_axes_keepdims_example", 2},
    {"test_constantofshape_float_ones", 1},
    {"test_constantofshape_int_zeros", 1},
    {"test_range_float_type_positive_delta", 7},
    {"test_range_int32_type_negative_delta", 7},
    {"test_training_dropout_zero_ratio", 6},
};

/* Imports case's model with the inputs its mask names made initializers
 * (from test_data_set_0), evaluates it on the others and compares every
 * output with the expected one. */
START_TEST(node_test_constant_operands) {
  const char *name = node_cases[_i].name;
  unsigned consts = node_cases[_i].consts;
  char *cdir = tu_path(NODE_DATA, name), *mpath = tu_path(cdir, "model.onnx");
  size_t n;
  char *buf = tu_read_file(mpath, &n);
  ck_assert_msg(buf != NULL, "cannot read %s", mpath);
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, n, (uint8_t *)buf);
  free(buf);
  ck_assert_ptr_nonnull(m);
  Onnx__GraphProto *g = m->graph;
  size_t nin = g->n_input, kept = 0, ninit = g->n_initializer;
  Onnx__ValueInfoProto **oldin = g->input, **newin = mk(sizeof *newin * (nin + 1));
  Onnx__TensorProto **oldinit = g->initializer,
                    **newinit = mk(sizeof *newinit * (ninit + nin + 1));
  if (ninit)
    memcpy(newinit, oldinit, sizeof *newinit * ninit);
  Onnx__TensorProto *made[MAXN];
  char *made_name[MAXN];
  const void *inputs[MAXN];
  void *owned[MAXN];
  int nmade = 0, ninputs = 0;
  for (size_t i = 0; i < nin; i++) {
    char file[64];
    snprintf(file, sizeof file, "test_data_set_0/input_%zu.pb", i);
    char *p = tu_path(cdir, file);
    if (consts & (1u << i)) {
      char *b = tu_read_file(p, &n);
      Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, n, (uint8_t *)b);
      free(b);
      ck_assert_ptr_nonnull(t);
      made_name[nmade] = t->name; /* restored before the free */
      t->name = oldin[i]->name;
      made[nmade++] = t;
      newinit[ninit++] = t;
    } else {
      dlc_type t;
      owned[ninputs] = read_pb(p, &t);
      inputs[ninputs] = owned[ninputs];
      ninputs++;
      newin[kept++] = oldin[i];
    }
    free(p);
  }
  g->input = newin;
  g->n_input = kept;
  g->initializer = newinit;
  g->n_initializer = ninit;
  size_t size = onnx__model_proto__get_packed_size(m);
  uint8_t *packed = malloc(size);
  onnx__model_proto__pack(m, packed);
  g->input = oldin;
  g->n_input = nin;
  g->initializer = oldinit;
  g->n_initializer = ninit - (size_t)nmade;
  for (int i = 0; i < nmade; i++) {
    made[i]->name = made_name[i];
    onnx__tensor_proto__free_unpacked(made[i], NULL);
  }
  char *path = tu_path(dir, "m.onnx");
  tu_write_file(path, packed, size);
  free(packed);
  graph = dlc_onnx_import_file(path, NULL, sink.d);
  ck_assert_msg(graph != NULL, "%s:\n%s", name, tu_sink_text(&sink));
  void *outputs[MAXN] = {0};
  ck_assert_int_eq(dlc_eval_graph(graph, inputs, outputs, sink.d), DLC_OK);
  for (int k = 0; k < graph->noutputs; k++) {
    char file[64];
    snprintf(file, sizeof file, "test_data_set_0/output_%d.pb", k);
    char *p = tu_path(cdir, file);
    dlc_type want;
    void *data = read_pb(p, &want);
    const dlc_type *got = &graph->outputs[k].node->type;
    char s1[DLC_TYPE_STRLEN], s2[DLC_TYPE_STRLEN];
    ck_assert_msg(dlc_type_equal(got, &want), "%s output %d: %s, expected %s",
                  name, k, dlc_type_str(got, s1, sizeof s1),
                  dlc_type_str(&want, s2, sizeof s2));
    tu_assert_close(name, want.dtype, outputs[k], data, dlc_type_numel(&want),
                    1e-5, 1e-6);
    free(data);
    free(p);
    free(outputs[k]);
  }
  for (int i = 0; i < ninputs; i++)
    free(owned[i]);
  onnx__model_proto__free_unpacked(m, NULL);
  free(path);
  free(mpath);
  free(cdir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("onnx_ops");
  TCase *t = tcase_create("converters");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, lookup);
  tcase_add_test(t, gemm_trans_alpha_beta);
  tcase_add_test(t, gemm_no_c);
  tcase_add_test(t, gemm_c_too_big);
  tcase_add_test(t, matmul_vectors);
  tcase_add_test(t, conv_auto_pad);
  tcase_add_test(t, conv_pads_group_bias_1d);
  tcase_add_test(t, conv_kernel_shape_mismatch);
  tcase_add_test(t, pool_ceil_mode);
  tcase_add_test(t, pool_unsupported_forms);
  tcase_add_test(t, softmax_coerced);
  tcase_add_test(t, layer_norm_outputs);
  tcase_add_test(t, reduce_forms);
  tcase_add_test(t, compare_or_equal);
  tcase_add_test(t, clip_forms);
  tcase_add_test(t, cast_and_dropout);
  tcase_add_test(t, reshape_zero_minus_one);
  tcase_add_test(t, shape_chain_folds);
  tcase_add_test(t, slice_multi_axis);
  tcase_add_test(t, expand_both_ways);
  tcase_add_test(t, split_forms);
  tcase_add_test(t, pad_modes);
  tcase_add_test(t, constants);
  tcase_add_test(t, activations);
  suite_add_tcase(s, t);
  struct stat st;
  if (stat(NODE_DATA, &st) == 0) {
    TCase *nt = tcase_create("node_tests");
    tcase_add_checked_fixture(nt, setup, teardown);
    tcase_add_loop_test(nt, node_test_constant_operands, 0,
                        (int)(sizeof node_cases / sizeof node_cases[0]));
    suite_add_tcase(s, nt);
  } else {
    printf("test_onnx_ops: skipping the node-test cases: no %s "
           "(Debian's libonnx-testdata)\n", NODE_DATA);
  }
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
