#!/usr/bin/env bash
# run_target.sh FUZZER SEED_CORPUS WORK_DIR [libFuzzer options...]
# Runs FUZZER over a fresh scratch corpus WORK_DIR/corpus (new inputs land there, never in the
# checked-in SEED_CORPUS) with crash files in WORK_DIR/; prints the crash file's path on failure.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
# Leaks inside libunicorn are not ours to fix (tests/lsan.supp says which and why).
export LSAN_OPTIONS=suppressions=$here/../tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}
rm -rf "$work"
mkdir -p "$work/corpus"
status=0
"$fuzzer" -artifact_prefix="$work/" -rss_limit_mb=4096 -timeout=60 -print_final_stats=1 "$@" \
  "$work/corpus" "$seeds" || status=$?
if [[ $status -ne 0 ]]; then
  echo "fuzz: $(basename "$fuzzer") failed (status $status); reproduce with: $fuzzer $work/crash-*" >&2
  ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null >&2 || true
fi
exit $status
