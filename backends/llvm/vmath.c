/* Inline f32 exp, log, tanh, erf and sigmoid as LLVM IR (see vmath.h).
 *
 * Coefficients: each polynomial below is a weighted minimax fit, found
 * with the Remez exchange algorithm in 40-digit arithmetic (mpmath) on the
 * interval and in the form stated beside it, then rounded to binary32 with
 * each coefficient tried one ulp either side of nearest and the best set
 * kept. The error stated beside each is that of the rounded coefficients
 * in exact arithmetic; the measured errors of the emitted code, with its
 * rounding, are in docs/operators.md.
 *
 * Why llvm.fmuladd and not llvm.fma: on a target without FMA, llvm.fma
 * becomes a call to fmaf (a libm call, one lane at a time). fmuladd fuses
 * where that is cheap and is a multiply and an add elsewhere; every use
 * below is accurate either way (the test runs both). Likewise rounding to
 * an integer is done by adding 1.5*2^23, not llvm.rint, which needs SSE4.1
 * on x86 and is a libm call without it. Plain fmul/fadd carry no
 * fast-math flags, so LLVM never reassociates or contracts them. */
#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/util.h"

/* The builder and the two types every helper needs: ft is float or
 * <N x float>, it the matching i32 type for bit manipulation. */
typedef struct vm {
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMContextRef c;
  LLVMTypeRef ft, it;
  unsigned lanes; /* 0 for a scalar */
} vm;

static vm vm_for(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
  vm v = {.mod = mod, .b = b, .ft = LLVMTypeOf(x)};
  v.c = LLVMGetTypeContext(v.ft);
  LLVMTypeRef elem = v.ft;
  if (LLVMGetTypeKind(v.ft) == LLVMVectorTypeKind) {
    v.lanes = LLVMGetVectorSize(v.ft);
    elem = LLVMGetElementType(v.ft);
  }
  DLC_ASSERT(LLVMGetTypeKind(elem) == LLVMFloatTypeKind);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(v.c);
  v.it = v.lanes ? LLVMVectorType(i32, v.lanes) : i32;
  return v;
}

/* A scalar constant as a value of v's shape: itself, or a splat vector. */
static LLVMValueRef splat(vm *v, LLVMValueRef k) {
  if (!v->lanes)
    return k;
  LLVMValueRef small[16];
  LLVMValueRef *elems = v->lanes <= 16 ? small : dlc_xmalloc(v->lanes * sizeof *elems);
  for (unsigned i = 0; i < v->lanes; i++)
    elems[i] = k;
  LLVMValueRef r = LLVMConstVector(elems, v->lanes);
  if (elems != small)
    free(elems);
  return r;
}

/* k is a float literal, so LLVMConstReal's conversion to float is exact. */
static LLVMValueRef fk(vm *v, float k) {
  return splat(v, LLVMConstReal(LLVMFloatTypeInContext(v->c), k));
}

static LLVMValueRef ik(vm *v, int32_t k) {
  return splat(v, LLVMConstInt(LLVMInt32TypeInContext(v->c), (uint32_t)k, 0));
}

static LLVMValueRef call(vm *v, const char *name, int nargs, LLVMValueRef *args) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  DLC_ASSERT(id != 0);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(v->mod, id, &v->ft, 1);
  LLVMTypeRef fty = LLVMIntrinsicGetType(v->c, id, &v->ft, 1);
  return LLVMBuildCall2(v->b, fty, fn, args, (unsigned)nargs, "");
}

static LLVMValueRef add(vm *v, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(v->b, a, b, "");
}
static LLVMValueRef sub(vm *v, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFSub(v->b, a, b, "");
}
static LLVMValueRef mul(vm *v, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(v->b, a, b, "");
}
static LLVMValueRef div_(vm *v, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFDiv(v->b, a, b, "");
}
/* a * b + c, fused or not at the target's choice */
static LLVMValueRef madd(vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef args[3] = {a, b, c};
  return call(v, "llvm.fmuladd", 3, args);
}
static LLVMValueRef fabs_(vm *v, LLVMValueRef a) {
  return call(v, "llvm.fabs", 1, &a);
}
static LLVMValueRef copysign_(vm *v, LLVMValueRef mag, LLVMValueRef sgn) {
  LLVMValueRef args[2] = {mag, sgn};
  return call(v, "llvm.copysign", 2, args);
}

/* Ordered compares: false when either side is NaN, which every caller
 * relies on to let NaN through to a NaN-propagating path. */
