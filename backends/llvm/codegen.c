/* Loop IR to LLVM IR. Loop indices and locals live in allocas that SROA and
 * mem2reg promote; loops are emitted bottom-tested (every extent is >= 1).
 * The ABI structs of runtime/abi.h are built as constant globals. */
#include "codegen.h"
#include "vmath.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/util.h"
#include "runtime/abi.h"

typedef struct cg {
  LLVMContextRef c;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  const dlc_lmodule *m;
  LLVMTypeRef ptr, i32, i64, f32, f64, i8, i1, voidt;
  LLVMValueRef *bufval;  /* by buffer id, inside the current function */
  LLVMValueRef *varslot; /* by variable id: alloca in the current function */
  LLVMValueRef *varval;  /* by variable id: a fixed value (unrolled loop
                            index, vector loop base) that overrides the slot */
  LLVMValueRef *constg;  /* by buffer id: global of a CONST buffer */
  LLVMValueRef fn;       /* the function being built */
  const char *cpu, *features;
  int lanes;                  /* SIMD lanes for 32-bit elements */
  const dlc_lvar *lane;       /* inside a vector body: the lane variable */
  /* inside a vector body, by variable id: a local's vector value (a local
   * set and then read within one iteration), or the vector accumulator
   * slot of a reduction */
  LLVMValueRef *vpriv, *vacc;
  int nouts;                  /* outlined functions so far */
  /* parallel loops: the kernel being built, its exec parameter, whether
   * inside an outlined body, and the loop variables enclosing the current
   * statement (their values go to an outlined body) */
  const dlc_kernel *kern;
  LLVMValueRef exec;
  bool in_par;
  const dlc_lvar *scope[64];
  int nscope;
} cg;

static LLVMTypeRef ty(cg *g, dlc_dtype t) {
  switch (t) {
  case DLC_F32: return g->f32;
  case DLC_F64: return g->f64;
  case DLC_I32: return g->i32;
  case DLC_I64: return g->i64;
  case DLC_BOOL: return g->i8; /* 0 or 1 in memory and in registers */
  default: dlc_unreachable();
  }
}

/* The vector of g->lanes elements of t. */
static LLVMTypeRef vec(cg *g, LLVMTypeRef t) { return LLVMVectorType(t, (unsigned)g->lanes); }

/* scalar type s shaped like ref: s itself, or a vector of as many lanes */
static LLVMTypeRef like(LLVMTypeRef s, LLVMTypeRef ref) {
  return LLVMGetTypeKind(ref) == LLVMVectorTypeKind
             ? LLVMVectorType(s, LLVMGetVectorSize(ref))
             : s;
}

static LLVMTypeRef scalar_of(LLVMTypeRef t) {
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t;
}

static LLVMValueRef splat_const(LLVMValueRef c, LLVMTypeRef t) {
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind)
    return c;
  unsigned n = LLVMGetVectorSize(t);
  LLVMValueRef elems[64];
  DLC_ASSERT(n <= 64);
  for (unsigned i = 0; i < n; i++)
    elems[i] = c;
  return LLVMConstVector(elems, n);
}

/* integer or float constants of type t, splatted when t is a vector */
static LLVMValueRef cint(LLVMTypeRef t, long long v) {
  return splat_const(LLVMConstInt(scalar_of(t), (unsigned long long)v, 1), t);
}
static LLVMValueRef cflt(LLVMTypeRef t, double v) {
  return splat_const(LLVMConstReal(scalar_of(t), v), t);
}

static LLVMValueRef splat(cg *g, LLVMValueRef s) {
  LLVMTypeRef vt = vec(g, LLVMTypeOf(s));
  LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetPoison(vt), s,
                                          LLVMConstInt(g->i32, 0, 0), "");
  return LLVMBuildShuffleVector(g->b, v, LLVMGetPoison(vt),
                                LLVMConstNull(LLVMVectorType(g->i32, (unsigned)g->lanes)), "");
}

/* An i1 truth value (or vector) as a dlcc bool (i8 0/1), and back. */
static LLVMValueRef to_bool(cg *g, LLVMValueRef i1) {
  return LLVMBuildZExt(g->b, i1, like(g->i8, LLVMTypeOf(i1)), "");
}
static LLVMValueRef truth(cg *g, LLVMValueRef b) {
  return LLVMBuildICmp(g->b, LLVMIntNE, b, cint(LLVMTypeOf(b), 0), "");
}

static LLVMValueRef intrinsic2(cg *g, const char *name, LLVMTypeRef *tys,
                               int ntys, int nargs, LLVMValueRef *args) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  DLC_ASSERT(id != 0);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->mod, id, tys, (size_t)ntys);
  LLVMTypeRef fty = LLVMIntrinsicGetType(g->c, id, tys, (size_t)ntys);
  return LLVMBuildCall2(g->b, fty, fn, args, (unsigned)nargs, "");
}

/* An intrinsic overloaded on one type t. */
static LLVMValueRef intrinsic(cg *g, const char *name, LLVMTypeRef t, int nargs,
                              LLVMValueRef *args) {
  return intrinsic2(g, name, &t, 1, nargs, args);
}

/* Floating-point arithmetic may be contracted into fused multiply-adds:
 * that is what makes a multiply-accumulate one instruction. */
static LLVMValueRef contract(LLVMValueRef v) {
  if (LLVMIsAInstruction(v))
    LLVMSetFastMathFlags(v, LLVMFastMathAllowContract);
  return v;
}

/* cast with dlcc's defined results (see loop.def); t is the result type */
static LLVMValueRef cast(cg *g, dlc_dtype from, dlc_dtype to, LLVMTypeRef t,
                         LLVMValueRef a) {
  bool ffl = dlc_dtype_is_float(from), tfl = dlc_dtype_is_float(to);
  LLVMTypeRef ft = LLVMTypeOf(a);
  if (to == DLC_BOOL) {
    if (ffl)
      return to_bool(g, LLVMBuildFCmp(g->b, LLVMRealUNE, a, cflt(ft, 0), ""));
    return to_bool(g, LLVMBuildICmp(g->b, LLVMIntNE, a, cint(ft, 0), ""));
  }
  if (from == DLC_BOOL)
    return tfl ? LLVMBuildUIToFP(g->b, a, t, "") : LLVMBuildZExt(g->b, a, t, "");
  if (ffl && tfl)
    return LLVMBuildFPCast(g->b, a, t, "");
  if (ffl) {
    LLVMTypeRef tys[2] = {t, ft};
    return intrinsic2(g, "llvm.fptosi.sat", tys, 2, 1, &a);
  }
  if (tfl)
    return LLVMBuildSIToFP(g->b, a, t, "");
  return LLVMBuildIntCast2(g->b, a, t, 1, "");
}

static LLVMValueRef libm_scalar(cg *g, const char *name, LLVMTypeRef ft, LLVMValueRef x) {
  LLVMTypeRef fty = LLVMFunctionType(ft, &ft, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
  if (!fn)
    fn = LLVMAddFunction(g->mod, name, fty);
  return LLVMBuildCall2(g->b, fty, fn, &x, 1, "");
}

/* A libm function of one argument, lane by lane for vectors. */
static LLVMValueRef libm(cg *g, const char *name, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind)
    return libm_scalar(g, name, t, x);
  LLVMValueRef r = LLVMGetPoison(t);
  for (unsigned i = 0; i < LLVMGetVectorSize(t); i++) {
    LLVMValueRef idx = LLVMConstInt(g->i32, i, 0);
    LLVMValueRef e = libm_scalar(g, name, LLVMGetElementType(t),
                                 LLVMBuildExtractElement(g->b, x, idx, ""));
    r = LLVMBuildInsertElement(g->b, r, e, idx, "");
  }
  return r;
}

