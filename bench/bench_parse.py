"""Benchmark: report files on disk → the six combined frames, on all cores.

Generates a corpus with ``tasks.corpus.generate.write_corpus`` (or reuses ``--corpus``),
then measures

* the parallel path the ingest runs: ``parse_in_parallel`` over every file and
  ``combine_frames`` of the batches — files/s, MB/s of file bytes read, and the
  peak resident memory of the main process and of the largest worker;
* single-process references on a sample of files already in memory: ``parse_report``
  alone, its neighbours in ``parse_and_split`` (sha256, ``split_records``), and
  ``parse_and_split`` on the reference path and on the vectorised one, with the share
  of report files the vectorised fast path parsed (wall and CPU time: polars may
  use more than one core; set ``POLARS_MAX_THREADS=1`` for a single-core figure).

The corpus was just written or read, so the page cache is warm: the figures are
CPU throughput, not disk throughput. Run::

    .venv/bin/python bench/bench_parse.py                      # 100,000 files
    .venv/bin/python bench/bench_parse.py --corpus /tmp/c --count 20000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import resource
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from tasks.lake.tables import DEFAULT_BATCH_SIZE
from bench.corpus import MB, TreeMemory, add_corpus_arguments, default_corpus, ensure_corpus, peak_rss_mb
from tasks.reading.batch import parse_and_split, parse_in_parallel
from tasks.reading.parse import parse_report
from tasks.reading.parse_vectorized import PAGES_SCHEMA, canonical_text, parse_canonical
from tasks.reading.record import DiscoveredFile, Rejection, SourceFile
from tasks.reading.split import combine_frames, split_records


CORPUS_PATTERN = "/tmp/citelake-bench-COUNT-SEED"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser, CORPUS_PATTERN)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"files per batch (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument(
        "--reference-files", type=int, default=5000, help="files in the single-core reference sample (default 5000)"
    )
    parser.add_argument(
        "--reference-path", action="store_true", help="run the parallel part on the reference path (no fast path)"
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of parse_and_split on the sample")
    return parser.parse_args()


def _discover(folder: Path) -> list[DiscoveredFile]:
    files = []
    for directory, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(directory, name)
            status = os.stat(path)
            files.append(DiscoveredFile(path, status.st_size, datetime.fromtimestamp(status.st_mtime, tz=UTC)))
    files.sort(key=lambda file: file.path)
    return files


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (the pool's workers)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _rate(amount: float, seconds: float) -> float:
    return amount / seconds if seconds else float("inf")


def _measure_parallel(files: list[DiscoveredFile], batch_size: int, workers: int, vectorized: bool) -> None:
    total_bytes = sum(file.size for file in files)
    main_peak_before = peak_rss_mb(resource.RUSAGE_SELF)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    parts, outcomes = [], []
    with TreeMemory() as memory:
        for result in parse_in_parallel(files, batch_size=batch_size, workers=workers, vectorized=vectorized):
            parts.append(result.frames)
            outcomes.append(result.outcomes)
    parsed = time.perf_counter()
    frames = combine_frames(parts)
    outcome = pl.concat(outcomes)
    finished = time.perf_counter()
    seconds = finished - started
    cpu = _cpu_seconds() - cpu_before

    path = "vectorized" if vectorized else "reference"
    print(f"\nParallel ({path} path): {len(files):,} files, {total_bytes / MB:,.1f} MB, {workers} workers, "
          f"batches of {batch_size}, POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', '(unset)')}")  # fmt: skip
    print(f"  parse + split in workers   {parsed - started:8.2f} s")
    print(f"  combine {len(parts):>4} batches      {finished - parsed:8.2f} s")
    print(f"  total                      {seconds:8.2f} s")
    print(f"  throughput                 {_rate(len(files), seconds):10,.0f} files/s   "
          f"{_rate(total_bytes / MB, seconds):7.1f} MB/s")  # fmt: skip
    # Other load on the machine shows as cores busy below the worker count; the
    # rate per CPU second is what the code does with the CPU it gets.
    print(f"  CPU time (main + workers)  {cpu:8.2f} s  = {cpu / seconds:.2f} cores busy on average, "
          f"{_rate(total_bytes / MB, cpu):.1f} MB and {_rate(len(files), cpu):,.0f} files per CPU second")  # fmt: skip
    print(f"  peak RSS main process      {peak_rss_mb(resource.RUSAGE_SELF):8.0f} MB "
          f"(before the run: {main_peak_before:.0f} MB)")  # fmt: skip
    # From /proc while the workers ran: ru_maxrss of a spawned child keeps its parent's mark from before its exec.
    print(f"  peak RSS largest worker    {memory.child_peak_mb:8.0f} MB   "
          f"(all processes together {memory.peak_mb:,.0f} MB)")  # fmt: skip
    statuses = dict(outcome.group_by("status").len().iter_rows())
    print(f"  outcomes                   {statuses}")
    print("  rows                       " + ", ".join(f"{table} {frame.height:,}" for table, frame in frames.items()))


def _measure_single_core(files: list[DiscoveredFile], profile: bool) -> None:
    contents = []
    for file in files:
        with open(file.path, "rb") as handle:
            contents.append(handle.read())
    total_mb = sum(map(len, contents)) / MB

    def timed(function, *arguments):  # noqa: ANN001, ANN202 - the result, wall seconds and CPU seconds
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*arguments)
        return result, time.perf_counter() - wall, time.process_time() - cpu

    digests, *hashed = timed(lambda: [hashlib.sha256(data).hexdigest() for data in contents])
    records, *parsed = timed(lambda: [parse_report(data) for data in contents])
    items = [
        (SourceFile(file.path, file.size, file.mtime, digest), record)
        for file, digest, record in zip(files, digests, records, strict=True)
        if not isinstance(record, Rejection)
    ]
    _, *split = timed(split_records, items)
    _, *reference = timed(lambda: parse_and_split(files, vectorized=False))
    _, *vectorized = timed(parse_and_split, files)
    texts = [
        (file.mtime, digest, file.path, canonical_text(data))
        for file, digest, data in zip(files, digests, contents, strict=True)
    ]
    pages = pl.DataFrame([row for row in texts if row[-1] is not None], schema=PAGES_SCHEMA, orient="row")
    fast_pages = sum(parse_canonical(pages).accepted)

    def line(label: str, wall: float, cpu: float) -> str:
        return (
            f"  {label:<36}{wall:7.2f} s {_rate(total_mb, wall):7.1f} MB/s {1e6 * wall / len(files):7.1f} us/file"
            f"   CPU {cpu:6.2f} s {_rate(total_mb, cpu):7.1f} MB/s {1e6 * cpu / len(files):7.1f} us/file"
        )

    print(f"\nSingle process, {len(files):,} files ({total_mb:.1f} MB), bytes already in memory unless noted:")
    print(line("sha256", *hashed))
    print(line("parse_report (parse only)", *parsed))
    print(line("split_records", *split))
    print(line("parse_and_split reference (reads too)", *reference))
    print(line("parse_and_split vectorized (reads too)", *vectorized))
    print(f"  fast path share: {fast_pages:,} of {len(items):,} report files ({_rate(fast_pages, len(items)):.1%}); "
          f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', '(unset)')}")  # fmt: skip
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(parse_and_split, files)
        print("\ncProfile of parse_and_split on the sample (by own time):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)


def main() -> None:
    arguments = _arguments()
    corpus = ensure_corpus(
        arguments.corpus or default_corpus(CORPUS_PATTERN, arguments.count, arguments.seed, canonical=arguments.canonical),
        arguments.count, arguments.seed, canonical=arguments.canonical,
    )  # fmt: skip
    started = time.perf_counter()
    files = _discover(corpus)
    print(f"Discovered {len(files):,} files in {corpus} in {time.perf_counter() - started:.2f} s (not counted below)")

    _measure_parallel(files, arguments.batch_size, arguments.workers, not arguments.reference_path)
    _measure_single_core(files[: arguments.reference_files], arguments.profile)

    command = [
        ".venv/bin/python", "bench/bench_parse.py", "--count", str(arguments.count), "--seed", str(arguments.seed),
        "--corpus", str(corpus), "--workers", str(arguments.workers), "--batch-size", str(arguments.batch_size),
        "--reference-files", str(arguments.reference_files),
        *(["--reference-path"] if arguments.reference_path else []), *(["--profile"] if arguments.profile else []),
        *(["--canonical"] if arguments.canonical else []),
    ]  # fmt: skip
    print(f"\nReproduce: cd {Path(__file__).resolve().parent.parent} && {shlex.join(command)}")


if __name__ == "__main__":
    main()
