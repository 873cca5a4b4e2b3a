"""Benchmark: the ingest of a Retraction Watch export of ``--records`` records (the live one has about 60,000, 60 MB).

Writes a synthetic export in the live layout (tests/test_retraction_watch.py
describes it: quoted fields with commas and line breaks, month-first dates,
``;``-separated lists with ``+`` reasons, ``unavailable`` and ``0`` ids, a trailing
comma) with long notes and author lists so that its size per record is the
live file's, ingests it into a new lake, then ingests a newer export (a tenth
of the records changed, a hundredth added) into the same lake. Prints the
file's size and each ingest's time. Run::

    .venv/bin/python -m bench.bench_retraction_watch                  # 60,000 records
    .venv/bin/python -m bench.bench_retraction_watch --records 5000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake
from tasks.reading.retraction_watch import HEADER

NATURES = ("Retraction",) * 8 + ("Correction", "Expression of concern", "Reinstatement")
REASONS = (
    "Concerns/Issues About Data", "Duplication of Image", "Paper Mill", "Fake Peer Review", "Error in Analyses",
    "Investigation by Journal/Publisher", "Misconduct by Author", "Plagiarism of Article", "Withdrawn (out of date)",
)  # fmt: skip
WORDS = "cell tumour growth trial data effect of in the a model patients analysis stem therapy review, mice".split()


def _record(rng: random.Random, record_id: int, revision: int) -> list[str]:
    def words(count: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(count))

    def when() -> str:
        return f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1990, 2025)} 0:00"

    missing = rng.random() < 0.05
    return [
        str(record_id),
        words(14).capitalize(),
        ";".join(f"({rng.choice('BHPS')}LS) {words(3)}" for _ in range(3)) + ";",
        ";".join(f"Department of {words(2)}, University {rng.randint(1, 999)}, City" for _ in range(4)) + ";",
        f"Journal of {words(2)}",
        f"Publisher {rng.randint(1, 400)}",
        "China;United States;",
        ";".join(f"Author {rng.randint(1, 10**6)}" for _ in range(rng.randint(1, 12))),
        f"https://retractionwatch.com/{rng.randint(2010, 2025)}/{record_id}/" if rng.random() < 0.3 else "",
        "Research Article;",
        when(),
        "unavailable" if missing else f"10.{rng.randint(1000, 9999)}/notice.{record_id}.{revision}",
        "0" if missing else str(30_000_000 + record_id),
        when(),
        "unavailable" if missing else f"10.{rng.randint(1000, 9999)}/Paper.{record_id}",
        "0" if missing else str(20_000_000 + record_id),
        rng.choice(NATURES),
        ";".join("+" + rng.choice(REASONS) for _ in range(rng.randint(1, 4))) + ";",
        rng.choice(("No", "Yes")),
        words(rng.randint(20, 140)) + ("\nSee also the notice, and the comment." if rng.random() < 0.2 else ""),
    ]


def write_export(path: Path, records: int, *, seed: int, changed: float = 0.0, added: float = 0.0, saved: datetime) -> None:
    rng = random.Random(seed)
    change = random.Random(seed + 1)
    with path.open("w", newline="", encoding="utf-8") as file:
        file.write(HEADER + "\r\n")
        writer = csv.writer(file, lineterminator="\r\n")
        for record_id in range(1, int(records * (1 + added)) + 1):
            row = _record(rng, record_id, revision=0)
            if record_id <= records and change.random() < changed:
                row[16] = "Expression of concern"
            writer.writerow([*row, ""])
    os.utime(path, (saved.timestamp(), saved.timestamp()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=60_000, help="records of the export (default 60000)")
    parser.add_argument("--seed", type=int, default=31, help="generator seed (default 31)")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="citelake-bench-rw-"))
    try:
        source = work / "source"
        source.mkdir()
        export = source / "retraction_watch.csv"
        started = time.perf_counter()
        write_export(export, arguments.records, seed=arguments.seed, saved=datetime(2025, 1, 1, tzinfo=UTC))
        print(f"export: {arguments.records:,} records, {export.stat().st_size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s")
        location = LakeLocation(path=work / "lake")
        open_lake(location).close()  # the lake's creation is not the ingest's
        started = time.perf_counter()
        ingest(source, location)
        print(f"first ingest: {time.perf_counter() - started:.1f} s")
        write_export(export, arguments.records, seed=arguments.seed, changed=0.1, added=0.01, saved=datetime(2025, 2, 1, tzinfo=UTC))
        started = time.perf_counter()
        ingest(source, location)
        print(f"ingest of a newer export (a tenth changed, a hundredth added): {time.perf_counter() - started:.1f} s")
        con = open_lake(location)
        try:
            (rows,) = con.execute("select count(*) from retractions").fetchone()
        finally:
            con.close()
        print(f"retractions: {rows:,} rows")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
