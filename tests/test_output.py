"""The one output formatter's table fits the width it is given: headers and DOIs whole, long text cut short."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from rich.cells import cell_len

from tasks.output import write_rows

TITLES = [
    "Induced Pluripotent Stem Cell–Derived Cardiomyocytes in Heart Failure with Reduced Ejection Fraction: "
    "Results from the Ørsted Cohort",
    "Human Umbilical Cord Mesenchymal Stem Cell Therapy for Patients with Active Rheumatoid Arthritis: "
    "Safety and Efficacy",
]
DOIS = ["10.1089/scd.2003.000012", "10.1016/j.jaut.2022.000016"]


def watchlist() -> pa.Table:
    """Two rows shaped like ``citelake watch list``'s: a DOI, a label, two times, a long title, counts."""
    at = datetime(2025, 6, 1, 12, 8, 41, 906988, tzinfo=UTC)
    return pa.table({
        "doi": DOIS,
        "label": ["stem-cells", None],
        "added_at": [at, at],
        "title": TITLES,
        "last_seen": [at, at],
        "cited_by": [288, 204],
        "supporting": [34, 21],
        "contrasting": [1, 1],
        "alerts": [0, 2],
    })


def table_text(rows: pa.Table, width: int | None) -> str:
    out = io.StringIO()
    write_rows(rows, "table", out=out, width=width)
    return out.getvalue()


def header_names(text: str) -> list[str]:
    (header,) = [line for line in text.splitlines() if line.startswith("┃")]  # one line: no header wraps
    return [cell.strip() for cell in header.strip("┃").split("┃")]


def left_out(text: str) -> list[str]:
    note = " ".join(line for line in text.splitlines() if not line.startswith(("┏", "┃", "┡", "│", "└")))
    return note.split(":")[0].split(", ") if note else []


@pytest.mark.parametrize("width", [80, 120])
def test_a_table_fits_its_width_with_headers_and_dois_whole(width):
    text = table_text(watchlist(), width)
    lines = text.splitlines()
    assert all(cell_len(line) <= width for line in lines), text
    headers = header_names(text)
    # Every column is shown with its whole name, or named on the line under the table.
    assert sorted(headers + left_out(text)) == sorted(watchlist().column_names), text
    assert headers[0] == "doi" and "cited_by" in headers and headers[-1] == "alerts"
    for doi in DOIS:
        assert sum(doi in line for line in lines) == 1, text
    # Two rows: the box (4 lines), at most three lines a row, and a note of two lines.
    assert len(lines) <= 4 + 2 * 3 + 2, text


def test_long_text_wraps_to_three_lines_and_ends_in_an_ellipsis():
    text = table_text(watchlist(), 160)
    assert header_names(text) == watchlist().column_names
    title_lines = [line.split("│")[4].strip() for line in text.splitlines() if line.startswith("│")]
    assert title_lines[:3] == ["Induced Pluripotent", "Stem Cell–Derived", "Cardiomyocytes in…"]
    assert "Ørsted Cohort" not in text
    # Times show to the second, on one line when there is room.
    assert "│ 2025-06-01 12:08:41Z │" in text and "906988" not in text


def test_at_80_columns_middle_columns_are_left_out_and_named():
    text = table_text(watchlist(), 80)
    assert header_names(text)[:2] == ["doi", "label"] and header_names(text)[-1] == "alerts"
    # Long text goes first, the middle column first; then a count, again the middle one.
    assert left_out(text) == ["added_at", "title", "last_seen", "supporting"]
    assert " ".join(text.split()).endswith("supporting: left out at 80 columns; --format csv or json has them")


def test_into_a_file_a_table_keeps_its_natural_width():
    text = table_text(watchlist(), None)
    assert header_names(text) == watchlist().column_names and left_out(text) == []
    assert all(title in text for title in TITLES)
    assert len(text.splitlines()) == 4 + 2


def test_a_value_in_brackets_is_shown_as_it_is_not_as_rich_markup():
    # Fails before the fix: rich took "[smith et al]" and "[b]" for markup and dropped them.
    rows = pa.table({"text": ["as shown [smith et al] and [b]here[/b]"], "[x]": [1]})
    text = table_text(rows, None)
    assert "as shown [smith et al] and [b]here[/b]" in text and "[x]" in header_names(text)