static void set_attr(cg *g, LLVMValueRef fn, const char *k, const char *v) {
  LLVMAddAttributeAtIndex(
      fn, LLVMAttributeFunctionIndex,
      LLVMCreateStringAttribute(g->c, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
}

static void enum_attr(cg *g, LLVMValueRef fn, unsigned idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->c, kind, 0));
}

static void function_attrs(cg *g, LLVMValueRef fn) {
  if (g->cpu && *g->cpu)
    set_attr(g, fn, "target-cpu", g->cpu);
  if (g->features && *g->features)
    set_attr(g, fn, "target-features", g->features);
  /* LLVM keeps to 256-bit vectors on AVX-512 unless asked */
  if (g->features && strstr(g->features, "+avx512f"))
    set_attr(g, fn, "prefer-vector-width", "512");
  enum_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
}

/* An alloca in the entry block of the current function, so that SROA and
 * mem2reg see it wherever it is created. */
static LLVMValueRef entry_alloca(cg *g, LLVMTypeRef t, const char *name) {
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(g->fn);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(g->c);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(b, first);
  else
    LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef a = LLVMBuildAlloca(b, t, name);
  LLVMDisposeBuilder(b);
  return a;
}

static LLVMValueRef expr(cg *g, const dlc_lexpr *e);

static LLVMValueRef elem_ptr(cg *g, const dlc_lbuf *b, LLVMValueRef idx) {
  return LLVMBuildInBoundsGEP2(g->b, ty(g, b->type.dtype), g->bufval[b->id], &idx,
                               1, "");
}

/* Integer division with dlcc's defined results: x/0 = 0, MIN/-1 = MIN. */
static LLVMValueRef int_div(cg *g, LLVMTypeRef t, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef zero = cint(t, 0), one = cint(t, 1), minus1 = cint(t, -1);
  LLVMValueRef is0 = LLVMBuildICmp(g->b, LLVMIntEQ, b, zero, "");
  LLVMValueRef ism1 = LLVMBuildICmp(g->b, LLVMIntEQ, b, minus1, "");
  LLVMValueRef safe = LLVMBuildSelect(g->b, LLVMBuildOr(g->b, is0, ism1, ""), one, b, "");
  LLVMValueRef q = LLVMBuildSDiv(g->b, a, safe, "");
  q = LLVMBuildSelect(g->b, ism1, LLVMBuildSub(g->b, zero, a, ""), q, "");
  return LLVMBuildSelect(g->b, is0, zero, q, "");
}

/* f32 transcendental functions are inline polynomials (vmath.c, errors in
 * docs/operators.md), so they vectorize; f64 ones call libm. */
static LLVMValueRef transcendental(cg *g, dlc_lx_kind k, dlc_dtype t, LLVMValueRef a) {
  bool f32 = t == DLC_F32;
  switch (k) {
  case DLC_LX_EXP: return f32 ? dlc_vmath_exp(g->mod, g->b, a) : libm(g, "exp", a);
  case DLC_LX_LOG: return f32 ? dlc_vmath_log(g->mod, g->b, a) : libm(g, "log", a);
  case DLC_LX_TANH: return f32 ? dlc_vmath_tanh(g->mod, g->b, a) : libm(g, "tanh", a);
  case DLC_LX_ERF: return f32 ? dlc_vmath_erf(g->mod, g->b, a) : libm(g, "erf", a);
  default: dlc_unreachable();
  }
}

/* The operation of e on already computed operands; t is the result type,
 * a scalar or a vector: the same code serves both. */
static LLVMValueRef build_op(cg *g, const dlc_lexpr *e, LLVMTypeRef t, LLVMValueRef a,
                             LLVMValueRef b, LLVMValueRef c) {
  bool fl = dlc_dtype_is_float(e->dtype);
  /* comparisons take their operands' type */
  bool ofl = dlc_lx_arity[e->kind] >= 2 && dlc_dtype_is_float(e->a[0]->dtype);
  switch (e->kind) {
  case DLC_LX_ADD: return fl ? contract(LLVMBuildFAdd(g->b, a, b, "")) : LLVMBuildAdd(g->b, a, b, "");
  case DLC_LX_SUB: return fl ? contract(LLVMBuildFSub(g->b, a, b, "")) : LLVMBuildSub(g->b, a, b, "");
  case DLC_LX_MUL: return fl ? contract(LLVMBuildFMul(g->b, a, b, "")) : LLVMBuildMul(g->b, a, b, "");
  case DLC_LX_DIV: return fl ? LLVMBuildFDiv(g->b, a, b, "") : int_div(g, t, a, b);
  case DLC_LX_REM: return LLVMBuildSRem(g->b, a, b, "");
  case DLC_LX_MAX: {
    LLVMValueRef args[2] = {a, b};
    return intrinsic(g, fl ? "llvm.maximum" : "llvm.smax", t, 2, args);
  }
  case DLC_LX_MIN: {
    LLVMValueRef args[2] = {a, b};
    return intrinsic(g, fl ? "llvm.minimum" : "llvm.smin", t, 2, args);
  }
  case DLC_LX_NEG: return fl ? LLVMBuildFNeg(g->b, a, "") : LLVMBuildSub(g->b, cint(t, 0), a, "");
  case DLC_LX_EXP:
  case DLC_LX_LOG:
  case DLC_LX_TANH:
  case DLC_LX_ERF: return transcendental(g, e->kind, e->dtype, a);
  case DLC_LX_SQRT: return intrinsic(g, "llvm.sqrt", t, 1, &a);
  case DLC_LX_POW: {
    LLVMValueRef args[2] = {a, b};
    return intrinsic(g, "llvm.pow", t, 2, args);
  }
  case DLC_LX_ABS: {
    if (fl)
      return intrinsic(g, "llvm.fabs", t, 1, &a);
    /* abs(MIN) is MIN: is_int_min_poison = false */
    LLVMValueRef args[2] = {a, LLVMConstInt(g->i1, 0, 0)};
    return intrinsic(g, "llvm.abs", t, 2, args);
  }
  case DLC_LX_EQ:
    return to_bool(g, ofl ? LLVMBuildFCmp(g->b, LLVMRealOEQ, a, b, "")
                          : LLVMBuildICmp(g->b, LLVMIntEQ, a, b, ""));
  case DLC_LX_LT:
    return to_bool(g, ofl ? LLVMBuildFCmp(g->b, LLVMRealOLT, a, b, "")
                          : LLVMBuildICmp(g->b, LLVMIntSLT, a, b, ""));
  case DLC_LX_GT:
    return to_bool(g, ofl ? LLVMBuildFCmp(g->b, LLVMRealOGT, a, b, "")
                          : LLVMBuildICmp(g->b, LLVMIntSGT, a, b, ""));
  case DLC_LX_AND: return LLVMBuildAnd(g->b, a, b, "");
  case DLC_LX_SELECT: return LLVMBuildSelect(g->b, truth(g, a), b, c, "");
  case DLC_LX_CAST: return cast(g, e->a[0]->dtype, e->dtype, t, a);
  default: dlc_unreachable();
  }
}

static LLVMValueRef var_value(cg *g, const dlc_lvar *v) {
  if (g->varval[v->id])
    return g->varval[v->id];
  return LLVMBuildLoad2(g->b, ty(g, v->dtype), g->varslot[v->id], v->name);
}

static LLVMValueRef expr(cg *g, const dlc_lexpr *e) {
  LLVMTypeRef t = ty(g, e->dtype);
  switch (e->kind) {
  case DLC_LX_ICONST: return LLVMConstInt(t, (unsigned long long)e->i, 1);
  case DLC_LX_FCONST: return LLVMConstReal(t, e->f);
  case DLC_LX_VAR: return var_value(g, e->var);
  case DLC_LX_LOAD: return LLVMBuildLoad2(g->b, t, elem_ptr(g, e->buf, expr(g, e->a[0])), "");
  default: break;
  }
  LLVMValueRef a[3] = {0};
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    a[i] = expr(g, e->a[i]);
  return build_op(g, e, t, a[0], a[1], a[2]);
}

