/* ONNX graph inputs: their declared element types and shapes, with
 * dynamic dimensions bound by --shape NAME=DIMS. An unbound dimension is
 * one error that shows every input as declared and how to bind it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/util.h"
#include "onnx_import.h"
#include "onnx_internal.h"

/* inputs named in one message; a hostile file may have very many */
#define MAX_LISTED 20

typedef struct input_decl {
  const char *name;
  dlc_dtype dtype;
  int rank;         /* -1: no shape declared */
  int64_t dims[DLC_MAX_RANK]; /* 0 where dynamic */
  const char *sym[DLC_MAX_RANK]; /* dim_param, or NULL ("?") */
  bool dynamic;
  bool bad;   /* an error was reported; the value is poisoned */
  bool bound; /* by --shape */
  const char *declared; /* decl_str before binding */
  onnx_value *value;
} input_decl;

/* "f32[N,3,224,224]" as declared; "f32 (no shape)". */
static const char *decl_str(onnx_ctx *c, const input_decl *in) {
  if (in->rank < 0)
    return dlc_arena_printf(c->arena, "%s (no shape)",
                            dlc_dtype_name(in->dtype));
  char buf[512];
  size_t k = (size_t)snprintf(buf, sizeof buf, "%s[", dlc_dtype_name(in->dtype));
  for (int i = 0; i < in->rank && k < sizeof buf; i++) {
    const char *sep = i ? "," : "";
    if (in->dims[i])
      k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%" PRId64, sep,
                            in->dims[i]);
    else
      k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", sep,
                            in->sym[i] ? in->sym[i] : "?");
  }
  if (k < sizeof buf)
    snprintf(buf + k, sizeof buf - k, "]");
  return dlc_arena_strdup(c->arena, buf);
}

/* Reads a graph input's declared type; false after an error. */
static bool read_decl(onnx_ctx *c, const Onnx__ValueInfoProto *vi,
                      input_decl *in) {
  in->name = vi->name;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
    dlc_error(c->d, c->loc,
              tp ? "graph input '%s' is not a tensor (sequence, map, optional "
                   "and sparse inputs are not supported)"
                 : "graph input '%s' has no type",
              in->name);
    return false;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  int32_t et = tt->has_elem_type ? tt->elem_type : 0;
  if (!onnx_dtype_map(et, &in->dtype)) {
    dlc_error(c->d, c->loc,
              "graph input '%s' has element type %s, which dlcc does not "
              "support (supported: FLOAT, DOUBLE, INT32, INT64, BOOL)",
              in->name, onnx_dtype_name(c, et));
    return false;
  }
  in->rank = -1;
  if (!tt->shape) {
    in->dynamic = true;
    return true;
  }
  if (tt->shape->n_dim > DLC_MAX_RANK) {
    dlc_error(c->d, c->loc,
              "graph input '%s' has %zu dimensions; dlcc supports at most %d",
              in->name, tt->shape->n_dim, DLC_MAX_RANK);
    return false;
  }
  in->rank = (int)tt->shape->n_dim;
  for (int i = 0; i < in->rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
    if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (dim->dim_value < 1) {
        in->dims[i] = 1; /* printable; the input is bad anyway */
        dlc_error(c->d, c->loc,
                  "graph input '%s': dimension %d is %" PRId64
                  " (every dimension must be at least 1)",
                  in->name, i, dim->dim_value);
        return false;
      }
      if (dim->dim_value > ONNX_MAX_NUMEL) {
        dlc_error(c->d, c->loc,
                  "graph input '%s': dimension %d is %" PRId64 ", over 2^40",
                  in->name, i, dim->dim_value);
        return false;
      }
      in->dims[i] = dim->dim_value;
    } else {
      in->dynamic = true;
      if (dim->value_case ==
              ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
          dim->dim_param && *dim->dim_param)
        in->sym[i] = dim->dim_param;
    }
  }
  return true;
}

/* Parses "1x3x224x224"; false when it is not positive integers split by
 * 'x' (or more than DLC_MAX_RANK of them). */
