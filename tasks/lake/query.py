"""Reading the lake from outside: users' SQL (read-only, twice over) and a Parquet export."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.lake import tables
from tasks.lake.session import open_lake
from tasks.lake.extensions import connect
from tasks.lake.location import LAKE_ALIAS, LakeLocation
from tasks.lake.sql import quote_literal, read_sql

# The tables users query and export, in the order a reader meets them (the registry's).
USER_TABLES: tuple[str, ...] = tables.EXPORTED_TABLES
# The lake's own bookkeeping tables, never exported.
INTERNAL_TABLES: tuple[str, ...] = tables.names(exported=False)

# SELECT covers DESCRIBE, SHOW, SUMMARIZE, FROM-first queries and the PRAGMAs
# that only list things: DuckDB parses those as selects. EXPLAIN is allowed
# only of a statement that is allowed itself.
READ_STATEMENT_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+(?:analy[sz]e\s+)?(?:\([^)]*\)\s*)?", re.IGNORECASE)
# Table functions a query may call: they read the lake or describe the session.
# Everything else (the DuckLake functions that write or delete files, query()
# that runs SQL from a string, the file readers) is refused by name; the file
# readers could not leave the lake anyway (see sql/query/confine.sql).
_LAKE_READERS = frozenset(
    {
        "snapshots",
        "current_snapshot",
        "last_committed_snapshot",
        "table_info",
        "table_changes",
        "table_insertions",
        "table_deletions",
        "list_files",
        "options",
        "settings",
    }
)
_ALLOWED_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree", "summary", "repeat", "repeat_row"}
    | _LAKE_READERS
    | {f"ducklake_{name}" for name in _LAKE_READERS}
)
_ALLOWED_TABLE_FUNCTION_PREFIXES = ("duckdb_", "pragma_")
# PRAGMAs have no parse tree to inspect: these list things and change nothing.
_LISTING_PRAGMA = re.compile(
    r"^\s*pragma\s+(table_info|show_tables|show_tables_expanded|show|database_list|database_size|version|platform"
    r"|functions|storage_info|metadata_info)\b",
    re.IGNORECASE,
)


class WriteRefused(ValueError):
    """A statement given as a query would change something or reach outside the lake."""


def error_line(error: BaseException) -> str:
    """A query's error on one line, with DuckDB's help kept.

    DuckDB's message is a paragraph (the error, then lines of help such as
    ``Did you mean "papers"?`` or ``Candidate bindings: ...``), a blank line,
    then the query quoted with a caret: the paragraph's lines are joined, the
    quoted query is left out.
    """
    text = str(error).strip()
    if not text:
        return type(error).__name__
    paragraph = text.split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines() if line.strip() and not line.startswith("LINE "))


def read_statements(sql: str) -> list[duckdb.Statement]:
    """Parse ``sql`` with DuckDB's own parser; refuse any statement that is not a read of the lake.

    Refused: every statement type but SELECT (and EXPLAIN of a SELECT), and
    table functions outside the read-only ones (see ``_ALLOWED_TABLE_FUNCTIONS``).
    """
    parser = connect()
    try:
        statements = parser.extract_statements(sql)
        if not statements:
            raise ValueError("no SQL statement given")
        for statement in statements:
            _refuse_unless_read(parser, statement)
    finally:
        parser.close()
    return statements


def _refuse_unless_read(parser: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> None:
    if statement.type not in READ_STATEMENT_TYPES:
        raise WriteRefused(
            f"refused: {statement.type.name} statement; only SELECT-like queries may run against the lake"
        )
    if statement.type == duckdb.StatementType.EXPLAIN:
        explained = parser.extract_statements(_EXPLAIN_PREFIX.sub("", statement.query, count=1))
        if len(explained) != 1 or explained[0].type == duckdb.StatementType.EXPLAIN:
            raise WriteRefused("refused: EXPLAIN of something that is not one SELECT-like query")
        _refuse_unless_read(parser, explained[0])
        return
    (tree,) = parser.execute(read_sql("query/statement_tree.sql"), {"sql": statement.query}).fetchone()
    parsed = json.loads(tree)
    if parsed.get("error"):
        if _LISTING_PRAGMA.match(statement.query):
            return
        raise WriteRefused("refused: a statement whose effect cannot be checked; only SELECT-like queries may run")
    for name in _table_functions(parsed):
        if name.lower() not in _ALLOWED_TABLE_FUNCTIONS and not name.lower().startswith(_ALLOWED_TABLE_FUNCTION_PREFIXES):
            raise WriteRefused(f"refused: table function {name}(); queries may read the lake's tables and views only")


def _table_functions(node: object) -> Iterator[str]:
    """The names of the table functions a parse tree calls, at any depth."""
    if isinstance(node, dict):
        if node.get("type") == "TABLE_FUNCTION":
            yield node["function"]["function_name"]
        for value in node.values():
            yield from _table_functions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _table_functions(value)


def open_confined(location: LakeLocation) -> duckdb.DuckDBPyConnection:
    """The lake attached read-only, in a session that can read nothing but the lake and cannot be reconfigured."""
    con = open_lake(location, read_only=True)
    try:
        con.execute(read_sql("query/confine.sql").format(data_path=quote_literal(location.data_url)))
    except BaseException:
        con.close()
        raise
    return con


def run_readonly_query(location: LakeLocation, sql: str) -> pa.Table:
    """Answer ``sql`` (one or more read statements; the last one's result) from the lake.

    Three defences: statements are refused by what they do before the lake is
    opened (:func:`read_statements`), the lake is attached read-only, and the
    session is confined to the lake's files (:func:`open_confined`).
    """
    statements = read_statements(sql)
    con = open_confined(location)
    try:
        for statement in statements:
            result = con.execute(statement)
        return result.to_arrow_table()
    except duckdb.Error as error:
        # DuckLake says the same of a version retention expired as of one that never was.
        from tasks.lake.maintenance import expired_version_message

        message = expired_version_message(con, error)
        if message is None:
            raise
        raise type(error)(message) from error
    finally:
        con.close()


def export_lake(location: LakeLocation, out_dir: str | Path) -> dict[str, int]:
    """Write every table of the lake (:func:`exported_tables`) as ``<table>.parquet`` (zstd) into ``out_dir``; rows per table.

    The files are written to a staging folder beside ``out_dir`` and swapped in by
    rename, so a reader sees the previous export or the new one, never half of one.
    All tables are read in one transaction: one snapshot of the lake.
    """
    out_dir = Path(out_dir).resolve()
    _refuse_foreign_folder(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    try:
        # mkdtemp makes a private (0700) folder; an export is for others to read, as the umask says.
        staging.chmod(0o777 & ~_umask())
        rows = _write_tables(location, staging)
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return rows


def _umask() -> int:
    """This process's umask, read without changing it (os.umask can only set it, racing other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_tables(location: LakeLocation, folder: Path) -> dict[str, int]:
    con = open_lake(location, read_only=True)
    try:
        con.begin()
        rows = {}
        for table in exported_tables(con):
            target = folder / f"{table}.parquet"
            con.table(table).write_parquet(str(target), compression="zstd")
            rows[table] = pq.read_metadata(target).num_rows
        con.rollback()
        return rows
    finally:
        con.close()


def exported_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table the lake holds but its bookkeeping: those of USER_TABLES in that order, then any other by name."""
    held = [name for (name,) in con.execute(read_sql("query/lake_tables.sql"), {"lake": LAKE_ALIAS}).fetchall()]
    known = [table for table in USER_TABLES if table in held]
    return known + [table for table in held if table not in USER_TABLES and table not in INTERNAL_TABLES]


def _refuse_foreign_folder(out_dir: Path) -> None:
    """An existing ``out_dir`` is replaced whole, so it must hold nothing but an earlier export."""
    if not out_dir.exists():
        return
    expected = {f"{table}.parquet" for table in USER_TABLES}
    foreign = sorted(entry.name for entry in out_dir.iterdir() if entry.name not in expected) if out_dir.is_dir() else [out_dir.name]
    if foreign:
        raise FileExistsError(
            f"{out_dir} exists and holds {', '.join(foreign[:5])}, which is not a citelake export; "
            "choose an empty or new folder"
        )


def _swap_in(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.retired-", dir=out_dir.parent))
    retired.rmdir()
    out_dir.rename(retired)
    staging.rename(out_dir)
    shutil.rmtree(retired)
