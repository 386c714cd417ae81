/* The unroll loop pass: of the loops lowering marked unrolled, those the
 * backend unrolls (dlc_loop_unrolls: fully, at most 64 iterations, with a
 * factor of 0 or at least the extent) stay unrolled; the others become
 * serial. The backend emits an unrolled loop's body once per iteration
 * with the index a constant, so a register tile's rows become
 * straight-line code. */
#include "passes.h"

void dlc_loop_pass_unroll(dlc_lmodule *m) {
  dlc_lmodule_serialize_unless(m, DLC_LOOP_UNROLLED, dlc_loop_unrolls);
}
