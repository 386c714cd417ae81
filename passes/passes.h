/* The passes layer: graph-to-graph passes and the pass manager that runs a
 * named pipeline of them (passes.def). Every pass leaves the graph in
 * topological order with dead nodes compacted away. */
#ifndef DLC_PASSES_H
#define DLC_PASSES_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/diag.h"
#include "ir/graph.h"
#include "ir/loop.h"

/* A graph pass rewrites g in place; user-visible problems go to d. */
typedef dlc_status (*dlc_pass_fn)(dlc_graph *g, dlc_diag *d);

#define X(id, name, fn, desc) dlc_status fn(dlc_graph *g, dlc_diag *d);
#include "passes.def"
#undef X

/* The pipeline run when none is named. */
#define DLC_DEFAULT_PIPELINE "fold,cse,norm,fold_bn,layout,dce,fuse"

typedef struct dlc_pass_options {
  bool print_after_all;    /* print the graph after every pass */
  const char *print_after; /* or after this pass only (NULL: none) */
  FILE *print_out;         /* where to print (NULL: stderr) */
  bool verify_each;        /* run dlc_graph_verify after each pass */
  /* loop passes: skip tile, leaving matrix products and convolutions on
   * channel blocks as their plain nests */
  bool no_tile;
} dlc_pass_options;

/* Runs the comma-separated pipeline ("fold,cse,dce"; NULL means
 * DLC_DEFAULT_PIPELINE, "" runs nothing) on g. o may be NULL (no printing,
 * no verification). A dump is the line `// -- graph after NAME --` followed
 * by dlc_graph_print's text. An unknown pass name in the pipeline or in
 * o->print_after is reported with the list of known passes and nothing is
 * run; a verifier failure after a pass is reported as an internal error
 * naming the pass. Returns DLC_ERROR on the first failure. */
dlc_status dlc_run_passes(dlc_graph *g, const char *pipeline,
                          const dlc_pass_options *o, dlc_diag *d);

/* A loop pass rewrites the loop IR in place (loop_passes.def). */
typedef void (*dlc_loop_pass_fn)(dlc_lmodule *m);

#define X(id, name, fn, desc) void fn(dlc_lmodule *m);
#include "loop_passes.def"
#undef X

/* Runs every loop pass in order on m, printing the loops after each as
 * o asks (`// -- loops after NAME --`, then dlc_lmodule_print's text) and
 * verifying them when o->verify_each. o may be NULL. Returns DLC_ERROR
 * (an internal error naming the pass) only when verification fails. */
dlc_status dlc_run_loop_passes(dlc_lmodule *m, const dlc_pass_options *o, dlc_diag *d);

/* Whether name is a known loop pass. */
bool dlc_loop_pass_exists(const char *name);

/* Lists the loop passes like dlc_pass_list. */
void dlc_loop_pass_list(FILE *out);

/* Whether name is a known (graph) pass. */
bool dlc_pass_exists(const char *name);

/* Lists the passes for dlcc --help: one line per pass, two spaces, the name
 * padded to 8 columns, then the description. */
void dlc_pass_list(FILE *out);

#endif
