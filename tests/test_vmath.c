/* The inline transcendental functions of backends/llvm/vmath.c, run for
 * real: each is built into `void f(float *in, float *out, i64 n)` loops
 * over <16 x float> and over float, optimized at -O2 and JIT-compiled with
 * MCJIT twice, once for the host CPU (FMA fused, wide vectors) and once for
 * baseline x86-64 (no FMA, SSE2 only: fmuladd is a multiply and an add),
 * then compared with libm's double-precision functions:
 *
 *  - exact results for special values (zeros, infinities, NaN, saturation),
 *  - the error in binary32 ulps over special values, subnormals, the
 *    neighbourhoods of every internal boundary, a uniform sweep of the
 *    useful range (2^20 points) and every 4093rd bit pattern (all of
 *    float, 2^20 points),
 *  - that the emitted code calls nothing: no libm, not even fmaf.
 *
 * The measured maxima are printed; docs/operators.md quotes them. For a
 * denser sweep set DLCC_VMATH_STRIDE (1: every float; takes minutes per
 * function) and CK_RUN_CASE to one function's name. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/ExecutionEngine.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "backends/llvm/vmath.h"
#include "tests/testutil.h"

typedef LLVMValueRef (*emit_fn)(LLVMModuleRef, LLVMBuilderRef, LLVMValueRef);
typedef void (*kernel)(const float *in, float *out, int64_t n);

static double sigmoid_ref(double x) { return 1 / (1 + exp(-x)); }

typedef struct opdef {
  const char *name;
  emit_fn emit;
  double (*ref)(double);
  double max_ulp;   /* the documented bound, asserted */
  double lo, hi;    /* the uniform sweep */
  float bounds[12]; /* internal boundaries, swept closely on both sides */
} opdef;

static const opdef ops[] = {
    {"exp", dlc_vmath_exp, exp, 2, -104, 89,
     /* overflow, smallest normal and subnormal results, the clamps, and
      * where n = round(x / ln2) changes */
     {0x1.62e43p+6f, -87.3365479f, -103.972084f, -104, 89, 0.34657359f,
      1.03972077f, 44.0253372f, -44.0253372f, 0x1p-24f}},
    {"log", dlc_vmath_log, log, 2, 0, 8,
     /* where k changes, the subnormal scaling, x = 1 */
     {0.70710677f, 1.41421354f, 1, 0x1p-126f, 0x1p-149f, FLT_MAX, 2,
      0.5f, 0x1.6a09e6p-100f}},
    {"tanh", dlc_vmath_tanh, tanh, 4, -10, 10,
     /* the polynomial's end, correctly rounded 1, exp overflow */
     {0.625f, 9.01091290f, 44.3614197f, 0x1p-12f}},
    {"erf", dlc_vmath_erf, erf, 4, -4.5, 4.5,
     /* the polynomial's end, where erf rounds to 1 */
     {1, 3.92f, 3.91920f, 0x1p-12f}},
    {"sigmoid", dlc_vmath_sigmoid, sigmoid_ref, 3, -105, 20,
     {0, -87.3365479f, -103.972084f, 16.6355324f, 0x1.62e43p+6f}},
};
enum { NOPS = sizeof ops / sizeof ops[0], LANES = 16 };

/* ---- building and compiling ------------------------------------------- */

/* The two targets the kernels are compiled for. */
enum { HOST, BASELINE, NTARGETS };
static const char *target_name[] = {"host", "x86-64"};

typedef struct jit {
  LLVMExecutionEngineRef ee;
  kernel k[NOPS][2]; /* [op][0: <16 x float> loop, 1: float loop] */
} jit;

static void set_attr(LLVMValueRef fn, const char *k, const char *v) {
  LLVMContextRef c = LLVMGetModuleContext(LLVMGetGlobalParent(fn));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c, k, (unsigned)strlen(k), v,
                                                    (unsigned)strlen(v)));
}

/* void name(ptr in, ptr out, i64 n): out[i..] = op(in[i..]) in steps of
 * lanes (0: scalar); n is a positive multiple of the step. */
