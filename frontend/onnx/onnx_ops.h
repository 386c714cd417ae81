/* Shared by the converter files (ops.c, ops_nn.c, ops_shape.c): the
 * converters the table ops.def names, and the helpers they build with.
 * Every helper that builds takes and returns NULL after an error, so a
 * chain of builds is checked once, at its end. */
#ifndef DLC_ONNX_OPS_H
#define DLC_ONNX_OPS_H

#include "onnx_internal.h"

#define X(type, since, until, fn, op) dlc_status fn(onnx_node_ctx *nc);
#include "ops.def"
#undef X

/* The graph op column of nc's row in ops.def. */
dlc_op onnx_row_op(const onnx_node_ctx *nc);

/* Reports "<nc->what>: <message>" at nc->loc and returns DLC_ERROR. */
dlc_status onnx_fail(onnx_node_ctx *nc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Input i, or NULL when absent (past the last input or an empty name). */
dlc_node *onnx_in(const onnx_node_ctx *nc, int i);
/* Checks that inputs 0..n-1 are present. */
dlc_status onnx_need_inputs(onnx_node_ctx *nc, int n);
/* Checks that no output from index n on is used (named); why says what
 * those outputs are ("Indices"). */
dlc_status onnx_only_outputs(onnx_node_ctx *nc, int n, const char *why);
/* Defines output 0 as y; DLC_ERROR when y is NULL (already reported). */
dlc_status onnx_result(onnx_node_ctx *nc, dlc_node *y);

/* Builders: onnx_build with the operands given; NULL operands give NULL. */
dlc_node *onnx_op1(onnx_node_ctx *nc, dlc_op op, dlc_node *x,
                   const dlc_attrs *a);
dlc_node *onnx_op2(onnx_node_ctx *nc, dlc_op op, dlc_node *a, dlc_node *b);
dlc_node *onnx_op3(onnx_node_ctx *nc, dlc_op op, dlc_node *a, dlc_node *b,
                   dlc_node *c);
/* A rank-0 constant of dtype dt holding v. */
dlc_node *onnx_scalar(onnx_node_ctx *nc, dlc_dtype dt, double v);
/* A constant i64[n] holding v (n >= 1). */
dlc_node *onnx_const_i64(onnx_node_ctx *nc, const int64_t *v, int n);
dlc_node *onnx_cast(onnx_node_ctx *nc, dlc_node *x, dlc_dtype to);
dlc_node *onnx_reshape(onnx_node_ctx *nc, dlc_node *x, const int64_t *dims,
                       int rank);
/* Python's x[start:end:step] along axis. */
dlc_node *onnx_slice(onnx_node_ctx *nc, dlc_node *x, int64_t axis,
                     int64_t start, int64_t end, int64_t step);
/* x with a 1 inserted at axis of the result, or its dimension axis (a 1)
 * removed. */
dlc_node *onnx_unsqueeze(onnx_node_ctx *nc, dlc_node *x, int64_t axis);
dlc_node *onnx_squeeze(onnx_node_ctx *nc, dlc_node *x, int64_t axis);

/* The integers of constant input i (i32 or i64, rank 0 or 1) in *v (arena
 * memory, NULL when there are none) and *n. what names the input in
 * messages ("shape"). A non-constant or non-integer input is an error. */
dlc_status onnx_const_ints(onnx_node_ctx *nc, int i, const char *what,
                           int64_t **v, int *n);
/* The one value of constant input i, any dtype, as a double. */
dlc_status onnx_const_scalar(onnx_node_ctx *nc, int i, const char *what,
                             double *v);
/* An axis list from attribute name (opsets before from_opset) or from
 * input i (from from_opset on, optional). *present tells whether any was
 * given. */
dlc_status onnx_axes(onnx_node_ctx *nc, const char *name, int i,
                     int64_t from_opset, int64_t **v, int *n, bool *present);
/* Normalizes axis (negative counts from the end) into [0, rank); reports
 * an error naming what ("axis", "axes") when it is outside [-rank, rank). */
dlc_status onnx_fix_axis(onnx_node_ctx *nc, const char *what, int64_t *axis,
                         int rank);

#endif
