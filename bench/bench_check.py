"""Benchmark: a Retraction Watch export of 60,000 records ingested, a newer one, then a 500-reference ``citelake check``.

Each step as a user runs it (``citelake ingest`` and ``citelake check`` in a new
process, against a Prefect server of the benchmark's own, started before and
not counted), with a baseline measured in the same run beside it:

1. the export written in the live layout (bench/bench_retraction_watch.py: quoted
   commas and line breaks, month-first dates, a trailing comma; about 60 MB at
   60,000 records), then ``citelake ingest`` of it into a fresh lake, against
   polars and pyarrow reading the same CSV alone (in this process);
2. ``citelake ingest`` of a newer export (a tenth of the records changed, a
   hundredth added) into the same lake, against the first;
3. ``--pages`` generated report pages ingested in this process (not counted),
   so that the check meets papers too, with the time of the one statement that
   keeps papers.retracted (sql/lake/merge_papers_retracted.sql) in that run;
4. ``citelake check`` of a BibTeX file of ``--references`` entries (DOIs of
   the export, papers of the pages, DOIs the lake lacks, no DOI, invalid) in
   the json format, against the check alone in this process and the
   program's start-up (``citelake --help``).

Then the peak memory (resource.getrusage of this process and of its children)
and the command that reproduces it all. Run::

    .venv/bin/python -m bench.bench_check                         # 60,000 records, 500 references
    .venv/bin/python -m bench.bench_check --records 5000 --pages 500
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_ingest import _run
from bench.bench_retraction_watch import write_export
from bench.corpus import ensure_corpus
from bench.prefect_server import start_server, stop_server
from tasks.check.references import check_file
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake

REPOSITORY = Path(__file__).resolve().parent.parent
CITELAKE = [sys.executable, "-m", "flows.cli"]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=60_000, help="records of the export (default 60000)")
    parser.add_argument("--pages", type=int, default=2_000, help="report pages generated for the check (default 2000)")
    parser.add_argument("--references", type=int, default=500, help="entries of the BibTeX file (default 500)")
    parser.add_argument("--seed", type=int, default=31, help="generator seed (default 31)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each check measurement; the median is shown (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path is printed)")
    return parser.parse_args()


def _median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _read_with_polars(path: Path) -> int:
    import polars as pl

    return pl.read_csv(path, infer_schema=False).height


def _read_with_pyarrow(path: Path) -> int:
    from pyarrow import csv

    return csv.read_csv(path, parse_options=csv.ParseOptions(newlines_in_values=True)).num_rows


def _lake_dois(lake: LakeLocation) -> tuple[list[str], list[str]]:
    """The DOIs the export names and the papers of the pages, each sorted."""
    con = open_lake(lake, read_only=True)
    try:
        exported = [row[0] for row in con.execute("select distinct doi from retractions where doi is not null order by doi").fetchall()]
        papers = [row[0] for row in con.execute("select doi from papers order by doi").fetchall()]
    finally:
        con.close()
    return exported, papers


def _bibtex(exported: list[str], papers: list[str], count: int, rng: random.Random) -> str:
    """``count`` entries: 40% DOIs of the export, 45% papers of the pages, and DOIs the lake lacks, none, invalid ones."""
    from_export = rng.sample(exported, min(len(exported), count * 40 // 100))
    from_pages = rng.sample(papers, min(len(papers), count * 45 // 100))
    entries = []
    for number in range(count):
        kind = number % 20
        if kind == 0:
            doi_field = ""
        elif kind == 1:
            doi_field = f"  doi = {{not-a-doi-{number}}},\n"
        elif kind in (2, 3) or not (from_export or from_pages):
            doi_field = f"  doi = {{10.9999/absent.{number}}},\n"
        else:
            pool = from_export if (kind % 2 == 0 and from_export) or not from_pages else from_pages
            doi_field = f"  doi = {{https://doi.org/{pool.pop().upper()}}},\n"
        entries.append(f"@article{{ref{number},\n  title = {{Reference {number}}},\n{doi_field}  year = {{2020}}\n}}\n")
    return "\n".join(entries)


class _StepTimes(logging.Handler):
    """The writer's "finish: STEP took N s" lines (tasks.lake.writer, at DEBUG), by step."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("finish: ") and len(record.args) == 2:
            self.seconds[record.args[0]] = record.args[1]


def _ingest_pages(source: Path, lake: LakeLocation) -> tuple[float, dict[str, float]]:
    writer_log = logging.getLogger("tasks.lake.writer")
    handler, level = _StepTimes(), writer_log.level
    writer_log.addHandler(handler)
    writer_log.setLevel(logging.DEBUG)
    try:
        seconds = _timed(lambda: ingest(source, lake))
    finally:
        writer_log.removeHandler(handler)
        writer_log.setLevel(level)
    return seconds, handler.seconds


def _mb(kilobytes: int) -> float:
    return kilobytes / 1024  # Linux gives ru_maxrss in KiB


