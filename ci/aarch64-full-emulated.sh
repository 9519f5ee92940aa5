#!/bin/sh
# The whole package on AArch64 Linux under qemu-user: an arm64 Debian root (built once, cached), the aarch64
# wheels of llvmlite and wasmtime inside it, the conformance suite on cranelift and llvm at thresholds 1, 7 and
# the default, then the whole test suite. Needs root (mmdebstrap, chroot, binfmt_misc); see ci/README.md.
# Usage: ci/aarch64-full-emulated.sh [--rebuild] [--conformance-only | --suite-only]
# Environment: TAURARO_ARM64_ROOT (the cached root; default ~/.cache/tauraro-arm64-root),
#   TAURARO_ARM64_SUITE (Debian suite; default bookworm, whose Python is 3.11 like the oracle),
#   TAURARO_ARM64_JOBS (pytest-xdist workers; default 2), TAURARO_ARM64_LOGS (default ROOT/../tauraro-arm64-logs),
#   TAURARO_TEST_TIME_SCALE (time limits of the fuzz runner inside the root; default 10).
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)

ROOT=${TAURARO_ARM64_ROOT:-$HOME/.cache/tauraro-arm64-root}
SUITE=${TAURARO_ARM64_SUITE:-bookworm}
JOBS=${TAURARO_ARM64_JOBS:-2}
LOGS=${TAURARO_ARM64_LOGS:-$(dirname "$ROOT")/tauraro-arm64-logs}
VENV=/opt/tauraro-venv
SRC=/src/tauraro
rebuild=0
conformance=1
suite=1
for arg in "$@"; do
    case $arg in
        --rebuild) rebuild=1 ;;
        --conformance-only) suite=0 ;;
        --suite-only) conformance=0 ;;
        *) echo "usage: $0 [--rebuild] [--conformance-only | --suite-only]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "aarch64-full-emulated: needs root (mmdebstrap, chroot, binfmt_misc)" >&2; exit 2; }
log() { echo "aarch64-full-emulated: $*"; }
now() { date +%s; }
START=$(now)

# Host tools and the binfmt_misc handler that lets the kernel run arm64 binaries through qemu.
need=""
command -v mmdebstrap >/dev/null 2>&1 || need="$need mmdebstrap"
command -v qemu-aarch64-static >/dev/null 2>&1 || need="$need qemu-user-static"
command -v update-binfmts >/dev/null 2>&1 || need="$need binfmt-support"
command -v arch-test >/dev/null 2>&1 || need="$need arch-test"  # mmdebstrap's foreign-architecture check
if [ -n "$need" ]; then
    log "installing$need"
    apt-get update
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
# The F flag makes the kernel open qemu at registration, so it works inside the chroot without a copy there.
grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
    echo "aarch64-full-emulated: the qemu-aarch64 binfmt handler lacks the F flag (reinstall qemu-user-static)" >&2
    exit 2
}

# Run a command inside the root in a private mount namespace: its /proc, /dev and /sys mounts vanish with it.
# The host's proxy settings and CA bundle go in, so pip inside reaches the index the way the host does.
in_root() {
    unshare --mount --fork sh -c '
        set -e
        root=$1; shift
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount --rbind /sys "$root/sys"
        cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
        exec chroot "$root" env -i HOME=/root LANG=C.UTF-8 PATH='"$VENV"'/bin:/usr/bin:/bin \
            PIP_CERT=/etc/tauraro-host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
            ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} \
            ${HTTP_PROXY:+HTTP_PROXY=$HTTP_PROXY} ${HTTPS_PROXY:+HTTPS_PROXY=$HTTPS_PROXY} \
            ${no_proxy:+no_proxy=$no_proxy} ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL} "$@"
    ' in_root "$ROOT" "$@"
}

if [ "$rebuild" = 1 ] || [ ! -e "$ROOT/.tauraro-debian-complete" ]; then
    t=$(now)
    log "building the arm64 $SUITE root in $ROOT"
    rm -rf "$ROOT"
    mkdir -p "$(dirname "$ROOT")"
    mmdebstrap --architectures=arm64 --variant=apt --include=python3,python3-venv,ca-certificates \
        "$SUITE" "$ROOT"
    touch "$ROOT/.tauraro-debian-complete"
    log "Debian root built in $(( $(now) - t )) s"
fi
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[ -r "$ca" ] || ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")')
cp -L "$ca" "$ROOT/etc/tauraro-host-ca.crt"
if [ ! -e "$ROOT/.tauraro-root-complete" ]; then
    t=$(now)
    [ -x "$ROOT$VENV/bin/python" ] || in_root python3 -m venv "$VENV"
    in_root "$VENV/bin/pip" install --quiet 'wasmtime>=30,<60' 'llvmlite>=0.44,<0.60' pytest pytest-xdist hypothesis
    touch "$ROOT/.tauraro-root-complete"
    log "wheels installed in $(( $(now) - t )) s"
fi

# The project as it is in this work tree (tracked and untracked files, not ignored ones).
rm -rf "$ROOT$SRC"
mkdir -p "$ROOT$SRC"
git -C "$REPO" ls-files -z --cached --others --exclude-standard | tar -C "$REPO" --null -T - -cf - | tar -xf - -C "$ROOT$SRC"
t=$(now)
in_root "$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$SRC"
log "project installed in $(( $(now) - t )) s"
in_root sh -c "cd $SRC && python -c 'import platform, tauraro; print(platform.machine(), platform.python_version())'"

mkdir -p "$LOGS"
rm -f "$LOGS"/*.log
status=0
SUMMARY="$LOGS/summary.txt"
: > "$SUMMARY"
# The count line pytest ends with ("N passed, M failed in S s"), prefixed by what ran.
record() {
    line=$(grep -E '(passed|failed|error|skipped|no tests ran)' "$2" | tail -n 1)
    echo "$1: $line ($3 s)" | tee -a "$SUMMARY"
}
run_pytest() {
    name=$1; shift
    t=$(now)
    in_root sh -c "cd $SRC && TAURARO_TEST_TIME_SCALE=\${TAURARO_TEST_TIME_SCALE:-10} python -m pytest -p no:cacheprovider -n $JOBS --junitxml=/tmp/$name.xml $*" \
        > "$LOGS/$name.log" 2>&1 || status=1
    cp "$ROOT/tmp/$name.xml" "$LOGS/" 2>/dev/null || true
    record "$name" "$LOGS/$name.log" "$(( $(now) - t ))"
}

if [ "$conformance" = 1 ]; then
    for backend in cranelift llvm; do
        for threshold in t1 t7 default; do
            run_pytest "conformance-$backend-$threshold" tests/test_conformance.py -k "$backend-$threshold-"
        done
    done
fi
if [ "$suite" = 1 ]; then
    run_pytest suite
    # The suite runs the conformance corpus on every backend and threshold too: its counts per cell.
    python3 - "$LOGS/suite.xml" <<'PY' | tee -a "$SUMMARY"
import collections, re, sys, xml.etree.ElementTree as ET
counts = collections.defaultdict(collections.Counter)
for case in ET.parse(sys.argv[1]).iter("testcase"):
    m = re.match(r"test_program\[(\w+)-(t\d+|default)-", case.get("name", ""))
    if m and case.get("classname", "").endswith("test_conformance"):
        outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        counts[f"{m.group(1)} {m.group(2)}"][outcome] += 1
for cell, c in sorted(counts.items()):
    print(f"suite conformance {cell}: " + ", ".join(f"{n} {k}" for k, n in sorted(c.items())))
PY
fi
log "logs in $LOGS; total wall time $(( $(now) - START )) s"
cat "$SUMMARY"
exit $status
