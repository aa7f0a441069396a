"""Benchmark "mm_scaling" (issue 14's "before" numbers): costs of the address space as curves
vs N, under `probesim run` and a peer (x86_64: the binary run natively; aarch64: qemu-user).

  mmaps      `mmscale mmaps N`: N one-page anonymous mmaps that stay separate VMAs, each read,
             then all unmapped. Wall seconds. Up to session 12 each VMA was a Unicorn region
             and Unicorn aborted the host (phys_section_add: sections_nb <
             TARGET_PAGE_SIZE) at 4,096 regions on x86_64 and 1,024 on aarch64 (1 KiB
             target pages); now data VMAs live in the host window (emu/uc_regions.h), so N
             goes past those ceilings.
  threads    `mmscale threads N`: N threads with 128 KiB stacks (arm64's PTHREAD_STACK_MIN),
             all blocked on a pipe at once. Wall seconds and host peak RSS (each thread stack
             + guard is 2 VMAs).
  forks      `forkmany K 4` (guest/bench/forkmany.c): K live children, each with 4 private pages.
             Host peak RSS; the slope over K is the host memory per guest process (the peer's
             RSS is its parent's only, so it has no per-process column).
  privwrite  `mmscale privwrite F`: one byte written into a MAP_PRIVATE mapping of a sparse
             file of S MiB (made in the scratch dir). Host peak RSS vs the peer's.
  forktouch  `mmscale forktouch M`: M MiB of anonymous memory written, then one fork whose child
             writes 1 byte and exits. Wall seconds and host peak RSS (the peer's RSS is its
             parent's: the M MiB it touched; Linux copies one page for the child).

Each point runs once (the effects are seconds and hundreds of MiB, far above run-to-run noise):
`--reps` does not multiply this benchmark's minutes. Peak RSS is /usr/bin/time's %M when
installed (rss_per_process.peak_rss_kib).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.context import Context
from harness.lines import line_plot, slope
from harness.measure import parse_checksum
from harness.registry import BenchResult, benchmark
from harness.rss_per_process import peak_rss_kib
from harness.table import fmt_ratio, format_table

# Points per arch: the last ones lie past the old region ceilings (see above).
MMAPS = {"x86_64": (250, 500, 1000, 2000, 5000), "aarch64": (125, 250, 500, 1000, 2000)}
THREADS = {"x86_64": (100, 250, 500, 1000, 2500), "aarch64": (50, 100, 250, 450, 1000)}
FORKS = (10, 50, 100, 200)
FORK_PAGES = 4
PRIVWRITE_MIB = (16, 64, 256)
FORKTOUCH_MIB = (16, 64, 256)

# kind -> (guest workload, argv for point n given the scratch dir, unit of n)
KINDS = {
    "mmaps": ("mmscale", lambda n, tmp: ["mmaps", str(n)], "mmaps"),
    "threads": ("mmscale", lambda n, tmp: ["threads", str(n)], "threads"),
    "forks": ("forkmany", lambda n, tmp: [str(n), str(FORK_PAGES)], "children"),
    "privwrite": ("mmscale", lambda n, tmp: ["privwrite", str(sparse_file(tmp, n))], "file MiB"),
    "forktouch": ("mmscale", lambda n, tmp: ["forktouch", str(n)], "touched MiB"),
}
POINTS = {"mmaps": MMAPS, "threads": THREADS, "forks": {"x86_64": FORKS, "aarch64": FORKS},
          "privwrite": {"x86_64": PRIVWRITE_MIB, "aarch64": PRIVWRITE_MIB},
          "forktouch": {"x86_64": FORKTOUCH_MIB, "aarch64": FORKTOUCH_MIB}}


def sparse_file(tmp: Path, mib: int) -> Path:
    """A sparse file of `mib` MiB (no blocks written), created once per run."""
    path = tmp / f"sparse-{mib}M"
    if not path.exists():
        with open(path, "wb") as f:
            f.truncate(mib << 20)
    return path


def peer_command(ctx: Context, arch: str) -> list[str] | None:
    """The peer's prefix: [] runs the binary natively (x86_64 host), or qemu-user."""
    if arch == os.uname().machine:
        return []
    qemu = ctx.tool(f"qemu-{arch}")
    return [str(qemu)] if qemu else None


def _point(ctx: Context, prefix: list[str], binary: Path, args: list[str],
           tag: str) -> tuple[dict | None, str | None]:
    rc, kib, secs, out = peak_rss_kib(ctx, [*prefix, str(binary), *args], ctx.tmp / f"{tag}.out")
    if rc != 0 or parse_checksum(out) is None:
        return None, f"{tag}: rc={rc}, output {out.strip()[-200:]!r}"
    return {"seconds": round(secs, 3), "rss_kib": kib, "checksum": parse_checksum(out)}, None


