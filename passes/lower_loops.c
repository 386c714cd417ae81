/* Lowering from graph IR to loop IR. Each operator becomes one kernel: a
 * loop nest over its output with loads of its operands. The algorithm is
 * chosen here; the schedule is the loop kinds (outer loops parallel,
 * innermost contiguous loops vectorized), which later loop passes refine.
 * Temporaries are placed in the workspace by the plan pass; lowering says
 * which of them may take over an operand's bytes (`share`). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "lower_internal.h"

/* ---- index helpers ---- */

/* Flat index into a tensor of type t broadcast to an output of the given
 * rank whose coordinates are coords[0..rank-1] (right-aligned, numpy rules). */
dlc_lexpr *dlc_lower_bcast_at(lower *L, const dlc_type *t, int rank, dlc_lexpr **coords) {
  dlc_lmodule *m = L->m;
  dlc_lexpr *idx = dlc_lx_int(m, 0);
  int64_t stride = 1;
  for (int d = t->rank - 1; d >= 0; d--) {
    int od = d + (rank - t->rank);
    if (t->dims[d] != 1)
      idx = dlc_lx_binary(m, DLC_LX_ADD, idx,
                          dlc_lx_binary(m, DLC_LX_MUL, coords[od], dlc_lx_int(m, stride)));
    stride *= t->dims[d];
  }
  return idx;
}

dlc_lexpr *dlc_lower_bcast_index(lower *L, const dlc_type *t, int rank,
                                 dlc_lvar **vars) {
  dlc_lexpr *coords[DLC_MAX_RANK];
  for (int d = 0; d < rank; d++)
    coords[d] = d >= rank - t->rank ? dlc_lx_var(L->m, vars[d]) : NULL;
  return dlc_lower_bcast_at(L, t, rank, coords);
}

/* Wraps body in loops over dims[0..rank-1] with the given variables: the
 * outermost loop parallel, the innermost vectorized. */
dlc_lstmt *dlc_lower_nest(lower *L, const int64_t *dims, int rank,
                          dlc_lvar **vars, dlc_lstmt *body) {
  for (int d = rank - 1; d >= 0; d--) {
    dlc_loop_kind k = d == rank - 1 ? DLC_LOOP_VECTORIZED
                      : d == 0      ? DLC_LOOP_PARALLEL
                                    : DLC_LOOP_SERIAL;
    body = dlc_ls_loop(L->m, vars[d], dims[d], k, body);
  }
  return body;
}

void dlc_lower_new_vars(lower *L, dlc_lvar **vars, int n) {
  for (int i = 0; i < n; i++)
    vars[i] = dlc_lvar_new(L->m, DLC_I64, "i");
}

/* Whether value o belongs to the chain computed by x's kernel. */
static bool same_chain(const dlc_node *o, const dlc_node *x) {
  const dlc_node *go = o->fused_into ? o->fused_into : o;
  const dlc_node *gx = x->fused_into ? x->fused_into : x;
  return go == gx;
}

/* Whether operand o of n is computed inside n's kernel, where n reads it
 * (fuse.c: an elementwise chain only a reduction reads). */
static bool inlined(const dlc_node *o, const dlc_node *n) { return o->fused_into == n; }

/* Whether n computes a chain inline: then its first operand is the chain's
 * last value. */
static bool has_inlined(const dlc_node *n) { return n->nin && inlined(n->in[0], n); }

/* The buffers operand o of n reads: its own, or those of the operands of
 * the chain inlined into n. */
static void use_operand(lower *L, dlc_kernel *k, const dlc_node *n, const dlc_node *o) {
  if (!inlined(o, n)) {
    dlc_kernel_use(k, L->buf[o->id]);
    return;
  }
  for (int i = 0; i < o->nin; i++)
    use_operand(L, k, n, o->in[i]);
}

dlc_lexpr *dlc_lower_operand_at(lower *L, const dlc_node *n, const dlc_node *o, int rank,
                                dlc_lexpr **coords) {
  if (!inlined(o, n))
    return dlc_lx_load(L->m, L->buf[o->id], dlc_lower_bcast_at(L, &o->type, rank, coords));
  dlc_lexpr *ops[3] = {0};
  for (int i = 0; i < o->nin; i++)
    ops[i] = dlc_lower_operand_at(L, n, o->in[i], rank, coords);
  return dlc_lower_scalar_op(L, o, ops);
}

dlc_lexpr *dlc_lower_operand_flat(lower *L, const dlc_node *n, const dlc_node *o, dlc_lexpr *i) {
  if (!inlined(o, n))
    return dlc_lx_load(L->m, L->buf[o->id],
                       dlc_type_numel(&o->type) == 1 ? dlc_lx_int(L->m, 0) : i);
  dlc_lexpr *ops[3] = {0};
  for (int k = 0; k < o->nin; k++)
    ops[k] = dlc_lower_operand_flat(L, n, o->in[k], i);
  return dlc_lower_scalar_op(L, o, ops);
}

/* The kernel for n and the chain fused into it ("k3_conv2d+add+relu");
 * operators inlined into n come first ("k5_pow+mean"). */
