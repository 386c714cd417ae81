/* Single-precision transcendental functions emitted inline as plain LLVM IR
 * (polynomials, compares, selects, integer tricks on the bits), so that the
 * loop vectorizer and SLP can widen them; calls to libm's expf/tanhf/erff
 * stay scalar. Accuracy and method of each are in docs/operators.md
 * ("Accuracy of compiled transcendental functions") and tests/test_vmath.c
 * holds them to it. */
#ifndef DLC_LLVM_VMATH_H
#define DLC_LLVM_VMATH_H

#include <llvm-c/Core.h>

/* Each takes x of type float or <N x float> and returns a value of the same
 * type, built at b's insertion point with only arithmetic, compares,
 * selects, bitcasts and the intrinsics llvm.fmuladd, llvm.fabs and
 * llvm.copysign: never a libm call, and nothing that becomes one on a
 * target without FMA or SSE4.1. Declarations of the intrinsics are added to
 * mod. Special values follow C's expf/logf/tanhf/erff; results that would
 * be subnormal are computed as subnormals (unless the CPU flushes them). */
LLVMValueRef dlc_vmath_exp(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x);
LLVMValueRef dlc_vmath_log(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x);
LLVMValueRef dlc_vmath_tanh(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x);
LLVMValueRef dlc_vmath_erf(LLVMModuleRef mod, LLVMBuilderRef b, LLVMValueRef x);
/* 1 / (1 + e^-x), accurate in relative terms on both tails. */
LLVMValueRef dlc_vmath_sigmoid(LLVMModuleRef mod, LLVMBuilderRef b,
                               LLVMValueRef x);

#endif
