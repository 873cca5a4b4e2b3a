"""The one output formatter of every command that prints rows: a readable table, CSV or JSON lines.

Every DuckDB type prints in every format: nested values (lists, structs, maps)
are JSON in a CSV or table cell and JSON in JSON; times are ISO 8601; bytes are
hex. Identifiers a user copies (DOIs, statement ids, paths, hashes) are never
cut in a table: their columns keep their full width.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO
from uuid import UUID

import pyarrow as pa

FORMATS = ("table", "csv", "json")
# Columns whose values are keys a user copies whole: never shortened in a table.
_KEY_COLUMNS = frozenset({"doi", "statement_id", "path", "sha256", "source_sha256", "run_id", "alert_id"})


class UnknownFormat(ValueError):
    """A format other than table, csv or json was asked for."""


def check_format(output_format: str) -> str:
    """``output_format`` if it is one of :data:`FORMATS`, else :class:`UnknownFormat` with a one-line message."""
    if output_format not in FORMATS:
        raise UnknownFormat(f"unknown --format {output_format!r}; use {', '.join(FORMATS)}")
    return output_format


def plain_value(value: Any, data_type: pa.DataType) -> Any:
    """A value as Arrow gives it in Python, with maps made dicts (Arrow gives lists of pairs), at any depth."""
    if value is None:
        return None
    if pa.types.is_map(data_type):
        return {str(key): plain_value(item, data_type.item_type) for key, item in value}
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type) or pa.types.is_fixed_size_list(data_type):
        return [plain_value(item, data_type.value_type) for item in value]
    if pa.types.is_struct(data_type):
        return {field.name: plain_value(value.get(field.name), field.type) for field in data_type}
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


def to_json(value: Any) -> str:
    """One value as JSON text, for every type a query can return."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def cell_text(value: Any) -> str:
    """A plain value as the text of one CSV or table cell: nested values as JSON, times as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return to_json(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return str(_json_default(value))


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    return cell_text(value).lower() if isinstance(value, bool) else cell_text(value)


def _as_arrow(rows: Any) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    if hasattr(rows, "to_arrow"):  # a polars DataFrame
        return rows.to_arrow()
    raise TypeError(f"cannot print {type(rows).__name__}; give a pyarrow Table or a polars DataFrame")


def plain_rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The table's rows as dicts of plain Python values (see :func:`plain_value`)."""
    types = [field.type for field in table.schema]
    for batch in table.to_batches():
        for row in batch.to_pylist():
            yield {name: plain_value(value, data_type) for (name, value), data_type in zip(row.items(), types, strict=True)}


def write_rows(
    rows: Any,
    output_format: str,
    *,
    out: TextIO | None = None,
    table_cells: dict[str, Callable[[Any], Any]] | None = None,
) -> None:
    """Print ``rows`` (a pyarrow Table or a polars DataFrame) as ``table``, ``csv`` or ``json`` (one object a line).

    ``table_cells`` may give, per column, how a value shows in the table format
    (a str or a rich renderable, such as a snippet with its matches in bold).
    """
    check_format(output_format)
    table = _as_arrow(rows)
    out = out or sys.stdout
    if output_format == "json":
        for row in plain_rows(table):
            out.write(to_json(row) + "\n")
    elif output_format == "csv":
        # Text quoted, numbers bare, null empty: as Arrow's own CSV writer does.
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(table.column_names)
        for row in plain_rows(table):
            writer.writerow([_csv_cell(value) for value in row.values()])
    else:
        _write_table(table, out, table_cells or {})


def _write_table(table: pa.Table, out: TextIO, table_cells: dict[str, Callable[[Any], Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = list(plain_rows(table))
    shown = Table(show_lines=False)
    for name in table.column_names:
        if name in _KEY_COLUMNS or name.endswith("_doi"):
            widest = max([len(name), *(len(cell_text(row[name])) for row in rows)])
            shown.add_column(name, no_wrap=True, min_width=widest, overflow="fold")
        else:
            shown.add_column(name, overflow="fold")
    for row in rows:
        shown.add_row(*(table_cells[name](value) if name in table_cells else _table_text(value) for name, value in row.items()))
    terminal = out.isatty() if hasattr(out, "isatty") else False
    # Into a file or a pipe the table keeps its natural width instead of being squeezed to 80 columns.
    console = Console(file=out, width=None if terminal else _natural_width(table.column_names, rows), highlight=False)
    console.print(shown)


def _table_text(value: Any) -> str:
    # A readable table shows six significant digits (0.83, not 0.8300000000000001); CSV and JSON keep every digit.
    return f"{value:.6g}" if isinstance(value, float) else cell_text(value)


def _natural_width(columns: Sequence[str], rows: list[dict[str, Any]]) -> int:
    widths = [max([len(name), *(len(cell_text(row[name])) for row in rows)]) for name in columns]
    return max(80, sum(widths) + 3 * len(widths) + 1)
