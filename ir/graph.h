/* The graph IR: tensor operations with a dtype and a static shape on every
 * value, kept in an arena. Nodes are stored in topological order (operands
 * before users); passes mark nodes dead and compact the list. */
#ifndef DLC_GRAPH_H
#define DLC_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

#define DLC_MAX_RANK 8

typedef enum dlc_dtype {
#define X(id, name, size, ctype, abi) DLC_##id,
#include "dtypes.def"
#undef X
  DLC_NUM_DTYPES
} dlc_dtype;

const char *dlc_dtype_name(dlc_dtype t);
size_t dlc_dtype_size(dlc_dtype t);
int dlc_dtype_abi(dlc_dtype t); /* the frozen public code */
bool dlc_dtype_is_float(dlc_dtype t);
/* Looks a dtype up by name; false if unknown. */
bool dlc_dtype_lookup(const char *name, dlc_dtype *out);

typedef struct dlc_type {
  dlc_dtype dtype;
  int rank;
  int64_t dims[DLC_MAX_RANK];
} dlc_type;

int64_t dlc_type_numel(const dlc_type *t);
size_t dlc_type_bytes(const dlc_type *t);
bool dlc_type_equal(const dlc_type *a, const dlc_type *b);
/* "f32[1,784]"; "f32[]" for a scalar. Returns buf. */
char *dlc_type_str(const dlc_type *t, char *buf, size_t n);
#define DLC_TYPE_STRLEN 160

typedef enum dlc_op_kind {
  DLC_KIND_SOURCE,
  DLC_KIND_UNARY,
  DLC_KIND_BINARY,
  DLC_KIND_WHERE,
  DLC_KIND_CAST,
  DLC_KIND_MATMUL,
  DLC_KIND_SOFTMAX,
  DLC_KIND_REDUCE,
  DLC_KIND_NORM,
  DLC_KIND_CONV,
  DLC_KIND_POOL,
  DLC_KIND_RESHAPE,
  DLC_KIND_TRANSPOSE,
  DLC_KIND_BROADCAST,
  DLC_KIND_CONCAT,
  DLC_KIND_SLICE,
  DLC_KIND_GATHER,
  DLC_KIND_LAYOUT,
} dlc_op_kind;

enum {
  DLC_OPF_COMMUTATIVE = 1 << 0, /* op(a, b) == op(b, a) */
  DLC_OPF_CONST = 1 << 1,       /* a source holding data */
  DLC_OPF_NOFOLD = 1 << 2,      /* never constant */
  DLC_OPF_FLOAT = 1 << 3,       /* floating-point operands only */
  DLC_OPF_NOBOOL = 1 << 4,      /* numeric operands: no bool */
  DLC_OPF_COMPARE = 1 << 5,     /* result is bool */
};

typedef enum dlc_op {
#define X(id, name, arity, kind, flags) DLC_OP_##id,
#include "ops.def"
#undef X
  DLC_NUM_OPS
} dlc_op;

typedef struct dlc_opinfo {
  const char *name;
  int arity;
  dlc_op_kind kind;
  unsigned flags;
} dlc_opinfo;

extern const dlc_opinfo dlc_ops[DLC_NUM_OPS];
/* Whether op computes each element from the same element of its operands
 * (unary, binary, where, cast). */
bool dlc_op_is_elementwise(dlc_op op);
/* Finds an operator by its name in the language; false if none. */
bool dlc_op_lookup(const char *name, dlc_op *out);

/* Operator attributes. Which fields an operator reads is its shape rule's
 * business (the comments name the users); unused fields stay zero, so two
 * nodes' attributes compare field by field (dlc_attrs_equal). Shape rules
 * normalize what they read: negative axes become 0..rank-1, axis lists are
 * sorted, slice bounds are clamped, defaults are filled in. */
typedef struct dlc_attrs {
  int64_t axis;  /* softmax, log_softmax, layer_norm, flatten, concat, slice,
                    gather */
  int nints;
  int64_t *ints; /* reshape: dims; transpose: perm; reductions, squeeze,
                    unsqueeze: axes; broadcast_to: dims */
  int64_t kernel[2];   /* pools: kernel height, width */
  int64_t stride[2];   /* conv2d, pools: default 1, 1 */
  int64_t dilation[2]; /* conv2d: default 1, 1 */
  int64_t pad[4];      /* conv2d, pools: top, left, bottom, right */
  int64_t groups;      /* conv2d: default 1 */
  int64_t block;       /* to_nchwc, conv2d_nchwc: channels per block of the result */
  int64_t start, step; /* slice: first index and step (normalized) */
  int64_t end;         /* slice: as written (Python rules); unused after */
  bool keepdims;       /* reductions */
  bool count_include_pad; /* avg_pool2d */
  bool approximate;    /* gelu: the tanh form */
  bool has_lo, has_hi; /* clip: which bounds are given */
  double lo, hi;       /* clip bounds */
  double alpha;        /* leaky_relu: default 0.01 */
  double eps;          /* batch_norm, layer_norm: default 1e-5 */
  dlc_dtype to;        /* cast: the result dtype */
} dlc_attrs;

