/* The unroll loop pass: of the loops lowering marked unrolled, those the
 * backend unrolls (dlc_loop_unrolls: fully, at most 64 iterations, with a
 * factor of 0 or at least the extent) stay unrolled; the others become serial. The
 * backend emits an unrolled loop's body once per iteration with the index
 * a constant, so a register tile's rows become straight-line code. */
#include "passes.h"

static void walk(dlc_lstmt *s) {
  for (; s; s = s->next) {
    if (s->kind != DLC_LS_LOOP)
      continue;
    if (s->loop_kind == DLC_LOOP_UNROLLED && !dlc_loop_unrolls(s))
      s->loop_kind = DLC_LOOP_SERIAL;
    walk(s->body);
  }
}

void dlc_loop_pass_unroll(dlc_lmodule *m) {
  for (int i = 0; i < m->nkernels; i++)
    walk(m->kernels[i]->body);
}
