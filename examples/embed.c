/* Embedding a compiled model in a C program with the dlcc runtime: load
 * model.so, list its inputs and outputs, fill the inputs with a simple
 * pattern, run, and print the first values of each output.
 *
 *   cc embed.c $(pkg-config --cflags --libs dlcc-runtime) -o embed
 *   ./embed model.so */
#include <stdio.h>
#include <stdlib.h>

#include <dlcc/runtime.h>

static void describe(const dlcc_tensor_info *t) {
  printf("%s: %s[", t->name, dlcc_dtype_name(t->dtype));
  for (int d = 0; d < t->rank; d++)
    printf("%s%lld", d ? "," : "", (long long)t->dims[d]);
  printf("]");
}

/* Element i of the pattern: 0, 0.1, ..., 0.9, 0, 0.1, ... (integers 0..9). */
static void fill(const dlcc_tensor_info *t, void *buf) {
  int64_t n = dlcc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    int v = (int)(i % 10);
    switch (t->dtype) {
    case DLCC_F32: ((float *)buf)[i] = (float)v / 10; break;
    case DLCC_F64: ((double *)buf)[i] = (double)v / 10; break;
    case DLCC_I32: ((int32_t *)buf)[i] = v; break;
    case DLCC_I64: ((int64_t *)buf)[i] = v; break;
    case DLCC_BOOL: ((uint8_t *)buf)[i] = v & 1; break;
    }
  }
}

static double value(const dlcc_tensor_info *t, const void *buf, int64_t i) {
  switch (t->dtype) {
  case DLCC_F32: return ((const float *)buf)[i];
  case DLCC_F64: return ((const double *)buf)[i];
  case DLCC_I32: return ((const int32_t *)buf)[i];
  case DLCC_I64: return (double)((const int64_t *)buf)[i];
  case DLCC_BOOL: return ((const uint8_t *)buf)[i];
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s model.so\n", argv[0]);
    return 2;
  }
  printf("dlcc runtime %s\n", dlcc_runtime_version());

  dlcc_model *m = NULL;
  if (dlcc_model_load(argv[1], &m) != DLCC_OK) {
    /* m is NULL only when memory ran out; otherwise it holds the reason. */
    fprintf(stderr, "embed: %s\n", m ? dlcc_model_error(m) : "out of memory");
    dlcc_model_free(m);
    return 1;
  }

  int ni = dlcc_model_num_inputs(m), no = dlcc_model_num_outputs(m);
  const void **in = calloc((size_t)ni + 1, sizeof *in);
  void **out = calloc((size_t)no, sizeof *out);
  size_t *in_bytes = calloc((size_t)ni + 1, sizeof *in_bytes);
  size_t *out_bytes = calloc((size_t)no, sizeof *out_bytes);
  int rc = in && out && in_bytes && out_bytes ? 0 : 1;

  printf("model '%s'\n", dlcc_model_name(m));
  for (int i = 0; i < ni && !rc; i++) {
    dlcc_tensor_info t;
    dlcc_model_input_info(m, i, &t);
    printf("  input  ");
    describe(&t);
    printf("\n");
    in_bytes[i] = dlcc_tensor_bytes(&t);
    void *buf = malloc(in_bytes[i]);
    if (!buf) {
      rc = 1;
      break;
    }
    fill(&t, buf);
    in[i] = buf;
  }
  for (int i = 0; i < no && !rc; i++) {
    dlcc_tensor_info t;
    dlcc_model_output_info(m, i, &t);
    printf("  output ");
    describe(&t);
    printf("\n");
    out_bytes[i] = dlcc_tensor_bytes(&t);
    if (!(out[i] = malloc(out_bytes[i])))
      rc = 1;
  }
  if (rc)
    fprintf(stderr, "embed: out of memory\n");

  /* The checked run names the tensor if a buffer has the wrong size. */
  if (!rc && dlcc_model_run_checked(m, in, in_bytes, out, out_bytes) !=
                 DLCC_OK) {
    fprintf(stderr, "embed: %s\n", dlcc_model_error(m));
    rc = 1;
  }
  for (int i = 0; i < no && !rc; i++) {
    dlcc_tensor_info t;
    dlcc_model_output_info(m, i, &t);
    int64_t n = dlcc_tensor_numel(&t);
    printf("%s =", t.name);
    for (int64_t k = 0; k < n && k < 8; k++)
      printf(" %g", value(&t, out[i], k));
    printf("%s\n", n > 8 ? " ..." : "");
  }

  for (int i = 0; in && i < ni; i++)
    free((void *)in[i]);
  for (int i = 0; out && i < no; i++)
    free(out[i]);
  free(in);
  free(out);
  free(in_bytes);
  free(out_bytes);
  dlcc_model_free(m);
  return rc;
}
