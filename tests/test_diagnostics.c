/* Programs that must fail, each with the exact text of its diagnostics
 * (location, source line, caret), and malformed input of every kind that
 * must fail cleanly: never a crash, a hang or a leak. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tests/testutil.h"

/* Compiles src (n bytes) as "t.dsl": NULL, or a graph exactly when no
 * error was reported. Returns the diagnostics, malloc'd. */
static char *diagnose(const char *src, size_t n, bool *ok) {
  tu_sink s;
  tu_sink_open(&s);
  dlc_graph *g = dlc_frontend_compile("t.dsl", src, n, NULL, s.d);
  ck_assert_msg((g != NULL) == (dlc_diag_errors(s.d) == 0),
                "graph %p with %d errors", (void *)g, dlc_diag_errors(s.d));
  *ok = g != NULL;
  dlc_graph_free(g);
  char *text = strdup(tu_sink_text(&s));
  tu_sink_close(&s);
  return text;
}

/* src must fail with exactly the diagnostics want. */
static void expect(const char *src, const char *want) {
  bool ok;
  char *got = diagnose(src, strlen(src), &ok);
  ck_assert_msg(!ok, "compiled without errors:\n%s", src);
  ck_assert_str_eq(got, want);
  free(got);
}

/* Weights are held in memory and embedded: a model past 8 GiB of them is
 * refused with a located error before anything is allocated. */
START_TEST(weights_too_big) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  weight a : f32[4096, 1024, 1024] = zeros\n"
         "  weight c : i64[2] = 1\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:10: error: weight 'a' (f32[4096,1024,1024]) would bring the model's "
         "weights past 8 GiB, the most dlcc embeds\n"
         "  weight a : f32[4096, 1024, 1024] = zeros\n"
         "         ^\n");
}
END_TEST

START_TEST(shape_error) {
  expect("model mlp {\n"
         "  input  x  : f32[1, 784]\n"
         "  weight w1 : f32[785, 256] = zeros\n"
         "  weight b1 : f32[256] = zeros\n"
         "  weight w2 : f32[256, 10] = zeros\n"
         "  weight b2 : f32[10] = zeros\n"
         "  h = relu(x @ w1 + b1)\n"
         "  output y = softmax(h @ w2 + b2, axis=-1)\n"
         "}\n",
         "t.dsl:7:12: error: matmul: inner dimensions differ: f32[1,784] @ "
         "f32[785,256]\n"
         "  h = relu(x @ w1 + b1)\n"
         "           ^\n");
}
END_TEST

/* Syntax and semantic errors, all reported in source order; a failed
 * definition does not make its uses fail again. */
START_TEST(independent_errors) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  h = relu(x) +\n"
         "  k = x * q\n"
         "  output y = h + k\n"
         "  z = $\n"
         "  output w = x @ x\n"
         "}\n",
         "t.dsl:3:16: error: unexpected end of line, expected expression\n"
         "  h = relu(x) +\n"
         "               ^\n"
         "t.dsl:4:11: error: use of undefined name 'q'\n"
         "  k = x * q\n"
         "          ^\n"
         "t.dsl:6:7: error: unexpected character '$'\n"
         "  z = $\n"
         "      ^\n"
         "t.dsl:7:14: error: matmul: operands must have rank 2 or more: "
         "f32[2] @ f32[2]\n"
         "  output w = x @ x\n"
         "             ^\n");
}
END_TEST

START_TEST(redefinition) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  h = relu(x)\n"
         "  h = x\n"
         "  weight x : f32[2] = ones\n"
         "  output y = h\n"
         "}\n",
         "t.dsl:4:3: error: redefinition of 'h'\n"
         "  h = x\n"
         "  ^\n"
         "t.dsl:3:3: note: previous definition is here\n"
         "  h = relu(x)\n"
         "  ^\n"
         "t.dsl:5:10: error: redefinition of 'x'\n"
         "  weight x : f32[2] = ones\n"
         "         ^\n"
         "t.dsl:2:9: note: previous definition is here\n"
         "  input x : f32[2]\n"
         "        ^\n");
}
END_TEST