static dlc_kernel *kernel_for(lower *L, const dlc_node *n, int seq, int pos) {
  char *name = dlc_arena_printf(L->m->arena, "k%d_", seq);
  for (int j = 0; has_inlined(n) && j < pos; j++)
    if (inlined(L->g->nodes[j], n))
      name = dlc_arena_printf(L->m->arena, "%s%s+", name, dlc_ops[L->g->nodes[j]->op].name);
  name = dlc_arena_printf(L->m->arena, "%s%s", name, dlc_ops[n->op].name);
  for (int c = 0; c < L->nchain; c++)
    name = dlc_arena_printf(L->m->arena, "%s+%s", name, dlc_ops[L->chain[c]->op].name);
  dlc_kernel *k = dlc_lmodule_add_kernel(L->m, name);
  dlc_kernel_use(k, L->buf[n->id]);
  for (int i = 0; i < n->nin; i++)
    use_operand(L, k, n, n->in[i]);
  for (int c = 0; c < L->nchain; c++)
    for (int i = 0; i < L->chain[c]->nin; i++)
      if (!same_chain(L->chain[c]->in[i], n))
        dlc_kernel_use(k, L->buf[L->chain[c]->in[i]->id]);
  return k;
}

/* v, the root's value at one element, through the fused chain; other
 * operands are read at index(ctx, their type). A chain member may read
 * the root or any member before it (fuse.c): each value is an expression
 * the later ones use. */
dlc_lexpr *dlc_lower_chain(lower *L, dlc_lexpr *v,
                           dlc_lexpr *(*index)(void *ctx, const dlc_type *t), void *ctx) {
  dlc_lexpr **val = dlc_arena_alloc(L->m->arena, sizeof *val * (size_t)(L->nchain + 1));
  for (int c = 0; c < L->nchain; c++) {
    const dlc_node *x = L->chain[c];
    dlc_lexpr *ops[3] = {0};
    for (int i = 0; i < x->nin; i++) {
      const dlc_node *o = x->in[i];
      if (!same_chain(o, x)) {
        ops[i] = dlc_lx_load(L->m, L->buf[o->id], index(ctx, &o->type));
        continue;
      }
      ops[i] = v; /* the root, unless a member before x */
      for (int j = 0; j < c; j++)
        if (L->chain[j] == o)
          ops[i] = val[j];
    }
    val[c] = dlc_lower_scalar_op(L, x, ops);
  }
  return L->nchain ? val[L->nchain - 1] : v;
}

int64_t dlc_lower_prod(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++)
    p *= dims[i];
  return p;
}

dlc_lexpr *dlc_lower_in_range(dlc_lmodule *m, dlc_lexpr *i, int64_t n) {
  return AND(dlc_lx_cmp(m, DLC_LX_GT, i, INT(-1)), LT(i, INT(n)));
}

dlc_lexpr *dlc_lower_at_most(dlc_lmodule *m, dlc_lexpr *i, int64_t last) {
  return dlc_lx_binary(m, DLC_LX_MIN, i, INT(last));
}

dlc_lexpr *dlc_lower_clamp(dlc_lmodule *m, dlc_lexpr *i, int64_t n) {
  return dlc_lower_at_most(m, dlc_lx_binary(m, DLC_LX_MAX, i, INT(0)), n - 1);
}

/* ---- elementwise: unary, binary, where, cast, broadcast_to ---- */

/* The value of one element of n from its operands' elements v[]. */
dlc_lexpr *dlc_lower_scalar_op(lower *L, const dlc_node *n, dlc_lexpr **v) {
  dlc_lmodule *m = L->m;
  dlc_lexpr *a = v[0], *b = v[1];
  dlc_dtype t = a->dtype;
  const dlc_attrs *at = &n->attr;
  switch (n->op) {
  case DLC_OP_ADD: return ADD(a, b);
  case DLC_OP_SUB: return SUB(a, b);
  case DLC_OP_MUL: return MUL(a, b);
  case DLC_OP_DIV: return DIV(a, b);
  case DLC_OP_MAXIMUM: return dlc_lx_binary(m, DLC_LX_MAX, a, b);
  case DLC_OP_MINIMUM: return dlc_lx_binary(m, DLC_LX_MIN, a, b);
  case DLC_OP_POW: return dlc_lx_binary(m, DLC_LX_POW, a, b);
  case DLC_OP_EQUAL: return dlc_lx_cmp(m, DLC_LX_EQ, a, b);
  case DLC_OP_LESS: return dlc_lx_cmp(m, DLC_LX_LT, a, b);
  case DLC_OP_GREATER: return dlc_lx_cmp(m, DLC_LX_GT, a, b);
  case DLC_OP_WHERE: return dlc_lx_select(m, a, b, v[2]);
  case DLC_OP_NEG: return dlc_lx_unary(m, DLC_LX_NEG, a);
  case DLC_OP_ABS: return dlc_lx_unary(m, DLC_LX_ABS, a);
  case DLC_OP_RELU: return dlc_lx_binary(m, DLC_LX_MAX, a, CONST(t, 0));
  case DLC_OP_LEAKY_RELU:
    return dlc_lx_select(m, LT(a, CONST(t, 0)), MUL(CONST(t, at->alpha), a), a);
  case DLC_OP_CLIP: {
    dlc_lexpr *r = a;
    /* bounds take the operand's dtype; for integers saturate to its range */
    double lo = at->lo, hi = at->hi;
    if (!dlc_dtype_is_float(t)) {
      double mn = t == DLC_I32 ? (double)INT32_MIN : -9.2233720368547758e18;
      double mx = t == DLC_I32 ? (double)INT32_MAX : 9.2233720368547748e18;
      lo = lo < mn ? mn : lo > mx ? mx : trunc(lo);
      hi = hi < mn ? mn : hi > mx ? mx : trunc(hi);
    }
    if (at->has_lo)
      r = dlc_lx_binary(m, DLC_LX_MAX, r, CONST(t, lo));
    if (at->has_hi)
      r = dlc_lx_binary(m, DLC_LX_MIN, r, CONST(t, hi));
    return r;
  }
  case DLC_OP_SIGMOID:
    return DIV(CONST(t, 1), ADD(CONST(t, 1), dlc_lx_unary(m, DLC_LX_EXP, dlc_lx_unary(m, DLC_LX_NEG, a))));
  case DLC_OP_SILU:
    return DIV(a, ADD(CONST(t, 1), dlc_lx_unary(m, DLC_LX_EXP, dlc_lx_unary(m, DLC_LX_NEG, a))));
  case DLC_OP_GELU: {
    dlc_lexpr *inner;
    if (at->approximate) /* sqrt(2/pi) (x + 0.044715 x^3) */
      inner = dlc_lx_unary(
          m, DLC_LX_TANH,
          MUL(CONST(t, 0.79788456080286535588),
              ADD(a, MUL(CONST(t, 0.044715), MUL(a, MUL(a, a))))));
    else
      inner = dlc_lx_unary(m, DLC_LX_ERF, MUL(a, CONST(t, 0.70710678118654752440)));
    return MUL(MUL(CONST(t, 0.5), a), ADD(CONST(t, 1), inner));
  }
  case DLC_OP_TANH: return dlc_lx_unary(m, DLC_LX_TANH, a);
  case DLC_OP_EXP: return dlc_lx_unary(m, DLC_LX_EXP, a);
  case DLC_OP_LOG: return dlc_lx_unary(m, DLC_LX_LOG, a);
  case DLC_OP_SQRT: return dlc_lx_unary(m, DLC_LX_SQRT, a);
  case DLC_OP_RSQRT: return DIV(CONST(t, 1), dlc_lx_unary(m, DLC_LX_SQRT, a));
  case DLC_OP_RECIPROCAL: return DIV(CONST(t, 1), a);
  case DLC_OP_ERF: return dlc_lx_unary(m, DLC_LX_ERF, a);
  case DLC_OP_CAST: return dlc_lx_cast(m, at->to, a);
  case DLC_OP_BROADCAST_TO: return a;
  default: dlc_unreachable();
  }
}

