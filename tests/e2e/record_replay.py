#!/usr/bin/env python3
"""probesim run --record / replay / trace show from the command line.

Records PROGRAM, replays it plain and with kprobes and a uprobe (--uprobe-at SPEC), and checks
that stdout and exit status are identical and that replay reports no divergence; `trace show`
lists the decisions; a corrupted and a foreign trace are refused with exit 126 and a message.
"""
import argparse
import os
import subprocess
import sys
import tempfile


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probesim", required=True)
    ap.add_argument("--sim-flags", default="")
    ap.add_argument("--uprobe-at", required=True)
    ap.add_argument("argv", nargs="+")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "run.trace")
        rec = run([a.probesim, "run", *a.sim_flags.split(), "--record", trace, "--", *a.argv])
        if not os.path.exists(trace):
            fail("no trace written: " + rec.stderr.decode())
        for probes in ([], ["--kprobe", "ksys_write", "--kprobe", "vfs_read", "--uprobe", a.uprobe_at,
                            "--output", os.devnull]):
            rep = run([a.probesim, "replay", trace, *probes])
            if rep.returncode != rec.returncode or rep.stdout != rec.stdout:
                fail(f"replay {probes} differs: status {rep.returncode} vs {rec.returncode}\n"
                     f"{rep.stdout.decode()}\n---\n{rec.stdout.decode()}\n{rep.stderr.decode()}")
            if b"no divergence" not in rep.stderr:
                fail("replay did not confirm: " + rep.stderr.decode())
        show = run([a.probesim, "trace", "show", trace])
        if show.returncode != 0 or b"decisions:" not in show.stdout or b"checkpoints:" not in show.stdout:
            fail("trace show: " + show.stdout.decode() + show.stderr.decode())
        data = bytearray(open(trace, "rb").read())
        data[len(data) // 2] ^= 0x20
        bad = os.path.join(d, "bad.trace")
        open(bad, "wb").write(bytes(data))
        for path, words in ((bad, b"corrupted probesim trace"), (a.argv[0], b"not a probesim trace")):
            r = run([a.probesim, "replay", path])
            if r.returncode != 126 or words not in r.stderr:
                fail(f"replay {path}: status {r.returncode}, stderr {r.stderr.decode()}")
    print("OK: recorded status", rec.returncode, "replayed exactly, with and without probes")


if __name__ == "__main__":
    main()