START_TEST(duplicate_output) {
  expect("model m {\n"
         "\tinput x : f32[2]\n"
         "\toutput x\n"
         "\toutput x\n"
         "}\n",
         "t.dsl:4:9: error: duplicate output 'x'\n"
         "\toutput x\n"
         "\t       ^\n"
         "t.dsl:3:9: note: previous output is here\n"
         "\toutput x\n"
         "\t       ^\n");
}
END_TEST

START_TEST(dtypes) {
  expect("model m {\n"
         "  input a : f16[2]\n"
         "  input b : bf16[2]\n"
         "  input c : foo[2]\n"
         "  input d : bool[]\n"
         "  output y = a\n"
         "}\n",
         "t.dsl:2:13: error: dtype 'f16' is not supported yet (supported: "
         "f32, f64, i32, i64, bool)\n"
         "  input a : f16[2]\n"
         "            ^\n"
         "t.dsl:3:13: error: dtype 'bf16' is not supported yet (supported: "
         "f32, f64, i32, i64, bool)\n"
         "  input b : bf16[2]\n"
         "            ^\n"
         "t.dsl:4:13: error: unknown dtype 'foo'\n"
         "  input c : foo[2]\n"
         "            ^\n");
}
END_TEST

/* bool values: literals take 0 and 1 only; no arithmetic on bool. */
START_TEST(bools) {
  expect("model m {\n"
         "  input m : bool[3]; input x : f32[3]\n"
         "  a = equal(m, 2)\n"
         "  b = where(m, x, 1.5) + m\n"
         "  c = where(0.5, x, x)\n"
         "  d = m + m\n"
         "  e = where(x, x, x)\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:16: error: literal '2' is out of range for bool (0 or 1)\n"
         "  a = equal(m, 2)\n"
         "               ^\n"
         "t.dsl:4:7: error: add: operand types differ: f32[3] and bool[3]\n"
         "  b = where(m, x, 1.5) + m\n"
         "      ^\n"
         "t.dsl:5:13: error: floating-point literal '0.5' used as bool\n"
         "  c = where(0.5, x, x)\n"
         "            ^\n"
         "t.dsl:6:7: error: add: expects a numeric operand, got bool[3]\n"
         "  d = m + m\n"
         "      ^\n"
         "t.dsl:7:7: error: where: condition must be bool, got f32[3]\n"
         "  e = where(x, x, x)\n"
         "      ^\n");
}
END_TEST

START_TEST(dimensions) {
  expect("model m {\n"
         "  input a : f32[99999999999999999999]\n"
         "  input b : f32[0, -3]\n"
         "  input c : f32[1,1,1,1,1,1,1,1,1]\n"
         "  input d : f32[1048576, 1048576, 2]\n"
         "  input e : f32[2.5]\n"
         "  input f : f32\n"
         "  output y = a\n"
         "}\n",
         "t.dsl:2:17: error: dimension 99999999999999999999 is too large (a "
         "tensor has at most 2^40 elements)\n"
         "  input a : f32[99999999999999999999]\n"
         "                ^\n"
         "t.dsl:3:17: error: dimension 0 is not positive\n"
         "  input b : f32[0, -3]\n"
         "                ^\n"
         "t.dsl:3:20: error: dimension -3 is not positive\n"
         "  input b : f32[0, -3]\n"
         "                   ^\n"
         "t.dsl:4:33: error: too many dimensions (at most 8)\n"
         "  input c : f32[1,1,1,1,1,1,1,1,1]\n"
         "                                ^\n"
         "t.dsl:5:13: error: tensor type f32[1048576,1048576,2] has more "
         "than 2^40 elements\n"
         "  input d : f32[1048576, 1048576, 2]\n"
         "            ^\n"
         "t.dsl:6:17: error: unexpected number, expected integer, ']' or "
         "'-'\n"
         "  input e : f32[2.5]\n"
         "                ^\n"
         "t.dsl:7:16: error: unexpected end of line, expected '['\n"
         "  input f : f32\n"
         "               ^\n");
}
END_TEST

