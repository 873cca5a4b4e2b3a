"""The maintenance flow: fewer, larger files and no snapshots or files older than needed.

    delete_unneeded_files ─► merge_small_files ─► expire_old_snapshots ─► merge_search_segments

Files are deleted first: what this pass merges away or expires waits for the
next pass, so no reader loses a file it is scanning (see ``tasks.lake.maintenance``).

It holds the lake's ingest lock throughout (``tasks.lake.ingest.ingest_guard``), so
it never rewrites files while an ingest is committing; when an ingest is
running it waits for it, up to ``lock_wait``.
"""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, get_run_logger

from tasks.lake.ingest import ingest_guard
from tasks.lake.connection import resolve_location
from tasks.lake.maintenance import (
    DEFAULT_DELETION_GRACE,
    DEFAULT_SNAPSHOT_RETENTION,
    MaintenanceResult,
    delete_unneeded_files,
    expire_old_snapshots,
    merge_small_files,
)
from tasks.search.prefect_tasks import merge_search_segments

# An hourly ingest of a large folder may run for a while; maintenance is daily
# and can wait for it rather than fail.
DEFAULT_LOCK_WAIT = timedelta(minutes=30)


@flow(name="citelake-maintain")
def maintain_flow(
    lake: str | None = None,
    catalog: str | None = None,
    snapshot_retention: timedelta = DEFAULT_SNAPSHOT_RETENTION,
    deletion_grace: timedelta = DEFAULT_DELETION_GRACE,
    lock_wait: timedelta = DEFAULT_LOCK_WAIT,
) -> MaintenanceResult:
    """Delete files unneeded for ``deletion_grace``, merge small files, expire snapshots older than ``snapshot_retention``.

    The grace lets a query that was reading a file finish. ``lake`` and
    ``catalog`` are as for ``citelake ingest``.
    """
    logger = get_run_logger()
    location = resolve_location(lake, catalog)
    with ingest_guard(location, wait=lock_wait.total_seconds()):
        files_deleted = delete_unneeded_files(location, deletion_grace)
        files_merged, files_created = merge_small_files(location)
        snapshots_expired = expire_old_snapshots(location, snapshot_retention)
        search_merge = merge_search_segments(location)
    result = MaintenanceResult(
        files_deleted=files_deleted,
        files_merged=files_merged,
        files_created=files_created,
        snapshots_expired=snapshots_expired,
    )
    logger.info("%s: %s; search index %s", location.describe(), result, search_merge)
    return result


if __name__ == "__main__":
    maintain_flow()