/* True when every operand has the output's shape or is a single element,
 * so one flat loop covers the output. */
static bool flat_ok(const dlc_node *n) {
  for (int i = 0; i < n->nin; i++) {
    const dlc_type *t = &n->in[i]->type;
    if (dlc_type_numel(t) != 1 &&
        (t->rank != n->type.rank ||
         memcmp(t->dims, n->type.dims, sizeof(int64_t) * (size_t)t->rank)))
      return false;
  }
  return true;
}

typedef struct ew_at {
  lower *L;
  int rank;
  dlc_lvar **vars; /* the nest's variables, or NULL: one flat loop */
  dlc_lvar *flat;
} ew_at;

static dlc_lexpr *ew_index(void *ctx, const dlc_type *t) {
  ew_at *e = ctx;
  if (!e->vars)
    return dlc_type_numel(t) == 1 ? dlc_lx_int(e->L->m, 0) : dlc_lx_var(e->L->m, e->flat);
  return dlc_lower_bcast_index(e->L, t, e->rank, e->vars);
}

static void lower_elementwise(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  dlc_lexpr *v[3] = {0};
  dlc_lvar *vars[DLC_MAX_RANK];
  int r = n->type.rank;
  bool flat = flat_ok(n);
  for (int c = 0; c < L->nchain; c++)
    flat &= flat_ok(L->chain[c]);
  ew_at at = {.L = L, .rank = r};
  if (flat) {
    at.flat = dlc_lvar_new(m, DLC_I64, "i");
  } else {
    dlc_lower_new_vars(L, vars, r);
    at.vars = vars;
  }
  DLC_ASSERT(n->nin <= 3);
  for (int a = 0; a < n->nin; a++)
    v[a] = LOAD(L->buf[n->in[a]->id], ew_index(&at, &n->in[a]->type));
  dlc_lexpr *val = dlc_lower_chain(L, dlc_lower_scalar_op(L, n, v), ew_index, &at);
  dlc_lstmt *body = dlc_ls_store(m, L->buf[n->id], ew_index(&at, &n->type), val);
  if (flat)
    k->body = dlc_ls_loop(m, at.flat, dlc_type_numel(&n->type), DLC_LOOP_VECTORIZED, body);
  else
    k->body = dlc_lower_nest(L, n->type.dims, r, vars, body);
}

/* ---- matmul: its plain nest (tiled by the tile pass) inside loops over the batch dims ---- */

/* With one B for every batch and an A as large as its batches, the batches
 * are rows of one taller product ([128,1,768] @ [768,2304] is one
 * 128 x 2304 product, not 128 of one row). */
static bool matmul_folds_batch(const dlc_node *n) {
  const dlc_type *ta = &n->in[0]->type, *tb = &n->in[1]->type, *tc = &n->type;
  int64_t N = tc->dims[tc->rank - 1], K = ta->dims[ta->rank - 1];
  return dlc_type_numel(tb) == K * N && dlc_type_numel(ta) * N == dlc_type_numel(tc) * K;
}