static void build_kernel(LLVMModuleRef mod, const char *name, emit_fn emit,
                         unsigned lanes, const char *cpu, const char *features) {
  LLVMContextRef c = LLVMGetModuleContext(mod);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0), i64 = LLVMInt64TypeInContext(c);
  LLVMTypeRef f32 = LLVMFloatTypeInContext(c);
  LLVMTypeRef vt = lanes ? LLVMVectorType(f32, lanes) : f32;
  LLVMTypeRef params[3] = {ptr, ptr, i64};
  LLVMValueRef fn = LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(c), params, 3, 0));
  set_attr(fn, "target-cpu", cpu);
  set_attr(fn, "target-features", features);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(c, fn, "loop");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, fn, "done");
  LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
  LLVMPositionBuilderAtEnd(b, entry);
  LLVMBuildBr(b, loop);
  LLVMPositionBuilderAtEnd(b, loop);
  LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
  LLVMValueRef src = LLVMBuildInBoundsGEP2(b, f32, LLVMGetParam(fn, 0), &i, 1, "");
  LLVMValueRef x = LLVMBuildLoad2(b, vt, src, "");
  LLVMSetAlignment(x, 4);
  LLVMValueRef y = emit(mod, b, x);
  LLVMValueRef dst = LLVMBuildInBoundsGEP2(b, f32, LLVMGetParam(fn, 1), &i, 1, "");
  LLVMSetAlignment(LLVMBuildStore(b, y, dst), 4);
  LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(i64, lanes ? lanes : 1, 0), "");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, LLVMGetParam(fn, 2), ""),
                  loop, done);
  LLVMValueRef in_v[2] = {LLVMConstInt(i64, 0, 0), next};
  LLVMBasicBlockRef in_b[2] = {entry, loop};
  LLVMAddIncoming(i, in_v, in_b, 2);
  LLVMPositionBuilderAtEnd(b, done);
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
}

static void kernel_name(char *buf, size_t n, int op, int scalar) {
  snprintf(buf, n, "%s_%s", ops[op].name, scalar ? "f32" : "v16f32");
}

static void init_llvm(void) {
  LLVMLinkInMCJIT();
  ck_assert(!LLVMInitializeNativeTarget());
  ck_assert(!LLVMInitializeNativeAsmPrinter());
}

static char *own(char *llvm_message) {
  char *s = strdup(llvm_message);
  LLVMDisposeMessage(llvm_message);
  return s;
}

/* The host triple and the cpu and features of target t, malloc'd; false
 * where t is BASELINE and the host is not x86-64. */
static bool target_for(int t, char **triple, char **cpu, char **features) {
  *triple = own(LLVMGetDefaultTargetTriple());
  if (t == HOST) {
    *cpu = own(LLVMGetHostCPUName());
    *features = own(LLVMGetHostCPUFeatures());
    return true;
  }
  if (strncmp(*triple, "x86_64", 6) != 0) {
    free(*triple);
    return false;
  }
  *cpu = strdup("x86-64");
  *features = strdup("");
  return true;
}

/* Every kernel for target t, verified; and t's target machine. */
static LLVMModuleRef build_module(LLVMContextRef c, int t, LLVMTargetMachineRef *tm_out) {
  char *triple, *cpu, *features;
  if (!target_for(t, &triple, &cpu, &features))
    return NULL;
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("vmath", c);
  LLVMSetTarget(mod, triple);
  for (int op = 0; op < NOPS; op++)
    for (int scalar = 0; scalar < 2; scalar++) {
      char name[64];
      kernel_name(name, sizeof name, op, scalar);
      build_kernel(mod, name, ops[op].emit, scalar ? 0 : LANES, cpu, features);
    }
  char *err = NULL;
  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &err))
    ck_abort_msg("invalid module: %s", err);
  LLVMDisposeMessage(err);
  LLVMTargetRef target;
  ck_assert(!LLVMGetTargetFromTriple(triple, &target, &err));
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      target, triple, cpu, features, LLVMCodeGenLevelDefault, LLVMRelocDefault,
      LLVMCodeModelJITDefault);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(mod, td);
  LLVMDisposeTargetData(td);
  free(triple);
  free(cpu);
  free(features);
  *tm_out = tm;
  return mod;
}

/* -O2 with the target's cost model, as the backend does; the scalar loops
 * may be vectorized here. */
static void optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm) {
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(mod, "default<O2>", tm, po);
  ck_assert_msg(!e, "passes failed");
  LLVMDisposePassBuilderOptions(po);
}

