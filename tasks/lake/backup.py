"""A consistent copy of a lake, taken while an ingest may be running: ``citelake backup DEST``.

1. The embedded catalog is copied through SQLite's backup API, which reads it in
   one read transaction: the copy is the catalog as of one commit, whatever a
   writer does meanwhile (the catalog is in WAL mode, so the writer is not held up).
2. The files the copied catalog references, those of every snapshot it keeps
   (so time travel works in the copy too), are copied from the lake's data
   folder. Files an ingest writes after step 1 are not referenced, so not copied.
3. The copy records its own data folder, so it opens as a lake where it is.

All of it is written to ``DEST.partial`` and renamed to ``DEST`` at the end, so
``DEST`` is either a whole backup or absent.

The lake's lock is not taken: it is the ingest lock, exclusive, so the backup
would wait for a running ingest or hold up the next one. It is not needed: a
Parquet file is never rewritten, an ingest never deletes one, and maintenance
deletes only files scheduled for deletion at least its grace (an hour) earlier.
Should a file vanish anyway, the backup stops with a line saying so.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tasks.lake.location import CATALOG_FILE, DATA_DIR, LakeLocation
from tasks.lake.extensions import connect, load_extensions
from tasks.lake.sql import quote_identifier, quote_literal, read_sql
from tasks.lake.errors import LakeError
from tasks.lake.verify import catalog_files, latest_snapshot

PARTIAL_SUFFIX = ".partial"
# Written first into DEST.partial: a partial folder with it is one a stopped backup left, and may be removed.
PARTIAL_MARK = ".citelake-backup-partial"
COPY_ALIAS = "catalog_copy"
COPY_CHUNK = 1 << 20


class BackupError(LakeError):
    """The backup cannot be written as asked; the message names the lake or DEST and says why."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What a backup holds: the snapshot its catalog was copied at, and the files and bytes copied."""

    destination: Path
    snapshot_id: int
    files: int
    bytes: int

    def describe(self) -> str:
        return (
            f"backup {self.destination}: snapshot {self.snapshot_id}, "
            f"{self.files:,} files and the catalog, {self.bytes / 1e6:,.1f} MB"
        )


def backup_lake(location: LakeLocation, destination: Path) -> BackupSummary:
    """Copy the lake at ``location`` to ``destination`` (a missing or empty folder), as described above."""
    if location.catalog is not None:
        raise BackupError(
            f"{location.describe()} has a PostgreSQL catalog: back it up with pg_dump of the catalog database "
            f"plus a copy of {location.data_url} taken after the dump"
        )
    if not location.catalog_file.is_file():
        raise BackupError(f"no lake at {location.path}: {location.catalog_file} does not exist")
    destination = _checked_destination(location, destination)
    partial = destination.with_name(destination.name + PARTIAL_SUFFIX)
    _clear_partial(partial)
    try:
        partial.mkdir(parents=True)
        (partial / PARTIAL_MARK).touch()
        _copy_catalog(location.catalog_file, partial / CATALOG_FILE)
        snapshot, files = _referenced_files(partial / CATALOG_FILE, location)
        copied = 0
        for source in files:
            target = partial / DATA_DIR / source.relative_to(location.data_path)
            copied += _copy_file(source, target)
        (partial / DATA_DIR).mkdir(exist_ok=True)
        _record_own_data_path(partial / CATALOG_FILE, destination / DATA_DIR)
        (partial / PARTIAL_MARK).unlink()
        _sync_folder(partial)
        partial.rename(destination)
        _sync_folder(destination.parent)
    except BaseException as error:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(error, OSError):  # a full disk, a folder that cannot be written: say where, in one line
            where = f" ({error.filename})" if error.filename else ""
            raise BackupError(
                f"cannot write the backup {destination}: {error.strerror or error}{where}; nothing was kept"
            ) from error
        raise
    return BackupSummary(destination=destination, snapshot_id=snapshot, files=len(files), bytes=copied)


def _checked_destination(location: LakeLocation, destination: Path) -> Path:
    destination = Path(destination).expanduser().absolute()
    if destination.exists():
        if not destination.is_dir():
            raise BackupError(f"DEST {destination} is a file: name a missing or empty folder")
        if any(destination.iterdir()):
            raise BackupError(f"DEST {destination} is not empty: name a missing or empty folder")
    real = destination.resolve()
    lake = location.path.resolve()
    if real == lake or lake in real.parents:
        raise BackupError(f"DEST {destination} is inside the lake {location.path}: name a folder outside it")
    return destination


def _clear_partial(partial: Path) -> None:
    """Remove what a stopped backup left in ``DEST.partial``; refuse a folder of that name that is not one."""
    if not partial.exists():
        return
    if not (partial / PARTIAL_MARK).is_file():
        raise BackupError(f"{partial} exists and is not a backup in progress: move it away first")
    shutil.rmtree(partial)


def _copy_catalog(source: Path, target: Path) -> None:
    """The catalog as of one commit, through SQLite's backup API (one step: one read transaction)."""
    try:
        with closing(sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=60)) as catalog, closing(
            sqlite3.connect(target)
        ) as copy:
            catalog.backup(copy, pages=-1)
    except sqlite3.Error as error:
        raise BackupError(f"cannot copy the catalog {source}: {error}") from error
    _sync_file(target)


def _referenced_files(catalog_copy: Path, location: LakeLocation) -> tuple[int, list[Path]]:
    """The copied catalog's latest snapshot, and the files of the lake every snapshot it keeps references."""
    with closing(connect()) as con:
        load_extensions(con, "sqlite")
        con.execute(
            read_sql("verify/attach_catalog_copy.sql").format(
                path=quote_literal(str(catalog_copy)), alias=quote_identifier(COPY_ALIAS)
            )
        )
        snapshot = latest_snapshot(con, COPY_ALIAS)
        files = catalog_files(con, COPY_ALIAS, location.data_path)
    outside = [file.path for file in files if location.data_path not in file.path.parents]
    if outside:
        raise BackupError(
            f"the lake {location.path} references {len(outside)} files outside its data folder, e.g. {outside[0]}: "
            "copy it by hand"
        )
    return snapshot, sorted({file.path for file in files})


def _copy_file(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(source, "rb") as reader, open(target, "wb") as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
    except FileNotFoundError:
        if source.exists():
            raise
        raise BackupError(
            f"{source} vanished while it was copied (a maintenance pass deleted it?): run the backup again"
        ) from None
    shutil.copystat(source, target)
    return target.stat().st_size


def _record_own_data_path(catalog_copy: Path, data_path: Path) -> None:
    """Make the copy's data folder its data path, so it opens where it is without being taken for a moved lake."""
    with closing(sqlite3.connect(catalog_copy)) as copy, copy:
        copy.execute(read_sql("lake/record_data_path.sql"), {"data_path": f"{data_path}/"})
    _sync_file(catalog_copy)


def _sync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _sync_folder(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
