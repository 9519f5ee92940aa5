#!/bin/sh
# Emulated AArch64 check of the LLVM backend: cross-compile loops, run them under qemu, compare with x86-64.
# Installs qemu-user-static, gcc-aarch64-linux-gnu and libc6-dev-arm64-cross when missing (Debian/Ubuntu).
# Usage: ci/aarch64-emulated.sh [--quick] [--keep DIR] [--ir-opt N]
set -eu
cd "$(dirname "$0")/.."

need=""
command -v qemu-aarch64-static >/dev/null 2>&1 || need="$need qemu-user-static"
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need="$need gcc-aarch64-linux-gnu"
[ -e /usr/aarch64-linux-gnu/lib/libm.a ] || need="$need libc6-dev-arm64-cross"
if [ -n "$need" ]; then
    echo "aarch64-emulated: installing$need"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi

PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
exec "$PYTHON" ci/aarch64_check.py "$@"