dlc_lstmt *dlc_lower_product(lower *L, dlc_kernel *k, dlc_lgemm *g,
                             dlc_lexpr *(*epilogue)(void *ctx, dlc_lexpr *acc, dlc_lexpr *i,
                                                    dlc_lexpr *j),
                             void *ctx, bool parallel) {
  dlc_lmodule *m = L->m;
  dlc_dtype dt = g->C->type.dtype;
  g->i = dlc_lvar_new(m, DLC_I64, "i");
  g->j = dlc_lvar_new(m, DLC_I64, "i");
  g->acc = dlc_kernel_local(m, k, dt);
  dlc_lvar *kv = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lexpr *I = VAR(g->i), *J = VAR(g->j), *KV = VAR(kv), *ACC = VAR(g->acc);
  g->value = epilogue ? epilogue(ctx, ACC, I, J) : ACC;
  dlc_lexpr *a = LOAD(g->A, ADD(g->a_off, ADD(MUL(I, INT(g->lda)), KV)));
  dlc_lexpr *b = LOAD(g->B, ADD(g->b_off, ADD(MUL(KV, INT(g->ldb)), J)));
  dlc_lstmt *body = dlc_ls_assign(m, g->acc, CONST(dt, 0));
  dlc_ls_append(&body, dlc_ls_loop(m, kv, g->K, DLC_LOOP_SERIAL,
                                   dlc_ls_assign(m, g->acc, ADD(ACC, MUL(a, b)))));
  dlc_ls_append(&body, dlc_ls_store(m, g->C, ADD(g->c_off, ADD(MUL(I, INT(g->ldc)), J)),
                                    g->value));
  dlc_kernel_use(k, g->A);
  dlc_kernel_use(k, g->B);
  dlc_kernel_use(k, g->C);
  dlc_lstmt *s = dlc_ls_loop(m, g->i, g->M, parallel ? DLC_LOOP_PARALLEL : DLC_LOOP_SERIAL,
                             dlc_ls_loop(m, g->j, g->N, DLC_LOOP_SERIAL, body));
  s->gemm = g;
  return s;
}

/* A fused chain after a matmul reads its operands at (batch..., i, j). */
typedef struct mm_at {
  lower *L;
  int rank;
  bool folded; /* batches folded into rows: coords are (row, column) */
  int64_t N;
  dlc_lexpr *coords[DLC_MAX_RANK];
} mm_at;

static dlc_lexpr *mm_index(void *ctx, const dlc_type *t) {
  mm_at *a = ctx;
  if (a->folded) { /* the forms dlc_lower_matmul_operand_ok allows */
    dlc_lmodule *m = a->L->m;
    if (dlc_type_numel(t) == 1)
      return INT(0);
    if (dlc_type_numel(t) == a->N)
      return a->coords[1];
    return ADD(MUL(a->coords[0], INT(a->N)), a->coords[1]);
  }
  return dlc_lower_bcast_at(a->L, t, a->rank, a->coords);
}

bool dlc_lower_matmul_operand_ok(const dlc_node *n, const dlc_type *t) {
  if (n->op != DLC_OP_MATMUL || n->type.rank <= 2 || !matmul_folds_batch(n))
    return true;
  int64_t N = n->type.dims[n->type.rank - 1];
  return dlc_type_numel(t) == 1 || dlc_type_numel(t) == dlc_type_numel(&n->type) ||
         (dlc_type_numel(t) == N && t->dims[t->rank - 1] == N);
}

static dlc_lexpr *mm_epilogue(void *ctx, dlc_lexpr *acc, dlc_lexpr *i, dlc_lexpr *j) {
  mm_at *a = ctx;
  a->coords[a->rank - 2] = i;
  a->coords[a->rank - 1] = j;
  return dlc_lower_chain(a->L, acc, mm_index, a);
}

static void lower_matmul(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *ta = &n->in[0]->type, *tb = &n->in[1]->type, *tc = &n->type;
  int r = tc->rank, nb = r - 2;
  int64_t M = tc->dims[r - 2], N = tc->dims[r - 1], K = ta->dims[ta->rank - 1];
  dlc_type fa, fc;
  if (nb > 0 && matmul_folds_batch(n)) {
    /* rows of all batches as one matrix, seen as rank 2 */
    M = dlc_type_numel(tc) / N;
    fa = (dlc_type){.dtype = ta->dtype, .rank = 2, .dims = {M, K}};
    fc = (dlc_type){.dtype = tc->dtype, .rank = 2, .dims = {M, N}};
    ta = &fa;
    tc = &fc;
    r = 2;
    nb = 0;
  }
  dlc_lvar *bv[DLC_MAX_RANK];
  dlc_lower_new_vars(L, bv, nb);
  /* batch offsets, broadcast over the output's batch dims */
  dlc_type bta = *ta, btb = *tb, btc = *tc;
  bta.rank -= 2;
  btb.rank -= 2;
  btc.rank -= 2;
  dlc_lgemm *G = dlc_arena_alloc(m->arena, sizeof *G);
  *G = (dlc_lgemm){
      .M = M, .N = N, .K = K, .lda = K, .ldb = N, .ldc = N,
      .A = L->buf[n->in[0]->id], .B = L->buf[n->in[1]->id], .C = L->buf[n->id],
      .a_off = MUL(dlc_lower_bcast_index(L, &bta, nb, bv), INT(M * K)),
      .b_off = MUL(dlc_lower_bcast_index(L, &btb, nb, bv), INT(K * N)),
      .c_off = MUL(dlc_lower_bcast_index(L, &btc, nb, bv), INT(M * N)),
  };
  mm_at *at = NULL;
  if (L->nchain) {
    at = dlc_arena_alloc(m->arena, sizeof *at);
    at->L = L;
    at->rank = r;
    at->folded = r != n->type.rank;
    at->N = N;
    for (int d = 0; d < nb; d++)
      at->coords[d] = VAR(bv[d]);
  }
  int64_t batch = dlc_lower_prod(tc->dims, 0, nb);
  dlc_lstmt *body = dlc_lower_product(L, k, G, at ? mm_epilogue : NULL, at, batch < 2);
  /* threads share the outermost batch dim with more than one batch (an
   * attention export's [1,12,128,64] has its heads in the second) */
  int par = 0;
  while (par < nb - 1 && tc->dims[par] == 1)
    par++;
  for (int d = nb - 1; d >= 0; d--)
    body = dlc_ls_loop(m, bv[d], tc->dims[d], d == par ? DLC_LOOP_PARALLEL : DLC_LOOP_SERIAL, body);
  k->body = body;
}

