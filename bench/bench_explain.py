"""Benchmark: ``citelake explain`` for one paper, and ``citelake explain --all --out DIR`` over a generated lake.

Builds a lake with the plain ingest from a generated corpus of ``--count``
files (reused between runs under ``--corpus`` and ``--lake``; 14,000 files
give 11,324 papers with seed 2024), then measures:

* one explanation (the paper with the most saved pages), as ``citelake explain``
  gives it: ``--format text`` and ``--format html`` (facts, sentences, the three
  charts drawn), in this process;
* ``--all``: the whole site (one HTML page per paper and ``index.html``),
  ``tasks.explain.run.write_site`` as the command runs it (the facts read a
  chunk of papers at a time, the charts drawn in one process per core), with
  papers/s and the peak resident memory of all its processes together;
* wall and CPU time (of all processes: on a shared machine the CPU time per
  paper is the figure the other load does not move);
* the baseline, in the same run: the per-paper path the site took before
  (each fact query run for one paper, an Altair chart built, validated and
  drawn per chart, in this process), over ``--baseline-sample`` papers of the
  same in-memory copy of the lake, extrapolated to all papers.

Run::

    .venv/bin/python -m bench.bench_explain                  # 14,000 files, 11,324 papers
    .venv/bin/python -m bench.bench_explain --count 2000     # a quick one
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import vl_convert as vlc

from bench.corpus import TreeMemory, ensure_corpus
from tasks.explain.charts import CHARTS
from tasks.explain.facts import explain, query_rows
from tasks.explain.run import default_workers, explain_one, snapshot_in_memory, write_site
from tasks.explain.site import explanation_page
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.ingest import ingest


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=14_000, help="files to generate (default 14000: 11,324 papers)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed (default 2024)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default /tmp/citelake-bench-explain-COUNT-SEED/reports)")
    parser.add_argument("--lake", type=Path, help="lake folder: reused if it exists (default beside the corpus)")
    parser.add_argument("--baseline-sample", type=int, default=100, help="papers the per-paper baseline explains (default 100)")
    parser.add_argument("--workers", type=int, default=None, help="chart-drawing processes (default one per core)")
    return parser.parse_args()


def _lake(arguments: argparse.Namespace) -> LakeLocation:
    root = Path(tempfile.gettempdir()) / f"citelake-bench-explain-{arguments.count}-{arguments.seed}"
    corpus = arguments.corpus or root / "reports"
    lake = LakeLocation(path=arguments.lake or root / "lake")
    if not lake.path.exists():
        ensure_corpus(corpus, arguments.count, arguments.seed)
        started = time.perf_counter()
        ingest(corpus, lake)
        print(f"Ingested {corpus} into {lake.path} in {time.perf_counter() - started:.1f} s (not counted below)")
    return lake


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that ended (the drawing processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _per_paper_baseline(lake: LakeLocation, dois: list[str], out_dir: Path) -> tuple[float, float]:
    """Wall and CPU seconds per paper of the former path: per-paper queries, an Altair chart built and drawn per chart."""
    con = open_lake(lake, read_only=True)
    try:
        snapshot_in_memory(con)
        started, cpu = time.perf_counter(), _cpu_seconds()
        for doi in dois:
            explanation = explain(con, doi)
            svgs = {name: vlc.vegalite_to_svg(chart(rows(explanation)).to_json()) for name, (rows, chart) in CHARTS.items()}
            (out_dir / "page.html").write_text(explanation_page(explanation, svgs), encoding="utf-8")
        return (time.perf_counter() - started) / len(dois), (_cpu_seconds() - cpu) / len(dois)
    finally:
        con.close()


def main() -> None:
    arguments = _arguments()
    lake = _lake(arguments)
    con = open_lake(lake, read_only=True)
    try:
        papers = [row["doi"] for row in query_rows(con, "paper_list")]
        (one,) = con.execute(
            "select doi from paper_snapshots group by doi order by count(*) desc, doi limit 1"
        ).fetchone()
    finally:
        con.close()
    scratch = Path(tempfile.mkdtemp(prefix="citelake-bench-explain-"))
    try:
        timings = {}
        for output_format in ("text", "html"):
            started = time.perf_counter()
            explain_one(lake, one, output_format, scratch / f"one.{output_format}")
            timings[output_format] = time.perf_counter() - started

        random.seed(arguments.seed)
        sample = random.sample(papers, min(arguments.baseline_sample, len(papers)))
        per_paper, per_paper_cpu = _per_paper_baseline(lake, sample, scratch)

        workers = default_workers() if arguments.workers is None else arguments.workers
        shown = {"last": 0.0}

        def progress(done: int, total: int, doi: str) -> None:
            now = time.perf_counter()
            if done == total or now - shown["last"] > 30:
                shown["last"] = now
                print(f"  --all: {done:,}/{total:,} pages after {now - started:.0f} s", file=sys.stderr, flush=True)

        with TreeMemory() as memory:
            started, cpu = time.perf_counter(), _cpu_seconds()
            summary = write_site(lake, scratch / "site", every_paper=True, workers=workers, progress=progress)
            site_seconds, site_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    pages = len(summary.pages)
    print(f"lake: {lake.path} ({len(papers):,} papers)")
    print(f"one explanation ({one}): text {timings['text']:.2f} s, html {timings['html']:.2f} s (in this process)")
    print(f"{'':38} {'--all (now)':>14} {'per paper (before)':>20}")
    print(f"{'seconds for ' + format(pages, ',') + ' papers':38} {site_seconds:>14,.1f} {per_paper * pages:>20,.1f}"
          f"   (before: {per_paper:.3f} s/paper over {len(sample)} papers, extrapolated)")
    print(f"{'papers/s':38} {pages / site_seconds:>14,.1f} {1 / per_paper:>20,.1f}")
    print(f"{'speed-up':38} {per_paper * pages / site_seconds:>14,.1f}x")
    print(f"{'CPU seconds per paper (all processes)':38} {site_cpu / pages:>14,.3f} {per_paper_cpu:>20,.3f}"
          "   (the machine's other load does not count here)")
    print(f"{'load average (1 min) at the end':38} {os.getloadavg()[0]:>14,.1f}   on {os.cpu_count()} cores")
    print(f"peak memory of all processes of --all: {memory.peak_mb:,.0f} MB ({workers} chart-drawing processes)")
    print("reproduce: .venv/bin/python -m bench.bench_explain " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
