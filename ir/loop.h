/* The loop IR: each kernel is a nest of loops over flat buffers with loads,
 * stores and scalar arithmetic; a module lists its buffers and the kernels in
 * the order the host function calls them. Both backends start here, and the
 * schedule (loop kinds, tiling) is made at this level. */
#ifndef DLC_LOOP_H
#define DLC_LOOP_H

#include "graph.h"

typedef enum dlc_buf_kind {
  DLC_BUF_INPUT,  /* the caller's input buffer `index` */
  DLC_BUF_OUTPUT, /* the caller's output buffer `index` */
  DLC_BUF_CONST,  /* embedded data */
  DLC_BUF_TEMP,   /* a slice of the workspace at `offset` */
  DLC_BUF_LOCAL,  /* a small array private to each running instance of the
                     kernel (each thread of a parallel loop has its own);
                     e.g. a register tile, which LLVM keeps in registers */
} dlc_buf_kind;

typedef struct dlc_lbuf {
  int id;
  dlc_buf_kind kind;
  const char *name;
  dlc_type type;
  int index;          /* INPUT, OUTPUT */
  const void *data;   /* CONST: dlc_type_bytes(&type) bytes */
  int64_t offset;     /* TEMP: byte offset in the workspace (the plan pass) */
  /* TEMP: takes over the bytes of this temporary, whose last reader is the
   * kernel that writes this one (in place), or that nothing reads after
   * this one is made (a reshape); NULL: bytes of its own */
  struct dlc_lbuf *share;
} dlc_lbuf;

typedef enum dlc_lx_kind {
#define X(id, name, n) DLC_LX_##id,
#include "loop.def"
#undef X
  DLC_LX_NUM
} dlc_lx_kind;

extern const char *const dlc_lx_names[DLC_LX_NUM];
extern const int dlc_lx_arity[DLC_LX_NUM];

/* A scalar variable: a loop index (i64) or a kernel-local accumulator. */
typedef struct dlc_lvar {
  int id;
  dlc_dtype dtype;
  const char *name; /* for printing: "i3", "acc0" */
} dlc_lvar;

typedef struct dlc_lexpr dlc_lexpr;
struct dlc_lexpr {
  dlc_lx_kind kind;
  dlc_dtype dtype; /* indices are I64 */
  int64_t i;       /* ICONST */
  double f;        /* FCONST */
  dlc_lvar *var;   /* VAR */
  dlc_lbuf *buf;   /* LOAD */
  dlc_lexpr *a[3];
};

typedef enum dlc_loop_kind {
  DLC_LOOP_SERIAL,
  DLC_LOOP_PARALLEL,   /* iterations independent: may run on threads */
  DLC_LOOP_VECTORIZED, /* iterations independent: run in SIMD lanes */
  DLC_LOOP_UNROLLED,   /* fully or partly unrolled (unroll = factor) */
} dlc_loop_kind;

extern const char *const dlc_loop_kind_names[4];

typedef enum dlc_ls_kind {
  DLC_LS_LOOP,   /* for var in 0..extent: body */
  DLC_LS_STORE,  /* buf[index] = value */
  DLC_LS_ASSIGN, /* var = value (a local) */
  DLC_LS_PREFETCH, /* a hint that buf[index] is read soon: it is fetched
                     toward the cache, never faulting, changing nothing */
} dlc_ls_kind;

/* A matrix product lowering leaves for the tile pass. The loop it marks
 * (printed `product`) is the product's plain nest, which runs as it is:
 *   for i in 0..M: for j in 0..N:
 *     acc = 0; for k in 0..K: acc = acc + A[a_off + i*lda + k] * B[b_off + k*ldb + j]
 *     C[c_off + i*ldc + j] = value
 * where value reads acc, i and j (the fused epilogue), and the offsets
 * only variables bound outside the nest. The tile pass replaces the nest
 * with register tiles over packed panels computing the same. */
typedef struct dlc_lgemm {
  int64_t M, N, K, lda, ldb, ldc;
  dlc_lbuf *A, *B, *C;
  dlc_lexpr *a_off, *b_off, *c_off;
  dlc_lvar *i, *j, *acc;
  dlc_lexpr *value;
  /* B is an image or its im2col columns, made a cache-sized chunk at a
   * time: a column tile copies its own panels of it rather than the
   * product packing B a K block ahead */
  bool b_chunked;
} dlc_lgemm;

