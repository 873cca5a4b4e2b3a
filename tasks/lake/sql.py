"""How Python hands SQL to DuckDB: the statements of ``sql/``, quoting, a transaction, a frame lent to a query.

Every statement lives as a file in ``sql/`` and is read with :func:`read_sql`;
values are bound, identifiers go through :func:`quote_identifier`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tasks.lake.errors import LakeError

if TYPE_CHECKING:  # polars costs a second to import: only a caller that has a frame needs it
    import polars as pl


def _sql_dir() -> Path:
    """The SQL files: ``tasks/sql`` in an installed wheel (see pyproject.toml), else the repository's ``sql/``."""
    packaged = Path(__file__).resolve().parents[1] / "sql"
    return packaged if packaged.is_dir() else packaged.parents[1] / "sql"


SQL_DIR = _sql_dir()


def read_sql(name: str) -> str:
    """The text of ``sql/<name>`` (for example ``lake/merge_papers.sql``)."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def quote_identifier(name: str) -> str:
    """The one quoting helper for identifiers spliced into SQL."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal, for the one statement that takes no parameters: ATTACH."""
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK when the block raises."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


class _LentTable:
    """An Arrow table lent to DuckDB through the Arrow PyCapsule stream interface, until :meth:`release`.

    DuckDB keeps what ``register`` was given for as long as the transaction that
    registered it is open, ``unregister`` or not: the view's catalog entry, which
    holds the Python object, is only dropped at COMMIT or ROLLBACK. Registering
    the table itself would so keep every batch a writer staged in memory until
    the run commits. Registering this wrapper instead, and letting go of the
    table when the block ends, leaves DuckDB holding an empty wrapper.
    """

    __slots__ = ("_table",)

    def __init__(self, table: Any) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        if self._table is None:
            raise LakeError("a registered frame was read after its block ended")
        return self._table.__arrow_c_stream__(requested_schema)

    def release(self) -> None:
        self._table = None


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """The frame, as an Arrow table, visible to SQL under ``name`` for the block only.

    Its memory is let go of when the block ends, even inside a long transaction
    such as a :class:`LakeWriter`'s run (see :class:`_LentTable`).
    """
    lent = _LentTable(frame.to_arrow())
    con.register(name, lent)
    try:
        yield
    finally:
        con.unregister(name)
        lent.release()
