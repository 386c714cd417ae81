/* Loop IR to LLVM IR. Loop indices and locals live in allocas that SROA and
 * mem2reg promote; loops are emitted bottom-tested (every extent is >= 1).
 * The ABI structs of runtime/abi.h are built as constant globals. */
#include "codegen.h"

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
  LLVMTypeRef ptr, i32, i64, f32, f64, i8, voidt;
  LLVMValueRef *bufval;  /* by buffer id, inside the current kernel */
  LLVMValueRef *varslot; /* by variable id: alloca in the current kernel */
  LLVMValueRef *constg;  /* by buffer id: global of a CONST buffer */
  const char *cpu, *features;
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

/* An i1 truth value as a dlcc bool (i8 0/1), and back. */
static LLVMValueRef to_bool(cg *g, LLVMValueRef i1) {
  return LLVMBuildZExt(g->b, i1, g->i8, "");
}
static LLVMValueRef truth(cg *g, LLVMValueRef b) {
  return LLVMBuildICmp(g->b, LLVMIntNE, b, LLVMConstInt(g->i8, 0, 0), "");
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

/* cast with dlcc's defined results (see loop.def) */
static LLVMValueRef cast(cg *g, dlc_dtype from, dlc_dtype to, LLVMValueRef a) {
  bool ffl = dlc_dtype_is_float(from), tfl = dlc_dtype_is_float(to);
  LLVMTypeRef t = ty(g, to);
  if (to == DLC_BOOL) {
    if (ffl)
      return to_bool(g, LLVMBuildFCmp(g->b, LLVMRealUNE, a, LLVMConstReal(ty(g, from), 0), ""));
    return to_bool(g, LLVMBuildICmp(g->b, LLVMIntNE, a, LLVMConstInt(ty(g, from), 0, 0), ""));
  }
  if (from == DLC_BOOL)
    return tfl ? LLVMBuildUIToFP(g->b, a, t, "") : LLVMBuildZExt(g->b, a, t, "");
  if (ffl && tfl)
    return LLVMBuildFPCast(g->b, a, t, "");
  if (ffl) {
    LLVMTypeRef tys[2] = {t, ty(g, from)};
    return intrinsic2(g, "llvm.fptosi.sat", tys, 2, 1, &a);
  }
  if (tfl)
    return LLVMBuildSIToFP(g->b, a, t, "");
  return LLVMBuildIntCast2(g->b, a, t, 1, "");
}

static LLVMValueRef libm(cg *g, const char *f32name, const char *f64name,
                         dlc_dtype t, LLVMValueRef x) {
  const char *name = t == DLC_F32 ? f32name : f64name;
  LLVMTypeRef ft = ty(g, t);
  LLVMTypeRef fty = LLVMFunctionType(ft, &ft, 1, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
  if (!fn)
    fn = LLVMAddFunction(g->mod, name, fty);
  LLVMValueRef call = LLVMBuildCall2(g->b, fty, fn, &x, 1, "");
  return call;
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

static LLVMValueRef expr(cg *g, const dlc_lexpr *e);

static LLVMValueRef elem_ptr(cg *g, const dlc_lbuf *b, const dlc_lexpr *index) {
  LLVMValueRef idx = expr(g, index);
  return LLVMBuildInBoundsGEP2(g->b, ty(g, b->type.dtype), g->bufval[b->id], &idx,
                               1, "");
}

/* Integer division with dlcc's defined results: x/0 = 0, MIN/-1 = MIN. */
static LLVMValueRef int_div(cg *g, LLVMTypeRef t, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
  LLVMValueRef minus1 = LLVMConstInt(t, (unsigned long long)-1, 1);
  LLVMValueRef is0 = LLVMBuildICmp(g->b, LLVMIntEQ, b, zero, "");
  LLVMValueRef ism1 = LLVMBuildICmp(g->b, LLVMIntEQ, b, minus1, "");
  LLVMValueRef safe = LLVMBuildSelect(g->b, LLVMBuildOr(g->b, is0, ism1, ""), one, b, "");
  LLVMValueRef q = LLVMBuildSDiv(g->b, a, safe, "");
  q = LLVMBuildSelect(g->b, ism1, LLVMBuildSub(g->b, zero, a, ""), q, "");
  return LLVMBuildSelect(g->b, is0, zero, q, "");
}

static LLVMValueRef expr(cg *g, const dlc_lexpr *e) {
  bool fl = dlc_dtype_is_float(e->dtype);
  LLVMTypeRef t = ty(g, e->dtype);
  LLVMValueRef a = NULL, b = NULL, c = NULL;
  if (e->kind != DLC_LX_LOAD && dlc_lx_arity[e->kind] >= 1)
    a = expr(g, e->a[0]);
  if (dlc_lx_arity[e->kind] >= 2)
    b = expr(g, e->a[1]);
  if (dlc_lx_arity[e->kind] >= 3)
    c = expr(g, e->a[2]);
  /* comparisons take their operands' type */
  bool ofl = dlc_lx_arity[e->kind] >= 2 && dlc_dtype_is_float(e->a[0]->dtype);
  switch (e->kind) {
  case DLC_LX_ICONST: return LLVMConstInt(t, (unsigned long long)e->i, 1);
  case DLC_LX_FCONST: return LLVMConstReal(t, e->f);
  case DLC_LX_VAR: return LLVMBuildLoad2(g->b, t, g->varslot[e->var->id], e->var->name);
  case DLC_LX_LOAD: return LLVMBuildLoad2(g->b, t, elem_ptr(g, e->buf, e->a[0]), "");
  case DLC_LX_ADD: return fl ? LLVMBuildFAdd(g->b, a, b, "") : LLVMBuildAdd(g->b, a, b, "");
  case DLC_LX_SUB: return fl ? LLVMBuildFSub(g->b, a, b, "") : LLVMBuildSub(g->b, a, b, "");
  case DLC_LX_MUL: return fl ? LLVMBuildFMul(g->b, a, b, "") : LLVMBuildMul(g->b, a, b, "");
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
  case DLC_LX_NEG:
    return fl ? LLVMBuildFNeg(g->b, a, "") : LLVMBuildSub(g->b, LLVMConstInt(t, 0, 0), a, "");
  case DLC_LX_EXP: return intrinsic(g, "llvm.exp", t, 1, &a);
  case DLC_LX_LOG: return intrinsic(g, "llvm.log", t, 1, &a);
  case DLC_LX_SQRT: return intrinsic(g, "llvm.sqrt", t, 1, &a);
  case DLC_LX_TANH: return libm(g, "tanhf", "tanh", e->dtype, a);
  case DLC_LX_ERF: return libm(g, "erff", "erf", e->dtype, a);
  case DLC_LX_POW: {
    LLVMValueRef args[2] = {a, b};
    return intrinsic(g, "llvm.pow", t, 2, args);
  }
  case DLC_LX_ABS: {
    if (fl)
      return intrinsic(g, "llvm.fabs", t, 1, &a);
    /* abs(MIN) is MIN: is_int_min_poison = false */
    LLVMValueRef args[2] = {a, LLVMConstInt(LLVMInt1TypeInContext(g->c), 0, 0)};
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
  case DLC_LX_CAST: return cast(g, e->a[0]->dtype, e->dtype, a);
  case DLC_LX_NUM: break;
  }
  dlc_unreachable();
}

static void block(cg *g, LLVMValueRef fn, const dlc_lstmt *s) {
  for (; s; s = s->next) {
    switch (s->kind) {
    case DLC_LS_STORE: {
      LLVMValueRef v = expr(g, s->value);
      LLVMBuildStore(g->b, v, elem_ptr(g, s->buf, s->index));
      break;
    }
    case DLC_LS_ASSIGN:
      LLVMBuildStore(g->b, expr(g, s->value), g->varslot[s->var->id]);
      break;
    case DLC_LS_LOOP: {
      LLVMValueRef slot = g->varslot[s->var->id];
      LLVMBuildStore(g->b, LLVMConstInt(g->i64, 0, 0), slot);
      LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->c, fn, s->var->name);
      LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, fn, "");
      LLVMBuildBr(g->b, body);
      LLVMPositionBuilderAtEnd(g->b, body);
      block(g, fn, s->body);
      LLVMValueRef i = LLVMBuildLoad2(g->b, g->i64, slot, "");
      LLVMValueRef next = LLVMBuildNSWAdd(g->b, i, LLVMConstInt(g->i64, 1, 0), "");
      LLVMBuildStore(g->b, next, slot);
      LLVMValueRef more = LLVMBuildICmp(g->b, LLVMIntSLT, next,
                                        LLVMConstInt(g->i64, (unsigned long long)s->extent, 1), "");
      LLVMBuildCondBr(g->b, more, body, done);
      LLVMPositionBuilderAtEnd(g->b, done);
      break;
    }
    }
  }
}

static void collect_vars(cg *g, const dlc_lstmt *s, LLVMValueRef *slots) {
  for (; s; s = s->next)
    if (s->kind == DLC_LS_LOOP) {
      slots[s->var->id] = LLVMBuildAlloca(g->b, g->i64, s->var->name);
      collect_vars(g, s->body, slots);
    }
}

static LLVMValueRef kernel(cg *g, const dlc_kernel *k) {
  LLVMTypeRef *params = dlc_xcalloc((size_t)k->nparams + 1, sizeof *params);
  for (int i = 0; i < k->nparams; i++)
    params[i] = g->ptr;
  LLVMTypeRef fty = LLVMFunctionType(g->voidt, params, (unsigned)k->nparams, 0);
  free(params);
  LLVMValueRef fn = LLVMAddFunction(g->mod, k->name, fty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  function_attrs(g, fn);
  for (int i = 0; i < k->nparams; i++) {
    /* distinct buffers never overlap: the planner guarantees it */
    enum_attr(g, fn, (unsigned)i + 1, "noalias");
    enum_attr(g, fn, (unsigned)i + 1, "nocapture");
    LLVMValueRef p = LLVMGetParam(fn, (unsigned)i);
    LLVMSetValueName2(p, k->params[i]->name, strlen(k->params[i]->name));
    g->bufval[k->params[i]->id] = p;
  }
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(g->c, fn, "entry");
  LLVMPositionBuilderAtEnd(g->b, entry);
  collect_vars(g, k->body, g->varslot);
  for (int i = 0; i < k->nlocals; i++)
    g->varslot[k->locals[i]->id] =
        LLVMBuildAlloca(g->b, ty(g, k->locals[i]->dtype), k->locals[i]->name);
  block(g, fn, k->body);
  LLVMBuildRetVoid(g->b);
  return fn;
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

/* run(inputs, outputs, workspace, exec): buffer pointers, then each kernel */
static void host(cg *g, LLVMValueRef *kfns, LLVMValueRef runfn) {
  const dlc_lmodule *m = g->m;
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
    case DLC_BUF_TEMP:
      idx = LLVMConstInt(g->i64, (unsigned long long)b->offset, 0);
      v = LLVMBuildInBoundsGEP2(g->b, g->i8, ws, &idx, 1, b->name);
      break;
    }
    g->bufval[b->id] = v;
  }
  for (int i = 0; i < m->nkernels; i++) {
    const dlc_kernel *k = m->kernels[i];
    LLVMValueRef *args = dlc_xcalloc((size_t)k->nparams + 1, sizeof *args);
    for (int p = 0; p < k->nparams; p++)
      args[p] = g->bufval[k->params[p]->id];
    LLVMBuildCall2(g->b, LLVMGlobalGetValueType(kfns[i]), kfns[i], args,
                   (unsigned)k->nparams, "");
    free(args);
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

LLVMModuleRef dlc_llvm_codegen(LLVMContextRef ctx, const dlc_lmodule *m,
                               const char *cpu, const char *features) {
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
  g.bufval = dlc_xcalloc((size_t)m->nbufs + 1, sizeof *g.bufval);
  g.constg = dlc_xcalloc((size_t)m->nbufs + 1, sizeof *g.constg);
  g.varslot = dlc_xcalloc((size_t)m->next_var + 1, sizeof *g.varslot);

  /* embedded weights, 64-byte aligned for vector loads */
  for (int i = 0; i < m->nbufs; i++) {
    const dlc_lbuf *b = m->bufs[i];
    if (b->kind != DLC_BUF_CONST)
      continue;
    char name[32];
    snprintf(name, sizeof name, "const.%d", b->id);
    g.constg[b->id] = const_global(
        &g, name, LLVMConstStringInContext2(ctx, b->data, dlc_type_bytes(&b->type), 1), 64);
  }
  LLVMValueRef *kfns = dlc_xcalloc((size_t)m->nkernels + 1, sizeof *kfns);
  for (int i = 0; i < m->nkernels; i++)
    kfns[i] = kernel(&g, m->kernels[i]);

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
  return g.mod;
}
