/* dlcc: the compiler driver. Parses options and calls dlc_compile; the
 * process exits only here. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/llvm/llvm_backend.h"
#include "driver.h"
#include "passes/passes.h"

static void usage(FILE *f) {
  fputs(
      "usage: dlcc [options] MODEL.dsl\n"
      "       dlcc [options] MODEL.onnx\n"
      "\n"
      "Compiles a model in the dlcc graph language, or an ONNX model, to a\n"
      "shared library that the dlcc runtime (and dlcc-run) loads.\n"
      "\n"
      "options:\n"
      "  -o FILE               write the output to FILE (default: MODEL.so for\n"
      "                        --emit=so and obj, standard output for text forms)\n"
      "  -O0, -O1, -O2, -O3    optimization level (default: -O2)\n"
      "  --emit=KIND           what to write: so (default), graph, loops, llvm,\n"
      "                        asm, obj\n"
      "  --weights=FILE        bind `weight` declarations without an initializer\n"
      "                        to the tensors of a .safetensors file, by name\n"
      "                        (.dsl models)\n"
      "  --shape=NAME=DIMS     give the ONNX input NAME the shape DIMS, e.g.\n"
      "                        --shape input=1x3x224x224; needed for inputs with\n"
      "                        dynamic dimensions; repeat it for each input\n"
      "  --target=TRIPLE       target triple (default: the host's)\n"
      "  --cpu=NAME            target CPU (default: the host's, \"native\")\n"
      "  --features=LIST       target features, e.g. +avx2,-avx512f (default: the\n"
      "                        CPU's)\n"
      "  --passes=LIST         graph passes to run, comma-separated (default:\n"
      "                        fold,cse,norm,fold_bn,layout,dce,fuse)\n"
      "  --print-after-all     print the IR after every pass to standard error\n"
      "  --print-after=PASS    print the IR after PASS (a graph pass, lower or a\n"
      "                        loop pass)\n"
      "  --no-tile             skip the tile pass: matrix products and blocked\n"
      "                        convolutions run as their plain nests (slow; to\n"
      "                        check the tiles against)\n"
      "  --help                show this help and exit\n"
      "  --version             show the version and target and exit\n"
      "\n"
      "graph passes:\n",
      f);
  dlc_pass_list(f);
  fputs("\nloop passes (always, in this order, after lowering; tile unless --no-tile):\n", f);
  dlc_loop_pass_list(f);
  fputs("\nenvironment:\n"
        "  DLCC_CC               C compiler driver used to link model.so (default: cc)\n",
        f);
}

static char *default_output(const char *input, const char *ext) {
  const char *base = strrchr(input, '/');
  base = base ? base + 1 : input;
  const char *dot = strrchr(base, '.');
  size_t n = dot ? (size_t)(dot - base) : strlen(base);
  char *out = malloc(n + strlen(ext) + 1);
  if (!out)
    return NULL;
  memcpy(out, base, n);
  strcpy(out + n, ext);
  return out;
}

int main(int argc, char **argv) {
  enum { O_EMIT = 256, O_WEIGHTS, O_SHAPE, O_TARGET, O_CPU, O_FEATURES, O_PASSES,
         O_PAA, O_PA, O_NO_TILE, O_HELP, O_VERSION };
  static const struct option longs[] = {
      {"emit", required_argument, 0, O_EMIT},
      {"weights", required_argument, 0, O_WEIGHTS},
      {"shape", required_argument, 0, O_SHAPE},
      {"target", required_argument, 0, O_TARGET},
      {"cpu", required_argument, 0, O_CPU},
      {"features", required_argument, 0, O_FEATURES},
      {"passes", required_argument, 0, O_PASSES},
      {"print-after-all", no_argument, 0, O_PAA},
      {"print-after", required_argument, 0, O_PA},
      {"no-tile", no_argument, 0, O_NO_TILE},
      {"help", no_argument, 0, O_HELP},
      {"version", no_argument, 0, O_VERSION},
      {0, 0, 0, 0},
  };
  dlc_compile_options o = {.opt_level = 2, .emit = DLC_EMIT_SO};
  /* every --shape fits: there are fewer than argc of them */
  const char *shapes[argc];
  o.shapes = shapes;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:O::", longs, NULL)) != -1) {
    switch (c) {
    case 'o': o.output = optarg; break;
    case 'O':
      if (!optarg || strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3') {
        fprintf(stderr, "dlcc: error: invalid optimization level '-O%s' (use -O0 to -O3)\n",
                optarg ? optarg : "");
        return 1;
      }
      o.opt_level = optarg[0] - '0';
      break;
    case O_EMIT:
      if (!dlc_emit_lookup(optarg, &o.emit)) {
        fprintf(stderr, "dlcc: error: unknown --emit kind '%s' (expected so, graph, "
                        "loops, llvm, asm or obj)\n", optarg);
        return 1;
      }
      break;
    case O_WEIGHTS: o.weights = optarg; break;
    case O_SHAPE: shapes[o.nshapes++] = optarg; break;
    case O_TARGET: o.target = optarg; break;
    case O_CPU: o.cpu = optarg; break;
    case O_FEATURES: o.features = optarg; break;
    case O_PASSES: o.pipeline = optarg; break;
    case O_PAA: o.print_after_all = true; break;
    case O_NO_TILE: o.no_tile = true; break;
    case O_PA:
      if (strcmp(optarg, "lower") != 0 && !dlc_pass_exists(optarg) &&
          !dlc_loop_pass_exists(optarg)) {
        fprintf(stderr, "dlcc: error: unknown pass '%s' in --print-after (see dlcc --help)\n",
                optarg);
        return 1;
      }
      o.print_after = optarg;
      break;
    case O_HELP: usage(stdout); return 0;
    case O_VERSION: {
      char *host = dlc_llvm_host_description();
      printf("dlcc %s (LLVM backend; host %s)\n", DLCC_VERSION, host);
      free(host);
      return 0;
    }
    case ':':
      fprintf(stderr, "dlcc: error: option '%s' needs a value\n", argv[optind - 1]);
      return 1;
    default:
      fprintf(stderr, "dlcc: error: unknown option '%s' (see dlcc --help)\n", argv[optind - 1]);
      return 1;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, optind == argc ? "dlcc: error: no input file (see dlcc --help)\n"
                                   : "dlcc: error: more than one input file\n");
    return 1;
  }
  if (o.no_tile && o.print_after && strcmp(o.print_after, "tile") == 0) {
    fprintf(stderr, "dlcc: error: --print-after=tile with --no-tile: the tile pass does not run\n");
    return 1;
  }
  o.input = argv[optind];
  char *out = NULL;
  if (!o.output && (o.emit == DLC_EMIT_SO || o.emit == DLC_EMIT_OBJ))
    o.output = out = default_output(o.input, o.emit == DLC_EMIT_SO ? ".so" : ".o");
  dlc_diag *d = dlc_diag_new(stderr);
  dlc_status st = dlc_compile(&o, d);
  int errors = dlc_diag_errors(d);
  dlc_diag_free(d);
  free(out);
  return st == DLC_OK && errors == 0 ? 0 : 1;
}
