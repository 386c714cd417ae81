/* Target selection, LLVM's new pass manager, and writing the result: LLVM
 * IR, assembly, an object file, or model.so linked by the system C driver
 * (which needs only libc and libm). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen.h"
#include "ir/util.h"
#include "llvm_backend.h"

extern char **environ;

static void init_llvm(void) {
  static int done;
  if (done)
    return;
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeX86AsmParser();
  done = 1;
}

char *dlc_llvm_host_description(void) {
  init_llvm();
  char *triple = LLVMGetDefaultTargetTriple();
  char *cpu = LLVMGetHostCPUName();
  size_t n = strlen(triple) + strlen(cpu) + 16;
  char *s = dlc_xmalloc(n);
  snprintf(s, n, "%s, cpu %s", triple, cpu);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  return s;
}

static LLVMCodeGenOptLevel cg_level(int o) {
  return o <= 0 ? LLVMCodeGenLevelNone
         : o == 1 ? LLVMCodeGenLevelLess
         : o == 2 ? LLVMCodeGenLevelDefault
                  : LLVMCodeGenLevelAggressive;
}

/* Runs cc -shared -o so obj -lm; its output goes to our stderr. */
static dlc_status link_so(const char *cc, const char *obj, const char *so,
                          dlc_diag *d) {
  const char *argv[] = {cc, "-shared", "-o", so, obj, "-lm",
                        "-Wl,-z,noexecstack", "-Wl,--hash-style=gnu", NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, cc, NULL, NULL, (char *const *)argv, environ);
  if (rc != 0) {
    dlc_error(d, dlc_noloc(), "cannot run the linker '%s': %s (set DLCC_CC to a C compiler driver)",
              cc, strerror(rc));
    return DLC_ERROR;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      dlc_error(d, dlc_noloc(), "waiting for the linker: %s", strerror(errno));
      return DLC_ERROR;
    }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    dlc_error(d, dlc_noloc(), "linking %s with '%s' failed", so, cc);
    return DLC_ERROR;
  }
  return DLC_OK;
}

dlc_status dlc_llvm_emit_module(const dlc_lmodule *m, dlc_llvm_emit what,
                                const char *path, const dlc_llvm_options *o,
                                dlc_diag *d) {
  init_llvm();
  dlc_status st = DLC_ERROR;
  char *err = NULL;
  char *triple = o->triple ? dlc_xstrdup(o->triple) : NULL;
  if (!triple) {
    char *t = LLVMGetDefaultTargetTriple();
    triple = dlc_xstrdup(t);
    LLVMDisposeMessage(t);
  }
  bool host_cpu = !o->cpu || strcmp(o->cpu, "native") == 0;
  char *cpu = NULL, *features = NULL;
  if (host_cpu) {
    char *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
    cpu = dlc_xstrdup(c);
    features = dlc_xstrdup(o->features ? o->features : f);
    LLVMDisposeMessage(c);
    LLVMDisposeMessage(f);
  } else {
    cpu = dlc_xstrdup(o->cpu);
    features = dlc_xstrdup(o->features ? o->features : "");
  }
  LLVMTargetRef target;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    dlc_error(d, dlc_noloc(), "unknown target '%s': %s", triple, err);
    LLVMDisposeMessage(err);
    free(triple);
    free(cpu);
    free(features);
    return DLC_ERROR;
  }
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      target, triple, cpu, features, cg_level(o->opt_level), LLVMRelocPIC,
      LLVMCodeModelDefault);
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = dlc_llvm_codegen(ctx, m, cpu, features);
  LLVMSetTarget(mod, triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(mod, td);
  LLVMDisposeTargetData(td);

  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &err)) {
    dlc_error(d, dlc_noloc(), "internal: LLVM module does not verify: %s", err);
    goto out;
  }
  LLVMDisposeMessage(err);
  err = NULL;
  {
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>",
             o->opt_level < 0 ? 0 : o->opt_level > 3 ? 3 : o->opt_level);
    LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(pbo, o->opt_level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(pbo, o->opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(pbo, o->opt_level >= 2);
    LLVMErrorRef e = LLVMRunPasses(mod, pipeline, tm, pbo);
    LLVMDisposePassBuilderOptions(pbo);
    if (e) {
      char *msg = LLVMGetErrorMessage(e);
      dlc_error(d, dlc_noloc(), "internal: LLVM optimization failed: %s", msg);
      LLVMDisposeErrorMessage(msg);
      goto out;
    }
  }
  switch (what) {
  case DLC_LLVM_EMIT_IR:
    if (strcmp(path, "-") == 0) {
      char *s = LLVMPrintModuleToString(mod);
      fputs(s, stdout);
      LLVMDisposeMessage(s);
    } else if (LLVMPrintModuleToFile(mod, path, &err)) {
      dlc_error(d, dlc_noloc(), "cannot write %s: %s", path, err);
      goto out;
    }
    st = DLC_OK;
    break;
  case DLC_LLVM_EMIT_ASM:
  case DLC_LLVM_EMIT_OBJ: {
    LLVMCodeGenFileType ft = what == DLC_LLVM_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile;
    if (strcmp(path, "-") == 0) {
      LLVMMemoryBufferRef mb;
      if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, ft, &err, &mb)) {
        dlc_error(d, dlc_noloc(), "code generation failed: %s", err);
        goto out;
      }
      fwrite(LLVMGetBufferStart(mb), 1, LLVMGetBufferSize(mb), stdout);
      LLVMDisposeMemoryBuffer(mb);
    } else if (LLVMTargetMachineEmitToFile(tm, mod, path, ft, &err)) {
      dlc_error(d, dlc_noloc(), "cannot write %s: %s", path, err);
      goto out;
    }
    st = DLC_OK;
    break;
  }
  case DLC_LLVM_EMIT_SO: {
    size_t n = strlen(path) + 32;
    char *obj = dlc_xmalloc(n);
    snprintf(obj, n, "%s.%d.o", path, (int)getpid());
    if (LLVMTargetMachineEmitToFile(tm, mod, obj, LLVMObjectFile, &err)) {
      dlc_error(d, dlc_noloc(), "cannot write %s: %s", obj, err);
      free(obj);
      goto out;
    }
    const char *cc = o->cc ? o->cc : getenv("DLCC_CC");
    st = link_so(cc && *cc ? cc : "cc", obj, path, d);
    unlink(obj);
    free(obj);
    break;
  }
  }
out:
  if (err)
    LLVMDisposeMessage(err);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  LLVMDisposeTargetMachine(tm);
  free(triple);
  free(cpu);
  free(features);
  return st;
}