def _measure(ctx: Context, probesim: str, arch: str, kind: str) -> tuple[list[dict], list[str]]:
    workload, argv, _ = KINDS[kind]
    binary = ctx.guest(arch, workload)
    if not binary.exists():
        return [], [f"{binary} is not built (target bench_guests)"]
    peer = peer_command(ctx, arch)
    rows, errors = [], []
    for n in POINTS[kind][arch]:
        args = argv(n, ctx.tmp)
        ps, err = _point(ctx, [probesim, "run", "--"], binary, args, f"{kind}-{arch}-{n}")
        if err:
            errors.append(err)
            break  # a larger N would fail (or take longer) the same way
        pe = None
        if peer is not None:
            pe, err = _point(ctx, peer, binary, args, f"{kind}-{arch}-{n}-peer")
            if pe and pe["checksum"] != ps["checksum"]:
                err = f"{kind} {arch} N={n}: checksum {ps['checksum']} != peer's {pe['checksum']}"
            errors += [err] if err else []
        rows.append({"kind": kind, "arch": arch, "n": n, "probesim": ps, "peer": pe})
        print(f"  mm_scaling {kind} {arch} N={n}: {ps['seconds']:.2f} s, {ps['rss_kib']} KiB",
              file=sys.stderr, flush=True)
    return rows, errors


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def table(rows: list[dict]) -> str:
    """One line per point: probesim's seconds and peak RSS, the peer's, and probesim/peer."""
    def cells(r: dict) -> list[str]:
        ps, pe = r["probesim"], r["peer"] or {}
        return [r["kind"], r["arch"], str(r["n"]), f"{ps['seconds']:.2f}",
                f"{pe['seconds']:.3f}" if pe else "-",
                fmt_ratio(_ratio(ps["seconds"], pe.get("seconds"))),
                str(ps["rss_kib"]), str(pe.get("rss_kib", "-")),
                fmt_ratio(_ratio(ps["rss_kib"], pe.get("rss_kib")))]
    return format_table(["kind", "arch", "N", "probesim s", "peer s", "time ratio",
                         "probesim KiB", "peer KiB", "RSS ratio"],
                        [cells(r) for r in rows], right={2, 3, 4, 5, 6, 7, 8})


def summaries(rows: list[dict], arches: tuple[str, ...]) -> dict:
    """Slopes: host KiB per live guest process (forks) and per thread (threads), host RSS per
    MiB of sparse file written once (privwrite) and per MiB touched before a fork (forktouch),
    by arch."""
    out = {}
    for kind, key in (("forks", "kib_per_process"), ("threads", "kib_per_thread"),
                      ("privwrite", "rss_kib_per_file_mib"),
                      ("forktouch", "rss_kib_per_touched_mib")):
        out[key] = {}
        for a in arches:
            pts = [r for r in rows if r["kind"] == kind and r["arch"] == a
                   and r["probesim"]["rss_kib"] is not None]
            out[key][a] = slope([r["n"] for r in pts], [r["probesim"]["rss_kib"] for r in pts])
    return out


def _figure(ctx: Context, rows: list[dict]) -> Path | None:
    series = {}
    for r in rows:
        if r["kind"] in ("mmaps", "threads"):
            xs, ys = series.setdefault(f"{r['kind']} {r['arch']}", ([], []))
            xs.append(r["n"])
            ys.append(r["probesim"]["seconds"])
    return line_plot(ctx.results_dir / "mm_scaling.png",
                     "probesim: wall seconds vs N mmaps / N blocked threads (one region each)",
                     series, "N", "seconds")


@benchmark("mm_scaling", "address-space costs vs N: mmaps, blocked threads, forked processes "
           "(host RSS), a 1-byte private write into a sparse file, fork after touching M MiB "
           "(issue 14 baseline)")
def mm_scaling(ctx: Context) -> BenchResult:
    probesim = ctx.tool("probesim")
    if probesim is None:
        ctx.note("mm_scaling skipped: probesim CLI not built")
        return BenchResult({"status": "skipped"})
    rows, errors = [], []
    for arch in ctx.arches:
        if peer_command(ctx, arch) is None:
            ctx.note(f"mm_scaling: no peer for {arch} (install qemu-user)")
        for kind in KINDS:
            r, e = _measure(ctx, str(probesim), arch, kind)
            rows += r
            errors += e
    sums = summaries(rows, ctx.arches)
    lines = [f"{k}: " + ", ".join(f"{a} {v:.0f}" if v is not None else f"{a} -"
                                  for a, v in per.items()) for k, per in sums.items()]
    fig = _figure(ctx, rows)
    return BenchResult({"status": "ok" if not errors else "failed", "rows": rows, **sums,
                        "errors": errors},
                       [table(rows), "slopes (host KiB): " + "; ".join(lines)] +
                       [f"FAILED: {e}" for e in errors], [fig] if fig else [], ok=not errors)