/* ---- softmax over one axis: max, exp and sum, scale ---- */

/* element (o, a, in) of a tensor viewed as [outer, len, inner] */
static dlc_lexpr *at3(dlc_lmodule *m, dlc_lexpr *o, dlc_lexpr *a,
                      dlc_lexpr *in, int64_t len, int64_t inner) {
  return ADD(MUL(ADD(MUL(o, INT(len)), a), INT(inner)), in);
}

static void lower_softmax(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *t = &n->type;
  dlc_dtype dt = t->dtype;
  int axis = (int)n->attr.axis;
  int64_t outer = 1, len = t->dims[axis], inner = 1;
  for (int d = 0; d < axis; d++)
    outer *= t->dims[d];
  for (int d = axis + 1; d < t->rank; d++)
    inner *= t->dims[d];
  dlc_lbuf *Y = L->buf[n->id]; /* x: through dlc_lower_operand_flat */
  dlc_lvar *o = dlc_lvar_new(m, DLC_I64, "i"), *in = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *a1 = dlc_lvar_new(m, DLC_I64, "i"), *a2 = dlc_lvar_new(m, DLC_I64, "i"),
           *a3 = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *mx = dlc_kernel_local(m, k, dt), *sum = dlc_kernel_local(m, k, dt),
           *e = dlc_kernel_local(m, k, dt);
  dlc_lexpr *O = VAR(o), *IN = VAR(in);
  /* mx = x[o,0,in]; for a: mx = max(mx, x[o,a,in]) */
  dlc_lstmt *first = dlc_ls_assign(m, mx, dlc_lower_operand_flat(L, n, n->in[0], at3(m, O, INT(0), IN, len, inner)));
  /* along a contiguous axis the passes vectorize, reductions included */
  dlc_loop_kind along = inner == 1 ? DLC_LOOP_VECTORIZED : DLC_LOOP_SERIAL;
  dlc_lstmt *l1 = dlc_ls_loop(
      m, a1, len, along,
      dlc_ls_assign(m, mx, dlc_lx_binary(m, DLC_LX_MAX, VAR(mx),
                                         dlc_lower_operand_flat(L, n, n->in[0], at3(m, O, VAR(a1), IN, len, inner)))));
  dlc_lstmt *zero = dlc_ls_assign(m, sum, dlc_lx_const(m, dt, 0));
  dlc_lstmt *l2, *l3;
  dlc_lexpr *xa2 = dlc_lower_operand_flat(L, n, n->in[0], at3(m, O, VAR(a2), IN, len, inner));
  dlc_lexpr *e2 = dlc_lx_unary(m, DLC_LX_EXP, dlc_lx_binary(m, DLC_LX_SUB, xa2, VAR(mx)));
  if (n->op == DLC_OP_SOFTMAX) {
    /* for a: e = exp(x - mx); y = e; sum += e */
    dlc_lstmt *ex = dlc_ls_assign(m, e, e2);
    ex->next = dlc_ls_store(m, Y, at3(m, O, VAR(a2), IN, len, inner), VAR(e));
    ex->next->next = dlc_ls_assign(m, sum, ADD(VAR(sum), VAR(e)));
    l2 = dlc_ls_loop(m, a2, len, along, ex);
    /* for a: y = y / sum */
    l3 = dlc_ls_loop(
        m, a3, len, along,
        dlc_ls_store(m, Y, at3(m, O, VAR(a3), IN, len, inner),
                     DIV(dlc_lx_load(m, Y, at3(m, O, VAR(a3), IN, len, inner)), VAR(sum))));
  } else {
    /* for a: sum += exp(x - mx); e = mx + log(sum); for a: y = x - e */
    l2 = dlc_ls_loop(m, a2, len, along,
                     dlc_ls_assign(m, sum, ADD(VAR(sum), e2)));
    l2->next = dlc_ls_assign(m, e, ADD(VAR(mx), dlc_lx_unary(m, DLC_LX_LOG, VAR(sum))));
    l3 = dlc_ls_loop(
        m, a3, len, along,
        dlc_ls_store(m, Y, at3(m, O, VAR(a3), IN, len, inner),
                     SUB(dlc_lower_operand_flat(L, n, n->in[0], at3(m, O, VAR(a3), IN, len, inner)), VAR(e))));
  }
  first->next = l1;
  l1->next = zero;
  zero->next = l2;
  dlc_ls_append(&zero->next, l3);
  dlc_lstmt *body = dlc_ls_loop(m, in, inner, DLC_LOOP_SERIAL, first);
  k->body = dlc_ls_loop(m, o, outer, DLC_LOOP_PARALLEL, body);
}