START_TEST(unknown_operator) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  output y = frobnicate(x, q)\n"
         "  output z = random(seed=1) + const(x)\n"
         "}\n",
         "t.dsl:3:14: error: unknown operator or block 'frobnicate'\n"
         "  output y = frobnicate(x, q)\n"
         "             ^\n"
         "t.dsl:3:28: error: use of undefined name 'q'\n"
         "  output y = frobnicate(x, q)\n"
         "                           ^\n"
         "t.dsl:4:14: error: 'random' can only be used as a weight "
         "initializer\n"
         "  output z = random(seed=1) + const(x)\n"
         "             ^\n"
         "t.dsl:4:31: error: 'const' is not an operator that can be called\n"
         "  output z = random(seed=1) + const(x)\n"
         "                              ^\n");
}
END_TEST

START_TEST(arity) {
  expect("model m {\n"
         "  input x : f32[2, 2]\n"
         "  a = relu(x, x)\n"
         "  b = add(x)\n"
         "  c = softmax()\n"
         "  d = reshape(x)\n"
         "  e = reshape(x, x)\n"
         "  f = relu([1, 2])\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:7: error: 'relu' expects 1 argument, got 2\n"
         "  a = relu(x, x)\n"
         "      ^\n"
         "t.dsl:4:7: error: 'add' expects 2 arguments, got 1\n"
         "  b = add(x)\n"
         "      ^\n"
         "t.dsl:5:7: error: 'softmax' expects 1 argument, got 0\n"
         "  c = softmax()\n"
         "      ^\n"
         "t.dsl:6:7: error: 'reshape' expects 2 arguments, got 1\n"
         "  d = reshape(x)\n"
         "      ^\n"
         "t.dsl:7:18: error: argument 2 of 'reshape' must be a list of "
         "integers, such as [2, -1]\n"
         "  e = reshape(x, x)\n"
         "                 ^\n"
         "t.dsl:8:12: error: argument 1 of 'relu' must be a tensor, not a "
         "list\n"
         "  f = relu([1, 2])\n"
         "           ^\n");
}
END_TEST

START_TEST(keywords) {
  expect("model m {\n"
         "  input x : f32[2, 2]\n"
         "  a = softmax(x, axis=[1])\n"
         "  b = softmax(x, axis=0, axis=1)\n"
         "  c = softmax(x, dim=1)\n"
         "  d = transpose(x, perm=1)\n"
         "  e = softmax(axis=1, x)\n"
         "  f = relu(x, axis=0)\n"
         "  g = transpose(x, perm=[1.5, 0])\n"
         "  h = softmax(x, axis=f32)\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:23: error: keyword 'axis' of 'softmax' must be an integer\n"
         "  a = softmax(x, axis=[1])\n"
         "                      ^\n"
         "t.dsl:4:26: error: keyword 'axis' given twice\n"
         "  b = softmax(x, axis=0, axis=1)\n"
         "                         ^\n"
         "t.dsl:5:18: error: unknown keyword 'dim' for 'softmax'\n"
         "  c = softmax(x, dim=1)\n"
         "                 ^\n"
         "t.dsl:6:25: error: keyword 'perm' of 'transpose' must be a list of "
         "integers\n"
         "  d = transpose(x, perm=1)\n"
         "                        ^\n"
         "t.dsl:7:23: error: positional argument after keyword argument\n"
         "  e = softmax(axis=1, x)\n"
         "                      ^\n"
         "t.dsl:8:15: error: unknown keyword 'axis' for 'relu'\n"
         "  f = relu(x, axis=0)\n"
         "              ^\n"
         "t.dsl:9:26: error: list entry must be an integer\n"
         "  g = transpose(x, perm=[1.5, 0])\n"
         "                         ^\n"
         "t.dsl:10:23: error: keyword 'axis' of 'softmax' must be an "
         "integer\n"
         "  h = softmax(x, axis=f32)\n"
         "                      ^\n");
}
END_TEST

