/* The reference evaluator: runs graph IR in the plainest correct C. It is
 * the oracle every compiled result is compared with, and the constant folder
 * uses it (DESIGN principle 2). Values are computed element by element in
 * double (floats) or 64-bit integers (integers), then converted. */
#ifndef DLC_EVAL_H
#define DLC_EVAL_H

#include "diag.h"
#include "graph.h"

/* Evaluates one node on its operands' data (operands[i] for n->in[i], each
 * holding dlc_type_bytes(&n->in[i]->type) bytes). out receives
 * dlc_type_bytes(&n->type) bytes. WEIGHT and CONST copy their data; INPUT
 * has no value and an operator/dtype pair the evaluator does not know
 * returns DLC_ERROR. */
dlc_status dlc_eval_node(const dlc_node *n, const void *const *operands,
                         void *out);

/* Evaluates the whole graph: inputs[i] holds the data of g->inputs[i];
 * outputs[i] receives malloc'd data for g->outputs[i] (the caller frees
 * each). Intermediate values are freed after their last use. On failure
 * reports to d (which may be NULL), sets every outputs[i] to NULL and
 * returns DLC_ERROR. */
dlc_status dlc_eval_graph(const dlc_graph *g, const void *const *inputs,
                          void **outputs, dlc_diag *d);

#endif
