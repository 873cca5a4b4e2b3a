"""The one output formatter of every command that prints rows: a readable table, CSV or JSON lines.

Every DuckDB type prints in every format: nested values (lists, structs, maps)
are JSON in a CSV or table cell and JSON in JSON; times are ISO 8601; bytes are
hex. Identifiers a user copies (DOIs, statement ids, paths, hashes) are never
cut in a table: their columns keep their full width.

A table fits the terminal's width: headers, numbers, dates and short text stay whole
on one line; long text wraps to at most three lines and ends in an ellipsis when cut;
when even that is too wide, columns are left out, which a line under the table names.
Into a file or a pipe a table keeps its natural width.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
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
    width: int | None = None,
) -> None:
    """Print ``rows`` (a pyarrow Table or a polars DataFrame) as ``table``, ``csv`` or ``json`` (one object a line).

    ``table_cells`` may give, per column, how a value shows in the table format
    (a str or a rich renderable, such as a snippet with its matches in bold).
    ``width`` is the table's width in characters: by default the terminal's, or the
    table's natural width into a file or a pipe.
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
        _write_table(table, out, table_cells or {}, width)


def _write_table(
    table: pa.Table, out: TextIO, table_cells: dict[str, Callable[[Any], Any]], width: int | None
) -> None:
    from rich.console import Console

    rows = list(plain_rows(table))
    columns = [_fit_of(field, rows, field.name in table_cells) for field in table.schema]
    terminal = out.isatty() if hasattr(out, "isatty") else False
    if width is None and not terminal:
        # Into a file or a pipe the table keeps its natural width instead of being squeezed to 80 columns.
        width = max(80, _table_width([column.natural for column in columns]))
    console = Console(file=out, width=width, highlight=False)
    shown = _fitting(columns, console.width)
    console.print(_rich_table(shown, rows, table_cells, console.width))
    left_out = [column.name for column in columns if column not in shown]
    if left_out:
        console.print(
            f"{', '.join(left_out)}: left out at {console.width} columns; --format csv or json has them",
            markup=False,
        )


# A text column squeezed to fit shows at least this many characters a line (or its header's),
# and each of its cells at most this many lines, the last one ending in an ellipsis when cut.
_NARROWEST_TEXT = 10
_TEXT_LINES = 3
# Text no wider than this (a label, a statement type) is shown whole, as a number is.
_SHORT_TEXT = 16


@dataclass(frozen=True, eq=False)
class _Fit:
    """How a column may be shown: ``whole`` on one line at its natural width, or as text squeezed to ``minimum``."""

    name: str
    natural: int
    minimum: int
    whole: bool
    rendered: bool  # the caller renders its cells (table_cells): they are shown uncut


def _fit_of(field: pa.Field, rows: list[dict[str, Any]], rendered: bool) -> _Fit:
    from rich.cells import cell_len

    texts = [_table_text(row[field.name]) for row in rows]
    lines = [line for text in texts for line in text.splitlines()]
    natural = max([cell_len(field.name), *(cell_len(line) for line in lines)])
    unbreakable = (
        _is_key(field.name)
        or pa.types.is_integer(field.type)
        or pa.types.is_floating(field.type)
        or pa.types.is_decimal(field.type)
        or pa.types.is_boolean(field.type)
        or pa.types.is_date(field.type)
    )
    if unbreakable or natural <= _SHORT_TEXT:
        return _Fit(field.name, natural, natural, whole=True, rendered=rendered)
    longest_word = max((cell_len(word) for line in lines for word in line.split()), default=0)
    minimum = max(cell_len(field.name), min(longest_word, _NARROWEST_TEXT))
    return _Fit(field.name, natural, minimum, whole=False, rendered=rendered)


def _table_width(widths: Sequence[int]) -> int:
    # Each column has a space either side and a rule after it; the table has one more rule before its first.
    return sum(widths) + 3 * len(widths) + 1