static bool jit_open(jit *j, LLVMContextRef c, int t) {
  LLVMTargetMachineRef tm;
  LLVMModuleRef mod = build_module(c, t, &tm);
  if (!mod)
    return false;
  optimize(mod, tm);
  LLVMDisposeTargetMachine(tm);
  struct LLVMMCJITCompilerOptions o;
  LLVMInitializeMCJITCompilerOptions(&o, sizeof o);
  o.OptLevel = 2;
  char *err = NULL;
  if (LLVMCreateMCJITCompilerForModule(&j->ee, mod, &o, sizeof o, &err))
    ck_abort_msg("MCJIT: %s", err);
  for (int op = 0; op < NOPS; op++)
    for (int scalar = 0; scalar < 2; scalar++) {
      char name[64];
      kernel_name(name, sizeof name, op, scalar);
      uint64_t a = LLVMGetFunctionAddress(j->ee, name);
      ck_assert_msg(a != 0, "no %s", name);
      j->k[op][scalar] = (kernel)(uintptr_t)a;
    }
  return true;
}

/* ---- measuring ---------------------------------------------------------- */

static float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* |got - ref| in units of the spacing of binary32 at ref: 2^-149 among
 * the subnormals, 2^104 from FLT_MAX up, so that FLT_MAX or inf for a ref
 * near the overflow threshold counts as the near miss it is. NaN must meet
 * NaN, and an exact ref that is infinite or zero must be met exactly, sign
 * included; an inf is right wherever ref rounds to it. */
static double ulp_error(float got, double ref) {
  if (isnan(ref) || isnan(got))
    return isnan(ref) && isnan(got) ? 0 : INFINITY;
  bool same_sign = !signbit(got) == !signbit(ref);
  if (isinf(ref) || ref == 0)
    return got == ref && same_sign ? 0 : INFINITY;
  if (isinf(got) && isinf((float)ref))
    return same_sign ? 0 : INFINITY;
  double g = isinf(got) ? copysign(0x1p128, got) : got;
  int e = ilogb(ref);
  e = e < -126 ? -126 : e > 127 ? 127 : e;
  return fabs(g - ref) / ldexp(1, e - 23);
}

typedef struct stats {
  double max_err;
  float worst_x;
  float worst_got;
} stats;

enum { CHUNK = 1 << 16 };
typedef struct run {
  int op;
  jit *jits[NTARGETS];   /* NULL where a target does not apply */
  stats st[NTARGETS][2]; /* [target][vector, scalar] */
  float *in, *out;
  double *ref;
} run;

/* Runs n <= CHUNK inputs (padded to the vector width) through every kernel
 * of r's op and folds the errors into r's stats. */
static void run_chunk(run *r, const float *in, int64_t n) {
  int64_t padded = (n + LANES - 1) / LANES * LANES;
  memcpy(r->in, in, (size_t)n * sizeof *in);
  for (int64_t i = n; i < padded; i++)
    r->in[i] = 0;
  for (int64_t i = 0; i < n; i++)
    r->ref[i] = ops[r->op].ref(r->in[i]);
  for (int t = 0; t < NTARGETS; t++)
    for (int s = 0; s < 2 && r->jits[t]; s++) {
      r->jits[t]->k[r->op][s](r->in, r->out, padded);
      stats *st = &r->st[t][s];
      for (int64_t i = 0; i < n; i++) {
        double e = ulp_error(r->out[i], r->ref[i]);
        if (!(e <= st->max_err)) {
          st->max_err = e;
          st->worst_x = r->in[i];
          st->worst_got = r->out[i];
        }
      }
    }
}

/* A buffer of inputs that feeds run_chunk whenever it fills. */
typedef struct feed {
  run *r;
  float buf[CHUNK];
  int64_t n;
} feed;

static void feed_one(feed *f, float x) {
  f->buf[f->n++] = x;
  if (f->n == CHUNK) {
    run_chunk(f->r, f->buf, f->n);
    f->n = 0;
  }
}
static void feed_flush(feed *f) {
  if (f->n)
    run_chunk(f->r, f->buf, f->n);
  f->n = 0;
}

static const float specials[] = {
    0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1, -1, 0.5f, -0.5f, 2, -2,
    FLT_MIN, -FLT_MIN, 0x1p-149f, -0x1p-149f, 0x1p-130f, -0x1p-130f,
    0x1.fffffcp-127f, -0x1.fffffcp-127f, FLT_MAX, -FLT_MAX, 1e30f, -1e30f,
    1e10f, -1e10f, 100, -100, 1000, -1000, 0x1p-60f, -0x1p-60f,
};