/* ---- vector bodies ----
 * A vectorized loop runs g->lanes iterations at once: the lane variable is
 * base + <0, 1, ...>. Expressions that do not depend on it are computed once
 * as scalars and splatted; loads and stores whose index moves by one per
 * iteration become vector loads and stores, any other varying index a
 * gather or scatter. */

static bool varies(cg *g, const dlc_lexpr *e) {
  if (e->kind == DLC_LX_VAR)
    return e->var == g->lane || g->vpriv[e->var->id];
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    if (varies(g, e->a[i]))
      return true;
  return false;
}

/* Whether index e is uniform + coef * lane with a constant coef. */
static bool affine(cg *g, const dlc_lexpr *e, int64_t *coef) {
  int64_t ca, cb;
  switch (e->kind) {
  case DLC_LX_VAR: *coef = e->var == g->lane; return true;
  case DLC_LX_ADD:
  case DLC_LX_SUB:
    if (!affine(g, e->a[0], &ca) || !affine(g, e->a[1], &cb))
      return false;
    *coef = e->kind == DLC_LX_ADD ? ca + cb : ca - cb;
    return true;
  case DLC_LX_MUL:
    if (e->a[1]->kind == DLC_LX_ICONST && affine(g, e->a[0], &ca)) {
      *coef = ca * e->a[1]->i;
      return true;
    }
    if (e->a[0]->kind == DLC_LX_ICONST && affine(g, e->a[1], &cb)) {
      *coef = cb * e->a[0]->i;
      return true;
    }
    break;
  default: break;
  }
  *coef = 0;
  return !varies(g, e);
}

static LLVMValueRef vexpr(cg *g, const dlc_lexpr *e);

static LLVMValueRef iota(cg *g) {
  LLVMValueRef elems[64];
  for (int i = 0; i < g->lanes; i++)
    elems[i] = LLVMConstInt(g->i64, (unsigned long long)i, 0);
  return LLVMConstVector(elems, (unsigned)g->lanes);
}

static LLVMValueRef all_true(cg *g) {
  return splat_const(LLVMConstInt(g->i1, 1, 0), LLVMVectorType(g->i1, (unsigned)g->lanes));
}

/* Pointers to lanes' elements of b at a varying index (gather/scatter). */
static LLVMValueRef lane_ptrs(cg *g, const dlc_lbuf *b, const dlc_lexpr *index) {
  LLVMValueRef idx = vexpr(g, index);
  return LLVMBuildInBoundsGEP2(g->b, ty(g, b->type.dtype), g->bufval[b->id], &idx, 1, "");
}

/* Lanes at a small constant stride (a stride-2 convolution or pooling
 * window): one wide load of the span, every stride-th element picked by a
 * shuffle, which is far cheaper than a gather. The load is masked to end
 * at the last element used, so it never reads past what a gather would. */
static LLVMValueRef strided_load(cg *g, const dlc_lexpr *e, int stride) {
  unsigned n = (unsigned)(g->lanes * stride), used = (unsigned)((g->lanes - 1) * stride + 1);
  LLVMTypeRef st = ty(g, e->dtype), wt = LLVMVectorType(st, n);
  LLVMValueRef bits[256], pick[64];
  DLC_ASSERT(n <= 256);
  for (unsigned i = 0; i < n; i++)
    bits[i] = LLVMConstInt(g->i1, i < used, 0);
  for (int i = 0; i < g->lanes; i++)
    pick[i] = LLVMConstInt(g->i32, (unsigned long long)(i * stride), 0);
  LLVMTypeRef tys[2] = {wt, g->ptr};
  LLVMValueRef args[4] = {elem_ptr(g, e->buf, expr(g, e->a[0])),
                          LLVMConstInt(g->i32, dlc_dtype_size(e->dtype), 0),
                          LLVMConstVector(bits, n), LLVMGetPoison(wt)};
  LLVMValueRef wide = intrinsic2(g, "llvm.masked.load", tys, 2, 4, args);
  return LLVMBuildShuffleVector(g->b, wide, LLVMGetPoison(wt),
                                LLVMConstVector(pick, (unsigned)g->lanes), "");
}

static LLVMValueRef vload(cg *g, const dlc_lexpr *e) {
  LLVMTypeRef st = ty(g, e->dtype), vt = vec(g, st);
  unsigned align = (unsigned)dlc_dtype_size(e->dtype);
  int64_t coef;
  bool aff = affine(g, e->a[0], &coef);
  if (aff && coef == 1) {
    LLVMValueRef l = LLVMBuildLoad2(g->b, vt, elem_ptr(g, e->buf, expr(g, e->a[0])), "");
    LLVMSetAlignment(l, align);
    return l;
  }
  if (aff && coef >= 2 && coef <= 4)
    return strided_load(g, e, (int)coef);
  LLVMTypeRef tys[2] = {vt, LLVMVectorType(g->ptr, (unsigned)g->lanes)};
  LLVMValueRef args[4] = {lane_ptrs(g, e->buf, e->a[0]), LLVMConstInt(g->i32, align, 0),
                          all_true(g), LLVMGetPoison(vt)};
  return intrinsic2(g, "llvm.masked.gather", tys, 2, 4, args);
}

static LLVMValueRef vexpr(cg *g, const dlc_lexpr *e) {
  if (!varies(g, e))
    return splat(g, expr(g, e));
  if (e->kind == DLC_LX_VAR && e->var != g->lane)
    return g->vpriv[e->var->id];
  if (e->kind == DLC_LX_VAR) /* the lane variable */
    return LLVMBuildAdd(g->b, splat(g, var_value(g, e->var)), iota(g), "");
  if (e->kind == DLC_LX_LOAD)
    return vload(g, e);
  LLVMValueRef a[3] = {0};
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    a[i] = vexpr(g, e->a[i]);
  return build_op(g, e, vec(g, ty(g, e->dtype)), a[0], a[1], a[2]);
}

static void vstore(cg *g, const dlc_lstmt *s) {
  LLVMValueRef v = vexpr(g, s->value);
  unsigned align = (unsigned)dlc_dtype_size(s->buf->type.dtype);
  int64_t coef;
  if (affine(g, s->index, &coef) && coef == 1) {
    LLVMValueRef st = LLVMBuildStore(g->b, v, elem_ptr(g, s->buf, expr(g, s->index)));
    LLVMSetAlignment(st, align);
    return;
  }
  LLVMTypeRef tys[2] = {LLVMTypeOf(v), LLVMVectorType(g->ptr, (unsigned)g->lanes)};
  LLVMValueRef args[4] = {v, lane_ptrs(g, s->buf, s->index), LLVMConstInt(g->i32, align, 0),
                          all_true(g)};
  intrinsic2(g, "llvm.masked.scatter", tys, 2, 4, args);
}

/* A vectorized loop (the vectorize pass kept only those whose bodies can
 * run in lanes, dlc_loop_lanes_ok) runs in vectors unless it is too short
 * for them, or has reductions and is shorter than one vector. Reductions
 * combine their partial results at the end (for floats in another order
 * than one by one: see docs/architecture.md). */
static bool vectorizable(cg *g, const dlc_lstmt *loop) {
  if (g->lanes < 2 || loop->extent < (g->lanes < 4 ? g->lanes : 4) || g->lane)
    return false;
  if (loop->extent < g->lanes && dlc_loop_has_reduction(loop))
    return false; /* narrow vectors only for loops without reductions */
  return dlc_loop_lanes_ok(loop);
}

