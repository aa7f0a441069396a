"""Exploring schedules on a Dask distributed cluster (Debian: python3-distributed).

Run i of a strategy is a pure function of (seed, i), so runs can go anywhere: the search is cut
into batches of consecutive runs, each batch runs serially on a worker and stops at its own
first failure, and `first_failure` keeps the lowest failing run index, exactly as a serial
search would. A later failure found early does not win: batches that start after the best
failure known are cancelled or never submitted, and the search ends only when every batch
before it is done.

Two users:
- `probesim.explore(argv, ..., client=dask_client)`: batches run `probesim` in the worker's
  Python (the explore configuration, `until` included, travels by cloudpickle);
- `probesim explore --dask ADDRESS` (the C++ CLI) runs `python3 -m probesim.explore_dask`
  (`main` below; the interpreter is $PROBESIM_PYTHON, default python3): batches run the CLI
  itself (`probesim explore --from S --runs N --no-shrink ...`) on the workers.

What workers need: this probesim package importable (the same version as the client's), for
the CLI path the probesim CLI at the path the client uses, and the guest program and root (and
every file the guest reads) at the same paths. Failing traces travel back as bytes, so no
shared filesystem is needed for them. A LocalCluster in the same venv has all of that.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

#: What a batch returns: (runs it ran, its first failing run or None, that run's trace bytes).
BatchResult = tuple[int, "int | None", bytes]
Batch = Callable[[int, int], BatchResult]


@dataclass
class Found:
    """The outcome of a distributed search."""
    run: int | None   #: the lowest failing run index, None when no run failed
    done: int         #: runs executed by the batches that finished (including later ones)
    trace: bytes      #: the failing run's trace file contents (b"" when none)


def batch_size(runs: int, workers: int) -> int:
    """Runs per batch: about 16 batches per worker thread (early stop and balance), at most 16
    runs (a racy run takes ~50 ms, a Dask task a few ms)."""
    return max(1, min(16, runs // (16 * max(workers, 1))))


def first_failure(client, batch: Batch, span: range, size: int | None = None) -> Found:
    """Runs batch(start, stop) over `span` in consecutive batches on the client's workers
    (at most two per worker thread in flight) and returns the lowest failing run. A batch
    that raises makes this raise (the other batches are cancelled)."""
    from distributed import wait

    workers = max(1, sum(client.nthreads().values()))
    size = size or batch_size(len(span), workers)
    starts = iter(range(span.start, span.stop, size))
    pending: dict = {}  # future -> its batch's first run
    best: int | None = None
    done, trace = 0, b""

    def top_up() -> None:
        while len(pending) < 2 * workers:
            start = next(starts, None)
            if start is None or (best is not None and start >= best):
                return
            pending[client.submit(batch, start, min(start + size, span.stop), pure=False)] = start

    top_up()
    try:
        while pending:
            finished, _ = wait(list(pending), return_when="FIRST_COMPLETED")
            for f in finished:
                del pending[f]
                ran, failed, data = f.result()
                done += ran
                if failed is not None and (best is None or failed < best):
                    best, trace = failed, data
            for f, start in list(pending.items()):  # batches after the best failure: not needed
                if best is not None and start > best:
                    f.cancel()
                    del pending[f]
            top_up()
    finally:
        for f in pending:
            f.cancel()
    return Found(best, done, trace)


_RUN_LINE = re.compile(r"^run (\d+) of ", re.M)


def cli_batch(cli: str, cwd: str, args: list[str], start: int, stop: int) -> BatchResult:
    """Runs `cli explore --from start --runs stop-start --no-shrink --save TMP ARGS` in `cwd`
    (the client's: the guest's cwd and relative paths follow it) on this worker: exit 0 is no failure, exit 1 with 'run N of ...' is run N failing (serially, so the
    batch's first), anything else raises with the CLI's stderr."""
    with tempfile.TemporaryDirectory(prefix="probesim-dask-") as tmp:
        save = os.path.join(tmp, "failure.trace")
        cmd = [cli, "explore", "--from", str(start), "--runs", str(stop - start), "--no-shrink",
               "--save", save, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", cwd=cwd)
        found = _RUN_LINE.search(p.stdout)
        if p.returncode == 0 and not found:
            return stop - start, None, b""
        if p.returncode == 1 and found and os.path.isfile(save):
            run = int(found.group(1))
            with open(save, "rb") as f:
                return run + 1 - start, run, f.read()
        raise RuntimeError(f"probesim explore runs {start}..{stop - 1} on a Dask worker failed "
                           f"(exit {p.returncode}): {p.stderr.strip()[-2000:]}")


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 -m probesim.explore_dask",
        description="The Dask driver of `probesim explore --dask ADDRESS` (the CLI runs it): "
                    "runs --from..--from+--runs-1 of the CLI's exploration on a Dask cluster, "
                    "writes the first failing run's trace to --save and prints "
                    "'first-failure RUN DONE' or 'no-failure DONE'.")
    p.add_argument("--scheduler", required=True, help="the Dask scheduler's address")
    p.add_argument("--cli", required=True, help="the probesim CLI (the same path on the workers)")
    p.add_argument("--cwd", required=True, help="where each batch runs (the same path on the workers)")
    p.add_argument("--from", dest="first", type=int, required=True)
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--save", required=True, help="where the failing run's trace goes")
    p.add_argument("args", nargs=argparse.REMAINDER,
                   help="-- then the explore flags and program of each batch")
    a = p.parse_args(argv)
    if a.args[:1] == ["--"]:
        a.args = a.args[1:]
    if a.runs < 1 or a.first < 0 or not a.args:
        p.error("--runs >= 1, --from >= 0 and the batch's explore arguments are needed")
    return a


def main(argv: list[str]) -> int:
    a = _parse(argv)
    try:
        from distributed import Client
    except ImportError as e:
        print(f"probesim: explore --dask needs dask.distributed in {sys.executable} "
              f"(Debian: python3-distributed): {e}", file=sys.stderr)
        return 3
    try:
        client = Client(a.scheduler, timeout=30)
    except (OSError, TimeoutError) as e:
        print(f"probesim: explore --dask: cannot reach the Dask scheduler {a.scheduler}: {e}",
              file=sys.stderr)
        return 4
    from probesim import explore_dask  # by reference: workers import it (not this __main__)
    with client:
        batch = functools.partial(explore_dask.cli_batch, a.cli, a.cwd, a.args)
        try:
            found = first_failure(client, batch, range(a.first, a.first + a.runs))
        except Exception as e:  # noqa: BLE001  (a worker's error comes back as it was raised)
            print(f"probesim: explore --dask: {e}", file=sys.stderr)
            return 5
    if found.run is None:
        print(f"no-failure {found.done}")
        return 0
    with open(a.save, "wb") as f:
        f.write(found.trace)
    print(f"first-failure {found.run} {found.done}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
