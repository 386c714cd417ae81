#!/bin/sh
# Benchmarks dlcc against peers on the same machine in one run and prints a
# table. Usage: bench/run.sh [BUILD_DIR] [RUNS]   (defaults: build 2000)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${2:-2000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# compile time: best of 5
best=""
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  "$BUILD/bin/dlcc" examples/mlp.dsl --weights examples/mlp.safetensors -o "$TMP/mlp.so"
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done

dl=$(DLCC_NUM_THREADS=1 "$BUILD/bin/dlcc-run" "$TMP/mlp.so" --input x=examples/x.npy --bench "$N" \
     | sed -n 's/^bench: .* median \([0-9.]*\) ms, min \([0-9.]*\) ms$/\1 \2/p')
np=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/mlp_numpy.py . "$N")

set -- $dl
dl_med=$1 dl_min=$2
set -- $np
np_med=$1 np_min=$2
ratio=$(awk -v a="$np_med" -v b="$dl_med" 'BEGIN { printf "%.2f", a / b }')

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "dlcc compile of examples/mlp.dsl (best of 5): ${best} ms"
echo
printf '%-28s %12s %12s %12s\n' "workload (1 thread)" "dlcc ms" "numpy ms" "numpy/dlcc"
printf '%-28s %12s %12s %12s\n' "mlp 1x784-256-10, median" "$dl_med" "$np_med" "$ratio"
printf '%-28s %12s %12s\n' "mlp 1x784-256-10, min" "$dl_min" "$np_min"
