"""The peers every workload runs under, as a table (RUNNERS). Adding a peer is one Runner
row: how to tell it is unavailable, and the command line that runs a guest binary.

The order of RUNNERS is the order of columns, bars and JSON entries.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.context import Context
from harness.measure import Sample, parse_instructions

# (ctx, arch) -> None if the runner can run this arch, else the reason it is skipped
Availability = Callable[[Context, str], "str | None"]
# (ctx, arch, binary, args, scratch file) -> argv
CommandLine = Callable[[Context, str, Path, list[str], Path], list[str]]
# (sample, scratch file) -> instruction count the runner itself reports, if any
ReportedInsns = Callable[[Sample, Path], "int | None"]


@dataclass(frozen=True)
class Runner:
    name: str       # JSON key and table name
    label: str      # legend label in figures
    unavailable: Availability
    command: CommandLine
    reported_insns: ReportedInsns = lambda sample, scratch: None


def _missing(ctx: Context, tool: str, hint: str) -> str | None:
    return None if ctx.tool(tool) else f"{tool} not found ({hint})"


def _probesim_unavailable(ctx: Context, arch: str) -> str | None:
    return _missing(ctx, "probesim",
                    f"expected {ctx.build / 'cli' / 'probesim'}; the CLI may not be built yet")


def _probesim_command(ctx: Context, arch: str, binary: Path, args: list[str],
                      scratch: Path) -> list[str]:
    return [str(ctx.tool("probesim")), "run", "--stats", "--output", str(scratch), "--",
            str(binary), *args]


def _probesim_probe_command(ctx: Context, arch: str, binary: Path, args: list[str],
                            scratch: Path) -> list[str]:
    """probesim with kprobes armed on kernel functions the workload never calls (the cost of
    armed-but-idle probes: docs/design.md's "fast mode with probes idle" budget)."""
    return [str(ctx.tool("probesim")), "run", "--stats", "--output", str(scratch),
            "--kprobe", "kprobe_target", "--kretprobe", "kprobe_target2", "--",
            str(binary), *args]


def _probesim_nokernel_command(ctx: Context, arch: str, binary: Path, args: list[str],
                               scratch: Path) -> list[str]:
    """probesim without the guest kernel: syscalls go straight to the model."""
    return [str(ctx.tool("probesim")), "run", "--no-kernel", "--stats", "--output", str(scratch),
            "--", str(binary), *args]


def _probesim_insns(sample: Sample, scratch: Path) -> int | None:
    stats = scratch.read_text(errors="replace") if scratch.exists() else ""
    return parse_instructions(stats, sample.stderr, sample.stdout)


def _raw_command(ctx: Context, arch: str, binary: Path, args: list[str],
                 scratch: Path) -> list[str]:
    return [str(ctx.tool("raw_unicorn")), str(binary), *args]


def _qemu_unavailable(ctx: Context, arch: str) -> str | None:
    return _missing(ctx, f"qemu-{arch}", "install the Debian package qemu-user")


def _qemu_command(ctx: Context, arch: str, binary: Path, args: list[str],
                  scratch: Path) -> list[str]:
    return [str(ctx.tool(f"qemu-{arch}")), str(binary), *args]


RUNNERS: list[Runner] = [
    Runner("probesim", "probesim (fast mode)", _probesim_unavailable, _probesim_command,
           _probesim_insns),
    Runner("probesim+idle-probes", "probesim, kprobes armed elsewhere", _probesim_unavailable,
           _probesim_probe_command, _probesim_insns),
    Runner("probesim-nokernel", "probesim --no-kernel", _probesim_unavailable,
           _probesim_nokernel_command, _probesim_insns),
    Runner("raw_unicorn", "raw Unicorn 2.0.1",
           lambda ctx, arch: _missing(ctx, "raw_unicorn", "build the raw_unicorn target"),
           _raw_command),
    Runner("qemu-user", "qemu-user", _qemu_unavailable, _qemu_command),
]


def selected(ctx: Context) -> list[Runner]:
    if ctx.runners is None:
        return list(RUNNERS)
    unknown = set(ctx.runners) - {r.name for r in RUNNERS}
    if unknown:
        raise SystemExit(f"unknown runner(s) {sorted(unknown)}; known: {[r.name for r in RUNNERS]}")
    return [r for r in RUNNERS if r.name in ctx.runners]