/* The identity of a reduction: 0 for add, the lowest value for max. */
static LLVMValueRef red_identity(cg *g, dlc_lx_kind k, dlc_dtype t) {
  LLVMTypeRef vt = vec(g, ty(g, t));
  bool fl = dlc_dtype_is_float(t);
  if (k == DLC_LX_ADD)
    return fl ? cflt(vt, 0) : cint(vt, 0);
  double inf = k == DLC_LX_MAX ? -HUGE_VAL : HUGE_VAL;
  if (fl)
    return cflt(vt, inf);
  long long lo = t == DLC_I32 ? INT32_MIN : t == DLC_I64 ? INT64_MIN : 0;
  long long hi = t == DLC_I32 ? INT32_MAX : t == DLC_I64 ? INT64_MAX : 1;
  return cint(vt, k == DLC_LX_MAX ? lo : hi);
}

/* The lanes of v combined into one scalar by reduction kind k. */
static LLVMValueRef red_lanes(cg *g, dlc_lx_kind k, dlc_dtype t, LLVMValueRef v) {
  bool fl = dlc_dtype_is_float(t);
  LLVMTypeRef vt = LLVMTypeOf(v);
  if (k == DLC_LX_ADD && fl) {
    LLVMValueRef args[2] = {LLVMConstReal(ty(g, t), -0.0), v};
    return intrinsic(g, "llvm.vector.reduce.fadd", vt, 2, args);
  }
  const char *name = k == DLC_LX_ADD   ? "llvm.vector.reduce.add"
                     : k == DLC_LX_MAX ? (fl ? "llvm.vector.reduce.fmaximum" : "llvm.vector.reduce.smax")
                                       : (fl ? "llvm.vector.reduce.fminimum" : "llvm.vector.reduce.smin");
  return intrinsic(g, name, vt, 1, &v);
}

/* ---- statements ---- */

static void block(cg *g, const dlc_lstmt *s);

/* for var in begin..end (end > begin, both i64 values): body */
static void emit_loop(cg *g, const dlc_lvar *var, LLVMValueRef begin, LLVMValueRef end,
                      void (*body)(cg *, const dlc_lstmt *), const dlc_lstmt *bodys) {
  LLVMValueRef slot = g->varslot[var->id];
  LLVMBuildStore(g->b, begin, slot);
  LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(g->c, g->fn, var->name);
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBuildBr(g->b, bb);
  LLVMPositionBuilderAtEnd(g->b, bb);
  DLC_ASSERT(g->nscope < 64);
  g->scope[g->nscope++] = var;
  body(g, bodys);
  g->nscope--;
  LLVMValueRef i = LLVMBuildLoad2(g->b, g->i64, slot, "");
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, i, LLVMConstInt(g->i64, 1, 0), "");
  LLVMBuildStore(g->b, next, slot);
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, next, end, ""), bb, done);
  LLVMPositionBuilderAtEnd(g->b, done);
}

static void vector_body(cg *g, const dlc_lstmt *s) {
  for (; s; s = s->next) {
    if (s->kind == DLC_LS_STORE) {
      vstore(g, s);
      continue;
    }
    int at = dlc_ls_reduction(s);
    if (at < 0) {
      g->vpriv[s->var->id] = vexpr(g, s->value);
      continue;
    }
    LLVMTypeRef vt = vec(g, ty(g, s->var->dtype));
    LLVMValueRef acc = LLVMBuildLoad2(g->b, vt, g->vacc[s->var->id], "");
    LLVMValueRef e = vexpr(g, s->value->a[at]);
    LLVMValueRef v = at == 1 ? build_op(g, s->value, vt, acc, e, NULL)
                             : build_op(g, s->value, vt, e, acc, NULL);
    LLVMBuildStore(g->b, v, g->vacc[s->var->id]);
  }
}

/* Before a vector loop: a vector accumulator per reduction, at the
 * identity. After it: each folded into its scalar. */
static void reductions_begin(cg *g, const dlc_lstmt *loop) {
  for (const dlc_lstmt *s = loop->body; s; s = s->next)
    if (s->kind == DLC_LS_ASSIGN && dlc_ls_reduction(s) >= 0 && !g->vacc[s->var->id]) {
      dlc_dtype t = s->var->dtype;
      g->vacc[s->var->id] = entry_alloca(g, vec(g, ty(g, t)), "");
      LLVMBuildStore(g->b, red_identity(g, s->value->kind, t), g->vacc[s->var->id]);
    }
}

static void reductions_end(cg *g, const dlc_lstmt *loop) {
  for (const dlc_lstmt *s = loop->body; s; s = s->next) {
    if (s->kind != DLC_LS_ASSIGN || !g->vacc[s->var->id])
      continue;
    dlc_dtype t = s->var->dtype;
    LLVMValueRef acc = LLVMBuildLoad2(g->b, vec(g, ty(g, t)), g->vacc[s->var->id], "");
    LLVMValueRef lanes = red_lanes(g, s->value->kind, t, acc);
    LLVMValueRef cur = var_value(g, s->var);
    LLVMBuildStore(g->b, build_op(g, s->value, ty(g, t), cur, lanes, NULL), g->varslot[s->var->id]);
    g->vacc[s->var->id] = NULL;
  }
  for (const dlc_lstmt *s = loop->body; s; s = s->next)
    if (s->kind == DLC_LS_ASSIGN)
      g->vpriv[s->var->id] = NULL;
}

/* The lane variable's value for the vector loop counter held in its slot. */
static void vector_step(cg *g, const dlc_lstmt *loop) {
  LLVMValueRef u = LLVMBuildLoad2(g->b, g->i64, g->varslot[loop->var->id], "");
  g->varval[loop->var->id] = LLVMBuildMul(g->b, u, LLVMConstInt(g->i64, (unsigned long long)g->lanes, 0), "");
  vector_body(g, loop->body);
  g->varval[loop->var->id] = NULL;
}

static void vector_loop(cg *g, const dlc_lstmt *s) {
  int64_t nvec = s->extent / g->lanes, done = nvec * g->lanes;
  g->lane = s->var;
  reductions_begin(g, s);
  if (nvec <= 8) { /* short: unrolled, every index a constant */
    for (int64_t u = 0; u < nvec; u++) {
      g->varval[s->var->id] = LLVMConstInt(g->i64, (unsigned long long)(u * g->lanes), 0);
      vector_body(g, s->body);
    }
    g->varval[s->var->id] = NULL;
  } else {
    /* the slot counts vectors; vector_step scales it */
    LLVMValueRef slot = g->varslot[s->var->id];
    LLVMBuildStore(g->b, LLVMConstInt(g->i64, 0, 0), slot);
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(g->c, g->fn, s->var->name);
    LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
    LLVMBuildBr(g->b, bb);
    LLVMPositionBuilderAtEnd(g->b, bb);
    vector_step(g, s);
    LLVMValueRef i = LLVMBuildLoad2(g->b, g->i64, slot, "");
    LLVMValueRef next = LLVMBuildNSWAdd(g->b, i, LLVMConstInt(g->i64, 1, 0), "");
    LLVMBuildStore(g->b, next, slot);
    LLVMBuildCondBr(g->b,
                    LLVMBuildICmp(g->b, LLVMIntSLT, next,
                                  LLVMConstInt(g->i64, (unsigned long long)nvec, 0), ""),
                    bb, after);
    LLVMPositionBuilderAtEnd(g->b, after);
  }
  g->lane = NULL;
  reductions_end(g, s);
  /* the remainder: in half and quarter vectors while they fit (a loop
   * without reductions; 24 lanes are one vector and a half), then one
   * element at a time */
  int full = g->lanes;
  for (int w = full / 2; w >= 4 && !dlc_loop_has_reduction(s); w /= 2)
    if (s->extent - done >= w) {
      g->lanes = w;
      g->lane = s->var;
      g->varval[s->var->id] = LLVMConstInt(g->i64, (unsigned long long)done, 0);
      vector_body(g, s->body);
      g->varval[s->var->id] = NULL;
      g->lane = NULL;
      done += w;
    }
  g->lanes = full;
  if (done < s->extent)
    emit_loop(g, s->var, LLVMConstInt(g->i64, (unsigned long long)done, 0),
              LLVMConstInt(g->i64, (unsigned long long)s->extent, 0), block, s->body);
}

