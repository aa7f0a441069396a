#!/usr/bin/env bash
# `make demo`: real static programs running inside probesim, on both architectures.
set -euo pipefail
BUILD=${1:-build}
P="$BUILD/cli/probesim"
G="$BUILD/guest"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "x86_64 glibc static: hello, with the syscall trace"
"$P" run --strace --env-clear --env GREETING=hi -- "$G/x86_64-glibc/hello" one two || true

say "aarch64 glibc static: sha256 over a generated buffer, with statistics"
"$P" run --stats --env-clear -- "$G/aarch64-glibc/sha256" 262144

say "Debian's busybox-static (x86_64): ls -la /etc/apt"
"$P" run --env-clear -- /bin/busybox ls -la /etc/apt | head -n 8

say "A guest fault is a modelled outcome: segv dereferences 0xdead0000"
set +e
"$P" run --env-clear -- "$G/x86_64-musl/segv"
echo "exit status: $?"
