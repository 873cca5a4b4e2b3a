"""Benchmark: a whole ingest of a generated corpus into a fresh lake, then a re-run with nothing changed.

Generates a corpus with ``tasks.corpus.generate.write_corpus`` (or reuses ``--corpus``):
by default two of each size, one of canonical pages (``canonical=True``: what
the issue's throughput aim counts) and one with every variation of the format
(which must not fall more than 20% behind), measured in turn; ``--canonical``
or ``--variations-only`` measures one. For each, it times the baseline first (``bench/naive_parser.py``: the single-pass parser a
user would write, on one core, parse only), then runs the ingest twice on a
fresh lake (embedded SQLite catalog): by default the ingest flow
(``flows.ingest.ingest_flow``, what ``citelake ingest`` runs) against a running
Prefect server the benchmark starts for itself (``--api-url``: one already
running); with ``--plain``, ``tasks.lake.ingest.ingest`` without Prefect, which
also gives the split of the run into plan, parse and commit. It prints

* the baseline's time and the ingest's speed as a ratio of it (≥ 1.0: the whole
  ingest takes no longer than the naive parser alone);
* the peak memory of all processes together (sampled from ``/proc``);

* the first run: files/s, MB/s of file bytes, the split between parsing
  (discovery to the last batch staged) and the commit (the writer's merges,
  checks and COMMIT), and the peak resident memory of the main process and of
  the largest parser process;
* the re-run with nothing changed: its time and its fraction of the first run's;
* with several corpora, a table of them side by side and how far the
  every-variation corpus falls behind the canonical one, per file;
* the command that reproduces the figures.

The corpus was just written or read, so the page cache is warm: the figures are
CPU throughput, not disk throughput. Run::

    .venv/bin/python bench/bench_ingest.py                      # 100,000 files
    .venv/bin/python bench/bench_ingest.py --count 20000 --clean --canonical
    .venv/bin/python bench/bench_ingest.py --plain --scaling 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# Prefect's log lines go to the server, not to this terminal; set before Prefect is imported.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

from tasks.lake.tables import DEFAULT_BATCH_SIZE
from tasks.allocator import return_freed_memory  # noqa: E402

return_freed_memory()  # as `citelake` does, before polars is imported

from bench.corpus import MB, TreeMemory, add_corpus_arguments, default_corpus, ensure_corpus  # noqa: E402
from bench.prefect_server import start_server, stop_server  # noqa: E402

# tasks.lake is imported where it is used, not here: the parser processes are spawned and
# import this file again as their main module, and at the top it would load DuckDB into
# each of them (39 MB a process), which `citelake ingest`'s parser processes do not hold.
if TYPE_CHECKING:
    from tasks.lake.location import LakeLocation
    from tasks.lake.summary import IngestProgress, IngestSummary


CORPUS_PATTERN = "/tmp/citelake-bench-ingest-COUNT-SEED"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser, CORPUS_PATTERN)
    parser.add_argument("--clean", action="store_true", help="delete the corpus folder first and generate it anew")
    parser.add_argument("--lake", type=Path, help="lake folder, emptied first (default: a temporary folder, removed after)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parser processes (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"files per batch (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--plain", action="store_true", help="time tasks.lake.ingest.ingest without Prefect, with its phases")
    parser.add_argument("--api-url", help="a running Prefect server's API (http://HOST:PORT/api) instead of starting one")
    parser.add_argument(
        "--scaling", metavar="COUNTS",
        help="comma-separated file counts (such as 10000,100000,1000000): measure each, then print them side by side",
    )  # fmt: skip
    parser.add_argument(
        "--variations-only", action="store_true",
        help="only the corpus with every variation of the format (by default both kinds are measured; --canonical: only canonical)",
    )  # fmt: skip
    arguments = parser.parse_args()
    if arguments.canonical and arguments.variations_only:
        parser.error("--canonical and --variations-only exclude each other")
    arguments.kinds = [True] if arguments.canonical else [False] if arguments.variations_only else [True, False]
    if arguments.corpus and len(arguments.kinds) > 1:
        parser.error("--corpus names one corpus: say its kind with --canonical or --variations-only")
    return arguments


class _Stages:
    """When the run reached each progress stage (seconds since its start)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.at: dict[str, float] = {}
        self.finish_steps: list[tuple[str, float]] = []  # LakeWriter.finish's steps, from its DEBUG log

    def __call__(self, step: IngestProgress) -> None:
        self.at[step.stage] = time.perf_counter() - self.started