static void parallel_loop(cg *g, const dlc_lstmt *s);

static void loop_stmt(cg *g, const dlc_lstmt *s) {
  if (dlc_loop_unrolls(s)) {
    for (int64_t u = 0; u < s->extent; u++) {
      g->varval[s->var->id] = LLVMConstInt(g->i64, (unsigned long long)u, 0);
      block(g, s->body);
    }
    g->varval[s->var->id] = NULL;
    return;
  }
  if (s->loop_kind == DLC_LOOP_VECTORIZED && vectorizable(g, s)) {
    vector_loop(g, s);
    return;
  }
  /* the parallelize pass left parallel only loops worth threads; the
   * guard keeps loops that were not through it correct */
  if (s->loop_kind == DLC_LOOP_PARALLEL && !g->in_par && dlc_loop_outlinable(g->kern, s)) {
    parallel_loop(g, s);
    return;
  }
  emit_loop(g, s->var, LLVMConstInt(g->i64, 0, 0),
            LLVMConstInt(g->i64, (unsigned long long)s->extent, 0), block, s->body);
}

static void stmt(cg *g, const dlc_lstmt *s) {
  switch (s->kind) {
  case DLC_LS_STORE: {
    LLVMValueRef v = expr(g, s->value);
    LLVMBuildStore(g->b, v, elem_ptr(g, s->buf, expr(g, s->index)));
    break;
  }
  case DLC_LS_ASSIGN:
    LLVMBuildStore(g->b, expr(g, s->value), g->varslot[s->var->id]);
    break;
  case DLC_LS_PREFETCH: { /* llvm.prefetch(address, read, locality 2, data) */
    LLVMValueRef a[4] = {elem_ptr(g, s->buf, expr(g, s->index)), LLVMConstInt(g->i32, 0, 0),
                         LLVMConstInt(g->i32, 2, 0), LLVMConstInt(g->i32, 1, 0)};
    intrinsic(g, "llvm.prefetch", g->ptr, 4, a);
    break;
  }
  case DLC_LS_LOOP: loop_stmt(g, s); break;
  }
}

static void block(cg *g, const dlc_lstmt *s) {
  for (; s; s = s->next)
    stmt(g, s);
}

static void collect_vars(cg *g, const dlc_lstmt *s) {
  for (; s; s = s->next)
    if (s->kind == DLC_LS_LOOP) {
      g->varslot[s->var->id] = LLVMBuildAlloca(g->b, g->i64, s->var->name);
      collect_vars(g, s->body);
    }
}

/* Slots for the kernel's locals and loop variables, and its local arrays,
 * in the entry block of the current function. */
/* body: the kernel's statements, or (outlined) the one parallel loop */
static void function_frame(cg *g, const dlc_kernel *k, const dlc_lstmt *body, bool one) {
  if (one) {
    g->varslot[body->var->id] = LLVMBuildAlloca(g->b, g->i64, body->var->name);
    collect_vars(g, body->body);
  } else {
    collect_vars(g, body);
  }
  for (int i = 0; i < k->nlocals; i++)
    g->varslot[k->locals[i]->id] =
        LLVMBuildAlloca(g->b, ty(g, k->locals[i]->dtype), k->locals[i]->name);
  for (int i = 0; i < k->nparams; i++) {
    const dlc_lbuf *b = k->params[i];
    if (b->kind != DLC_BUF_LOCAL)
      continue;
    LLVMValueRef a = LLVMBuildAlloca(
        g->b, LLVMArrayType2(ty(g, b->type.dtype), (uint64_t)dlc_type_numel(&b->type)),
        b->name);
    LLVMSetAlignment(a, 64);
    g->bufval[b->id] = a;
  }
}

/* ---- parallel loops ----
 * A parallel loop (one level: the parallelize pass keeps none inside
 * another) becomes a function body(closure, begin, end) over a range of
 * its iterations; the kernel hands it to the runtime's parallel_for, or
 * calls it once for the whole range when there is no pool. The closure is
 * the kernel's buffer pointers, then the indices of the loops around it. */

static bool is_buffer_param(const dlc_lbuf *b) { return b->kind != DLC_BUF_LOCAL; }

static LLVMValueRef outline(cg *g, const dlc_kernel *k, const dlc_lstmt *loop) {
  char name[256];
  snprintf(name, sizeof name, "%s.par%d", k->name, g->nouts++);
  LLVMTypeRef params[3] = {g->ptr, g->i64, g->i64};
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(g->voidt, params, 3, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  function_attrs(g, fn);
  LLVMValueRef saved_fn = g->fn;
  LLVMBasicBlockRef saved_bb = LLVMGetInsertBlock(g->b);
  size_t nslots = (size_t)g->m->next_var + 1, nb = (size_t)g->m->nbufs + 1;
  LLVMValueRef *slots = dlc_xmalloc(nslots * sizeof *slots);
  LLVMValueRef *bufs = dlc_xmalloc(nb * sizeof *bufs);
  memcpy(slots, g->varslot, nslots * sizeof *slots);
  memcpy(bufs, g->bufval, nb * sizeof *bufs);

  g->fn = fn;
  LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->c, fn, "entry"));
  LLVMValueRef closure = LLVMGetParam(fn, 0);
  int p = 0;
  for (int i = 0; i < k->nparams; i++) {
    const dlc_lbuf *b = k->params[i];
    if (!is_buffer_param(b))
      continue;
    LLVMValueRef idx = LLVMConstInt(g->i64, (unsigned long long)p++, 0);
    g->bufval[b->id] = LLVMBuildLoad2(
        g->b, g->ptr, LLVMBuildInBoundsGEP2(g->b, g->ptr, closure, &idx, 1, ""), b->name);
  }
  /* the enclosing loops' indices, fixed for this body */
  LLVMValueRef *saved_vals = dlc_xmalloc(nslots * sizeof *saved_vals);
  memcpy(saved_vals, g->varval, nslots * sizeof *saved_vals);
  for (int i = 0; i < g->nscope; i++) {
    LLVMValueRef idx = LLVMConstInt(g->i64, (unsigned long long)(p + i), 0);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(g->b, g->ptr, closure, &idx, 1, "");
    g->varval[g->scope[i]->id] = LLVMBuildLoad2(g->b, g->i64, at, g->scope[i]->name);
  }
  int saved_nscope = g->nscope;
  const dlc_lvar *saved_scope[64];
  memcpy(saved_scope, g->scope, sizeof saved_scope);
  g->nscope = 0;
  g->in_par = true;
  function_frame(g, k, loop, true);
  LLVMValueRef begin = LLVMGetParam(fn, 1), end = LLVMGetParam(fn, 2);
  LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(g->c, fn, "");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, fn, "");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, begin, end, ""), run, done);
  LLVMPositionBuilderAtEnd(g->b, run);
  emit_loop(g, loop->var, begin, end, block, loop->body);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
  LLVMBuildRetVoid(g->b);

  memcpy(g->varslot, slots, nslots * sizeof *slots);
  memcpy(g->bufval, bufs, nb * sizeof *bufs);
  memcpy(g->varval, saved_vals, nslots * sizeof *saved_vals);
  g->nscope = saved_nscope;
  memcpy(g->scope, saved_scope, sizeof saved_scope);
  g->in_par = false;
  free(slots);
  free(bufs);
  free(saved_vals);
  g->fn = saved_fn;
  LLVMPositionBuilderAtEnd(g->b, saved_bb);
  return fn;
}

/* exec->parallel_for(exec->pool, n, body, closure) when exec offers one and
 * asks for more than one thread, else body(closure, 0, n). */
