/* The plan loop pass: places the temporaries in the workspace.
 *
 * Kernels run in order, so a temporary is live from the first kernel that
 * uses it to the last. One that takes over another's bytes (`share`: an
 * elementwise result written over an operand nothing reads after it, or a
 * reshape given no kernel) lives in that one's slot, which then lives from
 * the first use of either to the last. Slots are placed one at a time, each
 * at the lowest offset where it overlaps in time with nothing already
 * placed there; three orders are tried (largest first, most bytes times
 * kernels first, earliest first) and the one needing the least kept. No
 * placement needs less than the most bytes alive during one kernel, the
 * bound the module keeps beside the size (`live at once: at most`). */
#include <limits.h>
#include <stdlib.h>

#include "ir/util.h"
#include "passes.h"

#define ALIGN 64

typedef struct slot {
  dlc_lbuf *buf;   /* the temporary that owns it (shares nothing) */
  int64_t size;    /* aligned; the largest of those in it */
  int first, last; /* kernels, inclusive */
  int64_t key;     /* for sorting by the current placement order */
} slot;

static int64_t align_up(int64_t v) { return (v + ALIGN - 1) & ~(int64_t)(ALIGN - 1); }

static dlc_lbuf *owner(dlc_lbuf *b) {
  while (b->share)
    b = b->share;
  return b;
}

static int64_t key(const slot *x, int order) {
  switch (order) {
  case 0: return x->size;
  case 1: return x->size * (int64_t)(x->last - x->first + 1);
  default: return -(int64_t)x->first;
  }
}

/* by key, largest first; ties by creation order, so results are stable */
static int by_key(const void *a, const void *b) {
  const slot *x = *(slot *const *)a, *y = *(slot *const *)b;
  if (x->key != y->key)
    return x->key > y->key ? -1 : 1;
  return x < y ? -1 : x > y;
}

static int by_offset(const void *a, const void *b) {
  const slot *x = *(slot *const *)a, *y = *(slot *const *)b;
  return x->buf->offset < y->buf->offset ? -1 : x->buf->offset > y->buf->offset;
}

/* Places the slots in the given order; returns the size needed. */
static int64_t place(int n, slot **order, slot **placed, slot **clash) {
  int np = 0;
  int64_t peak = 0;
  for (int i = 0; i < n; i++) {
    slot *x = order[i];
    /* placed ones overlapping x in time, by offset: take the first gap */
    int nc = 0;
    for (int j = 0; j < np; j++)
      if (placed[j]->first <= x->last && x->first <= placed[j]->last)
        clash[nc++] = placed[j];
    qsort(clash, (size_t)nc, sizeof *clash, by_offset);
    int64_t off = 0;
    for (int j = 0; j < nc; j++) {
      if (clash[j]->buf->offset - off >= x->size)
        break;
      int64_t end = clash[j]->buf->offset + clash[j]->size;
      off = end > off ? end : off;
    }
    x->buf->offset = off;
    placed[np++] = x;
    if (off + x->size > peak)
      peak = off + x->size;
  }
  return peak;
}

void dlc_loop_pass_plan(dlc_lmodule *m) {
  /* one slot per owner, by buffer id */
  int *of = dlc_xmalloc(sizeof *of * ((size_t)m->nbufs + 1));
  slot *slots = dlc_xcalloc((size_t)m->nbufs + 1, sizeof *slots);
  int n = 0;
  for (int i = 0; i < m->nbufs; i++) {
    dlc_lbuf *b = m->bufs[i];
    of[i] = -1;
    if (b->kind != DLC_BUF_TEMP)
      continue;
    dlc_lbuf *o = owner(b);
    if (o == b) {
      of[i] = n;
      slots[n++] = (slot){.buf = b, .first = INT_MAX, .last = -1};
    }
  }
  for (int i = 0; i < m->nbufs; i++) {
    dlc_lbuf *b = m->bufs[i];
    if (b->kind != DLC_BUF_TEMP)
      continue;
    slot *s = &slots[of[owner(b)->id]];
    int64_t size = (int64_t)dlc_type_bytes(&b->type);
    size = align_up(size ? size : 1);
    if (size > s->size)
      s->size = size;
  }
  for (int t = 0; t < m->nkernels; t++) {
    const dlc_kernel *k = m->kernels[t];
    for (int p = 0; p < k->nparams; p++) {
      if (k->params[p]->kind != DLC_BUF_TEMP)
        continue;
      slot *s = &slots[of[owner(k->params[p])->id]];
      s->first = t < s->first ? t : s->first;
      s->last = t > s->last ? t : s->last;
    }
  }
  for (int i = 0; i < n; i++)
    if (slots[i].last < 0) /* no kernel uses it */
      slots[i].first = slots[i].last = 0;

  slot **order = dlc_xcalloc((size_t)n + 1, sizeof *order);
  slot **placed = dlc_xcalloc((size_t)n + 1, sizeof *placed);
  slot **clash = dlc_xcalloc((size_t)n + 1, sizeof *clash);
  int64_t peak = -1;
  int best = 0;
  for (int pass = 0; pass < 4; pass++) {
    /* the last pass redoes the best order, leaving its offsets in place
     * (not needed when the best was the last tried) */
    if (pass == 3 && best == 2)
      break;
    int how = pass < 3 ? pass : best;
    for (int i = 0; i < n; i++) {
      order[i] = &slots[i];
      slots[i].key = key(&slots[i], how);
    }
    qsort(order, (size_t)n, sizeof *order, by_key);
    int64_t need = place(n, order, placed, clash);
    if (pass < 3 && (peak < 0 || need < peak)) {
      peak = need;
      best = pass;
    }
  }
  for (int i = 0; i < m->nbufs; i++)
    if (m->bufs[i]->kind == DLC_BUF_TEMP)
      m->bufs[i]->offset = owner(m->bufs[i])->offset;
  int64_t bound = 0;
  for (int t = 0; t < m->nkernels; t++) {
    int64_t live = 0;
    for (int i = 0; i < n; i++)
      if (slots[i].first <= t && t <= slots[i].last)
        live += slots[i].size;
    bound = live > bound ? live : bound;
  }
  m->workspace_size = peak > 0 ? peak : 0;
  m->workspace_bound = bound;
  m->planned = true;
  free(order);
  free(placed);
  free(clash);
  free(slots);
  free(of);
}