class _FinishSteps(logging.Handler):
    """Collects the "finish: STEP took S s" lines tasks.lake.writer logs at DEBUG into a _Stages."""

    def __init__(self, stages: _Stages) -> None:
        super().__init__(logging.DEBUG)
        self.stages = stages

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("finish: "):
            step, took = record.args
            self.stages.finish_steps.append((step.removeprefix("lake/").replace(".sql", ""), took))


def _cpu_seconds() -> float:
    """User + system seconds of this process and of its children that have ended (the parser processes, once reaped)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _run(corpus: Path, location: LakeLocation, arguments: argparse.Namespace) -> tuple[IngestSummary, _Stages, float]:
    from tasks.lake.ingest import ingest

    stages = _Stages()
    if arguments.plain:
        steps, writer_log = _FinishSteps(stages), logging.getLogger("tasks.lake.writer")
        writer_log.addHandler(steps)
        level, writer_log.level = writer_log.level, logging.DEBUG
        try:
            summary = ingest(corpus, location, batch_size=arguments.batch_size, workers=arguments.workers, progress=stages)
        finally:
            writer_log.removeHandler(steps)
            writer_log.setLevel(level)
    else:
        from flows.ingest import ingest_flow  # Prefect is imported once the server's address is set

        summary = ingest_flow(
            source=str(corpus), lake=str(location.path), batch_size=arguments.batch_size,
            parser_processes=arguments.workers,
        )  # fmt: skip
    return summary, stages, time.perf_counter() - stages.started


@dataclass
class _Measured:
    canonical: bool
    files: int
    naive: float
    first: float
    again: float
    peak_mb: float


def _naive_parser(paths: list[str]) -> dict[str, float]:
    """Time bench/naive_parser.py over ``paths`` in a process of its own (its heap is not the ingest's)."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as listing:
        listing.write("\n".join(paths))
        listing.flush()
        finished = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("naive_parser.py")), listing.name],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    return json.loads(finished.stdout)


def _kind(canonical: bool) -> str:
    return "canonical pages" if canonical else "every variation of the format"


def _measure(arguments: argparse.Namespace, count: int, canonical: bool, server) -> _Measured:
    """Generate or reuse the corpus of ``count`` files, time the naive parser, the first run and the re-run; print them."""
    from tasks.lake.location import LakeLocation
    from tasks.lake.discover import discover_reports

    corpus = ensure_corpus(
        arguments.corpus or default_corpus(CORPUS_PATTERN, count, arguments.seed, canonical=canonical), count, arguments.seed,
        clean=arguments.clean, canonical=canonical,
    )  # fmt: skip
    # Only the paths are kept, and not through the ingest: a million DiscoveredFile
    # objects held here were about 270 MB of the main process the ingest was charged for.
    paths, total_bytes = [], 0
    for file in discover_reports(corpus):
        paths.append(file.path)
        total_bytes += file.size
    print(f"Corpus {corpus} ({_kind(canonical)}): {len(paths):,} files, {total_bytes / MB:,.1f} MB; "
          f"{arguments.workers} parser processes, batches of {arguments.batch_size:,}, {os.cpu_count()} cores")  # fmt: skip

    for path in paths:  # both read from the page cache: the first reader would otherwise pay for the disk
        Path(path).read_bytes()
    baseline = _naive_parser(paths)
    file_count = len(paths)
    del paths
    naive, naive_cpu = baseline["seconds"], baseline["cpu"]
    print(f"Baseline: naive single-core parser, parse only   {naive:8.2f} s   "
          f"({baseline['records']:,} records, {baseline['statements']:,} statements; "
          f"bench/naive_parser.py in a process of its own, peak {baseline['peak_mb']:,.0f} MB)")  # fmt: skip
    if not arguments.plain:
        print(f"The ingest flow against the Prefect server at {os.environ['PREFECT_API_URL']}")
    else:
        print("The plain ingest (tasks.lake.ingest.ingest, no Prefect)")

    lake_folder = arguments.lake or Path(tempfile.mkdtemp(prefix="citelake-bench-lake-"))
    shutil.rmtree(lake_folder, ignore_errors=True)
    location = LakeLocation(path=lake_folder.resolve())
    try:
        ingest_cpu = _cpu_seconds()
        with TreeMemory(exclude=server.process.pid if server else None) as memory:
            first, stages, seconds = _run(corpus, location, arguments)
        ingest_cpu = _cpu_seconds() - ingest_cpu
        parsed_at = stages.at.get("committing", seconds)
        print()
        print(f"First run (fresh lake)   {seconds:8.2f} s   {file_count / seconds:9,.0f} files/s   "
              f"{total_bytes / MB / seconds:7.1f} MB/s   {naive / seconds:.2f}x the naive parser")  # fmt: skip
        if stages.at:  # the plain run reports its stages
            print(f"  plan                   {stages.at.get('planned', 0.0):8.2f} s   (open the lake, discover, set against the manifest)")
            print(f"  parse and stage        {parsed_at - stages.at.get('planned', 0.0):8.2f} s   "
                  f"({total_bytes / MB / max(parsed_at - stages.at.get('planned', 0.0), 1e-9):.1f} MB/s)")  # fmt: skip
            print(f"  commit                 {seconds - parsed_at:8.2f} s   (merges, checks, COMMIT, close)")
            for step, took in stages.finish_steps:
                print(f"    {step:<36} {took:8.2f} s")
        # CPU seconds hold better than wall seconds on a shared machine: the ratio of the
        # two runs' CPU says how much work each does, whatever else ran meanwhile.
        print(f"  cpu                    {ingest_cpu:8.2f} s   of all processes ({ingest_cpu / naive_cpu:.2f}x the naive "
              f"parser's {naive_cpu:.2f} s; {ingest_cpu / seconds:.2f} cores busy on average)")  # fmt: skip
        print("  files                  " + ", ".join(f"{outcome} {number:,}" for outcome, number in first.files.items()))
        print("  rows added             " + ", ".join(f"{table} {added:,}" for table, added in first.rows_added.items()))
        print(f"  peak memory            all processes together {memory.peak_mb:,.0f} MB "
              f"(main alone {memory.main_peak_mb:,.0f} MB, largest parser process {memory.child_peak_mb:,.0f} MB)")  # fmt: skip

        second, _, again = _run(corpus, location, arguments)
        assert second.files["unchanged"] == file_count, second.files
        print(f"Re-run, nothing changed  {again:8.2f} s   {again / seconds:.1%} of the first run")
    finally:
        if arguments.lake is None:
            shutil.rmtree(lake_folder, ignore_errors=True)
    return _Measured(
        canonical=canonical, files=file_count, naive=naive, first=seconds, again=again, peak_mb=memory.peak_mb
    )