static void parallel_call(cg *g, LLVMValueRef exec, LLVMValueRef body, LLVMValueRef closure,
                          int64_t n) {
  LLVMTypeRef bty = LLVMGlobalGetValueType(body);
  LLVMTypeRef pfp[4] = {g->ptr, g->i64, g->ptr, g->ptr};
  LLVMTypeRef pfty = LLVMFunctionType(g->voidt, pfp, 4, 0);
  LLVMValueRef N = LLVMConstInt(g->i64, (unsigned long long)n, 0);
  LLVMBasicBlockRef check = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBasicBlockRef ser = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBuildCondBr(g->b, LLVMBuildIsNull(g->b, exec, ""), ser, check);
  LLVMPositionBuilderAtEnd(g->b, check);
  LLVMValueRef i8 = LLVMConstInt(g->i64, 8, 0), i16 = LLVMConstInt(g->i64, 16, 0),
               i4 = LLVMConstInt(g->i64, 4, 0);
  LLVMValueRef threads = LLVMBuildLoad2(g->b, g->i32, LLVMBuildInBoundsGEP2(g->b, g->i8, exec, &i4, 1, ""), "");
  LLVMValueRef pf = LLVMBuildLoad2(g->b, g->ptr, LLVMBuildInBoundsGEP2(g->b, g->i8, exec, &i16, 1, ""), "");
  LLVMValueRef ok = LLVMBuildAnd(
      g->b, LLVMBuildICmp(g->b, LLVMIntSGT, threads, LLVMConstInt(g->i32, 1, 0), ""),
      LLVMBuildIsNotNull(g->b, pf, ""), "");
  LLVMBuildCondBr(g->b, ok, par, ser);
  LLVMPositionBuilderAtEnd(g->b, par);
  LLVMValueRef pool = LLVMBuildLoad2(g->b, g->ptr, LLVMBuildInBoundsGEP2(g->b, g->i8, exec, &i8, 1, ""), "");
  LLVMValueRef pargs[4] = {pool, N, body, closure};
  LLVMBuildCall2(g->b, pfty, pf, pargs, 4, "");
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, ser);
  LLVMValueRef sargs[3] = {closure, LLVMConstInt(g->i64, 0, 0), N};
  LLVMBuildCall2(g->b, bty, body, sargs, 3, "");
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
}

/* Whether another of k's workspace buffers shares bytes with b. */
static bool overlaps_other(const dlc_kernel *k, const dlc_lbuf *b) {
  if (b->kind != DLC_BUF_TEMP)
    return false;
  int64_t end = b->offset + (int64_t)dlc_type_bytes(&b->type);
  for (int i = 0; i < k->nparams; i++) {
    const dlc_lbuf *o = k->params[i];
    if (o == b || o->kind != DLC_BUF_TEMP)
      continue;
    int64_t oend = o->offset + (int64_t)dlc_type_bytes(&o->type);
    if (o->offset < end && b->offset < oend)
      return true;
  }
  return false;
}

