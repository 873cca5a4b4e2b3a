"""Benchmark: ``citelake check`` of a 500-reference BibTeX file on a generated lake of a few thousand pages.

Builds a lake with the plain ingest from a generated corpus of ``--count`` files
(reused between runs under ``--corpus`` and ``--lake``), adds one saved
``/papers`` batch that retracts some of its papers and gives others a correction
(so that the notices are read too), and writes a BibTeX file of ``--references``
entries: papers of the lake (drawn at random), DOIs the lake does not hold,
entries without a DOI and invalid DOIs. It then times, each the median of
``--repeats`` runs:

* the command, as a user runs it (a new process: start-up, reading the file,
  the lake opened read-only, the three queries, the output), per format;
* the check alone in this process (``tasks.check.references.check_file``).

It prints the figures and the command that reproduces them. Run::

    .venv/bin/python -m bench.bench_check                    # 3,000 files, 500 references
    .venv/bin/python -m bench.bench_check --count 20000 --references 2000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import ensure_corpus
from tasks.check.references import check_file
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake

REPOSITORY = Path(__file__).resolve().parent.parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3_000, help="files to generate (default 3000)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed (default 2024)")
    parser.add_argument("--references", type=int, default=500, help="entries of the BibTeX file (default 500)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement; the median is shown (default 3)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default /tmp/citelake-bench-check-COUNT-SEED/reports)")
    parser.add_argument("--lake", type=Path, help="lake folder: reused if it exists (default beside the corpus)")
    return parser.parse_args()


def _lake(arguments: argparse.Namespace, root: Path) -> LakeLocation:
    corpus = arguments.corpus or root / "reports"
    lake = LakeLocation(path=arguments.lake or root / "lake")
    if not lake.path.exists():
        ensure_corpus(corpus, arguments.count, arguments.seed)
        started = time.perf_counter()
        ingest(corpus, lake)
        print(f"Ingested {corpus} into {lake.path} in {time.perf_counter() - started:.1f} s (not counted below)")
    return lake


def _papers(lake: LakeLocation) -> list[str]:
    con = open_lake(lake, read_only=True)
    try:
        return [row[0] for row in con.execute("select doi from papers order by doi").fetchall()]
    finally:
        con.close()


def _add_notices(lake: LakeLocation, papers: list[str], root: Path, rng: random.Random) -> None:
    """One saved /papers batch: a few papers retracted, a few corrected (ingested once per lake)."""
    responses = root / "api"
    if responses.exists():
        return
    responses.mkdir(parents=True)
    chosen = rng.sample(papers, min(40, len(papers)))
    batch = {}
    for number, doi in enumerate(chosen):
        retracted = number % 2 == 0
        status = "Retraction" if retracted else "Correction"
        batch[doi] = {"doi": doi, "retracted": retracted, "editorialNotices": [
            {"status": status, "date": "2022-03-14", "noticeDoi": f"{doi}.{status.lower()}", "doi": doi, "urls": []}
        ]}
    (responses / "papers.json").write_text(json.dumps({"papers": batch}), encoding="utf-8")
    ingest(responses, lake)


def _bibtex(papers: list[str], count: int, rng: random.Random) -> str:
    """``count`` entries: 88% papers of the lake, 6% DOIs it lacks, 3% without a DOI, 3% invalid."""
    entries = []
    in_lake = rng.sample(papers, min(len(papers), count * 88 // 100))
    for number in range(count):
        kind = number % 33
        if kind == 0:
            doi_field = ""
        elif kind == 1:
            doi_field = f"  doi = {{not-a-doi-{number}}},\n"
        elif kind in (2, 3) or not in_lake:
            doi_field = f"  doi = {{10.9999/absent.{number}}},\n"
        else:
            doi_field = f"  doi = {{https://doi.org/{in_lake.pop().upper()}}},\n"
        entries.append(f"@article{{ref{number},\n  title = {{Reference {number}}},\n{doi_field}  year = {{2020}}\n}}\n")
    return "\n".join(entries)


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    arguments = _arguments()
    root = Path(tempfile.gettempdir()) / f"citelake-bench-check-{arguments.count}-{arguments.seed}"
    lake = _lake(arguments, root)
    papers = _papers(lake)
    # Two generators, so that the references drawn are the same whether the notices were added in this run or before.
    _add_notices(lake, papers, root, random.Random(arguments.seed))
    refs = root / f"refs-{arguments.references}.bib"
    refs.write_text(_bibtex(papers, arguments.references, random.Random(arguments.seed + 1)), encoding="utf-8")

    report = check_file(lake, refs)
    in_process = _median_seconds(lambda: check_file(lake, refs), arguments.repeats)
    program = [sys.executable, "-c", "from flows.cli import main; main()"]
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    commands = {}
    for output_format in ("table", "json", "html"):
        command = [*program, "check", str(refs), "--lake", str(lake.path), "-f", output_format,
                   "--out", str(root / f"report.{output_format}"), "--fail-on", "none"]

        def run(command=command) -> None:
            subprocess.run(command, check=True, capture_output=True, cwd=REPOSITORY, env=environment)

        commands[output_format] = _median_seconds(run, arguments.repeats)
    startup = _median_seconds(
        lambda: subprocess.run([*program, "--help"], check=True, capture_output=True, cwd=REPOSITORY, env=environment),
        arguments.repeats,
    )

    print(f"lake: {lake.path} ({len(papers):,} papers, {arguments.count:,} files generated)")
    print(f"references: {refs} ({len(report.checks):,} entries)")
    print(f"  {report.summary()}")
    print(f"check in this process (read the file, open the lake, three queries): {in_process:.2f} s")
    for output_format, seconds in commands.items():
        print(f"citelake check -f {output_format:<5} --out FILE (a new process): {seconds:.2f} s")
    print(f"  of which the program's start-up (citelake --help): {startup:.2f} s")
    print(f"median of {arguments.repeats} runs each; reproduce with: "
          f"{shlex.join(['.venv/bin/python', '-m', 'bench.bench_check', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