/* ---- data movement ---- */

static void lower_copy(lower *L, dlc_lbuf *dst, dlc_lbuf *src, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  dlc_lvar *i = dlc_lvar_new(m, DLC_I64, "i");
  k->body = dlc_ls_loop(m, i, dlc_type_numel(&dst->type), DLC_LOOP_VECTORIZED,
                        dlc_ls_store(m, dst, VAR(i), dlc_lx_load(m, src, VAR(i))));
}

static void lower_transpose(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *ti = &n->in[0]->type, *to = &n->type;
  int r = to->rank;
  int64_t istride[DLC_MAX_RANK];
  int64_t s = 1;
  for (int d = r - 1; d >= 0; d--) {
    istride[d] = s;
    s *= ti->dims[d];
  }
  dlc_lvar *vars[DLC_MAX_RANK];
  dlc_lower_new_vars(L, vars, r);
  dlc_lexpr *src = INT(0);
  for (int d = 0; d < r; d++)
    src = ADD(src, MUL(VAR(vars[d]), INT(istride[n->attr.ints[d]])));
  dlc_lstmt *body = dlc_ls_store(m, L->buf[n->id], dlc_lower_bcast_index(L, to, r, vars),
                                 dlc_lx_load(m, L->buf[n->in[0]->id], src));
  k->body = dlc_lower_nest(L, to->dims, r, vars, body);
}

/* ---- concat, slice, gather: views as [outer, axis, inner] ---- */

static void lower_concat(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *t = &n->type;
  int axis = (int)n->attr.axis;
  int64_t outer = dlc_lower_prod(t->dims, 0, axis), total = t->dims[axis],
          inner = dlc_lower_prod(t->dims, axis + 1, t->rank), off = 0;
  dlc_lstmt *body = NULL;
  for (int a = 0; a < n->nin; a++) {
    int64_t len = n->in[a]->type.dims[axis];
    dlc_lvar *o = dlc_lvar_new(m, DLC_I64, "i"), *j = dlc_lvar_new(m, DLC_I64, "i");
    /* the contiguous run of len * inner elements per outer index */
    dlc_lexpr *src = ADD(MUL(VAR(o), INT(len * inner)), VAR(j));
    dlc_lexpr *dst = ADD(MUL(VAR(o), INT(total * inner)), ADD(INT(off * inner), VAR(j)));
    dlc_lstmt *copy = dlc_ls_store(m, L->buf[n->id], dst, LOAD(L->buf[n->in[a]->id], src));
    copy = dlc_ls_loop(m, j, len * inner, DLC_LOOP_VECTORIZED, copy);
    dlc_ls_append(&body, dlc_ls_loop(m, o, outer, DLC_LOOP_PARALLEL, copy));
    off += len;
  }
  k->body = body;
}

static void lower_slice(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *ti = &n->in[0]->type, *t = &n->type;
  int axis = (int)n->attr.axis;
  int64_t outer = dlc_lower_prod(t->dims, 0, axis), cnt = t->dims[axis],
          len = ti->dims[axis], inner = dlc_lower_prod(t->dims, axis + 1, t->rank);
  dlc_lvar *o = dlc_lvar_new(m, DLC_I64, "i"), *j = dlc_lvar_new(m, DLC_I64, "i"),
           *in = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lexpr *pos = ADD(INT(n->attr.start), MUL(VAR(j), INT(n->attr.step)));
  dlc_lexpr *src = ADD(MUL(ADD(MUL(VAR(o), INT(len)), pos), INT(inner)), VAR(in));
  dlc_lexpr *dst = ADD(MUL(ADD(MUL(VAR(o), INT(cnt)), VAR(j)), INT(inner)), VAR(in));
  dlc_lstmt *body = dlc_ls_store(m, L->buf[n->id], dst, LOAD(L->buf[n->in[0]->id], src));
  body = dlc_ls_loop(m, in, inner, DLC_LOOP_VECTORIZED, body);
  body = dlc_ls_loop(m, j, cnt, DLC_LOOP_SERIAL, body);
  k->body = dlc_ls_loop(m, o, outer, DLC_LOOP_PARALLEL, body);
}

/* y[o, j, i] = x[o, idx(j), i] with idx(j) = indices[j] (+ len if < 0);
 * an index still out of range reads zero. */
