#!/usr/bin/env bash
# run_all.sh BUILD_FUZZ SECONDS: `make fuzz`. Runs every target for SECONDS (insn_blocks until
# it has also executed at least 100000 blocks) over a scratch corpus seeded from corpus/<name>,
# and prints executions per target. Stops at the first crash (see README.md to reproduce it).
set -euo pipefail
build=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
export LSAN_OPTIONS=suppressions=$here/../tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}
min_blocks=${FUZZ_MIN_BLOCKS:-100000}  # the issue's floor for make fuzz
summary=()
for name in elf_loader insn_blocks syscalls probe_targets trace_events trace_reader; do
  work=$build/fuzz/work/make-fuzz-$name
  log=$build/fuzz/make-fuzz-$name.log
  echo "fuzz: $name for ${seconds}s (log: $log)"
  extra=()  # see PROBESIM_FUZZ_UNICORN_TARGETS in CMakeLists.txt
  [[ $name == insn_blocks || $name == syscalls ]] && extra=(-detect_leaks=0)
  "$here/run_target.sh" "$build/fuzz/fuzz_$name" "$here/corpus/$name" "$work" \
    -max_total_time="$seconds" "${extra[@]}" >"$log" 2>&1 || { tail -40 "$log"; exit 1; }
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
  line="$name: $execs executions in ${seconds}s"
  if [[ $name == insn_blocks ]]; then
    blocks=$(grep -o 'insn_blocks: [0-9]* blocks' "$log" | awk '{print $2}')
    if (( blocks < min_blocks )); then
      "$build/fuzz/fuzz_$name" -artifact_prefix="$work/" -runs=$((min_blocks - blocks)) "${extra[@]}" \
        "$work/corpus" >>"$log" 2>&1 ||
        { tail -40 "$log"; exit 1; }
      blocks=$((blocks + $(grep -o 'insn_blocks: [0-9]* blocks' "$log" | tail -1 | awk '{print $2}')))
    fi
    line="$line; $blocks instruction blocks"
  fi
  summary+=("$line")
done
printf 'fuzz: %s\n' "${summary[@]}"
