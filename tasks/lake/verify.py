"""Is a lake sound? ``citelake verify``: its catalog, the files its latest snapshot reads, its search index.

Three checks, none of which writes to the lake:

1. the catalog: SQLite's ``integrity_check`` of the embedded catalog (opened
   read-only), or for a PostgreSQL catalog that DuckLake's tables are there;
   in both, that every table holding inlined rows exists;
2. every data file and delete file the latest snapshot reads: it exists, has
   the size the catalog records, a Parquet footer that can be read and the
   rows the catalog records; with ``deep``, every page of every column is
   decoded too (a damaged page behind an intact footer is found only then);
3. the search index (``LAKE/_search``): derived from the lake and brought up to
   date or rebuilt by the next search or ingest, so what is wrong with it is a
   warning, not a problem of the lake.

Each problem names its table and file. Prefect stays out of this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import duckdb

from tasks.lake.session import open_lake
from tasks.lake.location import LAKE_ALIAS, LakeLocation
from tasks.lake.sql import quote_identifier, read_sql
from tasks.lake.object_storage import is_object_url, object_stat, read_object
from tasks.lake.errors import LakeError

# The database under which DuckDB shows an attached lake's own catalog tables.
METADATA_CATALOG = f"__ducklake_metadata_{LAKE_ALIAS}"
# DuckLake's catalog tables that every lake holds, whatever it stores.
CATALOG_TABLES = (
    "ducklake_metadata",
    "ducklake_snapshot",
    "ducklake_snapshot_changes",
    "ducklake_schema",
    "ducklake_table",
    "ducklake_view",
    "ducklake_column",
    "ducklake_data_file",
    "ducklake_delete_file",
    "ducklake_files_scheduled_for_deletion",
    "ducklake_inlined_data_tables",
    "ducklake_table_stats",
    "ducklake_table_column_stats",
    "ducklake_file_column_stats",
)
CATALOG_TABLE = "catalog"
# integrity_check lists every fault; past this many the rest are counted in one line.
MAX_INTEGRITY_LINES = 10
# Rows decoded at a time by a deep check: a file of any size is read in bounded memory.
DEEP_BATCH_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault of the lake: the table (or ``catalog``) and the file it is in, and what is wrong."""

    table: str
    file: str
    reason: str

    def line(self) -> str:
        return f"{self.table}: {self.file}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CatalogFile:
    """A data or delete file as the catalog records it, with where it is on disk."""

    table: str
    kind: str  # "data" or "delete"
    path: Path | str  # a str for a file on object storage (an s3:// URL)
    size: int
    rows: int


@dataclass(slots=True)
class Verification:
    """What :func:`verify_lake` found, and how much it checked."""

    lake: str
    deep: bool
    snapshot_id: int | None = None
    tables: int = 0
    files: int = 0
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not self.problems

    def closing_line(self) -> str:
        if self.problems:
            count = len(self.problems)
            return f"lake {self.lake}: {count} problem{'' if count == 1 else 's'}"
        how = "rows read" if self.deep else "rows checked"
        return f"lake {self.lake}: sound ({self.tables:,} tables, {self.files:,} files, {self.rows:,} {how})"


def verify_lake(location: LakeLocation, *, deep: bool = False) -> Verification:
    """Check the lake at ``location`` (see the module's docstring); never writes to it.

    Raises :class:`LakeError` when there is no lake there at all.
    """
    if location.catalog is None and not location.catalog_file.is_file():
        raise LakeError(f"no lake at {location.path}: {location.catalog_file} does not exist")
    result = Verification(lake=location.describe(), deep=deep)
    result.problems.extend(check_catalog(location))
    try:
        con = open_lake(location, read_only=True)
    except (LakeError, duckdb.Error) as error:
        result.problems.append(Problem(CATALOG_TABLE, _catalog_name(location), f"cannot be opened: {_first_line(error)}"))
        return result
    with closing(con):
        try:
            snapshot = latest_snapshot(con, METADATA_CATALOG)
            result.snapshot_id = snapshot
            result.tables = _table_count(con, snapshot)
            data_path = location.data_url if location.on_object_storage else location.data_path
            files = catalog_files(con, METADATA_CATALOG, data_path, snapshot=snapshot)
        except duckdb.Error as error:
            result.problems.append(Problem(CATALOG_TABLE, _catalog_name(location), f"cannot be read: {_first_line(error)}"))
            return result
    for file in files:
        problem, rows = check_file(file, location, deep=deep)
        result.files += 1
        if problem is not None:
            result.problems.append(problem)
        elif file.kind == "data":
            result.rows += rows
    result.warnings.extend(search_index_warnings(location, result.snapshot_id))
    return result


