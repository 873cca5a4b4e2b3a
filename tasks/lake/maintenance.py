"""Keeping a lake small and fast: merge small files, expire old snapshots, delete unneeded files.

Every ingest run commits one snapshot and writes at least one small Parquet file
per table it touched, so an hourly schedule leaves thousands of small files and
snapshots. The three DuckLake maintenance calls of ``sql/maintain`` undo that,
in this order:

1. :func:`cleanup_old_files`: delete the files earlier passes scheduled for
   deletion, once they have waited their grace (no reader still scans them);
2. :func:`merge_adjacent_files`: rewrite small files into larger ones; time
   travel is kept, the replaced files are scheduled for deletion;
3. :func:`expire_snapshots`: forget snapshots older than the retention, which
   schedules the files only they needed for deletion.

Deleting first means the files a pass schedules wait for the next pass (a day,
on the default schedule) whatever the grace. That also contains a flaw of
DuckLake 1.5.5 with the SQLite catalog, which keeps these times as text and
compares them as text: everything stamped on the same UTC day as an
``older_than`` bound counts as older than it. On a SQLite catalog the snapshot
retention is therefore up to a day shorter than asked, and a grace shorter
than a day is not kept for files scheduled earlier the same day.

None of them changes what any table holds at the latest snapshot. The plain
functions take a connection; the ``@task`` wrappers at the end open the lake.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta

import duckdb
from prefect import task

from tasks.lake.prefect_tasks import OUTSIDE
from tasks.lake.connection import LakeLocation, open_lake, read_sql

# Snapshots younger than this stay reachable by time travel ("the lake as of
# last Tuesday's run").
DEFAULT_SNAPSHOT_RETENTION = timedelta(days=7)
# A reader that began before a file was scheduled for deletion may still be
# scanning it; the lake's readers are interactive queries, far shorter than this.
DEFAULT_DELETION_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    """What one maintenance pass did, in the order it did it."""

    files_deleted: int
    files_merged: int
    files_created: int
    snapshots_expired: int


def merge_adjacent_files(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Merge each table's small adjacent files; returns (files merged away, files written)."""
    merged = con.execute(read_sql("maintain/merge_adjacent_files.sql")).fetchall()
    return sum(row[2] for row in merged), sum(row[3] for row in merged)


def expire_snapshots(con: duckdb.DuckDBPyConnection, retention: timedelta = DEFAULT_SNAPSHOT_RETENTION) -> int:
    """Expire the snapshots older than ``retention`` (never the latest); returns how many."""
    return len(con.execute(read_sql("maintain/expire_snapshots.sql"), {"retention": retention}).fetchall())


def cleanup_old_files(con: duckdb.DuckDBPyConnection, grace: timedelta = DEFAULT_DELETION_GRACE) -> int:
    """Delete the files scheduled for deletion more than ``grace`` ago; returns how many."""
    return len(con.execute(read_sql("maintain/cleanup_old_files.sql"), {"grace": grace}).fetchall())


def _open(location: LakeLocation) -> closing[duckdb.DuckDBPyConnection]:
    return closing(open_lake(location))


@task(**OUTSIDE)
def merge_small_files(location: LakeLocation) -> tuple[int, int]:
    """Task: :func:`merge_adjacent_files` on the lake at ``location``."""
    with _open(location) as con:
        return merge_adjacent_files(con)


@task(**OUTSIDE)
def expire_old_snapshots(location: LakeLocation, retention: timedelta) -> int:
    """Task: :func:`expire_snapshots` on the lake at ``location``."""
    with _open(location) as con:
        return expire_snapshots(con, retention)


@task(**OUTSIDE)
def delete_unneeded_files(location: LakeLocation, grace: timedelta) -> int:
    """Task: :func:`cleanup_old_files` on the lake at ``location``."""
    with _open(location) as con:
        return cleanup_old_files(con, grace)
