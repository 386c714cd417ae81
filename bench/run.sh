#!/bin/sh
# Benchmarks dlcc against its peers on this machine, in one run, and prints
# markdown tables (progress goes to standard error):
#
#   bench/run.sh [--short] [--no-install] [--sections LIST] [BUILD_DIR]
#
#   FMA peak   the measured f32 FMA peak at 1 and 2 threads (bench/fma_peak.c)
#   GEMM       f32 A @ B, square 256..2048 and BERT shapes, 1 and 2 threads:
#              dlcc vs oneDNN (dnnl_sgemm) and OpenBLAS (cblas_sgemm)
#   models     ResNet-18, MobileNetV2, a BERT-style encoder at batch 1: the
#              same ONNX file in dlcc, ONNX Runtime and PyTorch, 1 and 2 threads
#   compile    dlcc's compile time (ONNX models, ResNet-50, DSL examples)
#   examples   examples/*.dsl vs numpy and PyTorch, 1 thread
#
# Without BUILD_DIR, dlcc is configured and built as a Release build in
# build-release/ first (incremental). With BUILD_DIR, that build is used as
# it is (e.g. `bench/run.sh --short build` after scripts/test.sh, as CI does).
# --short: fewer runs per point, one compile per model, the small DSL
# examples only (1 to 3 minutes on 2 cores; the full suite 4 to 8).
# --no-install: do not run scripts/onnx/install_deps.sh (ONNX Runtime,
# PyTorch) when they are missing.
# --sections: a comma-separated subset of peak,gemm,models,compile,examples.
#
# Peers: libdnnl-dev and libopenblas-dev (scripts/setup.sh installs them),
# onnxruntime-node and Debian's python3-torch (scripts/onnx/install_deps.sh).
# A missing or failing peer prints n/a with a note. The exit status is 1 only
# when dlcc fails (a compile error, a crash, a wrong GEMM result, an output
# that differs from ONNX Runtime's, a time-out), never because of a timing. The work is done by bench/suite.py.
set -eu
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "$1"
}

BUILD=""
set --  "$@" ""
ARGS=""
while [ $# -gt 1 ]; do
  case $1 in
    --short|--no-install) ARGS="$ARGS $1" ;;
    --sections) ARGS="$ARGS --sections $2"; shift ;;
    --sections=*) ARGS="$ARGS --sections ${1#--sections=}" ;;
    -h|--help) usage 0 ;;
    -*) echo "bench/run.sh: unknown option $1" >&2; usage 2 >&2 ;;
    *)
      if [ -n "$BUILD" ]; then
        echo "bench/run.sh: one BUILD_DIR only (got $BUILD and $1)" >&2
        exit 2
      fi
      BUILD=$1 ;;
  esac
  shift
done

if [ -z "$BUILD" ]; then
  BUILD=build-release
  echo "bench: building dlcc (Release) in $BUILD" >&2
  gen=""
  if [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
    gen="-G Ninja"
  fi
  log=$(mktemp)
  # shellcheck disable=SC2086
  if ! { cmake -S . -B "$BUILD" $gen -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$BUILD" -j "$(nproc)"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "bench: building dlcc in $BUILD failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# shellcheck disable=SC2086
exec "$PY" bench/suite.py --build "$BUILD" $ARGS