# ---------------------------------------------------------------------------
# 1. The catalog
# ---------------------------------------------------------------------------


def check_catalog(location: LakeLocation) -> list[Problem]:
    """The catalog's own soundness: SQLite's integrity check, and DuckLake's tables present."""
    return _check_postgres_catalog(location) if location.catalog else _check_sqlite_catalog(location)


def _check_sqlite_catalog(location: LakeLocation) -> list[Problem]:
    name = _catalog_name(location)
    try:
        with closing(sqlite3.connect(f"{location.catalog_file.as_uri()}?mode=ro", uri=True, timeout=30)) as catalog:
            faults = [row[0] for row in catalog.execute(read_sql("verify/integrity_check.sql"))]
            if faults != ["ok"]:
                problems = [Problem(CATALOG_TABLE, name, f"integrity check: {fault}") for fault in faults[:MAX_INTEGRITY_LINES]]
                if len(faults) > MAX_INTEGRITY_LINES:
                    more = len(faults) - MAX_INTEGRITY_LINES
                    problems.append(Problem(CATALOG_TABLE, name, f"integrity check: {more} more faults"))
                return problems
            present = {row[0] for row in catalog.execute(read_sql("verify/catalog_tables_sqlite.sql"))}
            inlined = [row[0] for row in catalog.execute(read_sql("verify/inlined_tables.sql"))]
    except sqlite3.Error as error:
        return [Problem(CATALOG_TABLE, name, f"integrity check failed: {_first_line(error)}")]
    return _missing_tables(name, present, inlined)


def _check_postgres_catalog(location: LakeLocation) -> list[Problem]:
    import psycopg

    name = _catalog_name(location)
    try:
        with psycopg.connect(location.catalog, autocommit=True, connect_timeout=30, application_name="citelake verify") as catalog:
            present = {row[0] for row in catalog.execute(read_sql("verify/catalog_tables_postgres.sql"))}
            inlined = []
            if "ducklake_inlined_data_tables" in present:
                inlined = [row[0] for row in catalog.execute(read_sql("verify/inlined_tables.sql"))]
    except psycopg.Error as error:
        return [Problem(CATALOG_TABLE, name, f"cannot be read: {_first_line(error)}")]
    return _missing_tables(name, present, inlined)


def _missing_tables(name: str, present: set[str], inlined: list[str]) -> list[Problem]:
    problems = [
        Problem(CATALOG_TABLE, name, f"DuckLake's table {table} is missing") for table in CATALOG_TABLES if table not in present
    ]
    problems += [
        Problem(CATALOG_TABLE, name, f"the table of inlined rows {table} is missing") for table in inlined if table not in present
    ]
    return problems


def _catalog_name(location: LakeLocation) -> str:
    return location.catalog if location.catalog else str(location.catalog_file)


# ---------------------------------------------------------------------------
# 2. The files
# ---------------------------------------------------------------------------


def latest_snapshot(con: duckdb.DuckDBPyConnection, catalog: str) -> int:
    """The newest snapshot of the DuckLake catalog attached as ``catalog`` in ``con``."""
    (snapshot,) = con.execute(read_sql("verify/latest_snapshot.sql").format(catalog=quote_identifier(catalog))).fetchone()
    return int(snapshot)


def _table_count(con: duckdb.DuckDBPyConnection, snapshot: int) -> int:
    statement = read_sql("verify/snapshot_tables.sql").format(catalog=quote_identifier(METADATA_CATALOG))
    (count,) = con.execute(statement, {"snapshot": snapshot}).fetchone()
    return int(count)