static LLVMValueRef kernel(cg *g, const dlc_kernel *k) {
  int nb = 0;
  for (int i = 0; i < k->nparams; i++)
    nb += is_buffer_param(k->params[i]);
  LLVMTypeRef *params = dlc_xcalloc((size_t)nb + 2, sizeof *params);
  for (int i = 0; i <= nb; i++) /* the buffers, then exec */
    params[i] = g->ptr;
  LLVMTypeRef fty = LLVMFunctionType(g->voidt, params, (unsigned)nb + 1, 0);
  free(params);
  LLVMValueRef fn = LLVMAddFunction(g->mod, k->name, fty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  function_attrs(g, fn);
  int p = 0;
  for (int i = 0; i < k->nparams; i++) {
    if (!is_buffer_param(k->params[i]))
      continue;
    /* distinct buffers do not overlap, except an elementwise result
     * computed in place over its operand */
    if (!overlaps_other(k, k->params[i]))
      enum_attr(g, fn, (unsigned)p + 1, "noalias");
    enum_attr(g, fn, (unsigned)p + 1, "nocapture");
    LLVMValueRef v = LLVMGetParam(fn, (unsigned)p++);
    LLVMSetValueName2(v, k->params[i]->name, strlen(k->params[i]->name));
    g->bufval[k->params[i]->id] = v;
  }
  LLVMValueRef exec = LLVMGetParam(fn, (unsigned)nb);
  g->fn = fn;
  LLVMPositionBuilderAtEnd(g->b, LLVMAppendBasicBlockInContext(g->c, fn, "entry"));
  function_frame(g, k, k->body, false);
  g->kern = k;
  g->exec = exec;
  g->nscope = 0;
  block(g, k->body);
  LLVMBuildRetVoid(g->b);
  return fn;
}

/* A parallel loop: its body outlined, handed to parallel_for with a
 * closure of the kernel's buffers and the enclosing loops' indices. */
static void parallel_loop(cg *g, const dlc_lstmt *s) {
  const dlc_kernel *k = g->kern;
  int nb = 0;
  for (int i = 0; i < k->nparams; i++)
    nb += is_buffer_param(k->params[i]);
  LLVMValueRef closure = entry_alloca(g, LLVMArrayType2(g->ptr, (uint64_t)(nb + g->nscope) + 1),
                                      "closure");
  int q = 0;
  for (int i = 0; i < k->nparams; i++) {
    if (!is_buffer_param(k->params[i]))
      continue;
    LLVMValueRef idx = LLVMConstInt(g->i64, (unsigned long long)q++, 0);
    LLVMBuildStore(g->b, g->bufval[k->params[i]->id],
                   LLVMBuildInBoundsGEP2(g->b, g->ptr, closure, &idx, 1, ""));
  }
  for (int i = 0; i < g->nscope; i++) {
    LLVMValueRef idx = LLVMConstInt(g->i64, (unsigned long long)(q + i), 0);
    LLVMBuildStore(g->b, var_value(g, g->scope[i]),
                   LLVMBuildInBoundsGEP2(g->b, g->ptr, closure, &idx, 1, ""));
  }
  parallel_call(g, g->exec, outline(g, k, s), closure, s->extent);
}

static LLVMValueRef const_global(cg *g, const char *name, LLVMValueRef init,
                                 unsigned align) {
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  if (align)
    LLVMSetAlignment(gv, align);
  return gv;
}

static LLVMValueRef cstring(cg *g, const char *s, const char *name) {
  return const_global(g, name, LLVMConstStringInContext2(g->c, s, strlen(s), 0), 1);
}

/* ---- identical kernels share one function ----
 * Kernels that differ only in which buffers they get (the same convolution
 * on other weights, a repeated block) are one function called with other
 * arguments: a model's repeated layers are compiled once. The signature
 * writes a kernel's loops with buffers as parameter positions and variables
 * numbered in order of appearance. */

typedef struct sig {
  char *buf;
  size_t len, cap;
  int *varnum; /* by variable id: 1 + order of appearance, 0 unseen */
  int nvars;
  const dlc_kernel *k;
} sig;

static void sig_put(sig *s, const void *p, size_t n) {
  if (s->len + n > s->cap) {
    s->cap = (s->len + n) * 2 + 64;
    s->buf = realloc(s->buf, s->cap);
    DLC_ASSERT(s->buf);
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

static void sig_int(sig *s, int64_t v) { sig_put(s, &v, sizeof v); }

static void sig_var(sig *s, const dlc_lvar *v) {
  if (!s->varnum[v->id])
    s->varnum[v->id] = ++s->nvars;
  sig_int(s, s->varnum[v->id]);
  sig_int(s, v->dtype);
}

static void sig_buf(sig *s, const dlc_lbuf *b) {
  for (int i = 0; i < s->k->nparams; i++)
    if (s->k->params[i] == b) {
      sig_int(s, i);
      sig_int(s, b->type.dtype);
      if (b->kind == DLC_BUF_LOCAL)
        sig_int(s, dlc_type_numel(&b->type));
      return;
    }
  dlc_unreachable();
}

static void sig_expr(sig *s, const dlc_lexpr *e) {
  sig_int(s, e->kind);
  sig_int(s, e->dtype);
  switch (e->kind) {
  case DLC_LX_ICONST: sig_int(s, e->i); return;
  case DLC_LX_FCONST: sig_put(s, &e->f, sizeof e->f); return;
  case DLC_LX_VAR: sig_var(s, e->var); return;
  case DLC_LX_LOAD: sig_buf(s, e->buf); break;
  default: break;
  }
  for (int i = 0; i < dlc_lx_arity[e->kind]; i++)
    sig_expr(s, e->a[i]);
}

static void sig_block(sig *s, const dlc_lstmt *st) {
  for (; st; st = st->next) {
    sig_int(s, st->kind);
    switch (st->kind) {
    case DLC_LS_LOOP:
      sig_var(s, st->var);
      sig_int(s, st->extent);
      sig_int(s, st->loop_kind);
      sig_int(s, st->unroll);
      sig_block(s, st->body);
      sig_int(s, -1);
      break;
    case DLC_LS_STORE:
      sig_buf(s, st->buf);
      sig_expr(s, st->index);
      sig_expr(s, st->value);
      break;
    case DLC_LS_ASSIGN:
      sig_var(s, st->var);
      sig_expr(s, st->value);
      break;
    case DLC_LS_PREFETCH:
      sig_buf(s, st->buf);
      sig_expr(s, st->index);
      break;
    }
  }
}

static void kernel_sig(cg *g, const dlc_kernel *k, sig *s) {
  *s = (sig){.k = k, .varnum = dlc_xcalloc((size_t)g->m->next_var + 1, sizeof(int))};
  for (int i = 0; i < k->nparams; i++) {
    sig_int(s, k->params[i]->kind == DLC_BUF_LOCAL);
    sig_int(s, k->params[i]->type.dtype);
  }
  sig_block(s, k->body);
  free(s->varnum);
}

/* The function for each kernel: an earlier identical kernel's, or a new
 * one. Each signature is computed once. */
static void kernels_once(cg *g, dlc_kernel *const *ks, int n, LLVMValueRef *fns) {
  sig *sigs = dlc_xcalloc((size_t)n + 1, sizeof *sigs);
  for (int i = 0; i < n; i++) {
    kernel_sig(g, ks[i], &sigs[i]);
    fns[i] = NULL;
    for (int j = 0; j < i && !fns[i]; j++)
      if (sigs[j].len == sigs[i].len && memcmp(sigs[j].buf, sigs[i].buf, sigs[i].len) == 0)
        fns[i] = fns[j];
    if (!fns[i])
      fns[i] = kernel(g, ks[i]);
  }
  for (int i = 0; i < n; i++)
    free(sigs[i].buf);
  free(sigs);
}

/* exec->profiler when exec is there and long enough to have one, else NULL */
static LLVMValueRef profiler_of(cg *g, LLVMValueRef exec) {
  LLVMBasicBlockRef from = LLVMGetInsertBlock(g->b);
  LLVMBasicBlockRef check = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBasicBlockRef load = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBuildCondBr(g->b, LLVMBuildIsNull(g->b, exec, ""), done, check);
  LLVMPositionBuilderAtEnd(g->b, check);
  LLVMValueRef size = LLVMBuildLoad2(g->b, g->i32, exec, "");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntUGE, size, LLVMConstInt(g->i32, 40, 0), ""),
                  load, done);
  LLVMPositionBuilderAtEnd(g->b, load);
  LLVMValueRef off = LLVMConstInt(g->i64, 24, 0);
  LLVMValueRef prof = LLVMBuildLoad2(g->b, g->ptr, LLVMBuildInBoundsGEP2(g->b, g->i8, exec, &off, 1, ""), "");
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
  LLVMValueRef phi = LLVMBuildPhi(g->b, g->ptr, "profiler");
  LLVMValueRef vals[3] = {LLVMConstNull(g->ptr), LLVMConstNull(g->ptr), prof};
  LLVMBasicBlockRef from3[3] = {from, check, load};
  LLVMAddIncoming(phi, vals, from3, 3);
  return phi;
}

/* if (profiler) exec->kernel_done(profiler, index, name) */
static void kernel_done(cg *g, LLVMValueRef exec, LLVMValueRef profiler, int index,
                        const char *name) {
  LLVMBasicBlockRef call = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, g->fn, "");
  LLVMBuildCondBr(g->b, LLVMBuildIsNull(g->b, profiler, ""), done, call);
  LLVMPositionBuilderAtEnd(g->b, call);
  LLVMValueRef off = LLVMConstInt(g->i64, 32, 0);
  LLVMValueRef fn = LLVMBuildLoad2(g->b, g->ptr, LLVMBuildInBoundsGEP2(g->b, g->i8, exec, &off, 1, ""), "");
  LLVMTypeRef pt[3] = {g->ptr, g->i32, g->ptr};
  char gname[64];
  snprintf(gname, sizeof gname, "kernel.name.%d", index);
  LLVMValueRef args[3] = {profiler, LLVMConstInt(g->i32, (unsigned long long)index, 0),
                          cstring(g, name, gname)};
  LLVMBuildCall2(g->b, LLVMFunctionType(g->voidt, pt, 3, 0), fn, args, 3, "");
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
}

/* run(inputs, outputs, workspace, exec): buffer pointers, then each kernel */
static void host(cg *g, LLVMValueRef *kfns, LLVMValueRef runfn) {
  const dlc_lmodule *m = g->m;
  g->fn = runfn;
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->c, runfn, "entry");
  LLVMPositionBuilderAtEnd(g->b, entry);
  LLVMValueRef ins = LLVMGetParam(runfn, 0), outs = LLVMGetParam(runfn, 1),
               ws = LLVMGetParam(runfn, 2);
  for (int i = 0; i < m->nbufs; i++) {
    const dlc_lbuf *b = m->bufs[i];
    LLVMValueRef v = NULL, idx;
    switch (b->kind) {
    case DLC_BUF_INPUT:
    case DLC_BUF_OUTPUT:
      idx = LLVMConstInt(g->i64, (unsigned long long)b->index, 0);
      v = LLVMBuildLoad2(g->b, g->ptr,
                         LLVMBuildInBoundsGEP2(g->b, g->ptr,
                                               b->kind == DLC_BUF_INPUT ? ins : outs,
                                               &idx, 1, ""),
                         b->name);
      break;
    case DLC_BUF_CONST: v = g->constg[b->id]; break;
    case DLC_BUF_LOCAL: break; /* each kernel allocates its own */
    case DLC_BUF_TEMP:
      idx = LLVMConstInt(g->i64, (unsigned long long)b->offset, 0);
      v = LLVMBuildInBoundsGEP2(g->b, g->i8, ws, &idx, 1, b->name);
      break;
    }
    g->bufval[b->id] = v;
  }
  LLVMValueRef exec = LLVMGetParam(runfn, 3);
  LLVMValueRef profiler = profiler_of(g, exec);
  for (int i = 0; i < m->nkernels; i++) {
    const dlc_kernel *k = m->kernels[i];
    LLVMValueRef *args = dlc_xcalloc((size_t)k->nparams + 2, sizeof *args);
    int n = 0;
    for (int p = 0; p < k->nparams; p++)
      if (is_buffer_param(k->params[p]))
        args[n++] = g->bufval[k->params[p]->id];
    args[n++] = exec;
    LLVMBuildCall2(g->b, LLVMGlobalGetValueType(kfns[i]), kfns[i], args, (unsigned)n, "");
    free(args);
    kernel_done(g, exec, profiler, i, k->name);
  }
  LLVMBuildRet(g->b, LLVMConstInt(g->i32, 0, 0));
}