/* Within a call too, errors come in the order of the text. */
START_TEST(call_order) {
  expect("model m {\n"
         "  a = softmax(q, axis=[1])\n"
         "  b = reshape(q, [1.5])\n"
         "  output y = a\n"
         "}\n",
         "t.dsl:2:15: error: use of undefined name 'q'\n"
         "  a = softmax(q, axis=[1])\n"
         "              ^\n"
         "t.dsl:2:23: error: keyword 'axis' of 'softmax' must be an integer\n"
         "  a = softmax(q, axis=[1])\n"
         "                      ^\n"
         "t.dsl:3:15: error: use of undefined name 'q'\n"
         "  b = reshape(q, [1.5])\n"
         "              ^\n"
         "t.dsl:3:19: error: list entry must be an integer\n"
         "  b = reshape(q, [1.5])\n"
         "                  ^\n");
}
END_TEST

START_TEST(lexical) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  a = \"abc\n"
         "  b = x ? x\n"
         "  c = 12abc\n"
         "  d = x \xc3\xa9\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:7: error: unterminated string\n"
         "  a = \"abc\n"
         "      ^\n"
         "t.dsl:4:9: error: unexpected character '?'\n"
         "  b = x ? x\n"
         "        ^\n"
         "t.dsl:5:7: error: invalid number '12abc'\n"
         "  c = 12abc\n"
         "      ^\n"
         "t.dsl:6:9: error: unexpected non-ASCII character\n"
         "  d = x \xc3\xa9\n"
         "        ^\n");
}
END_TEST

START_TEST(nul_byte) {
  static const char src[] = "model m {\n  input x : f32[2]\n  output y = x\0\n}\n";
  bool ok;
  char *got = diagnose(src, sizeof src - 1, &ok);
  ck_assert(!ok);
  ck_assert_str_eq(got, "t.dsl:3:15: error: unexpected byte 0x00\n"
                        "  output y = x\n"
                        "              ^\n");
  free(got);
}
END_TEST

START_TEST(syntax) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  a = x @@ x\n"
         "  b = relu(x]\n"
         "  output = x\n"
         "  c = (x + )\n"
         "  d x\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:10: error: unexpected '@', expected expression\n"
         "  a = x @@ x\n"
         "         ^\n"
         "t.dsl:4:13: error: unexpected ']', expected ')'\n"
         "  b = relu(x]\n"
         "            ^\n"
         "t.dsl:5:10: error: unexpected '=', expected name\n"
         "  output = x\n"
         "         ^\n"
         "t.dsl:6:12: error: unexpected ')', expected expression\n"
         "  c = (x + )\n"
         "           ^\n"
         "t.dsl:7:5: error: unexpected name 'x', expected ',' or '='\n"
         "  d x\n"
         "    ^\n");
}
END_TEST

START_TEST(structure) {
  expect("", "t.dsl:1:1: error: unexpected end of file, expected 'model', "
             "'fn' or end of line\n\n^\n");
  expect("mdl m {}", "t.dsl:1:1: error: unexpected name 'mdl', expected "
                     "'model', 'fn' or end of line\nmdl m {}\n^\n");
  expect("model m {\n  input x : f32[2]\n  output y = relu(x\n",
         "t.dsl:3:20: error: unexpected end of file, expected ')'\n"
         "  output y = relu(x\n"
         "                   ^\n");
  expect("model m {\n  input x : f32[2]\n  output y = x\n",
         "t.dsl:3:15: error: unexpected end of file, expected '}'\n"
         "  output y = x\n"
         "              ^\n");
  expect("model m { input x : f32[2]; output y = x }\nmodel n {}\n",
         "t.dsl:2:1: error: only one model per file\n"
         "model n {}\n"
         "^\n");
}
END_TEST

