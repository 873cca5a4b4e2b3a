"""Benchmark: the short commands as a user starts them, the README quick start among them.

Each command is a whole process, ``.venv/bin/citelake`` as installed, run
``--runs`` times after one warm-up run; it prints the median and the range of
the wall time, the CPU time of the process and everything it started, and the
peak memory of all its processes together:

* ``citelake --help`` (aim: 0.3 s) and ``citelake sql`` on the example lake
  (aim: 1.5 s): commands that do not run a flow, so they import no Prefect;
* the README quick start, ``citelake ingest examples/reports`` into a fresh
  lake with no Prefect server configured (aim: 5 s), with a ``PREFECT_HOME``
  that exists already (the warm-up run made it, as a user's first run does):
  the command starts a temporary server of its own;
* the same ingest against a running server (``PREFECT_API_URL``);

and, as the baselines measured in the same run, what the quick start cannot
be shorter than: ``python -c "import prefect"``, and the temporary Prefect
server alone, from its launch to its health check answering (``flows.temporary_server``).
The first run with a new ``PREFECT_HOME`` (the server creates its database)
is timed once. Run::

    .venv/bin/python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import tree_rss_mb  # noqa: E402 - after the path above
from bench.prefect_server import start_server, stop_server  # noqa: E402

EXAMPLES = REPO / "examples" / "reports"
CITELAKE = Path(sys.executable).with_name("citelake")
SERVER_ALONE = (
    "import sys, time; started = time.monotonic(); sys.path.insert(0, {repo!r}); "
    "from flows.temporary_server import TemporaryServer; server = TemporaryServer().launch(); server.wait_ready(); "
    "print(time.monotonic() - started); server.stop()"
)


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float
    peak_mb: float
    reported: float | None = None  # what the command printed as its own time (the server-alone baseline)


def run_once(command: list[str], env: dict[str, str], cwd: Path, before: Callable[[], None] | None = None) -> Run:
    """Run ``command`` to its end: wall time, CPU of it and its descendants (``wait4``), peak memory of its tree."""
    if before is not None:
        before()
    with tempfile.TemporaryFile("w+") as output:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True)
        peak, done = [0.0], threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], tree_rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)  # the CPU of the command and of every process it waited for
        wall = time.monotonic() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read()
    if process.returncode != 0:
        raise SystemExit(f"bench_startup: {shlex.join(command)} exited with {process.returncode}:\n{printed[-2000:]}")
    reported = float(printed.strip().splitlines()[-1]) if command[1:2] == ["-c"] and printed.strip() else None
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak_mb=peak[0], reported=reported)


def measure(
    label: str, command: list[str], env: dict[str, str], cwd: Path, runs: int, before: Callable[[], None] | None = None
) -> list[Run]:
    run_once(command, env, cwd, before)  # warm-up: page cache, bytecode, Prefect's home
    measured = [run_once(command, env, cwd, before) for _ in range(runs)]
    walls = [run.wall for run in measured]
    print(f"  {label:<52} {statistics.median(walls):6.2f} s  ({min(walls):.2f}–{max(walls):.2f})"
          f"   cpu {statistics.median(run.cpu for run in measured):5.2f} s"
          f"   peak {max(run.peak_mb for run in measured):5.0f} MB", flush=True)  # fmt: skip
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each command, after one warm-up (default 5)")
    arguments = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="citelake-bench-startup-"))
    own_home = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    own_home |= {"PREFECT_HOME": str(work / "prefect-home")}
    lake = work / "lake"
    ingest = [str(CITELAKE), "ingest", str(EXAMPLES), "--lake", str(lake)]

    def fresh_lake() -> None:
        shutil.rmtree(lake, ignore_errors=True)

    server = None
    try:
        print(f"{arguments.runs} runs each after a warm-up, {os.cpu_count()} cores; median (min–max) of the wall time")
        first = run_once(ingest, own_home, work, fresh_lake)
        print(f"  {'quick start, first run ever (a new PREFECT_HOME)':<52} {first.wall:6.2f} s")
        print("Baselines")
        measure("python -c 'import prefect'", [sys.executable, "-c", "import prefect"], own_home, work, arguments.runs)
        alone = measure("the temporary Prefect server alone (launch to ready)",
                        [sys.executable, "-c", SERVER_ALONE.format(repo=str(REPO))], own_home, work, arguments.runs)  # fmt: skip
        ready = statistics.median(run.reported for run in alone)
        print(f"  {'  of it, from launch to its health check answering':<52} {ready:6.2f} s")
        print("Commands")
        measure("citelake --help", [str(CITELAKE), "--help"], own_home, work, arguments.runs)
        quick = measure("quick start: citelake ingest examples/reports", ingest, own_home, work, arguments.runs, fresh_lake)
        measure('citelake sql "select count(*) from papers"',
                [str(CITELAKE), "sql", "select count(*) from papers", "--lake", str(lake)], own_home, work, arguments.runs)  # fmt: skip
        server = start_server()
        running = own_home | {"PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(server.home)}
        measure("the same ingest against a running server", ingest, running, work, arguments.runs, fresh_lake)
        median = statistics.median(run.wall for run in quick)
        print(f"Quick start: {median:.2f} s, of which {ready:.2f} s until the temporary server answers; "
              f"the ingest after it {median - ready:.2f} s (aim: all of it in 5 s)")  # fmt: skip
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(work, ignore_errors=True)
    print("Reproduce: " + shlex.join([".venv/bin/python", "bench/bench_startup.py", "--runs", str(arguments.runs)]))


if __name__ == "__main__":
    main()