static LLVMValueRef tensor_table(cg *g, LLVMTypeRef tensor_t, dlc_lbuf **bufs,
                                 int n, const char *what, const char *const *names) {
  LLVMValueRef *elems = dlc_xcalloc((size_t)n + 1, sizeof *elems);
  char gname[64];
  for (int i = 0; i < n; i++) {
    const dlc_type *t = &bufs[i]->type;
    LLVMValueRef dims[DLC_MAX_RANK + 1];
    for (int d = 0; d < t->rank; d++)
      dims[d] = LLVMConstInt(g->i64, (unsigned long long)t->dims[d], 0);
    snprintf(gname, sizeof gname, "%s.dims.%d", what, i);
    /* a scalar gets a one-entry array so dims is never NULL */
    if (t->rank == 0)
      dims[0] = LLVMConstInt(g->i64, 1, 0);
    LLVMValueRef dimsg = const_global(
        g, gname, LLVMConstArray2(g->i64, dims, (uint64_t)(t->rank ? t->rank : 1)), 8);
    snprintf(gname, sizeof gname, "%s.name.%d", what, i);
    LLVMValueRef f[4] = {
        cstring(g, names[i], gname),
        LLVMConstInt(g->i32, (unsigned long long)dlc_dtype_abi(t->dtype), 0),
        LLVMConstInt(g->i32, (unsigned long long)t->rank, 0),
        dimsg,
    };
    elems[i] = LLVMConstNamedStruct(tensor_t, f, 4);
  }
  snprintf(gname, sizeof gname, "%s.tensors", what);
  LLVMValueRef arr = n ? const_global(g, gname, LLVMConstArray2(tensor_t, elems, (uint64_t)n), 8)
                       : LLVMConstNull(g->ptr);
  free(elems);
  return arr;
}

/* SIMD lanes of 32-bit elements the target's vector registers hold. */
static int simd_lanes(const char *features) {
  if (features && strstr(features, "+avx512f"))
    return 16;
  if (features && strstr(features, "+avx"))
    return 8;
  return 4; /* SSE, NEON and the like */
}

LLVMModuleRef dlc_llvm_codegen(LLVMContextRef ctx, const dlc_lmodule *m,
                               const char *cpu, const char *features) {
  DLC_ASSERT(m->planned); /* the plan pass gave the temporaries their offsets */
  cg g = {.c = ctx, .m = m, .cpu = cpu, .features = features};
  g.mod = LLVMModuleCreateWithNameInContext(m->name, ctx);
  LLVMSetSourceFileName(g.mod, m->name, strlen(m->name));
  g.b = LLVMCreateBuilderInContext(ctx);
  g.ptr = LLVMPointerTypeInContext(ctx, 0);
  g.i8 = LLVMInt8TypeInContext(ctx);
  g.i32 = LLVMInt32TypeInContext(ctx);
  g.i64 = LLVMInt64TypeInContext(ctx);
  g.f32 = LLVMFloatTypeInContext(ctx);
  g.f64 = LLVMDoubleTypeInContext(ctx);
  g.voidt = LLVMVoidTypeInContext(ctx);
  g.i1 = LLVMInt1TypeInContext(ctx);
  g.lanes = simd_lanes(features);
  g.bufval = dlc_xcalloc((size_t)m->nbufs + 1, sizeof *g.bufval);
  g.constg = dlc_xcalloc((size_t)m->nbufs + 1, sizeof *g.constg);
  g.varslot = dlc_xcalloc((size_t)m->next_var + 1, sizeof *g.varslot);
  g.varval = dlc_xcalloc((size_t)m->next_var + 1, sizeof *g.varval);
  g.vpriv = dlc_xcalloc((size_t)m->next_var + 1, sizeof *g.vpriv);
  g.vacc = dlc_xcalloc((size_t)m->next_var + 1, sizeof *g.vacc);
  bool *used = dlc_xcalloc((size_t)m->nbufs + 1, sizeof *used);
  for (int i = 0; i < m->nkernels; i++)
    for (int p = 0; p < m->kernels[i]->nparams; p++)
      used[m->kernels[i]->params[p]->id] = true;

  /* embedded weights, 64-byte aligned for vector loads */
  for (int i = 0; i < m->nbufs; i++) {
    const dlc_lbuf *b = m->bufs[i];
    if (b->kind != DLC_BUF_CONST || !used[b->id])
      continue; /* a weight nothing reads (e.g. replaced by a packed copy) */
    char name[32];
    snprintf(name, sizeof name, "const.%d", b->id);
    g.constg[b->id] = const_global(
        &g, name, LLVMConstStringInContext2(ctx, b->data, dlc_type_bytes(&b->type), 1), 64);
  }
  LLVMValueRef *kfns = dlc_xcalloc((size_t)m->nkernels + 1, sizeof *kfns);
  kernels_once(&g, m->kernels, m->nkernels, kfns);

  LLVMTypeRef run_params[4] = {g.ptr, g.ptr, g.ptr, g.ptr};
  LLVMValueRef runfn = LLVMAddFunction(g.mod, "dlcc.run", LLVMFunctionType(g.i32, run_params, 4, 0));
  LLVMSetLinkage(runfn, LLVMInternalLinkage);
  function_attrs(&g, runfn);
  host(&g, kfns, runfn);
  free(kfns);

  /* the ABI tables */
  LLVMTypeRef tensor_t = LLVMStructCreateNamed(ctx, "dlcc_abi_tensor");
  LLVMTypeRef tf[4] = {g.ptr, g.i32, g.i32, g.ptr};
  LLVMStructSetBody(tensor_t, tf, 4, 0);
  LLVMTypeRef model_t = LLVMStructCreateNamed(ctx, "dlcc_abi_model");
  LLVMTypeRef mf[11] = {g.i32, g.i32, g.ptr, g.i32, g.i32, g.ptr,
                        g.ptr, g.i64, g.i64, g.ptr, g.ptr};
  LLVMStructSetBody(model_t, mf, 11, 0);
  const char **names = dlc_xcalloc((size_t)(m->ninputs + m->noutputs) + 1, sizeof *names);
  for (int i = 0; i < m->ninputs; i++)
    names[i] = m->inputs[i]->name;
  for (int i = 0; i < m->noutputs; i++) {
    const char *n = m->outputs[i]->name;
    names[m->ninputs + i] = strncmp(n, "out.", 4) == 0 ? n + 4 : n;
  }
  LLVMValueRef mv[11] = {
      LLVMConstInt(g.i32, DLCC_ABI_VERSION, 0),
      LLVMConstInt(g.i32, sizeof(dlcc_abi_model), 0),
      cstring(&g, m->name, "model.name"),
      LLVMConstInt(g.i32, (unsigned long long)m->ninputs, 0),
      LLVMConstInt(g.i32, (unsigned long long)m->noutputs, 0),
      tensor_table(&g, tensor_t, m->inputs, m->ninputs, "input", names),
      tensor_table(&g, tensor_t, m->outputs, m->noutputs, "output", names + m->ninputs),
      LLVMConstInt(g.i64, (unsigned long long)m->workspace_size, 0),
      LLVMConstInt(g.i64, 64, 0),
      runfn,
      cstring(&g, "dlcc " DLCC_VERSION, "model.producer"),
  };
  free(names);
  LLVMValueRef model = const_global(&g, "model", LLVMConstNamedStruct(model_t, mv, 11), 8);

  LLVMValueRef entry = LLVMAddFunction(g.mod, DLCC_ENTRY_SYMBOL, LLVMFunctionType(g.ptr, NULL, 0, 0));
  function_attrs(&g, entry);
  LLVMPositionBuilderAtEnd(g.b, LLVMAppendBasicBlockInContext(ctx, entry, "entry"));
  LLVMBuildRet(g.b, model);

  LLVMDisposeBuilder(g.b);
  free(g.bufval);
  free(g.constg);
  free(g.varslot);
  free(g.varval);
  free(g.vpriv);
  free(g.vacc);
  free(used);
  return g.mod;
}
