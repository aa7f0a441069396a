"""Context: everything a benchmark needs to know about this run (paths, options, env).

A benchmark never looks at sys.argv or guesses paths itself; it asks the Context.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Context:
    build: Path                 # a CMake build dir of /work/main (Release for real numbers)
    guest_dir: Path             # holds <arch>/<workload> static binaries
    results: Path               # results.json path; figures go next to it
    reps: int = 5
    timeout_s: float = 600.0
    arches: tuple[str, ...] = ("x86_64", "aarch64")
    workloads: tuple[str, ...] | None = None   # None: all registered workloads
    runners: tuple[str, ...] | None = None     # None: all registered runners
    recount: bool = False                      # ignore the instruction-count cache
    verbose: bool = False
    overrides: dict[str, Path] = field(default_factory=dict)  # tool name -> explicit path
    notes: list[str] = field(default_factory=list)            # printed at the end, saved in JSON
    _tmp: Path | None = None

    @property
    def results_dir(self) -> Path:
        return self.results.parent

    @property
    def tmp(self) -> Path:
        """A scratch directory for this run (stats files etc.), removed at exit by run.py."""
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="probesim-bench-"))
        return self._tmp

    def cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """A small fixed environment for every child (no QEMU_*, no locale surprises)."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}

    def tool(self, name: str) -> Path | None:
        """Path of a tool, or None if it is not there. Known names: probesim, raw_unicorn,
        qemu-x86_64, qemu-aarch64 (overridable with --tool NAME=PATH)."""
        if name in self.overrides:
            p = self.overrides[name]
            return p if p.exists() else None
        built = {"probesim": self.build / "cli" / "probesim",
                 "raw_unicorn": self.build / "bench" / "raw_unicorn"}
        if name in built:
            return built[name] if built[name].exists() else None
        found = shutil.which(name)
        return Path(found) if found else None

    def guest(self, arch: str, workload: str) -> Path:
        return self.guest_dir / arch / workload

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