static LLVMValueRef cmp(vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(v->b, p, a, b, "");
}
static LLVMValueRef sel(vm *v, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(v->b, c, a, b, "");
}
static LLVMValueRef bits(vm *v, LLVMValueRef f) {
  return LLVMBuildBitCast(v->b, f, v->it, "");
}
static LLVMValueRef from_bits(vm *v, LLVMValueRef i) {
  return LLVMBuildBitCast(v->b, i, v->ft, "");
}

/* c[0] + x*(c[1] + x*(... + x*c[n-1])) */
static LLVMValueRef horner(vm *v, LLVMValueRef x, const float *c, int n) {
  LLVMValueRef p = fk(v, c[n - 1]);
  for (int i = n - 2; i >= 0; i--)
    p = madd(v, p, x, fk(v, c[i]));
  return p;
}

/* ---- exp ---------------------------------------------------------------- */

/* ln 2 = LN2_HI + LN2_LO. LN2_HI has 15 significant bits, so n * LN2_HI is
 * exact for every |n| <= 2^9 (Cody and Waite's split): exp's n is in
 * [-150, 128] and log's k in [-149, 128]. */
#define LN2_HI 0x1.62e4p-1f
#define LN2_LO 0x1.7f7d1cp-20f
/* Adding 1.5*2^23 to |t| < 2^22 rounds t to an integer held in the low
 * mantissa bits. */
#define ROUND_SHIFTER 0x1.8p23f
#define ROUND_SHIFTER_BITS 0x4b400000

/* e^r = 1 + r + r^2 P(r) for |r| <= 0.3486 (ln 2 / 2 plus the slack of
 * rounding n from a rounded x/ln 2); fit minimizes P's relative error;
 * relative error of 1 + r + r^2 P(r) <= 2^-30.9. */
static const float EXP_P[] = {
    0x1p-1f,         0x1.555554p-3f,  0x1.5554e8p-5f,
    0x1.11114ep-7f,  0x1.6d465p-10f,  0x1.a073ccp-13f,
};

/* 2^k for integer k in [-126, 127] built in the exponent field. */
static LLVMValueRef pow2(vm *v, LLVMValueRef k) {
  LLVMValueRef e = LLVMBuildAdd(v->b, k, ik(v, 127), "");
  return from_bits(v, LLVMBuildShl(v->b, e, ik(v, 23), ""));
}