def _fitting(columns: list[_Fit], width: int) -> list[_Fit]:
    """The columns shown in ``width``: all if they fit squeezed, else fewer.

    Long text goes first, then short columns, each time the one nearest the middle (as
    DuckDB's own tables leave out middle columns): the first and last columns, which a
    reader looks for, stay longest. The first column and key columns (DOIs, ids) stay.
    """
    shown = list(columns)
    while _table_width([column.minimum for column in shown]) > width:
        droppable = [index for index, column in enumerate(shown) if index > 0 and not _is_key(column.name)]
        if not droppable:
            break
        texts = [index for index in droppable if not shown[index].whole]
        middle = (len(shown) - 1) / 2
        del shown[min(texts or droppable, key=lambda index: (abs(index - middle), -index))]
    return shown


def _is_key(name: str) -> bool:
    return name in _KEY_COLUMNS or name.endswith("_doi")


def _rich_table(shown: list[_Fit], rows: list[dict[str, Any]], table_cells: dict[str, Callable[[Any], Any]], width: int):
    from rich.table import Table
    from rich.text import Text

    text_widths = _text_widths(shown, width)
    table = Table()
    for column in shown:
        header = Text(column.name)
        if column.whole:
            table.add_column(header, no_wrap=True, min_width=column.natural)
        else:
            table.add_column(header, overflow="ellipsis", width=text_widths.get(column.name))
    for row in rows:
        cells = []
        for column in shown:
            value = row[column.name]
            if column.rendered:
                cells.append(table_cells[column.name](value))
            elif column.name in text_widths:
                cells.append(_FirstLines(Text(_table_text(value)), _TEXT_LINES))
            else:
                # Text, not a str: a value's [brackets] are not rich markup.
                cells.append(Text(_table_text(value)))
        table.add_row(*cells)
    return table


def _text_widths(shown: list[_Fit], width: int) -> dict[str, int]:
    """The widths of the text columns of a table wider than ``width``: none if it fits as it is.

    Each gets its minimum; a column that needs no more than an even share of what is left
    gets all it needs (a time stays on one line), the others share the rest in proportion
    to what they would take. (rich's own ratios give the minimums after the shares and may
    overrun the width.)
    """
    texts = [column for column in shown if not column.whole]
    if not texts or _table_width([column.natural for column in shown]) <= width:
        return {}
    spare = max(0, width - _table_width([column.minimum for column in shown]))
    widths = {column.name: column.minimum for column in texts}
    squeezed = sorted(texts, key=lambda column: column.natural - column.minimum)
    while squeezed and squeezed[0].natural - squeezed[0].minimum <= spare / len(squeezed):
        column = squeezed.pop(0)
        widths[column.name] = column.natural
        spare -= column.natural - column.minimum
    if squeezed:
        wants = [column.natural - column.minimum for column in squeezed]
        shares = [spare * want // sum(wants) for want in wants]
        shares[-1] += spare - sum(shares)  # the rounding's remainder to the one that wants most
        for column, share in zip(squeezed, shares, strict=True):
            widths[column.name] += share
    return widths


class _FirstLines:
    """A text wrapped to the width it is given, cut after its first ``lines`` lines with an ellipsis."""

    def __init__(self, text, lines: int) -> None:
        self.text = text
        self.lines = lines

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        return Measurement.get(console, options, self.text)

    def __rich_console__(self, console, options):
        from rich.text import Text

        wrapped = self.text.wrap(console, options.max_width, overflow="ellipsis")
        if len(wrapped) > self.lines:
            wrapped = wrapped[: self.lines]
            last = wrapped[-1]
            last.rstrip()
            last.append("…")
            last.truncate(options.max_width, overflow="ellipsis")
        yield Text("\n").join(wrapped)


def _table_text(value: Any) -> str:
    # A readable table shows six significant digits (0.83, not 0.8300000000000001) and times
    # to the second ("2024-06-01 12:00:00Z"); CSV and JSON keep every digit.
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        shown = value.isoformat(sep=" ", timespec="seconds")
        return shown.removesuffix("+00:00") + "Z" if shown.endswith("+00:00") else shown
    return cell_text(value)
