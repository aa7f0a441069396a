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

say "Threads on 4 logical CPUs, seeded random scheduling: pthreads (aarch64)"
"$P" run --cpus 4 --sched random --seed 7 --quantum 20000 -- "$G/aarch64-glibc/pthreads" | tail -n 3

say "A racy counter: the result depends on the seed, and repeats for the same seed"
for seed in 1 2 1; do
  printf 'seed %s: ' "$seed"
  "$P" run --cpus 2 --sched random --seed "$seed" --quantum 5000 -- "$G/x86_64-glibc/racy" | head -n 1
done

say "fork, exec, wait and pipes: busybox sh -c 'ls /etc | sort | head -n 3'"
BB=$(mktemp -d)
for a in ls sort head sh; do ln -s /bin/busybox "$BB/$a"; done
"$P" run --env-clear --env PATH="$BB" -- /bin/busybox sh -c 'ls /etc | sort | head -n 3'
rm -rf "$BB"

say "kprobes on the guest kernel: counting probes on the read/write paths (busybox wc)"
"$P" run --env-clear --kprobe ksys_write --kprobe vfs_write --kretprobe ksys_read \
  --kprobe do_sys_openat2 -- /bin/busybox wc -l /etc/passwd

say "The same on aarch64: every syscall goes svc -> el0_svc -> invoke_syscall -> ... -> the model"
"$P" run --env-clear --no-boost --kprobe ksys_write --kprobe invoke_syscall \
  -- "$G/aarch64-glibc/hello" a 2>&1 | tail -n 3 || true

say "uprobes: probe_me in three processes (fork), uretprobe on the recursive fact (aarch64)"
U=$(realpath "$G/aarch64-glibc/uprobed")
"$P" run --env-clear --uprobe "$U:probe_me" --uretprobe "$U:fact" -- "$U" fork recurse

say "A guest fault is a modelled outcome: segv dereferences 0xdead0000"
set +e
"$P" run --env-clear -- "$G/x86_64-musl/segv"
echo "exit status: $?"
