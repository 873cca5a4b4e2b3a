"""The one place that opens the lake: a DuckDB session with the lake attached as ``lake`` and in use.

:func:`open_lake` attaches it (writable: created and migrated on first use;
read-only: checked), :func:`lake_kept_open` keeps one instance open for a run's
several opens, and the catalog's WAL journal and the writer's spill folder are
set here. :func:`connect_read_only` and :func:`attach_script` hand the lake to
notebooks, scripts and a DuckDB shell.
"""

from __future__ import annotations

import contextvars
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import duckdb

from tasks.lake.errors import LakeError
from tasks.lake.extensions import connect, extension_file, load_extensions
from tasks.lake.location import (
    LAKE_ALIAS,
    SPILL_DIR,
    LakeLocation,
    check_catalog,
    check_exists,
    check_lake_home,
    moved_from,
    record_data_path,
    resolve_location,
)
from tasks.lake.object_storage import ObjectUrl, check_reachable, create_secret, secret_script
from tasks.lake.migrations import check_readable, migrate
from tasks.lake.sql import quote_identifier, quote_literal, read_sql


# DuckDB memory of a writing connection before it spills to SPILL_DIR
# (environment CITELAKE_MEMORY_LIMIT, any DuckDB size such as '4GB'). At 1GB
# the commit of a million pages took the ingest's process to about 1.5 GB; at
# 400MB all its processes together peaked at 917 MB, in no more time. A re-save
# of all million files peaked at 998-1,016 MB at 400MB, and at 938-941 MB at
# 300MB (commit 8.0 s against 6.7 s).
DEFAULT_WRITER_MEMORY_LIMIT = "300MB"

# The embedded catalog's journal: in WAL mode readers never block the writer's
# commit (with the default rollback journal one idle reader does). WAL needs a
# local filesystem; on a network share use the PostgreSQL catalog.
CATALOG_JOURNAL_MODE = "wal"

logger = logging.getLogger(__name__)


def _catalog_extension(location: LakeLocation) -> str:
    return "postgres" if location.catalog else "sqlite"


def _extensions(location: LakeLocation) -> tuple[str, ...]:
    return ("ducklake", _catalog_extension(location), *(("httpfs",) if location.on_object_storage else ()))


def attach_script(location: LakeLocation) -> str:
    """SQL that opens the lake read-only in a DuckDB session of the pinned version: LOAD lines, ATTACH, USE.

    For a lake on object storage it creates the S3 secret from the ``AWS_*``
    variables by name (the DuckDB shell's ``getenv``), never with their values.
    """
    check_catalog(location)
    check_exists(location)
    loads = [f"load {quote_literal(str(extension_file(name)))};" for name in _extensions(location)]
    secret = [secret_script()] if location.on_object_storage else []
    statement = attach_statement(location, read_only=True, override_data_path=moved_from(location) is not None)
    return "\n".join(
        [
            f"-- citelake lake {location.describe()}; needs DuckDB {duckdb.__version__} (the extensions are built for it)",
            *loads,
            *secret,
            "".join(line for line in statement.splitlines() if not line.startswith("--")) + ";",
            f"use {quote_identifier(LAKE_ALIAS)};",
        ]
    )


