"""What the benchmarks share: a generated corpus on disk, reused between runs, and peak memory."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

from tasks.corpus.generate import write_corpus

MB = 1_000_000


def add_corpus_arguments(parser: argparse.ArgumentParser, default_folder: str) -> None:
    """``--count``, ``--seed`` and ``--corpus`` (default ``default_folder`` with COUNT and SEED filled in)."""
    parser.add_argument("--count", type=int, default=100_000, help="files to generate (default 100000)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed (default 2024)")
    parser.add_argument(
        "--canonical",
        action="store_true",
        help="only canonical pages (UTF-8, whole, the fast path's layout; no non-report), as the issue's "
        "throughput aim counts them; without it, every variation of the format",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        help=f"corpus folder: reused if it holds files, else generated there (default {default_folder})",
    )


def default_corpus(pattern: str, count: int, seed: int, *, canonical: bool = False) -> Path:
    """The corpus folder ``pattern`` names (as given to :func:`add_corpus_arguments`), ``canonical-`` before its count."""
    return Path(pattern.replace("COUNT", f"canonical-{count}" if canonical else str(count)).replace("SEED", str(seed)))


def ensure_corpus(folder: Path, count: int, seed: int, *, clean: bool = False, canonical: bool = False) -> Path:
    """``folder`` holding ``write_corpus(count, seed, canonical=canonical)``: reused if it holds files, else generated (and timed) there."""
    if clean:
        shutil.rmtree(folder, ignore_errors=True)
    if not (folder.is_dir() and any(folder.iterdir())):
        started = time.perf_counter()
        generated = write_corpus(folder, count, seed, canonical=canonical)
        print(f"Generated {generated.files:,} files ({generated.total_bytes / MB:,.1f} MB) in {folder} "
              f"in {time.perf_counter() - started:.1f} s (not counted below)")  # fmt: skip
    return folder


def peak_rss_mb(who: int) -> float:
    """Peak resident set size in MB (``ru_maxrss`` is in KiB on Linux); for children, the largest one."""
    return resource.getrusage(who).ru_maxrss * 1024 / MB


class TreeMemory:
    """The peak resident memory of this process and all its descendants together, sampled every ``interval`` s.

    ``ru_maxrss`` only knows one process at a time (for children: the largest
    one); a run's footprint is the sum over its processes at one moment, read
    here from ``/proc`` while the run goes on. Use as a context manager; the
    peak is in ``peak_mb`` after the block, and every sample in ``samples``
    (``time.perf_counter()``, MB, CPU seconds of the tree so far) for the peak of
    a stretch (:meth:`peak_between`) and the CPU spent by a moment (:meth:`cpu_at`).
    ``root``: another process whose tree is measured (a command the benchmark started).
    """

    def __init__(self, interval: float = 0.05, *, exclude: int | None = None, root: int | None = None) -> None:
        import threading

        self.interval = interval
        self.exclude = exclude  # a child whose tree is not counted (a Prefect server the benchmark started)
        self.root = root
        self.samples: list[tuple[float, float, float]] = []
        self.peak_mb = 0.0
        self.main_peak_mb = 0.0  # this process alone
        # The largest any other process of the tree was. (ru_maxrss of the children
        # is no measure of them: a spawned child keeps the high-water mark of the
        # parent it was forked from before its exec.)
        self.child_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        """The peak of the samples taken from ``start`` to ``end`` (``time.perf_counter()`` values)."""
        return max((mb for at, mb, _ in self.samples if start <= at <= end), default=0.0)

    def cpu_at(self, moment: float) -> float:
        """User + system seconds the tree had spent by ``moment`` (the last sample before it)."""
        return max((cpu for at, _, cpu in self.samples if at <= moment), default=0.0)

    def _sample(self) -> None:
        import os

        root = self.root or os.getpid()
        while not self._stop.wait(self.interval):
            pids = _tree(root, self.exclude)
            sizes = {pid: _rss_mb(pid) for pid in pids}
            self.samples.append((time.perf_counter(), sum(sizes.values()), sum(map(_cpu_seconds, pids))))
            self.peak_mb = max(self.peak_mb, sum(sizes.values()))
            self.main_peak_mb = max(self.main_peak_mb, sizes.pop(root, 0.0))
            self.child_peak_mb = max(self.child_peak_mb, *sizes.values(), 0.0)


def tree_rss_mb(root: int) -> float:
    """The resident memory of ``root`` and all its descendants together, now."""
    return sum(_rss_mb(pid) for pid in _tree(root))


def _tree(root: int, exclude: int | None = None) -> list[int]:
    """``root`` and its descendants, found through the children of each of their threads.

    ``/proc/PID/task/PID/children`` lists only the main thread's children; the
    ingest's parser processes are started from a worker thread, so reading that
    file alone missed their memory, and their CPU until they were reaped.
    """
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        children = []
        try:
            for task in os.scandir(f"/proc/{pid}/task"):
                try:
                    children += [int(child) for child in Path(task.path, "children").read_text().split()]
                except OSError:
                    continue
        except OSError:
            continue
        children = [child for child in children if child != exclude and child not in pids]
        pids.extend(children)
        frontier.extend(children)
    return pids


def _cpu_seconds(pid: int) -> float:
    """User + system seconds of ``pid`` and of the children it has reaped (/proc/PID/stat's utime … cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(value) for value in fields[11:15]) / _CLOCK_TICKS


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return 0.0