/* A convolution on channel blocks (conv2d_nchwc) lowering leaves for the
 * tile pass. The loop it marks (printed `conv`) is the plain nest over the
 * images, which runs as it is:
 *   for n in 0..N: for ocb in 0..MB: for oh in 0..OH: for ow in 0..OW:
 *    for l in 0..ob:
 *     acc = 0
 *     for icb in 0..CB: for p in 0..KH: for q in 0..KW: for ic in 0..ib:
 *       acc = acc + x(n, icb, oh*sh + p*dh - pt, ow*sw + q*dw - pl, ic)
 *                   * W[(((ocb*ob + l)*CB*ib + icb*ib + ic)*KH + p)*KW + q]
 *     Y[(((n*MB + ocb)*OH + oh)*OW + ow)*ob + l] = value
 * where x(...) is X[(((n*CB + icb)*H + h)*W + w)*ib + ic], 0 outside
 * 0 <= h < H, 0 <= w < W (depthwise: no icb and ic loops, x's block is
 * ocb and its lane l, and W[((ocb*ob + l)*KH + p)*KW + q]), and value
 * reads acc, n, ocb, oh, ow and l (bias and the fused epilogue). The tile
 * pass replaces the nest with register tiles of pixels by output blocks
 * over weights packed for them. */
typedef struct dlc_lconv {
  dlc_lbuf *X, *W, *Y;
  int64_t N, CB, ib, H, W_, pt, pl; /* W_: the input's width */
  int64_t MB, ob, OH, OW, KH, KW, sh, sw, dh, dw;
  bool depthwise;
  dlc_lvar *n, *ocb, *oh, *ow, *l, *acc;
  dlc_lexpr *value;
} dlc_lconv;

typedef struct dlc_lstmt dlc_lstmt;
struct dlc_lstmt {
  dlc_ls_kind kind;
  dlc_lstmt *next; /* the next statement in the same block */
  /* LOOP */
  dlc_lvar *var;
  int64_t extent;
  dlc_loop_kind loop_kind;
  int unroll;
  dlc_lstmt *body;
  dlc_lgemm *gemm; /* the loop is a matrix product's plain nest, or NULL */
  dlc_lconv *conv; /* the loop is a blocked convolution's plain nest, or NULL */
  /* STORE, PREFETCH */
  dlc_lbuf *buf;
  dlc_lexpr *index;
  /* STORE, ASSIGN */
  dlc_lexpr *value;
};

typedef struct dlc_kernel {
  const char *name;
  dlc_lbuf **params; /* the buffers it reads or writes, in order */
  int nparams, capparams;
  dlc_lvar **locals; /* scalars other than loop indices */
  int nlocals, caplocals;
  dlc_lstmt *body;
} dlc_kernel;

typedef struct dlc_lmodule {
  dlc_arena *arena;
  const char *name;
  dlc_lbuf **bufs;
  int nbufs, capbufs;
  dlc_lbuf **inputs, **outputs; /* by index */
  int ninputs, noutputs;
  dlc_kernel **kernels; /* in call order */
  int nkernels, capkernels;
  bool planned;           /* the temporaries have their offsets */
  int64_t workspace_size; /* bytes */
  /* the most bytes of temporaries alive at one time (each rounded up to
   * the 64-byte alignment): no placement needs less than this */
  int64_t workspace_bound;
  int next_var;
} dlc_lmodule;

dlc_lmodule *dlc_lmodule_new(const char *name, int ninputs, int noutputs);
void dlc_lmodule_free(dlc_lmodule *m); /* NULL is harmless */

dlc_lbuf *dlc_lmodule_add_buf(dlc_lmodule *m, dlc_buf_kind kind,
                              const char *name, const dlc_type *t);
dlc_kernel *dlc_lmodule_add_kernel(dlc_lmodule *m, const char *name);
/* Adds buf to k's parameters unless already there. */
void dlc_kernel_use(dlc_kernel *k, dlc_lbuf *buf);

/* Removes from k's parameters the buffers its body does not touch. */
void dlc_kernel_prune(dlc_kernel *k);

/* Builders; all memory is the module's arena. */
dlc_lvar *dlc_lvar_new(dlc_lmodule *m, dlc_dtype t, const char *prefix);
dlc_lvar *dlc_kernel_local(dlc_lmodule *m, dlc_kernel *k, dlc_dtype t);
dlc_lexpr *dlc_lx_int(dlc_lmodule *m, int64_t v);
dlc_lexpr *dlc_lx_float(dlc_lmodule *m, dlc_dtype t, double v);
/* A literal of dtype t: ICONST for integer types, FCONST for floats. */
dlc_lexpr *dlc_lx_const(dlc_lmodule *m, dlc_dtype t, double v);
dlc_lexpr *dlc_lx_var(dlc_lmodule *m, dlc_lvar *v);
dlc_lexpr *dlc_lx_load(dlc_lmodule *m, dlc_lbuf *b, dlc_lexpr *index);
dlc_lexpr *dlc_lx_unary(dlc_lmodule *m, dlc_lx_kind k, dlc_lexpr *a);
/* Binary arithmetic; add, sub, mul, min and max of two i64 constants fold.
 * dtype = a's. */