static bool parse_dims(const char *s, int64_t *dims, int *rank) {
  *rank = 0;
  if (!*s)
    return false;
  for (;;) {
    int64_t v = 0;
    if (*s < '0' || *s > '9')
      return false;
    for (; *s >= '0' && *s <= '9'; s++) {
      v = v * 10 + (*s - '0');
      if (v > ONNX_MAX_NUMEL)
        return false;
    }
    if (v < 1 || *rank == DLC_MAX_RANK)
      return false;
    dims[(*rank)++] = v;
    if (!*s)
      return true;
    if (*s++ != 'x')
      return false;
  }
}

static const char *input_names(onnx_ctx *c, const input_decl *ins, int n) {
  if (n == 0)
    return "it has none";
  char *s = "";
  for (int i = 0; i < n && i < MAX_LISTED; i++)
    s = dlc_arena_printf(c->arena, "%s%s'%s'", s, i ? ", " : "", ins[i].name);
  if (n > MAX_LISTED)
    s = dlc_arena_printf(c->arena, "%s and %d more", s, n - MAX_LISTED);
  return dlc_arena_printf(c->arena, "its inputs: %s", s);
}

/* Applies one --shape binding; false after an error. */
static bool apply_binding(onnx_ctx *c, const char *spec, input_decl *ins,
                          int n) {
  const char *eq = strrchr(spec, '=');
  if (!eq || eq == spec) {
    dlc_error(c->d, c->loc,
              "--shape '%s': expected NAME=DIMS, for example "
              "--shape input=1x3x224x224",
              spec);
    return false;
  }
  const char *name = dlc_arena_strndup(c->arena, spec, (size_t)(eq - spec));
  int64_t dims[DLC_MAX_RANK];
  int rank;
  if (!parse_dims(eq + 1, dims, &rank)) {
    dlc_error(c->d, c->loc,
              "--shape '%s': DIMS must be 1 to %d positive integers separated "
              "by 'x', for example 1x3x224x224",
              spec, DLC_MAX_RANK);
    return false;
  }
  input_decl *in = NULL;
  for (int i = 0; i < n; i++)
    if (strcmp(ins[i].name, name) == 0)
      in = &ins[i];
  if (!in) {
    onnx_value *v = onnx_value_find(&c->values, name);
    if (v && v->producer == ONNX_FROM_INITIALIZER)
      dlc_error(c->d, c->loc,
                "--shape '%s': '%s' is an initializer, not an input (%s)", spec,
                name, input_names(c, ins, n));
    else
      dlc_error(c->d, c->loc, "--shape '%s': the model has no input '%s' (%s)",
                spec, name, input_names(c, ins, n));
    return false;
  }
  if (in->bad)
    return true; /* already reported */
  if (in->bound) {
    dlc_error(c->d, c->loc, "--shape '%s': input '%s' is bound twice", spec,
              name);
    in->bad = true; /* one error for it */
    return false;
  }
  if (in->rank >= 0 && rank != in->rank) {
    dlc_error(c->d, c->loc,
              "--shape '%s': input '%s' has %d dimension%s (%s), not %d", spec,
              name, in->rank, in->rank == 1 ? "" : "s", in->declared, rank);
    in->bad = true; /* one error for it */
    return false;
  }
  for (int i = 0; i < rank && in->rank >= 0; i++)
    if (in->dims[i] && in->dims[i] != dims[i]) {
      dlc_error(c->d, c->loc,
                "--shape '%s': dimension %d of input '%s' is %" PRId64
                " in the model (%s)",
                spec, i, name, in->dims[i], in->declared);
      in->bad = true; /* one error for it */
    return false;
    }
  in->bound = true;
  in->rank = rank;
  memcpy(in->dims, dims, sizeof(int64_t) * (size_t)rank);
  return true;
}

/* The error for dynamic dimensions left unbound: every input as declared,
 * and how to bind them. */