/* x and its 64 neighbours in bit order on each side, for x and -x */
static void feed_around(feed *f, float x) {
  for (int sign = 0; sign < 2; sign++) {
    uint32_t u = float_bits(sign ? -x : x);
    for (int d = -64; d <= 64; d++)
      if ((int64_t)(u & 0x7fffffff) + d >= 0)
        feed_one(f, bits_to_float(u + (uint32_t)d));
  }
}

static uint64_t sweep_stride(void) {
  const char *s = getenv("DLCC_VMATH_STRIDE");
  uint64_t v = s ? strtoull(s, NULL, 10) : 0;
  return v ? v : 4093;
}

/* ---- tests -------------------------------------------------------------- */

static LLVMContextRef ctx;
static jit jits[NTARGETS];
static bool have[NTARGETS];

static void setup(void) {
  init_llvm();
  ctx = LLVMContextCreate();
  for (int t = 0; t < NTARGETS; t++)
    have[t] = jit_open(&jits[t], ctx, t);
}

static void teardown(void) {
  for (int t = 0; t < NTARGETS; t++)
    if (have[t])
      LLVMDisposeExecutionEngine(jits[t].ee);
  LLVMContextDispose(ctx);
}

/* The function of op at one input, from every kernel: all must agree with
 * want bit for bit (any NaN for NaN). */
static void expect_exact(int op, float x, float want) {
  float in[LANES], out[LANES];
  for (int i = 0; i < LANES; i++)
    in[i] = x;
  for (int t = 0; t < NTARGETS; t++)
    for (int s = 0; s < 2 && have[t]; s++) {
      jits[t].k[op][s](in, out, LANES);
      bool ok = isnan(want) ? isnan(out[0])
                            : float_bits(out[0]) == float_bits(want);
      ck_assert_msg(ok, "%s(%a) = %a on %s/%s, want %a", ops[op].name, x, out[0],
                    target_name[t], s ? "scalar" : "vector", want);
    }
}

START_TEST(test_special_values) {
  const float inf = INFINITY, nan = NAN, tiny = 0x1p-140f;
  /* exp */
  expect_exact(0, 0.0f, 1);
  expect_exact(0, -0.0f, 1);
  expect_exact(0, tiny, 1);
  expect_exact(0, -tiny, 1);
  expect_exact(0, inf, inf);
  expect_exact(0, -inf, 0);
  expect_exact(0, nan, nan);
  expect_exact(0, 0x1.62e43p+6f, inf); /* the least x with e^x past FLT_MAX */
  expect_exact(0, 89, inf);
  expect_exact(0, 1000, inf);
  expect_exact(0, FLT_MAX, inf);
  expect_exact(0, -104, 0);
  expect_exact(0, -1000, 0);
  expect_exact(0, -FLT_MAX, 0);
  expect_exact(0, -103.9f, 0x1p-149f); /* subnormal, not flushed */
  /* log */
  expect_exact(1, 0.0f, -inf);
  expect_exact(1, -0.0f, -inf);
  expect_exact(1, -1, nan);
  expect_exact(1, -tiny, nan);
  expect_exact(1, -inf, nan);
  expect_exact(1, inf, inf);
  expect_exact(1, nan, nan);
  expect_exact(1, 1, 0);
  /* tanh */
  expect_exact(2, 0.0f, 0.0f);
  expect_exact(2, -0.0f, -0.0f);
  expect_exact(2, tiny, tiny);
  expect_exact(2, -tiny, -tiny);
  expect_exact(2, inf, 1);
  expect_exact(2, -inf, -1);
  expect_exact(2, 9.0110f, 1); /* just past where 1 is the rounded tanh */
  expect_exact(2, -9.0110f, -1);
  expect_exact(2, 50, 1);
  expect_exact(2, -FLT_MAX, -1);
  expect_exact(2, nan, nan);
  /* erf */
  expect_exact(3, 0.0f, 0.0f);
  expect_exact(3, -0.0f, -0.0f);
  expect_exact(3, inf, 1);
  expect_exact(3, -inf, -1);
  expect_exact(3, 3.92f, 1);
  expect_exact(3, -4, -1);
  expect_exact(3, 1e30f, 1);
  expect_exact(3, nan, nan);
  /* sigmoid */
  expect_exact(4, 0, 0.5f);
  expect_exact(4, -0.0f, 0.5f);
  expect_exact(4, inf, 1);
  expect_exact(4, -inf, 0);
  expect_exact(4, 20, 1);
  expect_exact(4, -200, 0);
  expect_exact(4, nan, nan);
}
END_TEST

