"""The maintenance flow on a lake with several runs: fewer files and snapshots, the same content."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ingest import ingest_flow
from flows.maintain import maintain_flow
from tasks.corpus.generate import write_corpus
from tasks.lake.errors import IngestCollision
from tasks.lake.lock import ingest_guard
from tasks.lake.session import open_lake
from tasks.lake.query import USER_TABLES
from tasks.lake.location import LakeLocation

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]  # every test runs a flow

RUNS = 3


def lake_state(lake: Path) -> tuple[dict[str, list[tuple]], int, int]:
    """Every row of every user table, the number of snapshots, and the Parquet files on disk."""
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        contents = {table: con.execute(f"select * from {table} order by all").fetchall() for table in USER_TABLES}
        (snapshots,) = con.execute("select count(*) from lake.snapshots()").fetchone()
    finally:
        con.close()
    return contents, snapshots, len(list((lake / "data").rglob("*.parquet")))


@pytest.fixture
def lake_of_several_runs(tmp_path) -> Path:
    """A lake that took ``RUNS`` ingests, each adding another folder of reports: many small files."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    # The parse runs in threads: this builds a lake to maintain, and a process
    # pool per run would only cost time.
    ingest = ingest_flow.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    for run in range(RUNS):
        write_corpus(source / f"part-{run}", 60, seed=run)
        ingest(source=str(source), lake=str(lake))
    return lake


@pytest.mark.slow
def test_maintenance_merges_files_and_expires_snapshots_but_keeps_every_row(lake_of_several_runs):
    lake = lake_of_several_runs
    contents, snapshots_before, files_before = lake_state(lake)

    # First pass, defaults (a week of snapshots, an hour of grace): the runs'
    # small files are merged; every snapshot stays, and so do the replaced files.
    first = maintain_flow(lake=str(lake))
    assert first.files_merged > first.files_created > 0
    assert first.files_deleted.files == first.snapshots_expired == first.orphans_removed.files == 0
    contents_after, snapshots_after, files_after = lake_state(lake)
    assert contents_after == contents
    assert snapshots_after == snapshots_before + 1  # the merge is a commit of its own
    assert files_after == files_before + first.files_created

    # Second pass, no retention and no grace: the files the first pass merged
    # away are deleted, and every snapshot but the latest expires.
    second = maintain_flow(lake=str(lake), snapshot_retention=timedelta(0), deletion_grace=timedelta(0))
    assert second.files_deleted.files == first.files_merged
    assert second.snapshots_expired >= snapshots_after - 1
    contents_after, snapshots_after, files_after = lake_state(lake)
    assert contents_after == contents
    assert snapshots_after == 1
    assert files_after == files_before - first.files_merged + first.files_created < files_before


def test_maintenance_does_not_run_while_an_ingest_holds_the_lake(lake_location, lake):
    with ingest_guard(lake_location):
        state = maintain_flow(lake=str(lake_location.path), lock_wait=timedelta(0), return_state=True)
    assert state.is_failed()
    with pytest.raises(IngestCollision, match="another ingest is running"):
        state.result()
