/* The pipeline, written out in order. */
#include "driver.h"

#include <string.h>

#include "backends/llvm/llvm_backend.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/graph.h"
#include "ir/loop.h"
#include "passes/lower.h"
#include "passes/passes.h"

static const char *const emit_names[] = {
    [DLC_EMIT_SO] = "so",       [DLC_EMIT_GRAPH] = "graph",
    [DLC_EMIT_LOOPS] = "loops", [DLC_EMIT_LLVM] = "llvm",
    [DLC_EMIT_ASM] = "asm",     [DLC_EMIT_OBJ] = "obj",
};

bool dlc_emit_lookup(const char *name, dlc_emit_kind *out) {
  for (size_t i = 0; i < sizeof emit_names / sizeof *emit_names; i++)
    if (strcmp(name, emit_names[i]) == 0) {
      *out = (dlc_emit_kind)i;
      return true;
    }
  return false;
}

/* Text forms go to stdout unless -o names a file. */
static FILE *open_text(const char *path, dlc_diag *d) {
  if (!path || strcmp(path, "-") == 0)
    return stdout;
  FILE *f = fopen(path, "w");
  if (!f)
    dlc_error(d, dlc_noloc(), "cannot write %s", path);
  return f;
}

static void close_text(FILE *f) {
  if (f && f != stdout)
    fclose(f);
  else
    fflush(stdout);
}

static bool is_onnx(const char *path) {
  size_t n = strlen(path);
  return n >= 5 && strcmp(path + n - 5, ".onnx") == 0;
}

dlc_status dlc_compile(const dlc_compile_options *o, dlc_diag *d) {
  dlc_status st = DLC_ERROR;
  dlc_safetensors *weights = NULL;
  dlc_graph *g = NULL;
  dlc_lmodule *m = NULL;
  if (is_onnx(o->input)) {
    if (o->weights) {
      dlc_error(d, dlc_noloc(), "--weights applies to .dsl models");
      goto out;
    }
    dlc_onnx_options oo = {.shapes = o->shapes, .nshapes = o->nshapes};
    g = dlc_onnx_import_file(o->input, &oo, d);
  } else {
    if (o->nshapes) {
      dlc_error(d, dlc_noloc(), "--shape applies to .onnx models");
      goto out;
    }
    if (o->weights && !(weights = dlc_safetensors_open(o->weights, d)))
      goto out;
    g = dlc_frontend_compile_file(o->input, weights, d);
  }
  if (!g)
    goto out;
  dlc_pass_options po = {
      .print_after_all = o->print_after_all,
      /* "lower" and the loop passes come after the graph passes */
      .print_after = o->print_after && dlc_pass_exists(o->print_after) ? o->print_after : NULL,
      .print_out = o->print_out,
#ifdef DLC_VERIFY_EACH_PASS
      .verify_each = true,
#endif
  };
  if (dlc_run_passes(g, o->pipeline, &po, d) != DLC_OK)
    goto out;
  if (o->emit == DLC_EMIT_GRAPH) {
    FILE *f = open_text(o->output, d);
    if (!f)
      goto out;
    dlc_graph_print(g, f);
    close_text(f);
    st = DLC_OK;
    goto out;
  }
  m = dlc_lower_to_loops(g, d);
  if (!m)
    goto out;
  if (o->print_after_all || (o->print_after && strcmp(o->print_after, "lower") == 0)) {
    FILE *pf = o->print_out ? o->print_out : stderr;
    fputs("// -- loops after lower --\n", pf);
    dlc_lmodule_print(m, pf);
  }
  po.print_after = o->print_after;
  po.no_tile = o->no_tile;
  if (dlc_run_loop_passes(m, &po, d) != DLC_OK || dlc_lmodule_verify(m, d) != DLC_OK)
    goto out;
  if (o->emit == DLC_EMIT_LOOPS) {
    FILE *f = open_text(o->output, d);
    if (!f)
      goto out;
    dlc_lmodule_print(m, f);
    close_text(f);
    st = DLC_OK;
    goto out;
  }
  dlc_llvm_options lo = {
      .triple = o->target,
      .cpu = o->cpu,
      .features = o->features,
      .opt_level = o->opt_level,
  };
  static const dlc_llvm_emit kinds[] = {
      [DLC_EMIT_SO] = DLC_LLVM_EMIT_SO, [DLC_EMIT_LLVM] = DLC_LLVM_EMIT_IR,
      [DLC_EMIT_ASM] = DLC_LLVM_EMIT_ASM, [DLC_EMIT_OBJ] = DLC_LLVM_EMIT_OBJ};
  st = dlc_llvm_emit_module(m, kinds[o->emit], o->output ? o->output : "-", &lo, d);
out:
  dlc_lmodule_free(m);
  dlc_graph_free(g);
  dlc_safetensors_close(weights);
  return st;
}