static void lower_gather(lower *L, const dlc_node *n, dlc_kernel *k) {
  dlc_lmodule *m = L->m;
  const dlc_type *tx = &n->in[0]->type, *t = &n->type;
  int axis = (int)n->attr.axis;
  int64_t outer = dlc_lower_prod(tx->dims, 0, axis), len = tx->dims[axis],
          inner = dlc_lower_prod(tx->dims, axis + 1, tx->rank),
          cnt = dlc_type_numel(&n->in[1]->type);
  dlc_lvar *o = dlc_lvar_new(m, DLC_I64, "i"), *j = dlc_lvar_new(m, DLC_I64, "i"),
           *in = dlc_lvar_new(m, DLC_I64, "i");
  dlc_lvar *idx = dlc_kernel_local(m, k, DLC_I64);
  dlc_lexpr *raw = dlc_lx_cast(m, DLC_I64, LOAD(L->buf[n->in[1]->id], VAR(j)));
  dlc_lstmt *set = dlc_ls_assign(
      m, idx, dlc_lx_select(m, LT(raw, INT(0)), ADD(raw, INT(len)), raw));
  dlc_lexpr *src = ADD(MUL(ADD(MUL(VAR(o), INT(len)), dlc_lower_clamp(m, VAR(idx), len)),
                           INT(inner)),
                       VAR(in));
  dlc_lexpr *val = dlc_lx_select(m, dlc_lower_in_range(m, VAR(idx), len),
                                 LOAD(L->buf[n->in[0]->id], src), CONST(t->dtype, 0));
  dlc_lexpr *dst = ADD(MUL(ADD(MUL(VAR(o), INT(cnt)), VAR(j)), INT(inner)), VAR(in));
  set->next = dlc_ls_loop(m, in, inner, DLC_LOOP_VECTORIZED,
                          dlc_ls_store(m, L->buf[n->id], dst, val));
  dlc_lstmt *body = dlc_ls_loop(m, j, cnt, DLC_LOOP_SERIAL, set);
  k->body = dlc_ls_loop(m, o, outer, DLC_LOOP_PARALLEL, body);
}

/* ---- the module ---- */

/* An elementwise kernel may write its result over an operand of the same
 * shape and element size that nothing reads after it: each element is read
 * before it is written, at the same index. */
static dlc_lbuf *in_place_operand(lower *L, const dlc_node *n, const dlc_node *fin, int i,
                                  const int *last) {
  if (!dlc_op_is_elementwise(n->op))
    return NULL;
  for (int a = 0; a < n->nin; a++) {
    const dlc_node *o = n->in[a];
    dlc_lbuf *b = L->buf[o->id];
    if (b->kind == DLC_BUF_TEMP && last[o->id] == i && o->type.rank == fin->type.rank &&
        memcmp(o->type.dims, fin->type.dims, sizeof(int64_t) * (size_t)o->type.rank) == 0 &&
        dlc_dtype_size(o->type.dtype) == dlc_dtype_size(fin->type.dtype))
      return b;
  }
  return NULL;
}

static const char *buf_name(lower *L, const dlc_node *n) {
  return dlc_arena_printf(L->m->arena, "t%d", n->id);
}

/* Whether n keeps the row-major order of its operand's elements: a
 * reshape, flatten, squeeze or unsqueeze, or a transpose that only moves
 * axes of size 1 ([1,128,768] to [128,1,768]). */
static bool keeps_order(const dlc_node *n) {
  if (dlc_ops[n->op].kind == DLC_KIND_RESHAPE)
    return true;
  if (n->op != DLC_OP_TRANSPOSE)
    return false;
  const dlc_type *t = &n->in[0]->type;
  if (n->attr.nints != t->rank) /* the shape rule writes the perm out */
    return false;
  int64_t prev = -1;
  for (int i = 0; i < n->attr.nints; i++) {
    int64_t ax = n->attr.ints[i];
    if (t->dims[ax] == 1)
      continue;
    if (ax < prev)
      return false;
    prev = ax;
  }
  return true;
}

/* An operator that keeps the order of a temporary that nothing reads
 * after it takes over the operand's bytes as they are, with no kernel. */
static bool reshape_in_place(lower *L, const dlc_node *n, int i, const int *last,
                             const int *out_of) {
  if (!keeps_order(n) || L->nchain || out_of[n->id] >= 0)
    return false;
  const dlc_node *o = n->in[0];
  dlc_lbuf *b = L->buf[o->id];
  if (b->kind != DLC_BUF_TEMP || last[o->id] != i)
    return false;
  dlc_lbuf *ob = dlc_lmodule_add_buf(L->m, DLC_BUF_TEMP, buf_name(L, n), &n->type);
  ob->share = b;
  L->buf[n->id] = ob;
  return true;
}