static void report_unbound(onnx_ctx *c, const input_decl *ins, int n) {
  char *text[3];
  size_t len[3];
  FILE *unbound = open_memstream(&text[0], &len[0]);
  FILE *all = open_memstream(&text[1], &len[1]);
  FILE *example = open_memstream(&text[2], &len[2]);
  DLC_ASSERT(unbound && all && example); /* out of memory */
  int nunbound = 0, nall = 0;
  for (int i = 0; i < n; i++) {
    const input_decl *in = &ins[i];
    if (in->bad)
      continue;
    if (nall++ < MAX_LISTED)
      fprintf(all, "%s%s: %s", nall > 1 ? ", " : "", in->name, in->declared);
    if (!in->dynamic || in->bound)
      continue;
    if (nunbound++ >= MAX_LISTED)
      continue;
    fprintf(unbound, "%s'%s'", nunbound > 1 ? ", " : "", in->name);
    fprintf(example, " --shape %s=", in->name);
    if (in->rank < 0)
      fputs("DIMS", example);
    for (int j = 0; j < in->rank; j++)
      fprintf(example, "%s%" PRId64, j ? "x" : "", in->dims[j] ? in->dims[j] : 1);
  }
  if (nall > MAX_LISTED)
    fprintf(all, " and %d more", nall - MAX_LISTED);
  if (nunbound > MAX_LISTED)
    fprintf(unbound, " and %d more", nunbound - MAX_LISTED);
  fclose(unbound);
  fclose(all);
  fclose(example);
  dlc_error(c->d, c->loc,
            "input%s %s ha%s dynamic dimensions; the model's inputs are %s; "
            "bind each dynamic input with --shape NAME=DIMS, for example%s",
            nunbound > 1 ? "s" : "", text[0], nunbound > 1 ? "ve" : "s",
            text[1], text[2]);
  for (int i = 0; i < 3; i++)
    free(text[i]);
}

dlc_status onnx_add_inputs(onnx_ctx *c, const dlc_onnx_options *o) {
  const Onnx__GraphProto *gp = c->model->graph;
  input_decl *ins = dlc_arena_alloc(c->arena, sizeof *ins * (gp->n_input + 1));
  int n = 0;
  dlc_status st = DLC_OK;
  for (size_t i = 0; i < gp->n_input; i++) {
    const char *name = gp->input[i]->name;
    onnx_value *v = name && *name ? onnx_value_find(&c->values, name) : NULL;
    if (!v || v->producer != ONNX_FROM_INPUT || v->node)
      continue; /* an initializer, or reported by check_definitions */
    input_decl *in = &ins[n++];
    in->value = v;
    if (!read_decl(c, gp->input[i], in)) {
      in->bad = true;
      st = DLC_ERROR;
    } else
      in->declared = decl_str(c, in);
  }
  for (int i = 0; o && i < o->nshapes; i++)
    if (!apply_binding(c, o->shapes[i], ins, n))
      st = DLC_ERROR;
  bool unbound = false;
  for (int i = 0; i < n; i++)
    if (!ins[i].bad && ins[i].dynamic && !ins[i].bound)
      unbound = true;
  if (unbound) {
    report_unbound(c, ins, n);
    st = DLC_ERROR;
  }
  for (int i = 0; i < n; i++) {
    input_decl *in = &ins[i];
    if (in->bad || (in->dynamic && !in->bound)) {
      in->value->state = ONNX_VALUE_POISON;
      continue;
    }
    dlc_type t = {.dtype = in->dtype, .rank = in->rank};
    int64_t numel = 1;
    bool big = false;
    for (int j = 0; j < in->rank; j++) {
      t.dims[j] = in->dims[j];
      if (t.dims[j] > ONNX_MAX_NUMEL / numel)
        big = true;
      else
        numel *= t.dims[j];
    }
    if (big) {
      char ts[DLC_TYPE_STRLEN];
      dlc_error(c->d, c->loc, "graph input '%s' (%s) has more than 2^40 elements",
                in->name, dlc_type_str(&t, ts, sizeof ts));
      in->value->state = ONNX_VALUE_POISON;
      st = DLC_ERROR;
      continue;
    }
    in->value->node = dlc_graph_add_input(c->g, in->name, &t, c->loc);
  }
  return st;
}
