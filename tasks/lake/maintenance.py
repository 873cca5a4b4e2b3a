"""Keeping a lake small and fast: remove debris, merge small files, expire old snapshots, delete unneeded files.

Every ingest run commits one snapshot and writes at least one small Parquet file
per table it touched, so an hourly schedule leaves thousands of small files and
snapshots; a run that failed in its commit (a full disk, a kill) leaves Parquet
files that no catalog row names. One pass (:func:`maintain_lake`) does, in
this order:

1. :func:`delete_orphaned_files`: delete the Parquet files under the data path
   that the catalog does not know, once they are older than the grace (a
   writer that has not committed yet is never robbed of its files);
2. :func:`cleanup_old_files`: delete the files earlier passes scheduled for
   deletion, once they have waited their grace (no reader still scans them);
3. :func:`merge_adjacent_files`: rewrite small files into larger ones; time
   travel is kept, the replaced files are scheduled for deletion;
4. :func:`expire_snapshots`: forget snapshots older than the retention, which
   schedules the files only they needed for deletion.

Times are compared as timestamps in SQL (``sql/maintain``): DuckLake 1.5.5's own
``older_than`` compares a SQLite catalog's times as text, which expired
snapshots seconds old and ignored the grace. The snapshots to expire are
therefore chosen here and handed to DuckLake by id, and the files due are
deleted here and taken off DuckLake's list.

None of them changes what any table holds at the latest snapshot. The plain
functions take a connection (the Prefect tasks are in ``flows/maintain.py``);
:func:`maintain_lake` runs a whole pass under the lake's ingest lock.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb

from tasks.lake.session import open_lake
from tasks.lake.location import LAKE_ALIAS, LakeLocation
from tasks.lake.sql import quote_identifier, read_sql
from tasks.lake.object_storage import delete_object, is_object_url, object_stat
from tasks.lake.errors import LakeError

# Snapshots younger than this stay reachable by time travel ("the lake as of
# last Tuesday's run").
DEFAULT_SNAPSHOT_RETENTION = timedelta(days=7)
# A reader that began before a file was scheduled for deletion may still be
# scanning it, and a writer may still be committing the files it wrote; the
# lake's readers and commits take far less than this.
DEFAULT_DELETION_GRACE = timedelta(hours=1)

# DuckLake attaches a lake's catalog database under this name beside the lake.
METADATA_CATALOG = f"__ducklake_metadata_{LAKE_ALIAS}"
_MISSING_VERSION = re.compile(r"No snapshot found at version (\d+)")
_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FilesDeleted:
    """Files one step deleted: how many, and their bytes."""

    files: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    """What one maintenance pass did, in the order it did it."""

    orphans_removed: FilesDeleted
    files_deleted: FilesDeleted
    files_merged: int
    files_created: int
    expired: tuple[int, ...]
    oldest_kept: int | None = None
    search_merge: object | None = None

    @property
    def snapshots_expired(self) -> int:
        return len(self.expired)


def _metadata_sql(name: str) -> str:
    return read_sql(name).format(metadata=quote_identifier(METADATA_CATALOG))


def merge_adjacent_files(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Merge each table's small adjacent files; returns (files merged away, files written)."""
    merged = con.execute(read_sql("maintain/merge_adjacent_files.sql")).fetchall()
    return sum(row[2] for row in merged), sum(row[3] for row in merged)


def expirable_snapshots(con: duckdb.DuckDBPyConnection, retention: timedelta = DEFAULT_SNAPSHOT_RETENTION) -> list[int]:
    """The ids of the snapshots older than ``retention``, oldest first; never the latest."""
    rows = con.execute(_metadata_sql("maintain/expirable_snapshots.sql"), {"retention": retention}).fetchall()
    return [row[0] for row in rows]


def expire_snapshots(con: duckdb.DuckDBPyConnection, retention: timedelta = DEFAULT_SNAPSHOT_RETENTION) -> tuple[int, ...]:
    """Expire the snapshots older than ``retention`` (never the latest); returns their ids."""
    versions = expirable_snapshots(con, retention)
    if not versions:  # DuckLake takes an empty list for a malformed filter
        return ()
    rows = con.execute(read_sql("maintain/expire_snapshots.sql"), {"versions": versions}).fetchall()
    return tuple(sorted(row[0] for row in rows))


def _data_path(con: duckdb.DuckDBPyConnection) -> str:
    """The data path the lake was attached with: a local folder, or an ``s3://`` URL (with its trailing slash)."""
    (data_path,) = con.execute(read_sql("maintain/data_path.sql"), {"alias": LAKE_ALIAS}).fetchone()
    return data_path if data_path.endswith("/") else f"{data_path}/"


def cleanup_old_files(con: duckdb.DuckDBPyConnection, grace: timedelta = DEFAULT_DELETION_GRACE) -> FilesDeleted:
    """Delete the files scheduled for deletion more than ``grace`` ago.

    They come off the catalog's list first, then off the disk: a pass stopped
    in between leaves files no row names, which the next pass removes as
    orphans (they are older than any grace by then), never a row naming a
    file that is gone.
    """
    due = con.execute(_metadata_sql("maintain/files_due_for_deletion.sql"), {"grace": grace}).fetchall()
    if not due:
        return FilesDeleted()
    data_path = _data_path(con)
    con.execute(_metadata_sql("maintain/forget_deleted_files.sql"), {"ids": [row[0] for row in due]})
    return _remove(data_path + path if relative else path for _, path, relative in due)