def connect_read_only(lake: str | Path | None = None, catalog: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached read-only as ``lake`` and in use, for notebooks and scripts.

    ``lake`` and ``catalog`` as for the command line (default ``$CITELAKE_LAKE``,
    else ``./lake``). The connection is the caller's own DuckDB session: it can
    join the lake with any other data; the lake itself refuses writes.
    """
    return open_lake(resolve_location(lake, catalog), read_only=True)


# The lakes kept open by the lake_kept_open blocks around the running code: location ->
# the DuckDB instance that holds it attached (None until the block's first writable
# open). Per context, so that two runs in two threads of one process keep their own.
_kept: contextvars.ContextVar[dict[LakeLocation, duckdb.DuckDBPyConnection | None]] = contextvars.ContextVar(
    "citelake_kept_lakes", default={}
)
_kept_lock = threading.Lock()


@contextmanager
def lake_kept_open(location: LakeLocation, opened: LakeOpening | None = None) -> Iterator[None]:
    """Within the block, :func:`open_lake` of ``location`` hands out cursors of one DuckDB instance.

    The instance is made by the block's first writable open (which creates and
    migrates the lake as usual) and closed when the block ends. A later open,
    writable or read-only, is then a cursor of it, with the lake in use: about
    10 ms, where an open costs 0.07 s (read-only) to 0.13 s (writable: it checks
    the migrations and views), and an ingest flow opens the lake five times.
    A cursor is a connection of its own (its own transaction and temporary
    tables) that sees what the others commit; closing it leaves the instance
    open. A read-only open before any writable one opens read-only as usual.
    The block holds for the code it runs and the threads that code starts with
    its context (Prefect's task threads); a nested block for the same lake
    shares the outer one's instance. With ``opened`` (a :class:`LakeOpening` of
    ``location``), its instance is the block's, once its open is done.
    """
    outer = _kept.get()
    instance = opened.instance() if opened is not None else None
    if location in outer:
        if instance is not None:
            instance.close()
        yield
        return
    token = _kept.set({**outer, location: instance})
    try:
        yield
    finally:
        kept = _kept.get()
        _kept.reset(token)
        with _kept_lock:
            instance = kept.pop(location, None)
        if instance is not None:
            instance.close()


class LakeOpening:
    """A writable open of the lake (creating and migrating it on first use), begun in a thread now.

    ``citelake ingest`` begins it before it imports Prefect: the import holds one
    core for 1.3-2 s, and the open (0.2 s; a fresh lake's creation and migrations
    0.6 s) runs mostly in DuckDB beside it, where the flow run would do it before
    its discovery. :func:`lake_kept_open` with ``opened=`` hands its instance to the
    run. It is a head start and nothing more: a lake that does not open here is left
    to the run, which opens it again and says why. Only the embedded catalog's lake
    is opened ahead. :meth:`undo` removes the folders it made (a run that never started writes nothing).
    """

    def __init__(self, location: LakeLocation) -> None:
        self.location = location
        self.made: Path | None = None  # the first folder of the lake's path the open will make
        self._instance: duckdb.DuckDBPyConnection | None = None
        self._thread = threading.Thread(target=self._open, name="citelake-lake-opening", daemon=True)
        if location.catalog is None:
            self.made = next((folder for folder in reversed([location.path, *location.path.parents]) if not folder.exists()), None)
            self._thread.start()

    def _open(self) -> None:
        try:
            self._instance = _open_instance(self.location, read_only=False)
            # What DuckDB imports when the commit registers its first frame.
            import pyarrow.dataset  # noqa: F401
        except Exception:  # the run meets it again and reports it
            pass

    def instance(self) -> duckdb.DuckDBPyConnection | None:
        """The opened instance, once the open is done; None if it failed or was not begun."""
        if self._thread.ident is not None:
            self._thread.join()
        with _kept_lock:
            instance, self._instance = self._instance, None
        return instance

    def cursor(self) -> duckdb.DuckDBPyConnection | None:
        """A cursor of the opened instance, once the open is done (the instance stays the opening's, for :meth:`instance`); None if it failed or was handed over."""
        if self._thread.ident is not None:
            self._thread.join()
        with _kept_lock:
            instance = self._instance
            if instance is None:
                return None
            cursor = instance.cursor()
        return _in_lake(cursor)

    def undo(self, timeout: float | None = None) -> None:
        """Remove the folders the opening made, for a run that never started: once its open ends, or ``timeout`` s.

        An open still under way after ``timeout`` may make a folder again; the
        caller (a Ctrl-C's exit) ends the process at once after this.
        """
        if self._thread.ident is not None:
            self._thread.join(timeout)
        if self.made is not None:
            shutil.rmtree(self.made, ignore_errors=True)
            if self.made.exists():  # an open still under way wrote into it while it was removed
                shutil.rmtree(self.made, ignore_errors=True)


def release_kept_instance(location: LakeLocation) -> None:
    """Close the instance :func:`lake_kept_open` keeps for ``location`` (no cursor of it may be open); the next open makes a new one."""
    kept = _kept.get()
    with _kept_lock:
        instance = kept.get(location)
        if instance is not None:
            kept[location] = None
    if instance is not None:
        instance.close()


def _kept_cursor(location: LakeLocation, read_only: bool) -> duckdb.DuckDBPyConnection | None:
    """A cursor of the instance :func:`lake_kept_open` keeps for ``location`` (made now by a writable open), or None."""
    kept = _kept.get()
    with _kept_lock:
        if location not in kept:
            return None
        instance = kept[location]
        if instance is None:
            if read_only:
                return None
            instance = kept[location] = _open_instance(location, read_only=False)
        cursor = instance.cursor()
    return _in_lake(cursor)


def _in_lake(cursor: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a lake's instance with the lake in use (closed if that fails)."""
    try:
        cursor.execute(read_sql("lake/use_lake.sql"))
    except BaseException:
        cursor.close()
        raise
    return cursor


def open_lake(location: LakeLocation, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` and in use.

    A writable open creates the lake on first use and brings its schema up to
    date (migrations, then views whose file changed); when nothing is pending it
    writes nothing, so opening never adds a snapshot. A read-only open never
    migrates: it refuses a lake that does not exist yet or whose schema is newer
    than this code. Inside :func:`lake_kept_open` the connection is a cursor of
    the instance the block keeps.
    """
    kept = _kept_cursor(location, read_only)
    return kept if kept is not None else _open_instance(location, read_only=read_only)


def _open_instance(location: LakeLocation, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    check_catalog(location)
    con = connect()
    try:
        load_extensions(con, *_extensions(location))
        if location.on_object_storage:
            # Before ATTACH, which creates the catalog's tables on first use: a bucket that
            # cannot be reached fails here with one line, and nothing is written anywhere.
            check_reachable(ObjectUrl.parse(location.url))
            create_secret(con)
        _attach(con, location, read_only=read_only)
        con.execute(read_sql("lake/use_lake.sql"))
        if read_only:
            check_readable(con, location)
        else:
            _set_spill_directory(con, location)
            migrate(con, location)
    except BaseException:
        con.close()
        raise
    return con


def _attach(con: duckdb.DuckDBPyConnection, location: LakeLocation, *, read_only: bool) -> None:
    if not read_only:
        check_lake_home(location)
    if location.catalog is None:
        if read_only:
            check_exists(location)
        else:
            location.path.mkdir(parents=True, exist_ok=True)
            set_catalog_journal_mode(location)
        moved_from_folder = moved_from(location)
    else:
        moved_from_folder = None
    if not read_only:
        if location.on_object_storage:
            location.path.mkdir(parents=True, exist_ok=True)  # the local cache: index, staging, spill
        else:
            location.data_path.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(attach_statement(location, read_only=read_only, override_data_path=moved_from_folder is not None))
    except duckdb.Error as error:
        raise LakeError(f"cannot open the lake at {location.describe()}: {error}") from error
    if moved_from_folder is not None:
        if read_only:
            logger.warning("%s: the lake folder was moved or copied from %s; reading the files here", location.path, moved_from_folder)
        else:
            record_data_path(location)
            logger.warning("%s: the lake folder was moved or copied from %s; its data path now points here", location.path, moved_from_folder)


def attach_statement(location: LakeLocation, *, read_only: bool = True, override_data_path: bool = False) -> str:
    """The ATTACH statement that attaches this lake as ``lake`` (``sql/lake/attach*.sql``)."""
    if location.catalog is None:
        metadata = f"ducklake:sqlite:{location.catalog_file}"
    else:
        metadata = f"ducklake:postgres:{location.catalog}"
    # ATTACH takes no bound parameters, hence the quoted literals.
    template = read_sql("lake/attach_read_only.sql" if read_only else "lake/attach.sql")
    options = ", override_data_path true" if override_data_path else ""
    return template.format(
        metadata=quote_literal(metadata),
        alias=quote_identifier(LAKE_ALIAS),
        data_path=quote_literal(location.data_url),
        options=options,
    )


def set_catalog_journal_mode(location: LakeLocation) -> None:
    """Put the embedded catalog (new or existing) in WAL mode, so that readers never block a commit.

    The mode is stored in the SQLite file itself: set once, it holds for every
    connection, DuckDB's and any other tool's.
    """
    try:
        with closing(sqlite3.connect(location.catalog_file, timeout=30)) as catalog:
            (mode,) = catalog.execute("pragma journal_mode").fetchone()
            if mode.lower() != CATALOG_JOURNAL_MODE:
                (mode,) = catalog.execute(f"pragma journal_mode={CATALOG_JOURNAL_MODE}").fetchone()
    except sqlite3.Error as error:
        raise LakeError(f"cannot open the catalog {location.catalog_file}: {error}") from error
    if mode.lower() != CATALOG_JOURNAL_MODE:
        raise LakeError(
            f"the catalog {location.catalog_file} cannot use SQLite's WAL journal (it stays in {mode} mode): "
            "is the lake on a network share? Put it on a local disk, or use a PostgreSQL catalog (--catalog)"
        )


def _set_spill_directory(con: duckdb.DuckDBPyConnection, location: LakeLocation) -> None:
    """Let a writer's connection spill to the lake folder rather than to ``.tmp`` in whatever folder it runs in."""
    # SET takes no bound parameters, hence the quoted literal.
    spill = location.path / SPILL_DIR
    memory_limit = os.environ.get("CITELAKE_MEMORY_LIMIT", DEFAULT_WRITER_MEMORY_LIMIT)
    con.execute(
        read_sql("lake/set_spill_directory.sql").format(
            path=quote_literal(str(spill)), memory_limit=quote_literal(memory_limit)
        )
    )