bool dlc_attrs_equal(const dlc_attrs *a, const dlc_attrs *b);

typedef struct dlc_node dlc_node;
struct dlc_node {
  dlc_op op;
  int id;      /* unique within the graph, in creation order */
  dlc_loc loc; /* where the user wrote it */
  dlc_type type;
  int nin;
  dlc_node **in;
  dlc_attrs attr;
  const char *name; /* inputs and weights: their name; else NULL */
  void *data;       /* WEIGHT and CONST: numel * dtype size bytes */
  bool dead;        /* set by passes; removed by dlc_graph_compact */
  /* set by the fuse pass: the first node of the chain whose kernel computes
   * this one (see passes/fuse.c); other passes clear it */
  struct dlc_node *fused_into;
};

typedef struct dlc_output {
  const char *name;
  dlc_node *node;
  dlc_loc loc;
} dlc_output;

typedef struct dlc_graph {
  dlc_arena *arena;
  const char *name;
  dlc_node **nodes; /* topological order */
  int nnodes, capnodes;
  dlc_node **inputs; /* declaration order */
  int ninputs, capinputs;
  dlc_output *outputs; /* declaration order */
  int noutputs, capoutputs;
  int next_id;
} dlc_graph;

dlc_graph *dlc_graph_new(const char *name);
void dlc_graph_free(dlc_graph *g); /* NULL is harmless */

dlc_node *dlc_graph_add_input(dlc_graph *g, const char *name,
                              const dlc_type *t, dlc_loc loc);
/* data (dlc_type_bytes(t) bytes) is copied into the graph's arena; NULL
 * data means zeros. */
dlc_node *dlc_graph_add_weight(dlc_graph *g, const char *name,
                               const dlc_type *t, const void *data,
                               dlc_loc loc);
dlc_node *dlc_graph_add_const(dlc_graph *g, const dlc_type *t,
                              const void *data, dlc_loc loc);
/* A scalar constant of the given dtype holding v. */
dlc_node *dlc_graph_add_scalar(dlc_graph *g, dlc_dtype dt, double v,
                               dlc_loc loc);

/* Adds op(in...) with attributes (copied) after checking it with the
 * operator's shape rule. On a type error reports to d (at loc) and returns
 * NULL, adding nothing. */
dlc_node *dlc_graph_build(dlc_graph *g, dlc_op op, dlc_loc loc, int nin,
                          dlc_node *const *in, const dlc_attrs *attrs,
                          dlc_diag *d);

void dlc_graph_add_output(dlc_graph *g, const char *name, dlc_node *node,
                          dlc_loc loc);

/* Replaces every use of old (operands and outputs) by new. */
void dlc_graph_replace_uses(dlc_graph *g, dlc_node *old, dlc_node *new_);
/* Moves the node last added (the end of the node list) to just before
 * `before`, so that it precedes its new readers in topological order. */
void dlc_graph_move_last_before(dlc_graph *g, const dlc_node *before);
/* Drops dead nodes from the node list, keeping the order. */
void dlc_graph_compact(dlc_graph *g);
/* Counts the live users of each node (operand slots and outputs) into
 * counts[node->id]; counts has g->next_id entries. */
void dlc_graph_count_uses(const dlc_graph *g, int *counts);

/* The shape rule: computes n->type from its operands and attributes,
 * normalizing attributes (negative axes, -1 in reshape). Reports a located
 * error and returns DLC_ERROR when the operands do not fit. */
dlc_status dlc_infer_type(dlc_graph *g, dlc_node *n, dlc_diag *d);

/* Checks the structural invariants (order, arity, types agree with the
 * shape rules). Reports internal errors to d. */
dlc_status dlc_graph_verify(dlc_graph *g, dlc_diag *d);

/* The stable text form (dlcc --emit=graph). */
void dlc_graph_print(const dlc_graph *g, FILE *out);

#endif
