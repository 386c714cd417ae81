/* The stable text form of the loop IR (dlcc --emit=loops). */
#include <inttypes.h>
#include <stdio.h>

#include "loop.h"
#include "util.h"

static const char *const buf_kinds[] = {"input", "output", "const", "temp", "local"};

static void print_expr(FILE *out, const dlc_lexpr *e) {
  switch (e->kind) {
  case DLC_LX_ICONST:
    fprintf(out, "%" PRId64, e->i);
    return;
  case DLC_LX_FCONST:
    fprintf(out, "%.9g", e->f);
    return;
  case DLC_LX_EQ:
  case DLC_LX_LT:
  case DLC_LX_GT:
  case DLC_LX_AND: {
    static const char *const ops[] = {[DLC_LX_EQ] = "==", [DLC_LX_LT] = "<",
                                      [DLC_LX_GT] = ">", [DLC_LX_AND] = "&&"};
    fputc('(', out);
    print_expr(out, e->a[0]);
    fprintf(out, " %s ", ops[e->kind]);
    print_expr(out, e->a[1]);
    fputc(')', out);
    return;
  }
  case DLC_LX_VAR:
    fprintf(out, "%%%s", e->var->name);
    return;
  case DLC_LX_LOAD:
    fprintf(out, "%s[", e->buf->name);
    print_expr(out, e->a[0]);
    fputc(']', out);
    return;
  case DLC_LX_ADD:
  case DLC_LX_SUB:
  case DLC_LX_MUL:
  case DLC_LX_DIV:
  case DLC_LX_REM: {
    static const char ops[] = {[DLC_LX_ADD] = '+', [DLC_LX_SUB] = '-',
                               [DLC_LX_MUL] = '*', [DLC_LX_DIV] = '/',
                               [DLC_LX_REM] = '%'};
    fputc('(', out);
    print_expr(out, e->a[0]);
    fprintf(out, " %c ", ops[e->kind]);
    print_expr(out, e->a[1]);
    fputc(')', out);
    return;
  }
  case DLC_LX_CAST:
    fprintf(out, "cast<%s>(", dlc_dtype_name(e->dtype));
    print_expr(out, e->a[0]);
    fputc(')', out);
    return;
  default:
    fprintf(out, "%s(", dlc_lx_names[e->kind]);
    for (int i = 0; i < dlc_lx_arity[e->kind]; i++) {
      if (i)
        fputs(", ", out);
      print_expr(out, e->a[i]);
    }
    fputc(')', out);
    return;
  }
}

static void print_block(FILE *out, const dlc_lstmt *s, int depth) {
  for (; s; s = s->next) {
    fprintf(out, "%*s", 2 * depth, "");
    switch (s->kind) {
    case DLC_LS_LOOP:
      fprintf(out, "for %%%s in 0..%" PRId64 " %s", s->var->name, s->extent,
              dlc_loop_kind_names[s->loop_kind]);
      if (s->loop_kind == DLC_LOOP_UNROLLED)
        fprintf(out, "(%d)", s->unroll);
      if (s->gemm)
        fputs(" product", out);
      if (s->conv)
        fputs(" conv", out);
      fputs(" {\n", out);
      print_block(out, s->body, depth + 1);
      fprintf(out, "%*s}\n", 2 * depth, "");
      break;
    case DLC_LS_STORE:
      fprintf(out, "%s[", s->buf->name);
      print_expr(out, s->index);
      fputs("] = ", out);
      print_expr(out, s->value);
      fputc('\n', out);
      break;
    case DLC_LS_PREFETCH:
      fprintf(out, "prefetch %s[", s->buf->name);
      print_expr(out, s->index);
      fputs("]\n", out);
      break;
    case DLC_LS_ASSIGN:
      fprintf(out, "%%%s = ", s->var->name);
      print_expr(out, s->value);
      fputc('\n', out);
      break;
    }
  }
}

void dlc_lmodule_print(const dlc_lmodule *m, FILE *out) {
  char ts[DLC_TYPE_STRLEN];
  fprintf(out, "module %s {\n", m->name);
  for (int i = 0; i < m->nbufs; i++) {
    const dlc_lbuf *b = m->bufs[i];
    fprintf(out, "  %s %s : %s", buf_kinds[b->kind], b->name,
            dlc_type_str(&b->type, ts, sizeof ts));
    if (b->kind == DLC_BUF_INPUT || b->kind == DLC_BUF_OUTPUT)
      fprintf(out, " #%d", b->index);
    if (b->kind == DLC_BUF_TEMP && m->planned)
      fprintf(out, " @%" PRId64, b->offset);
    else if (b->kind == DLC_BUF_TEMP && b->share)
      fprintf(out, " in %s", b->share->name);
    fputc('\n', out);
  }
  if (m->planned) {
    fprintf(out, "  workspace %" PRId64 " bytes", m->workspace_size);
    if (m->workspace_bound > 0)
      fprintf(out, " (live at once: at most %" PRId64 ")", m->workspace_bound);
    fputc('\n', out);
  }
  for (int i = 0; i < m->nkernels; i++) {
    const dlc_kernel *k = m->kernels[i];
    fprintf(out, "\n  kernel %s(", k->name);
    for (int p = 0; p < k->nparams; p++)
      fprintf(out, "%s%s", p ? ", " : "", k->params[p]->name);
    fputs(") {\n", out);
    for (int l = 0; l < k->nlocals; l++)
      fprintf(out, "    local %%%s : %s\n", k->locals[l]->name,
              dlc_dtype_name(k->locals[l]->dtype));
    print_block(out, k->body, 2);
    fputs("  }\n", out);
  }
  fputs("}\n", out);
}