START_TEST(missing_output) {
  expect("model mlp {\n  input x : f32[2]\n  h = relu(x)\n}\n",
         "t.dsl:1:7: error: model 'mlp' has no outputs\n"
         "model mlp {\n"
         "      ^\n");
  expect("model empty {}\n", "t.dsl:1:7: error: model 'empty' has no outputs\n"
                             "model empty {}\n"
                             "      ^\n");
}
END_TEST

START_TEST(undefined) {
  expect("model m {\n"
         "  input x : f32[2]\n"
         "  output y = x + q\n"
         "  output z\n"
         "  output w = zeros\n"
         "}\n",
         "t.dsl:3:18: error: use of undefined name 'q'\n"
         "  output y = x + q\n"
         "                 ^\n"
         "t.dsl:4:10: error: use of undefined name 'z'\n"
         "  output z\n"
         "         ^\n"
         "t.dsl:5:14: error: 'zeros' can only be used as a weight "
         "initializer\n"
         "  output w = zeros\n"
         "             ^\n");
}
END_TEST

START_TEST(literals) {
  expect("model m {\n"
         "  input k : i32[2]; input x : f32[2]\n"
         "  a = k * 2.5\n"
         "  b = k + 3000000000\n"
         "  c = x * 99999999999999999999\n"
         "  d = x * 9223372036854775808\n"
         "  e = x * 1e999\n"
         "  f = x * 1e300\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:11: error: floating-point literal '2.5' used as i32 (an "
         "integer type)\n"
         "  a = k * 2.5\n"
         "          ^\n"
         "t.dsl:4:11: error: literal '3000000000' is out of range for i32\n"
         "  b = k + 3000000000\n"
         "          ^\n"
         "t.dsl:5:11: error: integer literal is too large\n"
         "  c = x * 99999999999999999999\n"
         "          ^\n"
         "t.dsl:6:11: error: integer literal is too large\n"
         "  d = x * 9223372036854775808\n"
         "          ^\n"
         "t.dsl:7:11: error: literal '1e999' is out of range for f32\n"
         "  e = x * 1e999\n"
         "          ^\n"
         "t.dsl:8:11: error: literal '1e300' is out of range for f32\n"
         "  f = x * 1e300\n"
         "          ^\n");
}
END_TEST

START_TEST(operand_types) {
  expect("model m {\n"
         "  input k : i32[2]; input x : f32[3]\n"
         "  a = k + x\n"
         "  b = x + x @ x\n"
         "  c = sigmoid(k)\n"
         "  d = reshape(x, [2, -1])\n"
         "  e = softmax(x, axis=1)\n"
         "  output y = x\n"
         "}\n",
         "t.dsl:3:7: error: add: operand types differ: i32[2] and f32[3]\n"
         "  a = k + x\n"
         "      ^\n"
         "t.dsl:4:11: error: matmul: operands must have rank 2 or more: "
         "f32[3] @ f32[3]\n"
         "  b = x + x @ x\n"
         "          ^\n"
         "t.dsl:5:7: error: sigmoid: expects a floating-point operand, got "
         "i32[2]\n"
         "  c = sigmoid(k)\n"
         "      ^\n"
         "t.dsl:6:7: error: reshape: cannot reshape f32[3] (3 elements) to "
         "[2,-1]\n"
         "  d = reshape(x, [2, -1])\n"
         "      ^\n"
         "t.dsl:7:7: error: softmax: axis 1 is out of range for f32[3] (rank "
         "1)\n"
         "  e = softmax(x, axis=1)\n"
         "      ^\n");
}
END_TEST

