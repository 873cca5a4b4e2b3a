"""What the commands tell a person besides their output: the files they wrote, and results that are empty."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer


def human_size(size: int) -> str:
    """A size in bytes as a person reads it: ``812 B``, ``23 kB``, ``3.1 MB``, ``1.2 GB`` (powers of 1000)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} kB"
    if size < 1_000_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1_000_000_000:.1f} GB"


def say_wrote(command: str, path: Path, what: str, size: int | None = None, *, beside: Sequence[Path] = ()) -> None:
    """One line on stderr: ``citelake COMMAND: wrote PATH (WHAT, SIZE)``, naming the files written beside it.

    On stderr, so that stdout stays the command's output (a JSON summary, say).
    """
    size = path.stat().st_size if size is None else size
    line = f"citelake {command}: wrote {path} ({what}, {human_size(size)})"
    if beside:
        names = ", ".join(other.name for other in beside)
        line += f" and beside it {names} ({human_size(sum(other.stat().st_size for other in beside))})"
    typer.echo(line, err=True)


def print_rows_or_say(rows, output_format: str, empty: str, *, table_cells=None) -> None:
    """Print ``rows`` as the command's output; an empty result in the table format is the sentence ``empty`` instead.

    CSV (a header) and JSON (nothing) stay as they are for an empty result: programs read them.
    ``table_cells`` are the output formatter's (how a column's values show in a table).
    """
    from tasks.output import write_rows

    if output_format == "table" and len(rows) == 0:
        typer.echo(empty)
        return
    write_rows(rows, output_format, table_cells=table_cells)
