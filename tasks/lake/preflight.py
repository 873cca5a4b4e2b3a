"""What an ingest's arguments must be: a readable source folder (or a bucket that answers), a lake folder it may write, a catalog that answers.

Each check is the one definition the ingest itself applies (discovery checks
the source, the lake's lock the lake folder), and :func:`check_ingest_arguments`
applies them all before anything starts: ``citelake ingest`` and ``serve`` call
it before they import Prefect or launch a server, so a mistyped argument is
one line at once rather than after seconds. This module imports nothing heavy
(psycopg only for a PostgreSQL catalog): what it imports delays the start of
every ingest.
"""

from __future__ import annotations

import os
from pathlib import Path

from tasks.lake.errors import ForeignLakeFolder, LakeError, LakeFolderError, SourceError, first_line
from tasks.lake.location import LakeLocation, check_lake_home
from tasks.lake.object_storage import is_object_url

# libpq's shortest connect timeout (it takes 1 for 2): a catalog server that has not
# answered by then is down or out of reach, and a slow one still gets through.
CATALOG_ANSWER_SECONDS = 2


def check_ingest_arguments(source: Path | str, location: LakeLocation) -> None:
    """Raise the error an ingest of ``source`` into ``location`` would meet first in its arguments, if any.

    :class:`SourceError` for the source (:func:`readable_source`; for an ``s3://`` source,
    ``tasks.lake.bucket_source.check_bucket_source``: one listing request),
    :class:`LakeFolderError` for the lake folder (:func:`check_lake_folder`),
    :class:`LakeError` for the catalog (:func:`check_catalog`). Nothing is written.
    """
    if is_object_url(source):
        from tasks.lake.bucket_source import check_bucket_source

        check_bucket_source(str(source))
    else:
        readable_source(Path(source))
    check_lake_folder(location)
    if location.catalog is not None:
        check_catalog(location)


def readable_source(root: Path) -> Path:
    """The source folder, resolved; :class:`SourceError` when it is missing, not a folder or unreadable."""
    try:
        real_root = root.expanduser().resolve(strict=True)
    except (OSError, RuntimeError) as error:
        raise SourceError(f"{root}: no such folder ({error.strerror if isinstance(error, OSError) else error})") from error
    if not real_root.is_dir():
        raise SourceError(f"{root}: not a folder")
    if not os.access(real_root, os.R_OK | os.X_OK):
        raise SourceError(f"{root}: cannot read the folder (permission denied)")
    return real_root


def check_lake_folder(location: LakeLocation) -> None:
    """Raise :class:`LakeFolderError` unless the lake folder is (or can be made) a folder this process can write,
    and holds a lake, nothing, or only what citelake writes (:func:`tasks.lake.location.check_lake_home`).

    The lake folder holds the lock file (embedded catalog), the Parquet files and
    the staging folders, so an ingest needs to write it whatever the catalog.
    """
    path = location.path
    existing = next((folder for folder in (path, *path.parents) if folder.exists()), path)
    if not existing.is_dir():
        where = f"LAKE {path}" if existing == path else f"LAKE {path}: {existing}"
        raise LakeFolderError(f"{where} is a file, not a lake folder: choose a folder (--lake DIR)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LakeFolderError(cannot_write_message(location))
    try:
        check_lake_home(location)
    except ForeignLakeFolder as error:
        raise LakeFolderError(str(error)) from None


def cannot_write_message(location: LakeLocation) -> str:
    return (
        f"cannot write to LAKE {location.path} (permission denied): "
        "choose a folder you can write (--lake DIR), or run as a user who can"
    )


def check_catalog(location: LakeLocation) -> None:
    """Raise :class:`LakeError` unless the PostgreSQL catalog's connection string is one and its server lets us in.

    One connection, closed at once: a refused port, a wrong password or a
    missing database are known at once, a server that does not answer after
    :data:`CATALOG_ANSWER_SECONDS`.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    assert location.catalog is not None
    try:
        conninfo_to_dict(location.catalog)
    except psycopg.ProgrammingError as error:
        raise LakeError(
            f"the catalog is not a PostgreSQL connection string (postgresql://user@host/db): {first_line(error)}"
        ) from None
    try:
        with psycopg.connect(location.catalog, connect_timeout=CATALOG_ANSWER_SECONDS, application_name="citelake check"):
            pass
    except psycopg.errors.ConnectionTimeout:
        raise LakeError(f"cannot reach the catalog of {location.describe()}: no answer within {CATALOG_ANSWER_SECONDS} s") from None
    except psycopg.Error as error:
        raise LakeError(f"cannot reach the catalog of {location.describe()}: {first_line(error)}") from None