def main() -> None:
    arguments = _arguments()
    counts = [int(count) for count in arguments.scaling.split(",")] if arguments.scaling else [arguments.count]
    if arguments.scaling and arguments.corpus:
        raise SystemExit("bench_ingest: --scaling generates one corpus per count; leave out --corpus")
    server = None
    if not arguments.plain:
        if arguments.api_url:
            os.environ["PREFECT_API_URL"] = arguments.api_url
        else:
            server = start_server()
            os.environ.update(PREFECT_API_URL=server.api_url, PREFECT_HOME=str(server.home))
    try:
        measured = []
        for count in counts:
            for canonical in arguments.kinds:
                measured.append(_measure(arguments, count, canonical, server))
                print()
    finally:
        if server is not None:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            # Deliver the runs' last log lines and events while the server is still up.
            APILogWorker.drain_all(timeout=10)
            EventsWorker.drain_all(timeout=10)
            stop_server(server)

    if len(measured) > 1:
        print(f"Side by side ({'plain ingest' if arguments.plain else 'the ingest flow'}; a first run into a fresh lake each)")
        print(f"{'corpus':>16} {'files':>10} {'naive s':>9} {'ingest s':>9} {'ratio':>6} {'us/file':>8} "
              f"{'re-run s':>9} {'re-run':>7} {'peak MB':>8}")  # fmt: skip
        for m in measured:
            print(f"{'canonical' if m.canonical else 'every variation':>16} {m.files:>10,} {m.naive:>9.2f} {m.first:>9.2f} "
                  f"{m.naive / m.first:>6.2f} {m.first / m.files * 1e6:>8.0f} "
                  f"{m.again:>9.2f} {m.again / m.first:>7.1%} {m.peak_mb:>8,.0f}")  # fmt: skip
        for canonical, varied in zip(measured[::2], measured[1::2], strict=True) if len(arguments.kinds) == 2 else ():
            behind = varied.first / varied.files / (canonical.first / canonical.files) - 1
            print(f"every variation against canonical at {canonical.files:,} files: {behind:+.0%} time a file (aim: at most +20%)")
        print()

    command = [".venv/bin/python", "bench/bench_ingest.py", "--seed", str(arguments.seed)]
    if arguments.scaling:
        command += ["--scaling", arguments.scaling]
    else:
        command += ["--count", str(arguments.count)]
        command += ["--corpus", str(arguments.corpus)] if arguments.corpus else []
    command += ["--canonical"] if arguments.canonical else ["--variations-only"] if arguments.variations_only else []
    command += ["--workers", str(arguments.workers), "--batch-size", str(arguments.batch_size)]
    command += ["--plain"] if arguments.plain else []
    print("Reproduce: " + shlex.join(command))


if __name__ == "__main__":
    sys.exit(main())