dlc_lmodule *dlc_lower_to_loops(const dlc_graph *g, dlc_diag *d) {
  lower L = {.g = g, .d = d};
  dlc_lmodule *m = L.m = dlc_lmodule_new(g->name, g->ninputs, g->noutputs);
  L.buf = dlc_xcalloc((size_t)g->next_id + 1, sizeof *L.buf);
  /* last[id]: the position of the last node reading a value, -1 if none */
  int *last = dlc_xmalloc(sizeof *last * ((size_t)g->next_id + 1));
  int *out_of = dlc_xmalloc(sizeof *out_of * ((size_t)g->next_id + 1));
  for (int i = 0; i <= g->next_id; i++)
    out_of[i] = last[i] = -1;
  /* the output each computed node writes directly; others get copies */
  for (int i = 0; i < g->noutputs; i++) {
    const dlc_node *n = g->outputs[i].node;
    if (dlc_ops[n->op].kind != DLC_KIND_SOURCE && out_of[n->id] < 0)
      out_of[n->id] = i;
  }
  /* an operator inlined into a later consumer reads its operands when
   * the consumer runs */
  int *pos = dlc_xcalloc((size_t)g->next_id + 1, sizeof *pos);
  for (int i = 0; i < g->nnodes; i++)
    pos[g->nodes[i]->id] = i;
  for (int i = 0; i < g->nnodes; i++) {
    const dlc_node *x = g->nodes[i];
    int at = x->fused_into && pos[x->fused_into->id] > i ? pos[x->fused_into->id] : i;
    for (int k = 0; k < x->nin; k++)
      if (last[x->in[k]->id] < at)
        last[x->in[k]->id] = at;
  }

  for (int i = 0; i < g->ninputs; i++) {
    const dlc_node *n = g->inputs[i];
    dlc_lbuf *b = dlc_lmodule_add_buf(m, DLC_BUF_INPUT, n->name, &n->type);
    b->index = i;
    m->inputs[i] = L.buf[n->id] = b;
  }
  for (int i = 0; i < g->noutputs; i++) {
    const dlc_node *n = g->outputs[i].node;
    dlc_lbuf *b = dlc_lmodule_add_buf(
        m, DLC_BUF_OUTPUT, dlc_arena_printf(m->arena, "out.%s", g->outputs[i].name),
        &n->type);
    b->index = i;
    m->outputs[i] = b;
  }
  /* constants first: a fused chain may read one placed after its root */
  for (int i = 0; i < g->nnodes; i++) {
    const dlc_node *n = g->nodes[i];
    if (n->op == DLC_OP_WEIGHT || n->op == DLC_OP_CONST) {
      dlc_lbuf *b = dlc_lmodule_add_buf(
          m, DLC_BUF_CONST,
          n->name ? n->name : dlc_arena_printf(m->arena, "c%d", n->id), &n->type);
      b->data = n->data;
      L.buf[n->id] = b;
    }
  }
  int seq = 0, capchain = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const dlc_node *n = g->nodes[i];
    const dlc_opinfo *info = &dlc_ops[n->op];
    if (info->kind == DLC_KIND_SOURCE || n->fused_into) /* fused: its chain's kernel */
      continue;
    /* the chain fused into n, which ends at `fin` */
    L.nchain = 0;
    for (int j = i + 1; j < g->nnodes; j++)
      if (g->nodes[j]->fused_into == n)
        DLC_PUSH(L.chain, L.nchain, capchain, g->nodes[j]);
    const dlc_node *fin = L.nchain ? L.chain[L.nchain - 1] : n;
    if (reshape_in_place(&L, n, i, last, out_of))
      continue;
    dlc_lbuf *ob;
    if (out_of[fin->id] >= 0) {
      ob = m->outputs[out_of[fin->id]];
    } else {
      ob = dlc_lmodule_add_buf(m, DLC_BUF_TEMP, buf_name(&L, fin), &fin->type);
      ob->share = in_place_operand(&L, n, fin, i, last);
    }
    L.buf[n->id] = ob;
    for (int c = 0; c < L.nchain; c++)
      L.buf[L.chain[c]->id] = ob;
    /* scratch a kernel needs only while it runs */
    dlc_type st = dlc_lower_conv_scratch(n);
    L.scratch = NULL;
    if (st.rank) {
      L.scratch = dlc_lmodule_add_buf(m, DLC_BUF_TEMP,
                                      dlc_arena_printf(m->arena, "t%d.pad", n->id), &st);
    }
    dlc_type ct = dlc_lower_conv_col(n);
    L.scratch2 = NULL;
    if (ct.rank) {
      L.scratch2 = dlc_lmodule_add_buf(m, DLC_BUF_TEMP,
                                       dlc_arena_printf(m->arena, "t%d.col", n->id), &ct);
    }
    dlc_kernel *k = kernel_for(&L, n, seq++, i);
    switch (info->kind) {
    case DLC_KIND_UNARY:
    case DLC_KIND_BINARY:
    case DLC_KIND_WHERE:
    case DLC_KIND_CAST:
    case DLC_KIND_BROADCAST: lower_elementwise(&L, n, k); break;
    case DLC_KIND_MATMUL: lower_matmul(&L, n, k); break;
    case DLC_KIND_SOFTMAX: lower_softmax(&L, n, k); break;
    case DLC_KIND_REDUCE: dlc_lower_reduce(&L, n, k); break;
    case DLC_KIND_NORM: dlc_lower_norm(&L, n, k); break;
    case DLC_KIND_CONV: dlc_lower_conv(&L, n, k); break;
    case DLC_KIND_POOL: dlc_lower_pool(&L, n, k); break;
    case DLC_KIND_RESHAPE:
    case DLC_KIND_TRANSPOSE:
      if (keeps_order(n))
        lower_copy(&L, L.buf[n->id], L.buf[n->in[0]->id], k);
      else
        lower_transpose(&L, n, k);
      break;
    case DLC_KIND_CONCAT: lower_concat(&L, n, k); break;
    case DLC_KIND_SLICE: lower_slice(&L, n, k); break;
    case DLC_KIND_GATHER: lower_gather(&L, n, k); break;
    case DLC_KIND_LAYOUT: dlc_lower_layout(&L, n, k); break;
    case DLC_KIND_SOURCE: dlc_unreachable();
    }
    dlc_kernel_prune(k);
  }
  free(L.chain);
  /* outputs that name an input, a constant or an already written output */
  for (int i = 0; i < g->noutputs; i++) {
    const dlc_node *n = g->outputs[i].node;
    if (out_of[n->id] == i)
      continue;
    dlc_kernel *k = dlc_lmodule_add_kernel(
        m, dlc_arena_printf(m->arena, "k%d_copy", seq++));
    dlc_kernel_use(k, m->outputs[i]);
    dlc_kernel_use(k, L.buf[n->id]);
    lower_copy(&L, m->outputs[i], L.buf[n->id], k);
  }
  free(L.buf);
  free(pos);
  free(last);
  free(out_of);
  if (dlc_lmodule_verify(m, d) != DLC_OK) {
    dlc_lmodule_free(m);
    return NULL;
  }
  return m;
}
