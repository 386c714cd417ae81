#!/bin/sh
# Installs what dlcc needs to build and test, from Debian's packages.
# Idempotent, and quiet when everything is already present.
set -eu

PACKAGES="cmake ninja-build gcc clang llvm-19-dev flex bison check pkg-config
protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata
libcjson-dev python3-numpy
libdnnl-dev libopenblas-dev"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "setup: need root to install:$missing" >&2
    exit 1
  }
  SUDO=sudo
fi
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
