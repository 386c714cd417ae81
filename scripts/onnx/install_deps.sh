#!/bin/sh
# Installs what the real-model ONNX comparison needs (none of it is needed
# to build or test dlcc itself):
#   - Debian's python3-torch, python3-torchvision, python3-onnx (and
#     python3-numpy) for /usr/bin/python3, to export the models;
#   - onnxruntime-node from the npm registry into the repository's
#     node_modules/ (ignored by git), the reference runtime.
# Idempotent, and quiet when everything is already present.
# ONNXRUNTIME_NODE_INSTALL=skip: the package's postinstall would download
# an optional GPU build from a host that cannot be reached; the CPU
# library (bin/napi-v6/linux/x64/libonnxruntime.so.1) ships in the
# package itself, so nothing else is needed.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ORT_VERSION=1.30.0
PACKAGES="python3-torch python3-torchvision python3-onnx python3-numpy"

SUDO=""
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "onnx install: need root to install:$missing" >&2
    exit 1
  fi
  echo "onnx install: apt-get installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

ort_ok() {
  (cd "$ROOT" && node -e "
    const v = require('onnxruntime-node/package.json').version;
    if (v !== '$ORT_VERSION') process.exit(1);
    require('onnxruntime-node');" >/dev/null 2>&1)
}

if ! ort_ok; then
  echo "onnx install: npm installing onnxruntime-node@$ORT_VERSION into $ROOT/node_modules"
  log=$(mktemp)
  # --no-save/--no-package-lock: no package.json or lock file appears in
  # the tree; --prefix: node_modules goes to the repository root, where
  # scripts/onnx/*.js find it.
  if ! ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$ROOT" \
      --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "onnxruntime-node@$ORT_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "onnx install: npm install onnxruntime-node failed" >&2
    exit 1
  fi
  rm -f "$log"
  if ! ort_ok; then
    echo "onnx install: onnxruntime-node is installed but does not load:" >&2
    (cd "$ROOT" && node -e "require('onnxruntime-node')") >&2 || true
    exit 1
  fi
fi
