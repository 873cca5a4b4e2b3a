"""A killed ingest leaves the lake at its previous snapshot, and the next run finishes the work exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.corpus.generate import write_corpus
from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake
from tasks.lake.query import USER_TABLES
from tasks.lake.run_record import row_counts_sql
from tasks.lake.location import LakeLocation
from tasks.lake.sql import quote_identifier

REPO = Path(__file__).resolve().parent.parent
TEST_SQL = Path(__file__).parent / "sql"
BATCH_SIZE = 75
# Per-run records differ between any two lakes by design; the tables of data must not.
COMPARED_TABLES = [table for table in USER_TABLES if table not in ("runs", "check_findings")]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def lake_state(location: LakeLocation) -> tuple[int, dict[str, int]]:
    """The lake's current snapshot id and its rows per table."""
    con = open_lake(location, read_only=True)
    try:
        (snapshot_id,) = con.execute((TEST_SQL / "latest_snapshot.sql").read_text()).fetchone()
        return snapshot_id, dict(con.execute(row_counts_sql()).fetchall())
    finally:
        con.close()


def lake_content(location: LakeLocation) -> dict[str, list[tuple]]:
    """Every row of the data tables, without the ids of the runs that wrote them."""
    template = (TEST_SQL / "table_content.sql").read_text()
    con = open_lake(location, read_only=True)
    try:
        return {table: con.execute(template.format(table=quote_identifier(table))).fetchall() for table in COMPARED_TABLES}
    finally:
        con.close()


def kill_ingest_at(source: Path, location: LakeLocation, marker: str, env: dict[str, str]) -> str:
    """Start ``citelake ingest`` and SIGKILL it (and its parser processes) when it prints ``marker``.

    Returns what it printed on stderr up to then.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "ingest", str(source), "--lake", str(location.path),
         "--batch-size", str(BATCH_SIZE), "--workers", "2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill reaches the parser processes too
    )
    printed = []
    try:
        for line in process.stderr:
            printed.append(line)
            if line.startswith(marker):
                os.killpg(process.pid, signal.SIGKILL)
                break
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL, f"the run ended before {marker!r}: {''.join(printed)}"
    return "".join(printed)


@pytest.mark.slow
def test_a_killed_ingest_leaves_the_previous_snapshot_and_a_rerun_completes_it(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    source = tmp_path / "corpus"
    reference = LakeLocation(path=tmp_path / "reference")  # runs uninterrupted
    location = LakeLocation(path=tmp_path / "lake")  # runs killed at several points
    write_corpus(source / "first", 150, seed=21)
    ingest(source, reference, batch_size=BATCH_SIZE, workers=2)
    ingest(source, location, batch_size=BATCH_SIZE, workers=2)
    write_corpus(source / "second", 450, seed=22)
    ingest(source, reference, batch_size=BATCH_SIZE, workers=2)
    before = lake_state(location)

    for marker in ("planned:", "parsed:"):
        kill_ingest_at(source, location, marker, cli_environment)
        assert lake_state(location) == before, f"killed at {marker!r}"

    printed = kill_ingest_at(source, location, "committing:", cli_environment)
    # Killed while committing, the run is either all in or not at all.
    if lake_state(location) != before:
        assert lake_content(location) == lake_content(reference), printed

    ingest(source, location, batch_size=BATCH_SIZE, workers=2)

    assert lake_content(location) == lake_content(reference)
    assert lake_state(location)[1] == lake_state(reference)[1]