def delete_orphaned_files(con: duckdb.DuckDBPyConnection, grace: timedelta = DEFAULT_DELETION_GRACE) -> FilesDeleted:
    """Delete the Parquet files under the data path that no catalog row names, last modified more than ``grace`` ago.

    DuckLake lists them (``ducklake_delete_orphaned_files``, as a dry run); each
    is checked once more for its age just before it goes, so a file a writer
    touched since the listing stays.
    """
    listed = [row[0] for row in con.execute(read_sql("maintain/orphaned_files.sql"), {"grace": grace}).fetchall()]
    bound = time.time() - grace.total_seconds()
    old = []
    for path in listed:
        try:
            if _stat(path)[1] < bound:
                old.append(path)
        except FileNotFoundError:
            continue
    return _remove(old)


def _stat(path: str) -> tuple[int, float]:
    """A data file's size and modification time (seconds since the epoch), local or on object storage."""
    if is_object_url(path):
        return object_stat(path)
    status = Path(path).stat()
    return status.st_size, status.st_mtime


def _remove(paths: Iterable[str]) -> FilesDeleted:
    files = size = 0
    for path in paths:
        try:
            length = _stat(path)[0]
            delete_object(path) if is_object_url(path) else Path(path).unlink()
        except FileNotFoundError:
            continue  # already gone: nothing to free
        files += 1
        size += length
    return FilesDeleted(files, size)


def snapshot_range(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The oldest snapshot id the lake keeps and the latest."""
    return con.execute(_metadata_sql("maintain/snapshot_range.sql")).fetchone()


def expired_version_message(con: duckdb.DuckDBPyConnection, error: BaseException) -> str | None:
    """For DuckLake's "No snapshot found at version N" of a version retention expired: a message saying so, else None.

    A version below the oldest snapshot kept, and not beyond the latest, was
    there once: snapshot ids only grow, and retention expires the oldest.
    """
    found = _MISSING_VERSION.search(str(error))
    if found is None:
        return None
    version = int(found.group(1))
    try:
        oldest, latest = snapshot_range(con)
    except duckdb.Error:
        return None
    if oldest is None or not version < oldest <= latest:
        return None
    return (
        f"version {version} was expired by retention (citelake maintain --retention): "
        f"the oldest version kept is {oldest}, the latest {latest}"
    )


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``90m``, ``30s`` (or ``0``) as a timedelta; ValueError for anything else."""
    if text.strip() == "0":
        return timedelta(0)
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration: give a number and a unit, as in 7d, 36h, 90m or 30s")
    return timedelta(**{_DURATION_UNITS[found.group(2)]: int(found.group(1))})


def maintain_lake(
    location: LakeLocation,
    *,
    retention: timedelta = DEFAULT_SNAPSHOT_RETENTION,
    grace: timedelta = DEFAULT_DELETION_GRACE,
    wait: float = 0.0,
    merge_search: bool = True,
) -> MaintenanceResult:
    """One maintenance pass over the lake, holding its ingest lock (waiting up to ``wait`` seconds for it).

    Without Prefect: ``citelake maintain`` runs this; the scheduled flow
    (``flows/maintain.py``) runs the same steps as tasks. ``merge_search`` also
    merges the search index's segments (its failure is logged, never raised:
    the index is derived).
    """
    from tasks.lake.lock import ingest_guard

    if location.catalog is None and not location.catalog_file.is_file():
        # Opening it to write would create an empty lake here.
        raise LakeError(f"no lake at {location.path}: {location.catalog_file} does not exist (run an ingest first)")
    with ingest_guard(location, wait=wait, holder="maintenance"), closing(open_lake(location)) as con:
        orphans = delete_orphaned_files(con, grace)
        deleted = cleanup_old_files(con, grace)
        merged, created = merge_adjacent_files(con)
        expired = expire_snapshots(con, retention)
        oldest, _ = snapshot_range(con)
        search_merge = _merge_search(location) if merge_search else None
    return MaintenanceResult(orphans, deleted, merged, created, expired, oldest, search_merge)


def _merge_search(location: LakeLocation) -> object | None:
    from tasks.search.segments import merge_index_segments

    try:
        return merge_index_segments(location)
    except Exception as error:  # the index is derived: its upkeep never fails the maintenance
        logger.warning("search index segments not merged: %s: %s", type(error).__name__, error)
        return None


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _ranges(ids: Iterable[int]) -> str:
    """``1-9, 12``: runs of consecutive ids."""
    spans: list[list[int]] = []
    for snapshot in sorted(ids):
        if spans and snapshot == spans[-1][1] + 1:
            spans[-1][1] = snapshot
        else:
            spans.append([snapshot, snapshot])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in spans)


def format_maintenance(location: LakeLocation, result: MaintenanceResult) -> str:
    """What a pass did, one line per step, for ``citelake maintain``."""
    lines = [f"maintained {location.describe()}"]
    lines.append(
        f"  orphans removed:  {result.orphans_removed.files} files, {_megabytes(result.orphans_removed.bytes)}"
    )
    lines.append(
        f"  deleted:          {result.files_deleted.files} files scheduled for deletion, "
        f"{_megabytes(result.files_deleted.bytes)}"
    )
    lines.append(f"  merged:           {result.files_merged} small files into {result.files_created}")
    expired = f"snapshots {_ranges(result.expired)}" if result.expired else "no snapshots"
    lines.append(f"  expired:          {expired}; the oldest version kept is {result.oldest_kept}")
    if result.search_merge is not None:
        merge = result.search_merge
        lines.append(
            f"  search index:     {merge.segments_before} segments into {merge.segments_after}, {merge.documents:,} statements"
        )
    return "\n".join(lines)