def catalog_files(
    con: duckdb.DuckDBPyConnection, catalog: str, data_path: Path | str, *, snapshot: int | None = None
) -> list[CatalogFile]:
    """The files the catalog attached as ``catalog`` references: snapshot ``snapshot``'s, or every kept snapshot's (None).

    Relative paths are resolved under ``data_path``, the lake's data folder where
    it is now (a moved or copied lake reads its files there), or its ``s3://``
    data URL, whose files' paths are then URLs (str), not local paths.
    """
    statement = read_sql("verify/catalog_files.sql").format(catalog=quote_identifier(catalog))
    rows = con.execute(statement, {"snapshot": snapshot or 0, "every_snapshot": snapshot is None}).fetchall()
    remote = is_object_url(str(data_path))
    join = (lambda folder, name: f"{str(folder).rstrip('/')}/{name}") if remote else (lambda folder, name: Path(folder) / name)
    absolute = str if remote else Path
    found = []
    for table, kind, path, relative, table_path, table_relative, schema_path, schema_relative, size, records in rows:
        folder = data_path if remote else Path(data_path)
        if schema_path:
            folder = join(folder, schema_path) if schema_relative else absolute(schema_path)
        if table_path:
            folder = join(folder, table_path) if table_relative else absolute(table_path)
        found.append(
            CatalogFile(
                table=table,
                kind=kind,
                path=join(folder, path) if relative else absolute(path),
                size=int(size or 0),
                rows=int(records or 0),
            )
        )
    return found


def check_file(file: CatalogFile, location: LakeLocation, *, deep: bool = False) -> tuple[Problem | None, int]:
    """The first thing wrong with one file, or None; and the rows it holds (by its footer, or as read with ``deep``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def problem(reason: str) -> tuple[Problem, int]:
        return Problem(file.table, shown_path(file.path, location), reason), 0

    remote = isinstance(file.path, str)
    try:
        size = object_stat(file.path)[0] if remote else file.path.stat().st_size
    except FileNotFoundError:
        return problem(f"missing ({file.kind} file of {file.size:,} bytes)")
    except OSError as error:
        return problem(f"cannot be read: {error.strerror or error}")
    if size != file.size:
        what = "truncated" if size < file.size else "longer than recorded"
        return problem(f"{what}: {size:,} bytes, the catalog records {file.size:,}")
    try:
        # A file on object storage is read whole (a lake's data files are tens of MB at most).
        parquet = pq.ParquetFile(pa.BufferReader(read_object(file.path)) if remote else file.path)
    except (OSError, ValueError) as error:  # pyarrow: ArrowInvalid (a ValueError) or ArrowIOError
        return problem(f"unreadable Parquet footer: {_first_line(error)}")
    with closing(parquet):
        rows = parquet.metadata.num_rows
        if rows != file.rows:
            return problem(f"its footer holds {rows:,} rows, the catalog records {file.rows:,}")
        if not deep:
            return None, rows
        try:
            read = sum(batch.num_rows for batch in _batches(parquet))
        except (OSError, ValueError) as error:
            return problem(f"unreadable data: {_first_line(error)}")
    if read != file.rows:
        return problem(f"{read:,} rows read, the catalog records {file.rows:,}")
    return None, read


def _batches(parquet) -> Iterator:
    # Every column of every row group: a page is only checked when it is decoded.
    yield from parquet.iter_batches(batch_size=DEEP_BATCH_ROWS, use_threads=False)


def shown_path(path: Path | str, location: LakeLocation) -> str:
    """A file's path as shown in a problem: relative to the lake folder (or its URL) when it lies inside it."""
    if isinstance(path, str):
        return path.removeprefix(f"{location.url}/")
    try:
        return str(PurePosixPath(path.relative_to(location.path)))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------
# 3. The search index
# ---------------------------------------------------------------------------


def search_index_warnings(location: LakeLocation, snapshot: int | None) -> list[str]:
    """What is amiss with the search index: warnings, since the next search or ingest updates or rebuilds it."""
    from tasks.search.index import POINTER_FILE, SearchIndexError, index_root, open_generation

    root = index_root(location)
    if not (root / POINTER_FILE).is_file():
        return [f"search index: none in {root} yet (the first search builds it)"]
    try:
        stamped = open_generation(location).stamp.snapshot_id
    except SearchIndexError as error:
        return [f"search index: {error}; the next search rebuilds it"]
    if snapshot is None or stamped == snapshot:
        return []
    if stamped > snapshot:
        # The index saw commits the catalog no longer has: the catalog was restored
        # from a backup or lost them. Not the index's fault, and it will be rebuilt.
        return [
            f"search index: reflects snapshot {stamped}, newer than the lake's latest {snapshot} "
            "(was the catalog restored?); the next search rebuilds it"
        ]
    return [f"search index: reflects snapshot {stamped}, the lake is at {snapshot}; the next search or ingest updates it"]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
