"""Timing and output parsing shared by every benchmark.

Host wall time (time.perf_counter around the whole child process) is the one clock: it is
what a user waits for, and it treats every peer the same (startup included). Workloads are
sized so that startup is a small fraction of a run.
"""
from __future__ import annotations

import hashlib
import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.context import Context

CHECKSUM_RE = re.compile(r"^checksum:\s*([0-9a-fA-F]+)\s*$", re.M)
INSNS_RE = re.compile(r"^\s*instructions:\s*(\d+)\s*$", re.M)


@dataclass
class Sample:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


def run_once(ctx: Context, cmd: list[str]) -> Sample:
    """Runs cmd to completion with the context's env; a timeout is returncode -9."""
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=ctx.env(),
                           timeout=ctx.timeout_s, errors="replace")
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = -9, "", f"timed out after {ctx.timeout_s:.0f} s"
    return Sample(time.perf_counter() - start, rc, out, err)


def parse_checksum(*texts: str) -> str | None:
    for t in texts:
        m = CHECKSUM_RE.search(t or "")
        if m:
            return m.group(1).lower()
    return None


def parse_instructions(*texts: str) -> int | None:
    for t in texts:
        m = INSNS_RE.search(t or "")
        if m:
            return int(m.group(1))
    return None


@dataclass
class Timing:
    """Summary of repeated wall-time samples of one command."""
    times_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def min_s(self) -> float:
        return min(self.times_s)

    @property
    def max_s(self) -> float:
        return max(self.times_s)

    def mips(self, insns: int) -> float:
        """Million guest instructions per host second, at the median."""
        return insns / self.median_s / 1e6

    def ns_per_insn(self, insns: int) -> float:
        return self.median_s * 1e9 / insns

    def as_json(self, insns: int | None) -> dict:
        d = {"times_s": [round(t, 6) for t in self.times_s], "median_s": round(self.median_s, 6),
             "min_s": round(self.min_s, 6), "max_s": round(self.max_s, 6)}
        if insns:
            d["mips"] = round(self.mips(insns), 3)
            d["ns_per_insn"] = round(self.ns_per_insn(insns), 4)
            d["mips_range"] = [round(insns / self.max_s / 1e6, 3),
                               round(insns / self.min_s / 1e6, 3)]
        return d


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class InsnCounter:
    """Guest instruction counts from `raw_unicorn --count` (UC_HOOK_CODE on all code), the
    one count every column of a row is divided by. Deterministic for (binary, args, counter
    binary), so counts are cached in <results dir>/insn_counts.json under that key."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.path = ctx.results_dir / "insn_counts.json"
        self.cache: dict[str, dict] = {}
        if self.path.exists() and not ctx.recount:
            self.cache = json.loads(self.path.read_text())

    def count(self, binary: Path, args: list[str]) -> tuple[int | None, str | None, str]:
        """Returns (instructions, checksum, note); instructions is None on failure."""
        raw = self.ctx.tool("raw_unicorn")
        if raw is None:
            return None, None, "raw_unicorn is not built: no instruction count"
        key = (f"{binary.parent.name}/{binary.name} {_digest(binary)} {_digest(raw)} "
               f"{' '.join(args)}")
        if key in self.cache:
            c = self.cache[key]
            return c["instructions"], c.get("checksum"), "cached"
        s = run_once(self.ctx, [str(raw), "--count", str(binary), *args])
        insns = parse_instructions(s.stderr)
        if s.returncode != 0 or insns is None:
            why = s.stderr.strip()[-300:]
            return None, None, f"raw_unicorn --count failed (rc={s.returncode}): {why}"
        checksum = parse_checksum(s.stdout)
        self.cache[key] = {"instructions": insns, "checksum": checksum,
                           "seconds": round(s.seconds, 3)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.cache, indent=1, sort_keys=True) + "\n")
        return insns, checksum, f"counted in {s.seconds:.1f} s"