START_TEST(initializers) {
  expect("model m {\n"
         "  weight a : f32[2] = twos\n"
         "  weight b : f32[2] = a + 1\n"
         "  weight c : f32[2] = random(1)\n"
         "  weight d : f32[2] = random(scale=2)\n"
         "  weight e : f32[2] = random(seed=-1, scale=-2)\n"
         "  weight f : i32[2] = random(seed=1, scale=1e10)\n"
         "  weight g : f32[2] = load(\"w.safetensors\")\n"
         "  weight h : f32[2] = load(1, \"x\")\n"
         "  weight i : i64[2] = 0.5\n"
         "  weight j : f32[2]\n"
         "  output y = a\n"
         "}\n",
         "t.dsl:2:23: error: unknown initializer 'twos' (expected zeros, "
         "ones, a number, random(seed=N) or load(\"file\", \"tensor\"))\n"
         "  weight a : f32[2] = twos\n"
         "                      ^\n"
         "t.dsl:3:23: error: invalid initializer (expected zeros, ones, a "
         "number, random(seed=N) or load(\"file\", \"tensor\"))\n"
         "  weight b : f32[2] = a + 1\n"
         "                      ^\n"
         "t.dsl:4:30: error: random() takes keyword arguments only: "
         "random(seed=N) or random(seed=N, scale=S)\n"
         "  weight c : f32[2] = random(1)\n"
         "                             ^\n"
         "t.dsl:5:23: error: random() needs a seed: random(seed=N)\n"
         "  weight d : f32[2] = random(scale=2)\n"
         "                      ^\n"
         "t.dsl:6:35: error: seed must be a non-negative integer\n"
         "  weight e : f32[2] = random(seed=-1, scale=-2)\n"
         "                                  ^\n"
         "t.dsl:6:45: error: scale must be a non-negative number\n"
         "  weight e : f32[2] = random(seed=-1, scale=-2)\n"
         "                                            ^\n"
         "t.dsl:7:44: error: scale is too large for i32 (at most "
         "2147483647)\n"
         "  weight f : i32[2] = random(seed=1, scale=1e10)\n"
         "                                           ^\n"
         "t.dsl:8:23: error: load() expects 2 arguments: "
         "load(\"file.safetensors\", \"tensor\"), got 1\n"
         "  weight g : f32[2] = load(\"w.safetensors\")\n"
         "                      ^\n"
         "t.dsl:9:28: error: argument 1 of load() must be a string\n"
         "  weight h : f32[2] = load(1, \"x\")\n"
         "                           ^\n"
         "t.dsl:10:23: error: floating-point literal '0.5' used as i64 (an "
         "integer type)\n"
         "  weight i : i64[2] = 0.5\n"
         "                      ^\n"
         "t.dsl:11:10: error: weight 'j' has no initializer and no weights "
         "file was given (pass --weights FILE)\n"
         "  weight j : f32[2]\n"
         "         ^\n");
}
END_TEST

START_TEST(strings) {
  expect("model m {\n  input x : f32[2]\n  output y = x + \"two\"\n}\n",
         "t.dsl:3:18: error: a string can only be a keyword value or an "
         "argument of load()\n"
         "  output y = x + \"two\"\n"
         "                 ^\n");
}
END_TEST

/* Too deep to lower recursively: one error, not a crash. */
START_TEST(nesting) {
  char *src = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&src, &n);
  fputs("model m {\n  input x : f32[2]\n  a = ", f);
  for (int i = 0; i < 300; i++)
    fputc('(', f);
  fputc('x', f);
  for (int i = 0; i < 300; i++)
    fputc(')', f);
  fputs("\n  b = x", f);
  for (int i = 0; i < 1200; i++)
    fputs(" + x", f);
  fputs("\n  c = ", f);
  for (int i = 0; i < 50000; i++)
    fputc('-', f);
  fputs("x\n  output y = x\n}\n", f);
  fclose(f);
  bool ok;
  char *got = diagnose(src, n, &ok);
  ck_assert(!ok);
  /* the source line is long: compare the first line of each error */
  ck_assert_msg(strstr(got, "t.dsl:3:263: error: brackets nested too deeply "
                            "(more than 256 levels)\n") == got,
                "%s", got);
  ck_assert(strstr(got, "\nt.dsl:4:7: error: expression nested too deeply "
                        "(more than 1000 levels)\n"));
  ck_assert_msg(strstr(got, "\nt.dsl:5:"), "%s", got);
  ck_assert(strstr(got, ": error: program nested too deeply\n"));
  free(got);
  free(src);
}
END_TEST

