#!/bin/sh
# Real models through dlcc's ONNX path, checked against ONNX Runtime.
#
#   scripts/onnx/compare_real_models.sh [BUILD_DIR] [MODEL...]
#
# BUILD_DIR (default: build) holds a built dlcc (BUILD_DIR/bin/dlcc and
# BUILD_DIR/bin/dlcc-run); the models go to BUILD_DIR/onnx-models/. MODELs:
# resnet18 mobilenet_v2 transformer (default: all).
#
# For each model: export it from PyTorch with random weights (cached:
# scripts/onnx/export_models.py), run it with ONNX Runtime on a seeded
# random input (scripts/onnx/ort_run.js), compile it with dlcc, run it
# with dlcc-run on the same input, and compare the outputs
# (scripts/onnx/compare.py):
#     max rel err = max|dlcc - ort| / max|ort|   (over the whole output)
#     max abs err = max|dlcc - ort|
# A model passes when max rel err <= 1e-4. Prints a table and exits
# non-zero when any model fails.
#
# Environment:
#   ONNX_COMPARE_XFAIL="MODEL..."  models expected to fail for now: a
#       failure is reported as XFAIL and does not fail the run (a pass
#       still counts as a pass).
#   ONNX_COMPARE_TOL               the relative tolerance (default 1e-4).
#
# Installs its tools first (scripts/onnx/install_deps.sh: Debian's
# python3-torch, python3-torchvision, python3-onnx; onnxruntime-node into
# node_modules/); none of them is needed to build or test dlcc itself.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/onnx
BUILD=${1:-build}
[ $# -gt 0 ] && shift
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MODELS=${*:-resnet18 mobilenet_v2 transformer}
TOL=${ONNX_COMPARE_TOL:-1e-4}
XFAIL=${ONNX_COMPARE_XFAIL:-}
PY=/usr/bin/python3
DLCC=$BUILD/bin/dlcc
DLCC_RUN=$BUILD/bin/dlcc-run
OUT=$BUILD/onnx-models

for tool in "$DLCC" "$DLCC_RUN"; do
  if [ ! -x "$tool" ]; then
    echo "compare_real_models: $tool is missing: build dlcc first" \
         "(cmake --build $BUILD)" >&2
    exit 2
  fi
done

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t=$(now)
"$HERE/install_deps.sh"
echo "onnx: tools ready in $(since "$t") s"

t=$(now)
# shellcheck disable=SC2086
"$PY" "$HERE/export_models.py" "$OUT" $MODELS
echo "onnx: models ready in $(since "$t") s"
for m in $MODELS; do
  "$PY" "$HERE/list_ops.py" "$OUT/$m.onnx"
done

# Extra dlcc options per model: mobilenet_v2 has a dynamic batch axis.
dlcc_options() {
  case $1 in
    mobilenet_v2) echo "--shape input=1x3x224x224" ;;
    *) echo "" ;;
  esac
}

# Prints the last lines of a step's log, indented, under a heading.
show_log() {
  echo "--- $1: $2 ($3)"
  tail -n 25 "$3" | sed 's/^/    /'
}

pass=0 fail=0 xfail=0
rows=""
notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
for m in $MODELS; do
  onnx=$OUT/$m.onnx
  x=$OUT/$m.input.npy
  ref=$OUT/$m.ort.npy
  got=$OUT/$m.dlcc.npy
  so=$OUT/$m.so
  rm -f "$ref" "$got" "$so"
  ctime=- rel=- abs=- status=PASS
  if ! node "$HERE/ort_run.js" "$onnx" --input "input=$x" \
       --output "output=$ref" >"$OUT/$m.ort.log" 2>&1; then
    status=FAIL
    show_log "$m" "ONNX Runtime failed" "$OUT/$m.ort.log" >>"$notes"
  fi
  if [ $status = PASS ]; then
    t=$(now)
    # shellcheck disable=SC2046
    if timeout 600 "$DLCC" "$onnx" $(dlcc_options "$m") -o "$so" \
         >"$OUT/$m.dlcc.log" 2>&1; then
      ctime=$(since "$t")
    else
      ctime=$(since "$t")
      status=FAIL
      show_log "$m" "dlcc failed to compile" "$OUT/$m.dlcc.log" >>"$notes"
    fi
  fi
  if [ $status = PASS ]; then
    if ! timeout 300 "$DLCC_RUN" "$so" --input "input=$x" \
         --output "output=$got" >"$OUT/$m.run.log" 2>&1; then
      status=FAIL
      show_log "$m" "dlcc-run failed" "$OUT/$m.run.log" >>"$notes"
    fi
  fi
  if [ $status = PASS ]; then
    if res=$("$PY" "$HERE/compare.py" "$got" "$ref" "$TOL" 2>&1); then
      :
    else
      status=FAIL
    fi
    rel=$(echo "$res" | awk 'NR == 1 { print $1 }')
    abs=$(echo "$res" | awk 'NR == 1 { print $2 }')
    case $rel in
      -) echo "--- $m: $(echo "$res" | cut -d' ' -f3-)" >>"$notes" ;;
      [0-9]*)
        if [ $status = FAIL ]; then
          echo "--- $m: max rel err $rel is above $TOL" >>"$notes"
        fi ;;
      *) rel=- abs=-; echo "--- $m: compare.py: $res" >>"$notes" ;;
    esac
  fi
  if [ $status = FAIL ]; then
    case " $XFAIL " in
      *" $m "*) status=XFAIL ;;
    esac
  fi
  case $status in
    PASS) pass=$((pass + 1)) ;;
    FAIL) fail=$((fail + 1)) ;;
    XFAIL) xfail=$((xfail + 1)) ;;
  esac
  rows="$rows$(printf '%-14s %10s %12s %12s  %s' "$m" "$ctime" "$rel" "$abs" "$status")
"
done

echo
echo "dlcc vs ONNX Runtime, same .onnx file and input; pass: max rel err <= $TOL"
echo "  max rel err = max|dlcc - ort| / max|ort| over the whole output"
echo "  max abs err = max|dlcc - ort|"
printf '%-14s %10s %12s %12s  %s\n' model compile_s max_rel_err max_abs_err result
printf '%s' "$rows"
if [ -s "$notes" ]; then
  echo
  cat "$notes"
fi
echo
if [ "$xfail" -gt 0 ]; then
  echo "onnx: $pass passed, $fail failed, $xfail skipped"
else
  echo "onnx: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
