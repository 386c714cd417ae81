/* The stable text form of the graph IR (dlcc --emit=graph). Values are
 * renumbered %0, %1, ... in node order at each print, so the text depends
 * only on the graph, never on ids or addresses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "util.h"

static void print_scalar(FILE *out, dlc_dtype t, const void *p, int64_t i) {
  switch (t) {
  case DLC_F32: {
    float v = ((const float *)p)[i];
    char buf[64];
    snprintf(buf, sizeof buf, "%.6g", v);
    if (strtof(buf, NULL) != v && !isnan(v))
      snprintf(buf, sizeof buf, "%.9g", v);
    fputs(buf, out);
    break;
  }
  case DLC_F64: {
    double v = ((const double *)p)[i];
    char buf[64];
    snprintf(buf, sizeof buf, "%.6g", v);
    if (strtod(buf, NULL) != v && !isnan(v))
      snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, out);
    break;
  }
  case DLC_I32: fprintf(out, "%d", ((const int32_t *)p)[i]); break;
  case DLC_I64: fprintf(out, "%lld", (long long)((const int64_t *)p)[i]); break;
  case DLC_BOOL: fputs(((const uint8_t *)p)[i] ? "true" : "false", out); break;
  default: dlc_unreachable();
  }
}

static void print_ints(FILE *out, const int64_t *v, int n) {
  fputc('[', out);
  for (int i = 0; i < n; i++)
    fprintf(out, "%s%lld", i ? "," : "", (long long)v[i]);
  fputc(']', out);
}

static void print_ref(FILE *out, const dlc_node *n, const int *num) {
  if (n->op == DLC_OP_INPUT || n->op == DLC_OP_WEIGHT)
    fputs(n->name, out);
  else
    fprintf(out, "%%%d", num[n->id]);
}

static void print_pair(FILE *out, const char *key, const int64_t *v, int n) {
  fprintf(out, ", %s=", key);
  print_ints(out, v, n);
}

static void print_double(FILE *out, const char *key, double v) {
  fprintf(out, ", %s=%.9g", key, v);
}

/* Attributes in a fixed order per kind, so the text is stable. */
static void print_attrs(FILE *out, const dlc_node *n) {
  const dlc_attrs *a = &n->attr;
  switch (dlc_ops[n->op].kind) {
  case DLC_KIND_SOFTMAX:
  case DLC_KIND_CONCAT:
  case DLC_KIND_GATHER:
    fprintf(out, ", axis=%lld", (long long)a->axis);
    break;
  case DLC_KIND_RESHAPE:
    print_pair(out, "shape", n->type.dims, n->type.rank);
    break;
  case DLC_KIND_TRANSPOSE:
    print_pair(out, "perm", a->ints, a->nints);
    break;
  case DLC_KIND_BROADCAST:
    print_pair(out, "shape", a->ints, a->nints);
    break;
  case DLC_KIND_REDUCE:
    print_pair(out, "axes", a->ints, a->nints);
    fprintf(out, ", keepdims=%d", a->keepdims);
    break;
  case DLC_KIND_SLICE:
    fprintf(out, ", axis=%lld, start=%lld, step=%lld", (long long)a->axis,
            (long long)a->start, (long long)a->step);
    break;
  case DLC_KIND_CAST:
    fprintf(out, ", %s", dlc_dtype_name(a->to));
    break;
  case DLC_KIND_NORM:
    if (n->op == DLC_OP_LAYER_NORM)
      fprintf(out, ", axis=%lld", (long long)a->axis);
    print_double(out, "eps", a->eps);
    break;
  case DLC_KIND_CONV:
  case DLC_KIND_POOL:
    if (dlc_ops[n->op].kind == DLC_KIND_POOL)
      print_pair(out, "kernel", a->kernel, 2);
    print_pair(out, "stride", a->stride, 2);
    print_pair(out, "pad", a->pad, 4);
    if (n->op == DLC_OP_CONV2D || n->op == DLC_OP_CONV2D_NCHWC) {
      print_pair(out, "dilation", a->dilation, 2);
      fprintf(out, ", groups=%lld", (long long)a->groups);
    }
    if (n->op == DLC_OP_CONV2D_NCHWC)
      fprintf(out, ", block=%lld", (long long)a->block);
    if (n->op == DLC_OP_AVG_POOL2D)
      fprintf(out, ", count_include_pad=%d", a->count_include_pad);
    break;
  case DLC_KIND_UNARY:
    if (n->op == DLC_OP_LEAKY_RELU)
      print_double(out, "alpha", a->alpha);
    if (n->op == DLC_OP_GELU && a->approximate)
      fputs(", approximate=\"tanh\"", out);
    if (n->op == DLC_OP_CLIP && a->has_lo)
      print_double(out, "min", a->lo);
    if (n->op == DLC_OP_CLIP && a->has_hi)
      print_double(out, "max", a->hi);
    break;
  case DLC_KIND_LAYOUT:
    if (n->op == DLC_OP_TO_NCHWC)
      fprintf(out, ", block=%lld", (long long)a->block);
    break;
  default:
    break;
  }
}

void dlc_graph_print(const dlc_graph *g, FILE *out) {
  int *num = dlc_xcalloc((size_t)g->next_id + 1, sizeof *num);
  int next = 0;
  char ts[DLC_TYPE_STRLEN];
  /* numbered first: a value may be fused into one printed after it */
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op != DLC_OP_INPUT && g->nodes[i]->op != DLC_OP_WEIGHT)
      num[g->nodes[i]->id] = next++;
  fprintf(out, "model %s {\n", g->name);
  for (int i = 0; i < g->nnodes; i++) {
    const dlc_node *n = g->nodes[i];
    dlc_type_str(&n->type, ts, sizeof ts);
    if (n->op == DLC_OP_INPUT) {
      fprintf(out, "  input %s : %s\n", n->name, ts);
      continue;
    }
    if (n->op == DLC_OP_WEIGHT) {
      fprintf(out, "  weight %s : %s\n", n->name, ts);
      continue;
    }
    fprintf(out, "  %%%d = ", num[n->id]);
    if (n->op == DLC_OP_CONST) {
      int64_t numel = dlc_type_numel(&n->type);
      fputs("const ", out);
      if (n->type.rank == 0) {
        print_scalar(out, n->type.dtype, n->data, 0);
      } else {
        fputc('[', out);
        int64_t shown = numel <= 16 ? numel : 8;
        for (int64_t k = 0; k < shown; k++) {
          if (k)
            fputs(", ", out);
          print_scalar(out, n->type.dtype, n->data, k);
        }
        fputs(numel > shown ? ", ...]" : "]", out);
      }
    } else {
      fprintf(out, "%s(", dlc_ops[n->op].name);
      for (int k = 0; k < n->nin; k++) {
        if (k)
          fputs(", ", out);
        print_ref(out, n->in[k], num);
      }
      print_attrs(out, n);
      fputc(')', out);
    }
    fprintf(out, " : %s", ts);
    if (n->fused_into)
      fprintf(out, "  ; fused into %%%d", num[n->fused_into->id]);
    fputc('\n', out);
  }
  for (int i = 0; i < g->noutputs; i++) {
    fprintf(out, "  output %s = ", g->outputs[i].name);
    print_ref(out, g->outputs[i].node, num);
    fputc('\n', out);
  }
  fputs("}\n", out);
  free(num);
}