dlc_lexpr *dlc_lx_binary(dlc_lmodule *m, dlc_lx_kind k, dlc_lexpr *a,
                         dlc_lexpr *b);
dlc_lexpr *dlc_lx_cast(dlc_lmodule *m, dlc_dtype to, dlc_lexpr *a);
/* EQ, LT, GT: a bool comparing a and b (one dtype). */
dlc_lexpr *dlc_lx_cmp(dlc_lmodule *m, dlc_lx_kind k, dlc_lexpr *a, dlc_lexpr *b);
/* c ? a : b with c a bool. */
dlc_lexpr *dlc_lx_select(dlc_lmodule *m, dlc_lexpr *c, dlc_lexpr *a, dlc_lexpr *b);
/* The smallest and largest values of dtype t (-inf and +inf for floats). */
dlc_lexpr *dlc_lx_lowest(dlc_lmodule *m, dlc_dtype t);
dlc_lexpr *dlc_lx_highest(dlc_lmodule *m, dlc_dtype t);

dlc_lstmt *dlc_ls_loop(dlc_lmodule *m, dlc_lvar *var, int64_t extent,
                       dlc_loop_kind kind, dlc_lstmt *body);
dlc_lstmt *dlc_ls_store(dlc_lmodule *m, dlc_lbuf *b, dlc_lexpr *index,
                        dlc_lexpr *value);
dlc_lstmt *dlc_ls_assign(dlc_lmodule *m, dlc_lvar *var, dlc_lexpr *value);
dlc_lstmt *dlc_ls_prefetch(dlc_lmodule *m, dlc_lbuf *b, dlc_lexpr *index);
/* Appends s (and its successors) to the block starting at *head. */
void dlc_ls_append(dlc_lstmt **head, dlc_lstmt *s);

/* ---- analyses shared by the loop passes and the backends ---- */

/* e with each variable vars[i] replaced by with[i] (integer constants
 * folded as the builders do); e itself when it reads none of them. */
dlc_lexpr *dlc_lx_subst(dlc_lmodule *m, dlc_lexpr *e, int n, dlc_lvar *const *vars,
                        dlc_lexpr *const *with);
/* Whether expression e reads variable v. */
bool dlc_lx_reads(const dlc_lexpr *e, const dlc_lvar *v);
/* Whether s is a reduction step: v = v op e or v = e op v with op add, max
 * or min and e free of v. Returns e's operand position (0 or 1), or -1. */
int dlc_ls_reduction(const dlc_lstmt *s);
/* Whether the body of loop holds a reduction step. */
bool dlc_loop_has_reduction(const dlc_lstmt *loop);
/* Whether loop's body can run in SIMD lanes: straight-line stores whose
 * index reads the loop variable (two iterations never write one element),
 * locals each iteration sets before it reads them, and reductions whose
 * variable nothing else reads; no nested loop, no prefetch. */
bool dlc_loop_lanes_ok(const dlc_lstmt *loop);
/* Whether loop, a statement of k, can run as a function of its own on
 * other threads, which start with fresh locals (enclosing loops' indices
 * are passed along): no local (scalar or local array) that its body reads
 * before writing it is written elsewhere in k. */
bool dlc_loop_outlinable(const dlc_kernel *k, const dlc_lstmt *loop);
/* Makes serial every loop of m's kernels of the given kind for which keep
 * says false (the loop passes that settle a kind lowering proposed). */
void dlc_lmodule_serialize_unless(dlc_lmodule *m, dlc_loop_kind kind,
                                  bool (*keep)(const dlc_lstmt *loop));
/* Whether an unrolled loop is unrolled by the backends: fully, with at
 * most DLC_UNROLL_MAX iterations (a factor of 0 or at least the extent). */
#define DLC_UNROLL_MAX 64
bool dlc_loop_unrolls(const dlc_lstmt *loop);
/* The innermost iterations of a statement list: each statement counts 1,
 * a loop its extent times its body's count. */
double dlc_block_work(const dlc_lstmt *s);

/* Checks invariants: indices are I64, operand dtypes agree, buffers used by
 * a kernel are its params, loop variables are bound where used. */
dlc_status dlc_lmodule_verify(const dlc_lmodule *m, dlc_diag *d);

/* The stable text form (dlcc --emit=loops). */
void dlc_lmodule_print(const dlc_lmodule *m, FILE *out);

#endif
