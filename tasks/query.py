"""Reading the lake from outside: users' SQL (read-only, twice over) and a Parquet export."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.lake import USER_TABLES, LakeLocation, connect, open_lake

# SELECT covers DESCRIBE, SHOW, SUMMARIZE and the PRAGMAs that only list things:
# DuckDB parses those as selects.
READ_STATEMENT_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


class WriteRefused(ValueError):
    """A statement given as a query would change something."""


def read_statements(sql: str) -> list[duckdb.Statement]:
    """Parse ``sql`` with DuckDB's own parser; refuse any statement that is not a read."""
    statements = connect().extract_statements(sql)
    if not statements:
        raise ValueError("no SQL statement given")
    for statement in statements:
        if statement.type not in READ_STATEMENT_TYPES:
            raise WriteRefused(
                f"refused: {statement.type.name} statement; only SELECT-like queries may run against the lake"
            )
    return statements


def run_readonly_query(location: LakeLocation, sql: str) -> pa.Table:
    """Answer ``sql`` (one or more read statements; the last one's result) from the lake.

    Writes are refused before the lake is opened, and the lake is attached
    read-only as a second defence.
    """
    statements = read_statements(sql)
    con = open_lake(location, read_only=True)
    try:
        for statement in statements:
            result = con.execute(statement)
        return result.to_arrow_table()
    finally:
        con.close()


def export_lake(location: LakeLocation, out_dir: str | Path) -> dict[str, int]:
    """Write every user table as ``<table>.parquet`` (zstd) into ``out_dir``; rows per table.

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
        for table in USER_TABLES:
            target = folder / f"{table}.parquet"
            con.table(table).write_parquet(str(target), compression="zstd")
            rows[table] = pq.read_metadata(target).num_rows
        con.rollback()
        return rows
    finally:
        con.close()


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