START_TEST(missing_file) {
  tu_sink s;
  tu_sink_open(&s);
  ck_assert_ptr_null(dlc_frontend_compile_file("/nonexistent/m.dsl", NULL, s.d));
  ck_assert_str_eq(tu_sink_text(&s), "error: /nonexistent/m.dsl: cannot read "
                                     "file: No such file or directory\n");
  tu_sink_close(&s);
}
END_TEST

/* Every prefix of a valid program, and random bytes: a graph exactly when
 * there is no error, and no crash (the tests run under ASan in CI). */
START_TEST(robustness) {
  static const char prog[] =
      "# a program using every construct\n"
      "model mlp {\n"
      "  input  x  : f32[1, 784]\n"
      "  weight w1 : f32[784, 16] = random(seed=3, scale=0.1)\n"
      "  weight b1 : f32[16] = -1.5; weight b2 : f32[10] = zeros\n"
      "  weight w2 : f32[16, 10] = ones\n"
      "  h = relu(x @ w1 +\n     b1)\n"
      "  t = transpose(reshape(h, [4, -1]), perm=[1, 0])\n"
      "  output y = softmax(h @ w2 + b2 * 2, axis=-1)\n"
      "  output z = maximum(-h, 0) / sqrt(exp(h))\n"
      "  output t\n"
      "}\n";
  size_t n = sizeof prog - 1;
  bool ok;
  free(diagnose(prog, n, &ok));
  ck_assert(ok);
  for (size_t i = 0; i < n - 1; i++) { /* all but the final newline */
    free(diagnose(prog, i, &ok));
    ck_assert(!ok);
  }
  uint64_t state = 12345;
  char buf[512];
  for (int round = 0; round < 400; round++) {
    size_t len = (size_t)(round % 2 ? sizeof buf : n);
    for (size_t i = 0; i < len; i++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      buf[i] = (char)(state >> 56);
    }
    if (round % 2 == 0) { /* a few flipped bytes in the valid program */
      memcpy(buf, prog, n);
      for (int k = 0; k < 1 + round % 5; k++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        buf[(state >> 33) % n] = (char)(state >> 12);
      }
    }
    free(diagnose(buf, len, &ok));
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("diagnostics");
  TCase *t = tcase_create("diagnostics");
  tcase_add_test(t, shape_error);
  tcase_add_test(t, independent_errors);
  tcase_add_test(t, redefinition);
  tcase_add_test(t, duplicate_output);
  tcase_add_test(t, dtypes);
  tcase_add_test(t, bools);
  tcase_add_test(t, dimensions);
  tcase_add_test(t, unknown_operator);
  tcase_add_test(t, arity);
  tcase_add_test(t, keywords);
  tcase_add_test(t, call_order);
  tcase_add_test(t, lexical);
  tcase_add_test(t, nul_byte);
  tcase_add_test(t, syntax);
  tcase_add_test(t, structure);
  tcase_add_test(t, missing_output);
  tcase_add_test(t, undefined);
  tcase_add_test(t, literals);
  tcase_add_test(t, operand_types);
  tcase_add_test(t, initializers);
  tcase_add_test(t, strings);
  tcase_add_test(t, nesting);
  tcase_add_test(t, missing_file);
  tcase_add_test(t, robustness);
  tcase_add_test(t, weights_too_big);
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
