"""Readers never see a partial run, and two ingests on one lake never both write the same files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tasks.reading.frames import empty_frames
from tasks.corpus.generate import write_corpus
from tasks.lake.ingest import ingest
from tasks.lake.checks import run_checks
from tasks.lake.session import open_lake
from tasks.lake.run_record import row_counts_sql
from tasks.lake.writer import LakeWriter, file_manifest
from tasks.lake.location import LakeLocation

REPO = Path(__file__).resolve().parent.parent
TEST_SQL = Path(__file__).parent / "sql"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def lake_counts(location: LakeLocation) -> dict[str, int]:
    con = open_lake(location, read_only=True)
    try:
        return dict(con.execute(row_counts_sql()).fetchall())
    finally:
        con.close()


def start_ingest(source: Path, location: LakeLocation, env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "ingest", str(source), "--lake", str(location.path), *options],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_reader_never_sees_a_partial_run(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    source = tmp_path / "corpus"
    location = LakeLocation(path=tmp_path / "lake")
    write_corpus(source / "first", 100, seed=31)
    ingest(source, location, workers=1)
    write_corpus(source / "second", 400, seed=32)
    invariants = (TEST_SQL / "between_runs_invariants.sql").read_text()
    run_count = (TEST_SQL / "run_count.sql").read_text()
    reader = open_lake(location, read_only=True)
    runs_seen = set()
    violations = []
    queries = 0

    writer = start_ingest(source, location, cli_environment, "--batch-size", "50")
    while writer.poll() is None:
        violations += [row for row in reader.execute(invariants).fetchall() if row[1]]
        runs_seen.add(reader.execute(run_count).fetchone()[0])
        queries += 1
    violations += [row for row in reader.execute(invariants).fetchall() if row[1]]
    runs_seen.add(reader.execute(run_count).fetchone()[0])
    reader.close()

    assert writer.returncode == 0, writer.stderr.read()
    assert violations == []
    assert runs_seen == {1, 2}, "the reader saw the lake before and after the run"
    assert queries > 1


@pytest.mark.slow
def test_two_ingests_at_once_commit_the_files_once(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    source = tmp_path / "corpus"
    corpus = write_corpus(source, 1000, seed=41)
    location = LakeLocation(path=tmp_path / "lake")

    # The second starts once the first holds the lake (it says so by discovering). It is
    # refused if the first still holds it when it asks; on a loaded machine its start can
    # take longer than the first's whole run, and then it finds every file unchanged.
    # Either way the files are committed once.
    first = start_ingest(source, location, cli_environment, "--wait", "0")
    said = []
    for line in first.stderr:
        said.append(line)
        if line.startswith("discovering files"):
            break
    second = start_ingest(source, location, cli_environment, "--wait", "0")
    results = [(process.wait(timeout=180), *process.communicate()) for process in (first, second)]
    results[0] = (results[0][0], results[0][1], "".join(said) + results[0][2])

    (first_code, first_out, _), (second_code, second_out, second_err) = results
    assert first_code == 0, results
    assert f"{corpus.files:,} seen: {corpus.snapshots:,} new" in first_out, first_out
    if second_code == 0:  # it ran after the first
        assert f"{corpus.files:,} seen: 0 new, 0 changed, {corpus.files:,} unchanged" in second_out, second_out
    else:
        assert second_code == 1 and second_out == "", results
        # What it is doing first (before Prefect is imported), then one line saying why it stopped.
        starting, message = second_err.strip().splitlines()
        assert starting == "starting Prefect…"
        assert message.startswith(f"citelake ingest: another ingest is running on {location.path} since ")
        assert message.endswith("; nothing was written")
    con = open_lake(location, read_only=True)
    try:
        counts = dict(con.execute(row_counts_sql()).fetchall())
        key_findings = {finding.check_name: finding.offending_rows for finding in run_checks(con) if finding.is_key_check}
        (runs,) = con.execute((TEST_SQL / "run_count.sql").read_text()).fetchone()
    finally:
        con.close()
    assert runs == (2 if second_code == 0 else 1)
    assert counts["paper_snapshots"] == corpus.snapshots
    assert counts["report_files"] == corpus.files
    assert set(key_findings.values()) == {0}


@pytest.mark.slow
def test_an_ingest_that_may_wait_runs_after_the_other(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    source = tmp_path / "corpus"
    corpus = write_corpus(source, 200, seed=42)
    location = LakeLocation(path=tmp_path / "lake")

    processes = [start_ingest(source, location, cli_environment, "--wait", "120") for _ in range(2)]
    results = [(process.wait(timeout=180), *process.communicate()) for process in processes]

    assert [code for code, _, _ in results] == [0, 0], results
    summaries = sorted(out for _, out, _ in results)
    assert any(f"{corpus.files:,} seen: 0 new, 0 changed, {corpus.files:,} unchanged" in out for out in summaries)
    counts = lake_counts(location)
    assert counts["paper_snapshots"] == corpus.snapshots
    assert counts["report_files"] == corpus.files


@pytest.mark.slow
def test_a_writer_outside_the_guard_with_an_open_transaction_no_longer_stops_the_ingest(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    # This test used to expect a refusal: an outside connection that had only read
    # the lake and staged rows, without writing to it, held the SQLite catalog and
    # made the ingest's COMMIT fail ("database is locked"). With the catalog in WAL
    # mode nothing it holds stands in the way; a catalog that is really locked is
    # tests/test_lake_readers.py::test_a_locked_catalog_is_named_as_such_with_the_process_holding_it.
    source = tmp_path / "corpus"
    write_corpus(source, 20, seed=43)
    location = LakeLocation(path=tmp_path / "lake")
    ingest(source, location, workers=1)
    before = lake_counts(location)
    next(source.rglob("*.txt")).write_text("no longer a report")
    # A writer that bypasses the ingest lock and keeps its transaction open on the same rows.
    other = open_lake(location)
    outsider = LakeWriter(other, run_id="outsider").__enter__()
    outsider.add_batch(
        empty_frames(),
        file_manifest(other).with_columns(
            status=pl.lit("duplicate"), reason=pl.lit(None, pl.Utf8), warnings=pl.lit([], pl.List(pl.Utf8))
        ),
    )

    run = start_ingest(source, location, cli_environment, "--workers", "1")
    code, out, err = run.wait(timeout=120), *run.communicate()

    other.rollback()
    other.close()
    assert code == 0, err
    assert "1 rejected" in out, out
    con = open_lake(location, read_only=True)
    try:
        assert con.execute("select count(*) from runs").fetchone() == (2,)
    finally:
        con.close()
    assert lake_counts(location)["papers"] == before["papers"]
