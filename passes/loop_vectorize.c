/* The vectorize loop pass: of the loops lowering marked vectorized, those
 * whose bodies can run in SIMD lanes (dlc_loop_lanes_ok: straight-line
 * stores that differ per iteration, private locals, reductions) stay
 * vectorized; the others, e.g. a loop holding a prefetch, become serial.
 * How many lanes is the target's business: the backend runs a loop too
 * short for its vectors one element at a time, and the tail of a longer
 * one in narrower vectors. */
#include "passes.h"

void dlc_loop_pass_vectorize(dlc_lmodule *m) {
  dlc_lmodule_serialize_unless(m, DLC_LOOP_VECTORIZED, dlc_loop_lanes_ok);
}
