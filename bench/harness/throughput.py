"""Benchmark "throughput": guest instructions per host second of every runner on the same
static binaries (guest/bench/*.c), and the speed ratios the performance budget is stated in
(docs/design.md: probesim fast mode with probes idle >= 0.5x raw Unicorn).

MIPS = instructions / median wall time, where instructions comes from one
`raw_unicorn --count` run of the same binary and arguments, so every column of a row is
divided by the same number. A ratio a/b is b's median time over a's (a's speed relative to
b's; > 1 means a is faster).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from harness.context import Context
from harness.measure import InsnCounter, Timing, parse_checksum, run_once
from harness.plots import grouped_bars
from harness.registry import BenchResult, benchmark
from harness.runners import Runner, selected
from harness.table import fmt_count, fmt_ratio, format_table


@dataclass(frozen=True)
class Workload:
    name: str
    args: tuple[str, ...]
    description: str


# Sized for ~0.2-1 s per run under raw Unicorn on a 2-core VM (docs/benchmarks.md).
WORKLOADS: list[Workload] = [
    Workload("compute", ("1048576", "8"), "SHA-256, 8 chained rounds over 1 MiB"),
    Workload("memops", ("262144", "200"), "memset/memcpy/memmove over 256 KiB, 200 iterations"),
    # 250k, not 1M: through the guest kernel each write(2) costs ~9 us (docs/benchmarks.md).
    Workload("smallio", ("250000",), "250,000 write(2) of 16 bytes to /dev/null"),
]

# (numerator, denominator) runner pairs whose speed ratio is reported.
RATIOS: list[tuple[str, str]] = [("probesim", "raw_unicorn"), ("probesim", "qemu-user"),
                                 ("probesim+idle-probes", "raw_unicorn"),
                                 ("probesim+idle-probes", "probesim"),
                                 ("probesim-nokernel", "raw_unicorn"),
                                 ("raw_unicorn", "qemu-user")]
# docs/design.md "Performance budgets": fast mode with probes idle >= half of raw Unicorn's speed.
BUDGET = ("probesim+idle-probes", "raw_unicorn", 0.5)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _workloads(ctx: Context) -> list[Workload]:
    if ctx.workloads is None:
        return WORKLOADS
    known = {w.name for w in WORKLOADS}
    unknown = set(ctx.workloads) - known
    if unknown:
        raise SystemExit(f"unknown workload(s) {sorted(unknown)}; known: {sorted(known)}")
    return [w for w in WORKLOADS if w.name in ctx.workloads]


def _start_runners(ctx: Context, runners: list[Runner], arch: str) -> dict[str, dict]:
    cols = {}
    for r in runners:
        reason = r.unavailable(ctx, arch)
        cols[r.name] = {"status": "skipped", "note": reason} if reason else {"status": "ok"}
        if reason:
            ctx.note(f"{r.name} skipped: {reason}")
    return cols


def _check_sample(col: dict, sample, ref: str | None) -> str | None:
    """Returns why a sample is bad, or None."""
    if sample.returncode != 0:
        return f"exit status {sample.returncode}: {sample.stderr.strip()[-300:]}"
    got = parse_checksum(sample.stdout)
    if got is None:
        return "no 'checksum:' line in its output"
    if ref is not None and got != ref:
        return f"checksum {got} differs from the reference {ref}"
    col["checksum"] = got
    return None


def _time_runners(ctx: Context, runners: list[Runner], cols: dict, arch: str, binary: Path,
                  args: list[str], ref: str | None) -> dict[str, Timing]:
    """Repetitions are interleaved across runners so that host drift hits all alike."""
    timings = {r.name: Timing() for r in runners}
    for rep in range(ctx.reps):
        for r in runners:
            col = cols[r.name]
            if col["status"] != "ok":
                continue
            scratch = ctx.tmp / f"{r.name}-{arch}-{binary.name}.stats"
            sample = run_once(ctx, r.command(ctx, arch, binary, args, scratch))
            bad = _check_sample(col, sample, ref)
            if bad:
                col.update(status="failed", note=bad)
                ctx.note(f"{r.name} FAILED on {binary.parent.name}/{binary.name}: {bad}")
                _log(f"    {r.name}: FAILED: {bad}")
                continue
            ref = ref or col["checksum"]  # without a count run, the first runner is the reference
            timings[r.name].times_s.append(sample.seconds)
            reported = r.reported_insns(sample, scratch)
            if reported is not None:
                col["reported_instructions"] = reported
            _log(f"    rep {rep + 1}/{ctx.reps} {r.name}: {sample.seconds:.3f} s")
    return timings


def _ratios(cols: dict) -> dict[str, float]:
    out = {}
    for a, b in RATIOS:
        ca, cb = cols.get(a, {}), cols.get(b, {})
        if ca.get("status") == "ok" and cb.get("status") == "ok":
            out[f"{a}/{b}"] = round(cb["median_s"] / ca["median_s"], 4)
    return out


def _measure_row(ctx: Context, counter: InsnCounter, runners: list[Runner], wl: Workload,
                 arch: str) -> dict:
    row = {"workload": wl.name, "arch": arch, "args": list(wl.args), "runners": {}}
    binary = ctx.guest(arch, wl.name)
    if not binary.exists():
        row["note"] = f"{binary} missing: build the bench_guests target (guests ON)"
        ctx.note(row["note"])
        return row
    _log(f"{wl.name}/{arch}: calibrating instruction count ...")
    insns, ref, note = counter.count(binary, list(wl.args))
    row.update(instructions=insns, reference_checksum=ref, count_note=note)
    if insns is None:
        ctx.note(f"{wl.name}/{arch}: {note}")
    cols = _start_runners(ctx, runners, arch)
    timings = _time_runners(ctx, runners, cols, arch, binary, list(wl.args), ref)
    for name, t in timings.items():
        if cols[name]["status"] == "ok" and t.times_s:
            cols[name].update(t.as_json(insns))
    row["runners"] = cols
    row["ratios"] = _ratios(cols)
    return row


def _runner_table(rows: list[dict], runners: list[Runner]) -> str:
    body = []
    for row in rows:
        head = [row["workload"], row["arch"], fmt_count(row.get("instructions"))]
        if not row["runners"]:
            body.append(head + ["-", row.get("note", "")])
        for r in runners:
            c = row["runners"].get(r.name, {})
            if c.get("status") != "ok":
                body.append(head + [r.name, c.get("status", "-").upper() + " (see notes)"])
            else:
                body.append(head + [r.name, f"{c['median_s']:.3f}", f"{c['min_s']:.3f}",
                                    f"{c['max_s']:.3f}", f"{c.get('mips', 0):.0f}",
                                    f"{c.get('ns_per_insn', 0):.2f}", "ok"])
            head = ["", "", ""]
    return format_table(["workload", "arch", "insns", "runner", "median_s", "min_s", "max_s",
                         "MIPS", "ns/insn", "checksum"], body, right={2, 4, 5, 6, 7, 8})


def _ratio_table(rows: list[dict]) -> str:
    num, den, floor = BUDGET
    body = []
    for row in rows:
        r = row.get("ratios", {})
        b = r.get(f"{num}/{den}")
        verdict = "-" if b is None else ("ok" if b >= floor else "BELOW BUDGET")
        cells = [fmt_ratio(r.get(f"{a}/{c}")) for a, c in RATIOS]
        body.append([row["workload"], row["arch"], *cells, verdict])
    headers = ["workload", "arch", *[f"{a}/{c}" for a, c in RATIOS], f"{num}>={floor}x {den}"]
    return format_table(headers, body, right={2, 3, 4})


def _mips_series(rows: list[dict], runners: list[Runner]) -> tuple[dict, dict]:
    series, errors = {}, {}
    for rn in runners:
        cols = [r["runners"].get(rn.name, {}) for r in rows]
        vals = [c.get("mips") if c.get("status") == "ok" else None for c in cols]
        if any(v is not None for v in vals):
            series[rn.label] = vals
            ranges = [c.get("mips_range", [v, v]) for c, v in zip(cols, vals)]
            errors[rn.label] = ([lo for lo, _ in ranges], [hi for _, hi in ranges])
    return series, errors


def _figures(ctx: Context, rows: list[dict], runners: list[Runner]) -> list[Path]:
    rows = [r for r in rows if r.get("instructions")]
    groups = [f"{r['workload']}\n{r['arch']}" for r in rows]
    series, errors = _mips_series(rows, runners)
    out = [grouped_bars(ctx.results_dir / "throughput.png",
                        "Guest throughput (median of runs; whiskers: slowest..fastest run)",
                        groups, series, "guest MIPS (log scale)", errors, log=True)]
    ratios = {f"{a}/{b}": [r.get("ratios", {}).get(f"{a}/{b}") for r in rows] for a, b in RATIOS}
    ratios = {k: v for k, v in ratios.items() if any(x is not None for x in v)}
    budget = f"{BUDGET[0]}/{BUDGET[1]}"
    hline = (BUDGET[2], f"budget: {budget} >= {BUDGET[2]}") if budget in ratios else None
    out.append(grouped_bars(ctx.results_dir / "ratios.png", "Speed ratios a/b (> 1: a is faster)",
                            groups, ratios, "speed ratio (log scale)", log=True, hline=hline))
    return [p for p in out if p is not None]


@benchmark("throughput", "guest MIPS: probesim fast mode vs raw Unicorn vs qemu-user")
def run(ctx: Context) -> BenchResult:
    runners = selected(ctx)
    counter = InsnCounter(ctx)
    rows = [_measure_row(ctx, counter, runners, wl, arch)
            for wl in _workloads(ctx) for arch in ctx.arches]
    ok = all(c.get("status") != "failed" for r in rows for c in r["runners"].values())
    ok = ok and all(r.get("instructions") for r in rows)
    data = {"workloads": {w.name: {"args": list(w.args), "description": w.description}
                          for w in _workloads(ctx)},
            "budget": {"ratio": f"{BUDGET[0]}/{BUDGET[1]}", "at_least": BUDGET[2]},
            "rows": rows}
    return BenchResult(data, [_runner_table(rows, runners), _ratio_table(rows)],
                       _figures(ctx, rows, runners), ok)
