"""The maintenance flow: no debris, fewer and larger files, no snapshots or files older than needed.

    delete_orphans ─► delete_unneeded_files ─► merge_small_files ─► expire_old_snapshots ─► merge_search_segments

The steps are those of ``tasks.lake.maintenance.maintain_lake`` (which
``citelake maintain`` runs without Prefect), each a task here so that the UI
shows what each did. Files are deleted first: what this pass merges away or
expires waits at least for the next pass, so no reader loses a file it is scanning.

It holds the lake's ingest lock throughout (``tasks.lake.lock.ingest_guard``), so
it never rewrites files while an ingest is committing; when an ingest is
running it waits for it, up to ``lock_wait``.
"""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta

import duckdb
from prefect import flow, get_run_logger, task

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation, resolve_location
from tasks.lake.lock import ingest_guard
from tasks.lake.maintenance import (
    DEFAULT_DELETION_GRACE,
    DEFAULT_SNAPSHOT_RETENTION,
    FilesDeleted,
    MaintenanceResult,
    cleanup_old_files,
    delete_orphaned_files,
    expire_snapshots,
    merge_adjacent_files,
    snapshot_range,
)
from flows.ingest_tasks import OUTSIDE
from flows.search_tasks import merge_search_segments

# An hourly ingest of a large folder may run for a while; maintenance is daily
# and can wait for it rather than fail.
DEFAULT_LOCK_WAIT = timedelta(minutes=30)


def _open(location: LakeLocation) -> closing[duckdb.DuckDBPyConnection]:
    return closing(open_lake(location))


@task(**OUTSIDE)
def delete_orphans(location: LakeLocation, grace: timedelta) -> FilesDeleted:
    """Task: :func:`tasks.lake.maintenance.delete_orphaned_files` on the lake at ``location``."""
    with _open(location) as con:
        return delete_orphaned_files(con, grace)


@task(**OUTSIDE)
def delete_unneeded_files(location: LakeLocation, grace: timedelta) -> FilesDeleted:
    """Task: :func:`tasks.lake.maintenance.cleanup_old_files` on the lake at ``location``."""
    with _open(location) as con:
        return cleanup_old_files(con, grace)


@task(**OUTSIDE)
def merge_small_files(location: LakeLocation) -> tuple[int, int]:
    """Task: :func:`tasks.lake.maintenance.merge_adjacent_files` on the lake at ``location``."""
    with _open(location) as con:
        return merge_adjacent_files(con)


@task(**OUTSIDE)
def expire_old_snapshots(location: LakeLocation, retention: timedelta) -> tuple[tuple[int, ...], int]:
    """Task: :func:`tasks.lake.maintenance.expire_snapshots`; returns the ids expired and the oldest id kept."""
    with _open(location) as con:
        expired = expire_snapshots(con, retention)
        return expired, snapshot_range(con)[0]


@flow(name="citelake-maintain")
def maintain_flow(
    lake: str | None = None,
    catalog: str | None = None,
    snapshot_retention: timedelta = DEFAULT_SNAPSHOT_RETENTION,
    deletion_grace: timedelta = DEFAULT_DELETION_GRACE,
    lock_wait: timedelta = DEFAULT_LOCK_WAIT,
) -> MaintenanceResult:
    """Remove orphans and files unneeded for ``deletion_grace``, merge small files, expire snapshots older than ``snapshot_retention``.

    The grace lets a query that was reading a file finish, and keeps the files
    of a writer that has not committed yet. ``lake`` and ``catalog`` are as
    for ``citelake ingest``.
    """
    logger = get_run_logger()
    location = resolve_location(lake, catalog)
    with ingest_guard(location, wait=lock_wait.total_seconds(), holder="maintenance"):
        orphans = delete_orphans(location, deletion_grace)
        files_deleted = delete_unneeded_files(location, deletion_grace)
        files_merged, files_created = merge_small_files(location)
        expired, oldest_kept = expire_old_snapshots(location, snapshot_retention)
        search_merge = merge_search_segments(location)
    result = MaintenanceResult(
        orphans_removed=orphans,
        files_deleted=files_deleted,
        files_merged=files_merged,
        files_created=files_created,
        expired=expired,
        oldest_kept=oldest_kept,
        search_merge=search_merge,
    )
    logger.info("%s: %s", location.describe(), result)
    return result


if __name__ == "__main__":
    maintain_flow()
