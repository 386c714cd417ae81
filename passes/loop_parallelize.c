/* The parallelize loop pass: of the loops lowering marked parallel, those
 * that will run on the thread pool stay parallel, the others become
 * serial. A loop runs on threads when it is not inside another such loop,
 * has at least two iterations and PARALLEL_MIN_WORK innermost iterations
 * in all (less is not worth waking a thread), and takes no value in from
 * the rest of the kernel through a local (dlc_loop_outlinable: a thread
 * starts with fresh ones). The backend then hands every parallel loop to
 * the pool. */
#include "passes.h"

#define PARALLEL_MIN_WORK 32768

static void serialize(dlc_lstmt *s) {
  for (; s; s = s->next)
    if (s->kind == DLC_LS_LOOP) {
      if (s->loop_kind == DLC_LOOP_PARALLEL)
        s->loop_kind = DLC_LOOP_SERIAL;
      serialize(s->body);
    }
}

static void walk(const dlc_kernel *k, dlc_lstmt *s) {
  for (; s; s = s->next) {
    if (s->kind != DLC_LS_LOOP)
      continue;
    if (s->loop_kind == DLC_LOOP_PARALLEL) {
      if (s->extent >= 2 && (double)s->extent * dlc_block_work(s->body) >= PARALLEL_MIN_WORK &&
          dlc_loop_outlinable(k, s)) {
        serialize(s->body); /* one level of threads */
        continue;
      }
      s->loop_kind = DLC_LOOP_SERIAL;
    }
    walk(k, s->body);
  }
}

void dlc_loop_pass_parallelize(dlc_lmodule *m) {
  for (int i = 0; i < m->nkernels; i++)
    walk(m->kernels[i], m->kernels[i]->body);
}
