"""Retention and grace on both catalogs: what is kept is what was asked, to the second."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from tasks.lake.session import open_lake
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.lake.maintenance import (
    METADATA_CATALOG,
    cleanup_old_files,
    expire_snapshots,
    merge_adjacent_files,
)
from tasks.lake.query import run_readonly_query
from tasks.reading.split import split_records

# Between the snapshots to expire and those to keep; the retention's bound falls in its middle.
GAP_SECONDS = 3.0




@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path) -> LakeLocation:
    catalog = request.getfixturevalue("catalog_database") if request.param == "postgres" else None
    return LakeLocation(path=tmp_path / "lake", catalog=catalog)


def commit_runs(con: duckdb.DuckDBPyConnection, make_page, report_files_of, first: int, count: int) -> list[int]:
    """Commit ``count`` runs, each adding one page of a new paper; returns their snapshot ids."""
    snapshots = []
    for number in range(first, first + count):
        page = make_page(f"10.1/p{number}", datetime(2024, 1, 1, tzinfo=UTC), [("a", "Results", "supporting", 0.9)])
        with LakeWriter(con, run_id=f"run-{number}") as writer:
            writer.add_batch(split_records([page]), report_files_of([page]))
            writer.finish({"seen": 1, "new": 1})
        snapshots.append(latest_snapshot(con))
    return snapshots


def latest_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f'select max(snapshot_id) from "{METADATA_CATALOG}".ducklake_snapshot').fetchone()[0]


def snapshot_time(con: duckdb.DuckDBPyConnection, snapshot: int) -> datetime:
    query = f'select cast(snapshot_time as timestamptz) from "{METADATA_CATALOG}".ducklake_snapshot where snapshot_id = ?'
    return con.execute(query, [snapshot]).fetchone()[0]


@pytest.mark.slow
def test_retention_keeps_the_snapshots_seconds_younger_than_it(location, make_page, report_files_of):
    con = open_lake(location)
    old = commit_runs(con, make_page, report_files_of, 0, 2)
    time.sleep(GAP_SECONDS)
    young = commit_runs(con, make_page, report_files_of, 2, 2)
    # A bound in the middle of the gap: the runs before it go, the two after stay.
    bound = snapshot_time(con, old[-1]) + timedelta(seconds=GAP_SECONDS / 2)
    retention = datetime.now(UTC) - bound

    expired = expire_snapshots(con, retention)
    con.close()

    assert expired == tuple(range(0, old[-1] + 1))
    for number, snapshot in enumerate(young, start=3):
        table = run_readonly_query(location, f"select count(*) as n from paper_snapshots at (version => {snapshot})")
        assert table.column("n").to_pylist() == [number]
    with pytest.raises(duckdb.Error) as raised:
        run_readonly_query(location, f"select count(*) from papers at (version => {old[1]})")
    assert str(raised.value) == (
        f"version {old[1]} was expired by retention (citelake maintain --retention): "
        f"the oldest version kept is {young[0]}, the latest {young[-1]}"
    )
    # A version that never existed keeps DuckLake's own words.
    with pytest.raises(duckdb.Error, match=f"No snapshot found at version {young[-1] + 5}"):
        run_readonly_query(location, f"select count(*) from papers at (version => {young[-1] + 5})")


@pytest.mark.slow
def test_the_latest_snapshot_is_never_expired(location, make_page, report_files_of):
    con = open_lake(location)
    (only,) = commit_runs(con, make_page, report_files_of, 0, 1)
    assert only - 1 in expire_snapshots(con, timedelta(0))
    assert latest_snapshot(con) == only
    assert con.execute("select count(*) from papers").fetchone()[0] == 1
    con.close()


@pytest.mark.slow
def test_files_scheduled_for_deletion_wait_for_their_grace(location, make_page, report_files_of):
    con = open_lake(location)
    commit_runs(con, make_page, report_files_of, 0, 4)
    merged, _ = merge_adjacent_files(con)
    scheduled = con.execute(
        f'select path from "{METADATA_CATALOG}".ducklake_files_scheduled_for_deletion'
    ).fetchall()
    assert merged == len(scheduled) > 0
    on_disk = [location.data_path / path for (path,) in scheduled]
    assert all(path.is_file() for path in on_disk)

    # Scheduled a moment ago: an hour's grace keeps every one, on disk and on the list.
    kept = cleanup_old_files(con, timedelta(hours=1))
    assert kept.files == 0
    assert all(path.is_file() for path in on_disk)

    size = sum(path.stat().st_size for path in on_disk)
    deleted = cleanup_old_files(con, timedelta(0))
    assert (deleted.files, deleted.bytes) == (len(on_disk), size)
    assert not any(path.exists() for path in on_disk)
    assert con.execute(f'select count(*) from "{METADATA_CATALOG}".ducklake_files_scheduled_for_deletion').fetchone() == (0,)
    assert con.execute("select count(*) from papers").fetchone()[0] == 4
    con.close()