/* Accuracy of ops[_i] over special values, boundaries and both sweeps. */
START_TEST(test_accuracy) {
  const opdef *o = &ops[_i];
  run *r = calloc(1, sizeof *r);
  feed *f = calloc(1, sizeof *f);
  r->op = _i;
  for (int t = 0; t < NTARGETS; t++)
    r->jits[t] = have[t] ? &jits[t] : NULL;
  r->in = malloc((CHUNK + LANES) * sizeof *r->in);
  r->out = malloc((CHUNK + LANES) * sizeof *r->out);
  r->ref = malloc(CHUNK * sizeof *r->ref);
  f->r = r;
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
    feed_one(f, specials[i]);
  for (int i = 0; i < 12; i++) /* unused entries are 0, itself a boundary */
    feed_around(f, o->bounds[i]);
  enum { NSWEEP = 1 << 20 };
  for (int i = 0; i < NSWEEP; i++)
    feed_one(f, (float)(o->lo + (o->hi - o->lo) * i / (NSWEEP - 1)));
  uint64_t stride = sweep_stride();
  for (uint64_t u = 0; u < (1ull << 32); u += stride)
    feed_one(f, bits_to_float((uint32_t)u));
  feed_flush(f);
  for (int t = 0; t < NTARGETS; t++)
    for (int s = 0; s < 2 && have[t]; s++) {
      const stats *st = &r->st[t][s];
      printf("%-8s %-6s %-6s max %.3f ulp at x = %a (got %a, want %a)\n", o->name,
             target_name[t], s ? "scalar" : "vector", st->max_err, st->worst_x,
             st->worst_got, o->ref(st->worst_x));
      ck_assert_msg(st->max_err <= o->max_ulp,
                    "%s on %s/%s: %.3f ulp at x = %a (got %a, want %a); bound %g",
                    o->name, target_name[t], s ? "scalar" : "vector", st->max_err,
                    st->worst_x, st->worst_got, o->ref(st->worst_x), o->max_ulp);
    }
  fflush(stdout);
  free(r->in);
  free(r->out);
  free(r->ref);
  free(r);
  free(f);
}
END_TEST

/* Whether the comma-separated list has item f. */
static bool has_feature(const char *list, const char *f) {
  size_t n = strlen(f);
  for (const char *p = list; (p = strstr(p, f)); p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
      return true;
  return false;
}

/* The IR vmath emits declares only the intrinsics vmath.h names, and the
 * optimized machine code for both targets calls and tail-calls nothing.
 * Where the host has FMA, its code fuses (so both evaluations are tested). */
START_TEST(test_no_calls) {
  for (int t = 0; t < NTARGETS; t++) {
    LLVMTargetMachineRef tm;
    LLVMModuleRef mod = build_module(ctx, t, &tm);
    if (!mod)
      continue;
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn)) {
      if (LLVMCountBasicBlocks(fn))
        continue;
      size_t n;
      const char *name = LLVMGetValueName2(fn, &n);
      ck_assert_msg(!strncmp(name, "llvm.fmuladd.", 13) || !strncmp(name, "llvm.fabs.", 10) ||
                        !strncmp(name, "llvm.copysign.", 14),
                    "declares %s", name);
    }
    optimize(mod, tm);
    char *err = NULL;
    LLVMMemoryBufferRef buf;
    ck_assert(!LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMAssemblyFile, &err, &buf));
    char *text = strndup(LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
    ck_assert_msg(!strstr(text, "\tcall"), "%s code calls out", target_name[t]);
    for (const char *p = text; (p = strstr(p, "\tjmp\t")); p += 5)
      ck_assert_msg(p[5] == '.', "%s code tail-calls %.20s", target_name[t], p + 5);
    char *features = LLVMGetTargetMachineFeatureString(tm);
    bool fma = has_feature(features, "+fma");
    if (t == HOST && fma)
      ck_assert_msg(strstr(text, "vfmadd"), "host code does not fuse");
    if (t == BASELINE)
      ck_assert_msg(!strstr(text, "vfmadd"), "baseline code fuses");
    LLVMDisposeMessage(features);
    free(text);
    LLVMDisposeMemoryBuffer(buf);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetMachine(tm);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("vmath");
  TCase *tc = tcase_create("structure");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_special_values);
  tcase_add_test(tc, test_no_calls);
  suite_add_tcase(s, tc);
  /* one case per function, so CK_RUN_CASE=erf picks one */
  for (int i = 0; i < NOPS; i++) {
    tc = tcase_create(ops[i].name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_accuracy, i, i + 1);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