static LLVMValueRef exp_(vm *v, LLVMValueRef x) {
  /* Clamp to where e^x leaves float: above 89 it is +inf, below -104 it
   * rounds to +0; the clamped values still give inf and 0. NaN fails both
   * compares and propagates through the polynomial. */
  x = sel(v, cmp(v, LLVMRealOGT, x, fk(v, 89.0f)), fk(v, 89.0f), x);
  x = sel(v, cmp(v, LLVMRealOLT, x, fk(v, -104.0f)), fk(v, -104.0f), x);
  /* x = n ln2 + r, n = round(x / ln2) in [-150, 128] */
  LLVMValueRef t = add(v, mul(v, x, fk(v, 0x1.715476p+0f)), fk(v, ROUND_SHIFTER));
  LLVMValueRef n = sub(v, t, fk(v, ROUND_SHIFTER));
  LLVMValueRef ni = LLVMBuildSub(v->b, bits(v, t), ik(v, ROUND_SHIFTER_BITS), "");
  /* n * LN2_HI is exact and x - n*LN2_HI cancels exactly, so fusing or
   * not gives the same r there */
  LLVMValueRef r = madd(v, n, fk(v, -LN2_HI), x);
  r = madd(v, n, fk(v, -LN2_LO), r);
  LLVMValueRef r2 = mul(v, r, r);
  LLVMValueRef p = add(v, madd(v, r2, horner(v, r, EXP_P, 6), r), fk(v, 1.0f));
  /* 2^n in two factors, each in the normal range for n in [-150, 128]:
   * p * 2^n1 is exact, and the one rounding left, by 2^n2, is where the
   * result overflows to inf or rounds to a subnormal or 0. */
  LLVMValueRef n1 = LLVMBuildAShr(v->b, ni, ik(v, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(v->b, ni, n1, "");
  return mul(v, mul(v, p, pow2(v, n1)), pow2(v, n2));
}

LLVMValueRef dlc_vmath_exp(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
  vm v = vm_for(mod, b, x);
  return exp_(&v, x);
}

/* ---- log ---------------------------------------------------------------- */

/* log(1+f) = log((1+s)/(1-s)) with s = f/(2+f), = 2s + s R(s^2), and
 * R(z) = z Q(z) for z <= 0.03 (|s| <= 0.1716 for 1+f in [sqrt(1/2),
 * sqrt 2)); fit minimizes Q's relative error; relative error of log(1+f)
 * so computed <= 2^-28.7. The atanh form needs a division but far fewer
 * terms than a polynomial in f over the same interval (degree 11 for the
 * same error). */
static const float LOG_Q[] = {0x1.55555cp-1f, 0x1.997ae8p-2f, 0x1.2f1ed8p-2f};

static LLVMValueRef log_(vm *v, LLVMValueRef x) {
  /* Subnormals: scale into the normal range first. */
  LLVMValueRef subn = cmp(v, LLVMRealOLT, x, fk(v, 0x1p-126f));
  LLVMValueRef xs = sel(v, subn, mul(v, x, fk(v, 0x1p23f)), x);
  LLVMValueRef kadj = sel(v, subn, ik(v, -23), ik(v, 0));
  /* x = 2^k m with m in [sqrt(1/2), sqrt 2): offsetting the bits by those
   * of sqrt(1/2) makes the exponent field k directly. */
  LLVMValueRef ix = bits(v, xs);
  LLVMValueRef k = LLVMBuildAShr(v->b, LLVMBuildSub(v->b, ix, ik(v, 0x3f3504f3), ""),
                                 ik(v, 23), "");
  LLVMValueRef m = from_bits(v, LLVMBuildSub(v->b, ix, LLVMBuildShl(v->b, k, ik(v, 23), ""), ""));
  LLVMValueRef kf = LLVMBuildSIToFP(v->b, LLVMBuildAdd(v->b, k, kadj, ""), v->ft, "");
  /* f = m - 1 is exact (Sterbenz). log(1+f) = f - hfsq + s (hfsq + R),
   * an arrangement (as in fdlibm's logf) where the rounding errors of s
   * and R are scaled by s f^2 / 2, at most 2% of the result. */
  LLVMValueRef f = sub(v, m, fk(v, 1.0f));
  LLVMValueRef s = div_(v, f, add(v, f, fk(v, 2.0f)));
  LLVMValueRef z = mul(v, s, s);
  LLVMValueRef R = mul(v, z, horner(v, z, LOG_Q, 3));
  LLVMValueRef hfsq = mul(v, mul(v, f, f), fk(v, 0.5f));
  LLVMValueRef lo = madd(v, s, add(v, hfsq, R), mul(v, kf, fk(v, LN2_LO)));
  LLVMValueRef l1p = sub(v, f, sub(v, hfsq, lo));
  LLVMValueRef y = madd(v, kf, fk(v, LN2_HI), l1p); /* kf * LN2_HI is exact */
  /* Special values last: the arithmetic above gives garbage for them. */
  LLVMValueRef inf = fk(v, INFINITY);
  y = sel(v, cmp(v, LLVMRealOEQ, x, inf), inf, y);
  y = sel(v, cmp(v, LLVMRealOLT, x, fk(v, 0.0f)), fk(v, NAN), y);
  y = sel(v, cmp(v, LLVMRealOEQ, x, fk(v, 0.0f)), fk(v, -INFINITY), y);
  return sel(v, cmp(v, LLVMRealUNO, x, x), x, y);
}

LLVMValueRef dlc_vmath_log(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
  vm v = vm_for(mod, b, x);
  return log_(&v, x);
}

/* ---- tanh --------------------------------------------------------------- */

/* Below this |x| the odd polynomial; at and above it 1 - 2/(e^2|x| + 1),
 * whose cancellation is mild there (the subtracted term is < 0.45). */
#define TANH_SMALL 0.625f
/* tanh(a) = a + a^3 P(a^2) for a in [0, 0.625]; fit minimizes P's
 * relative error; relative error of tanh so computed <= 2^-27.8. */
static const float TANH_P[] = {
    -0x1.555556p-2f, 0x1.1110eap-3f,  -0x1.ba08c6p-5f,
    0x1.64a996p-6f,  -0x1.116acap-7f, 0x1.2c86ap-9f,
};

static LLVMValueRef tanh_(vm *v, LLVMValueRef x) {
  LLVMValueRef a = fabs_(v, x);
  LLVMValueRef a2 = mul(v, a, a);
  LLVMValueRef small = madd(v, mul(v, a, a2), horner(v, a2, TANH_P, 6), a);
  /* e^2a overflows to inf from a = 44.4 and the result is then exactly 1,
   * which is also the correctly rounded value from a = 9.01. */
  LLVMValueRef e = exp_(v, add(v, a, a));
  LLVMValueRef big = sub(v, fk(v, 1.0f), div_(v, fk(v, 2.0f), add(v, e, fk(v, 1.0f))));
  /* NaN fails the compare and takes the exp path, which propagates it */
  LLVMValueRef y = sel(v, cmp(v, LLVMRealOLT, a, fk(v, TANH_SMALL)), small, big);
  return copysign_(v, y, x); /* odd; tanh(-0) = -0 */
}

LLVMValueRef dlc_vmath_tanh(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
  vm v = vm_for(mod, b, x);
  return tanh_(&v, x);
}

/* ---- erf ---------------------------------------------------------------- */

/* erf(a) = a + a Q(a^2) for a in [0, 1]; fit minimizes the relative error
 * of erf so computed: <= 2^-29.0. The leading 2/sqrt(pi) - 1 keeps
 * 2/sqrt(pi)'s rounding error out of erf's for tiny a. */
static const float ERF_Q[] = {
    0x1.06eba8p-3f, -0x1.81273ep-2f, 0x1.ce2cf8p-4f, -0x1.b7f90ep-6f,
    0x1.5405bp-8f,  -0x1.a3f7p-11f,  0x1.496a3p-14f,
};
/* log(erfc(a)) = L(a - 1) for a in [1, 3.925]; fit minimizes erfc(a)
 * times L's error, that is erf's absolute error: <= 0.14 ulp of erf
 * (0.13 of it the rounding of L(0) = log erfc(1)). log erfc is smooth and
 * nearly quadratic where erfc itself falls by 2^-20, so a degree-6
 * polynomial does; a - 1 is exact and keeps the terms small near 1,
 * where erfc matters most. */
static const float ERF_L[] = {
    -0x1.d97fcp+0f,  -0x1.51c9aap+1f, -0x1.afad34p-1f, -0x1.53f94p-5f,
    0x1.441ad0p-7f,  -0x1.deb7bap-10f, 0x1.852d42p-13f,
};
/* From here erfc(a) < 2^-25 and erf(a) rounds to 1. */
#define ERF_ONE 3.92f

static LLVMValueRef erf_(vm *v, LLVMValueRef x) {
  LLVMValueRef a = fabs_(v, x);
  LLVMValueRef small = madd(v, a, horner(v, mul(v, a, a), ERF_Q, 7), a);
  LLVMValueRef L = horner(v, sub(v, a, fk(v, 1.0f)), ERF_L, 7);
  LLVMValueRef big = sub(v, fk(v, 1.0f), exp_(v, L));
  /* NaN takes the big path (exp propagates it), never the saturation */
  LLVMValueRef y = sel(v, cmp(v, LLVMRealOLT, a, fk(v, 1.0f)), small, big);
  y = sel(v, cmp(v, LLVMRealOGE, a, fk(v, ERF_ONE)), fk(v, 1.0f), y);
  return copysign_(v, y, x); /* odd; erf(-0) = -0 */
}

LLVMValueRef dlc_vmath_erf(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x) {
  vm v = vm_for(mod, b, x);
  return erf_(&v, x);
}

/* ---- sigmoid ------------------------------------------------------------ */

/* With e = e^-|x| <= 1: 1/(1+e) for x >= 0 and e/(1+e) for x < 0. No
 * cancellation on either side, and e^x's subnormal tail comes out as
 * subnormals instead of the 0 that 1/(1 + inf) would give. */
static LLVMValueRef sigmoid_(vm *v, LLVMValueRef x) {
  LLVMValueRef e = exp_(v, LLVMBuildFNeg(v->b, fabs_(v, x), ""));
  LLVMValueRef num = sel(v, cmp(v, LLVMRealOLT, x, fk(v, 0.0f)), e, fk(v, 1.0f));
  return div_(v, num, add(v, e, fk(v, 1.0f)));
}

LLVMValueRef dlc_vmath_sigmoid(LLVMModuleRef mod, LLVMBuilderRef b,
                               LLVMValueRef x) {
  vm v = vm_for(mod, b, x);
  return sigmoid_(&v, x);
}
