#!/bin/sh
# Benchmarks dlcc against peers on the same machine in one run and prints
# tables. Usage: bench/run.sh [BUILD_DIR] [RUNS]   (defaults: build 2000)
# Peers: numpy for the MLP; PyTorch (Debian's python3-torch, if installed)
# for the ResNet-18 and BERT-layer architectures, at 1 thread.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${2:-2000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PY=/usr/bin/python3

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# best of 3 compile times
compile() { # name dsl [args...]
  name=$1; shift
  best=""
  for i in 1 2 3; do
    t0=$(ms_now)
    "$BUILD/bin/dlcc" "$@" -o "$TMP/$name.so"
    t=$(( $(ms_now) - t0 ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}

latency() { # so runs inputs...
  so=$1 runs=$2; shift 2
  DLCC_NUM_THREADS=1 "$BUILD/bin/dlcc-run" "$so" "$@" --bench "$runs" |
    sed -n 's/^bench: .* median \([0-9.]*\) ms, min \([0-9.]*\) ms$/\1/p'
}

$PY - "$TMP" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
np.save(f"{d}/x28.npy", rng.uniform(-1, 1, (1, 1, 28, 28)).astype(np.float32))
np.save(f"{d}/img.npy", rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32))
np.save(f"{d}/seq.npy", rng.uniform(-1, 1, (128, 768)).astype(np.float32))
np.save(f"{d}/mask.npy", np.zeros((1, 1, 128), np.float32))
PYEOF

c_mlp=$(compile mlp examples/mlp.dsl --weights examples/mlp.safetensors)
c_lenet=$(compile lenet examples/lenet.dsl)
c_resnet=$(compile resnet18 examples/resnet18.dsl)
c_bert=$(compile bert_layer examples/bert_layer.dsl)

l_mlp=$(latency "$TMP/mlp.so" "$N" --input x=examples/x.npy)
l_lenet=$(latency "$TMP/lenet.so" "$N" --input x="$TMP/x28.npy")
l_resnet=$(latency "$TMP/resnet18.so" 10 --input image="$TMP/img.npy")
l_bert=$(latency "$TMP/bert_layer.so" 10 --input x="$TMP/seq.npy" --input mask="$TMP/mask.npy")

np=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $PY bench/mlp_numpy.py . "$N" | cut -d' ' -f1)
t_resnet=- t_bert=-
if $PY -c "import torch, torchvision" 2>/dev/null; then
  out=$(OMP_NUM_THREADS=1 $PY bench/torch_models.py 1 10)
  t_resnet=$(echo "$out" | awk '$1 == "resnet18" { print $2 }')
  t_bert=$(echo "$out" | awk '$1 == "bert_layer" { print $2 }')
fi

ratio() { awk -v p="$1" -v d="$2" 'BEGIN { if (p == "-") print "-"; else printf "%.2f", p / d }'; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo
printf '%-12s %10s %12s %12s %12s %10s\n' model "compile ms" "dlcc ms" "peer ms" peer "peer/dlcc"
printf '%-12s %10s %12s %12s %12s %10s\n' mlp "$c_mlp" "$l_mlp" "$np" numpy "$(ratio "$np" "$l_mlp")"
printf '%-12s %10s %12s %12s %12s %10s\n' lenet "$c_lenet" "$l_lenet" - - -
printf '%-12s %10s %12s %12s %12s %10s\n' resnet18 "$c_resnet" "$l_resnet" "$t_resnet" pytorch "$(ratio "$t_resnet" "$l_resnet")"
printf '%-12s %10s %12s %12s %12s %10s\n' bert_layer "$c_bert" "$l_bert" "$t_bert" pytorch "$(ratio "$t_bert" "$l_bert")"
echo
echo "latency: median, 1 thread; peer/dlcc > 1 means dlcc is faster"