def main() -> None:
    arguments = _arguments()
    work = Path(tempfile.mkdtemp(prefix="citelake-bench-check-"))
    server = start_server()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")} | {
        "PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(server.home), "PYTHONPATH": str(REPOSITORY),
    }  # fmt: skip
    try:
        source = work / "export"
        source.mkdir()
        export = source / "retraction_watch.csv"
        lake = LakeLocation(path=work / "lake")

        # 1. The export into a fresh lake, against reading the CSV alone.
        written = _timed(lambda: write_export(export, arguments.records, seed=arguments.seed,
                                              saved=datetime(2025, 1, 1, tzinfo=UTC)))  # fmt: skip
        size_mb = export.stat().st_size / 1e6
        polars_seconds = min(_timed(lambda: _read_with_polars(export)) for _ in range(2))
        pyarrow_seconds = min(_timed(lambda: _read_with_pyarrow(export)) for _ in range(2))
        ingest_argv = [*CITELAKE, "ingest", str(source), "--lake", str(lake.path)]
        first = _run(ingest_argv, env)

        # 2. A newer export into the same lake.
        write_export(export, arguments.records, seed=arguments.seed, changed=0.1, added=0.01,
                     saved=datetime(2025, 2, 1, tzinfo=UTC))  # fmt: skip
        newer_mb = export.stat().st_size / 1e6
        second = _run(ingest_argv, env)

        # 3. Pages, so that the check meets papers (not counted but for the statement keeping papers.retracted).
        pages = ensure_corpus(work / "reports", arguments.pages, arguments.seed)
        pages_seconds, steps = _ingest_pages(pages, lake)
        exported, papers = _lake_dois(lake)

        # 4. The check, as a command in the json format, against the check alone and the start-up.
        refs = work / f"refs-{arguments.references}.bib"
        refs.write_text(_bibtex(exported, papers, arguments.references, random.Random(arguments.seed)), encoding="utf-8")
        report = check_file(lake, refs)
        in_process = _median_seconds(lambda: check_file(lake, refs), arguments.repeats)
        check_argv = [*CITELAKE, "check", str(refs), "--lake", str(lake.path), "-f", "json",
                      "--out", str(work / "report.json"), "--fail-on", "none"]  # fmt: skip
        runs = [_run(check_argv, env) for _ in range(arguments.repeats)]
        check_seconds = statistics.median(run.seconds for run in runs)
        startup = _median_seconds(lambda: subprocess.run([*CITELAKE, "--help"], check=True, capture_output=True,
                                                         cwd=REPOSITORY, env=env), arguments.repeats)  # fmt: skip

        con = open_lake(lake, read_only=True)
        try:
            (records,) = con.execute("select count(*) from retractions").fetchone()
            (retracted,) = con.execute("select count(*) from papers where retracted").fetchone()
        finally:
            con.close()
    finally:
        stop_server(server)
        if not arguments.keep:
            shutil.rmtree(work, ignore_errors=True)

    def committed(command) -> str:
        at = command.first("committed:")
        return f"{at:7.2f} s" if at is not None else "      ?"

    print(f"export: {arguments.records:,} records, {size_mb:.1f} MB (written in {written:.1f} s); newer: {newer_mb:.1f} MB; "
          f"retractions now {records:,} rows")  # fmt: skip
    print()
    print("                                              whole      to its commit   peak (process tree)")
    print(f"1. citelake ingest, fresh lake           {first.seconds:8.2f} s   {committed(first)}      {first.memory.peak_mb:,.0f} MB")
    print(f"   baseline: polars.read_csv alone        {polars_seconds:8.2f} s")
    print(f"   baseline: pyarrow.csv.read_csv alone   {pyarrow_seconds:8.2f} s")
    print(f"2. citelake ingest, newer export         {second.seconds:8.2f} s   {committed(second)}      {second.memory.peak_mb:,.0f} MB")
    print(f"   baseline: the first ingest            {first.seconds:8.2f} s")
    sync = steps.get("lake/merge_papers_retracted.sql")
    print(f"3. {arguments.pages:,} pages ingested in this process  {pages_seconds:8.2f} s   (papers.retracted kept in "
          f"{sync:.2f} s of it, {len(papers):,} papers, {retracted:,} retracted)" if sync is not None else "(statement skipped)")  # fmt: skip
    print(f"4. citelake check -f json --out FILE     {check_seconds:8.2f} s   ({len(report.checks):,} references, "
          f"median of {arguments.repeats}; peak {max(run.memory.peak_mb for run in runs):,.0f} MB)")  # fmt: skip
    print(f"   baseline: the check in this process  {in_process:8.2f} s   (read the file, open the lake, three queries)")
    print(f"   baseline: citelake --help (start-up)  {startup:8.2f} s")
    print(f"   {report.summary()}")
    print()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak memory (getrusage maxrss): this process {_mb(own):,.0f} MB, its largest child {_mb(children):,.0f} MB "
          "(the Prefect server counts among the children)")  # fmt: skip
    print(f"work folder: {work}{'' if arguments.keep else ' (removed)'}")
    print(f"reproduce with: {shlex.join(['.venv/bin/python', '-m', 'bench.bench_check', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
