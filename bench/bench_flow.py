"""Benchmark: what Prefect adds to an ingest, against a running server.

Starts a ``prefect server`` of its own (its own ``PREFECT_HOME`` in a temporary
folder, on a free port; or uses ``--api-url``), generates a small and a large
corpus with ``tasks.corpus.generate.write_corpus`` (or reuses them under
``--corpus-dir``), and for each corpus times, each into a fresh lake (embedded
SQLite catalog):

* plain: ``tasks.lake.ingest.ingest`` (no Prefect), the same steps as the flow;
* flow: ``flows.ingest.ingest_flow`` with ``--runner`` (default: threads);
* then a re-run of each with nothing changed.

It prints

* the flow's fixed cost per run: the no-op flow re-run minus the no-op plain re-run;
* the per-batch cost: (flow − plain) / batches on the large corpus's first run;
* files/s and MB/s of the large first run, plain and flow;
* the command that reproduces the figures.

The aim (the issue): a fixed cost under 2 s against a running server, and a
per-batch cost that disappears in the total for 100,000 reports. The corpora
were just written or read, so the page cache is warm: the figures are CPU
throughput, not disk throughput. The server runs on the same machine and takes
its share of the cores. Run::

    .venv/bin/python bench/bench_flow.py                              # 1,000 and 100,000 files
    .venv/bin/python bench/bench_flow.py --large 20000 --runner processes --repeats 3
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Prefect's log lines go to the server, not to this terminal; set before Prefect is imported.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

from tasks.lake.tables import DEFAULT_BATCH_SIZE
from bench.corpus import MB, ensure_corpus  # noqa: E402 - after the environment above
from bench.prefect_server import healthy, start_server, stop_server  # noqa: E402
from tasks.lake.discover import discover_reports  # noqa: E402
from tasks.lake.ingest import ingest  # noqa: E402
from tasks.lake.summary import IngestSummary  # noqa: E402
from tasks.lake.location import LakeLocation  # noqa: E402

DEFAULT_CORPUS_DIR = Path("/tmp/citelake-bench-flow")
RUNNERS = ("threads", "processes", "dask")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000, help="files in the small corpus (default 1000)")
    parser.add_argument("--large", type=int, default=100_000, help="files in the large corpus (default 100000)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed (default 2024)")
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        default=DEFAULT_CORPUS_DIR,
        help="folder holding the corpora as files-COUNT-SEED: reused if they hold files, else generated there "
        f"(default {DEFAULT_CORPUS_DIR})",
    )
    parser.add_argument("--runner", choices=RUNNERS, default="threads", help="the flow's task runner (default threads)")
    parser.add_argument(
        "--workers", type=int, help="parser processes (plain) and task runner workers (flow) (default: all cores)"
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"files per batch (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument(
        "--repeats", type=int, default=1, help="measure each corpus this many times, fresh lakes each time; "
        "the table shows medians (default 1)"
    )
    parser.add_argument(
        "--api-url", help="a running Prefect server's API (http://HOST:PORT/api) instead of starting one"
    )
    return parser.parse_args()


# ---------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------


@dataclass
class _Figures:
    """One corpus: its size and the four timed runs (medians over the repeats)."""

    files: int
    total_bytes: int
    batches: int
    plain: float = 0.0
    flow: float = 0.0
    plain_again: float = 0.0
    flow_again: float = 0.0


def _corpus(folder: Path, count: int, seed: int) -> tuple[Path, int, int]:
    corpus = ensure_corpus(folder / f"files-{count}-{seed}", count, seed)
    files = list(discover_reports(corpus))
    return corpus, len(files), sum(file.size for file in files)


def _timed(run) -> tuple[IngestSummary, float]:  # noqa: ANN001 - a callable returning an IngestSummary
    started = time.perf_counter()
    summary = run()
    return summary, time.perf_counter() - started


def _measure(corpus: Path, files: int, total_bytes: int, lakes: Path, flow, arguments: argparse.Namespace) -> _Figures:  # noqa: ANN001
    figures = _Figures(files, total_bytes, math.ceil(files / arguments.batch_size))
    times: dict[str, list[float]] = {}
    for repeat in range(1, arguments.repeats + 1):
        if arguments.repeats > 1:
            print(f"  repeat {repeat} of {arguments.repeats}")
        for attribute, seconds in _measure_once(corpus, files, lakes / f"{files}-{repeat}", flow, arguments).items():
            times.setdefault(attribute, []).append(seconds)
        shutil.rmtree(lakes / f"{files}-{repeat}", ignore_errors=True)
    for attribute, values in times.items():
        setattr(figures, attribute, statistics.median(values))
    return figures


def _measure_once(corpus: Path, files: int, lakes: Path, flow, arguments: argparse.Namespace) -> dict[str, float]:  # noqa: ANN001
    times = {}
    plain_lake = LakeLocation(path=(lakes / "plain").resolve())
    flow_lake = (lakes / "flow").resolve()

    def plain() -> IngestSummary:
        return ingest(corpus, plain_lake, batch_size=arguments.batch_size, workers=arguments.workers)

    def flowed() -> IngestSummary:
        return flow(source=str(corpus), lake=str(flow_lake), batch_size=arguments.batch_size)

    for label, run, attribute in (
        ("plain ingest, fresh lake", plain, "plain"),
        ("flow, fresh lake", flowed, "flow"),
        ("plain ingest, no-op re-run", plain, "plain_again"),
        ("flow, no-op re-run", flowed, "flow_again"),
    ):
        summary, seconds = _timed(run)
        times[attribute] = seconds
        if attribute.endswith("again"):
            assert summary.files["unchanged"] == files, summary.files
        else:
            assert summary.files["seen"] == files and summary.files["unchanged"] == 0, summary.files
        print(f"  {label:<28}{seconds:8.2f} s")
    return times


def _report(small: _Figures, large: _Figures, runner: str, repeats: int) -> None:
    fixed = large.flow_again - large.plain_again
    fixed_small = small.flow_again - small.plain_again
    per_batch = (large.flow - large.plain) / large.batches
    print()
    if repeats > 1:
        print(f"Medians of {repeats} repeats:")
    print(f"{'':<34}{'small':>12}{'large':>12}")
    print(f"{'files':<34}{small.files:>12,}{large.files:>12,}")
    print(f"{'MB':<34}{small.total_bytes / MB:>12,.1f}{large.total_bytes / MB:>12,.1f}")
    print(f"{'batches':<34}{small.batches:>12,}{large.batches:>12,}")
    for label, attribute in (
        ("plain, first run (s)", "plain"),
        (f"flow ({runner}), first run (s)", "flow"),
        ("plain, no-op re-run (s)", "plain_again"),
        (f"flow ({runner}), no-op re-run (s)", "flow_again"),
    ):
        print(f"{label:<34}{getattr(small, attribute):>12.2f}{getattr(large, attribute):>12.2f}")
    print(f"{'flow − plain, first run (s)':<34}{small.flow - small.plain:>12.2f}{large.flow - large.plain:>12.2f}")
    print(f"{'flow − plain, no-op re-run (s)':<34}{fixed_small:>12.2f}{fixed:>12.2f}")
    print()
    print(f"Fixed cost per run (no-op flow − no-op plain, large)   {fixed:6.2f} s   (aim: under 2 s; small corpus: {fixed_small:.2f} s)")
    print(f"Per-batch cost ((flow − plain) / {large.batches} batches, large)  {per_batch:6.3f} s   "
          f"= {per_batch * large.batches / large.plain:.1%} of the plain first run "
          f"(less the fixed cost: {(large.flow - large.plain - fixed) / large.batches:.3f} s per batch)")  # fmt: skip
    for label, seconds in (("plain", large.plain), (f"flow ({runner})", large.flow)):
        print(f"Large first run, {label:<16}{seconds:8.2f} s   {large.files / seconds:9,.0f} files/s   "
              f"{large.total_bytes / MB / seconds:7.1f} MB/s")  # fmt: skip


def main() -> None:
    arguments = _arguments()
    server = None
    if arguments.api_url:
        api_url = arguments.api_url.rstrip("/")
        if not healthy(api_url):
            raise SystemExit(f"no healthy Prefect server at {api_url}")
    else:
        started = time.perf_counter()
        server = start_server()
        api_url = server.api_url
        print(f"Prefect server at {api_url} (PREFECT_HOME {server.home}) healthy after "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        os.environ["PREFECT_HOME"] = str(server.home)
    # In the environment before Prefect is imported, so this process and every worker process it starts use it.
    os.environ["PREFECT_API_URL"] = api_url

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.ingest import ingest_flow, task_runner

    flow = ingest_flow.with_options(task_runner=task_runner(arguments.runner, workers=arguments.workers))
    lakes = Path(tempfile.mkdtemp(prefix="citelake-bench-flow-lakes-"))
    try:
        with temporary_settings({PREFECT_API_URL: api_url}):
            measured = []
            for name, count in (("Small", arguments.small), ("Large", arguments.large)):
                corpus, files, total_bytes = _corpus(arguments.corpus_dir, count, arguments.seed)
                print(f"\n{name} corpus {corpus}: {files:,} files, {total_bytes / MB:,.1f} MB; batches of "
                      f"{arguments.batch_size:,}, runner {arguments.runner}, "
                      f"workers {arguments.workers or os.cpu_count()}, {os.cpu_count()} cores")  # fmt: skip
                measured.append(_measure(corpus, files, total_bytes, lakes, flow, arguments))
            # Deliver the runs' last log lines and events while the server is still up.
            APILogWorker.drain_all(timeout=10)
            EventsWorker.drain_all(timeout=10)
        _report(*measured, arguments.runner, arguments.repeats)
    finally:
        shutil.rmtree(lakes, ignore_errors=True)
        if server is not None:
            stop_server(server)

    command = [
        ".venv/bin/python", "bench/bench_flow.py", "--small", str(arguments.small), "--large", str(arguments.large),
        "--seed", str(arguments.seed), "--corpus-dir", str(arguments.corpus_dir), "--runner", arguments.runner,
        *(["--workers", str(arguments.workers)] if arguments.workers else []), "--batch-size", str(arguments.batch_size),
        "--repeats", str(arguments.repeats), *(["--api-url", arguments.api_url] if arguments.api_url else []),
    ]  # fmt: skip
    print()
    print(f"Reproduce: cd {Path(__file__).resolve().parent.parent} && {shlex.join(command)}")


if __name__ == "__main__":
    sys.exit(main())
