"""Reading report files without the lake: ``citelake generate`` writes a synthetic corpus, ``citelake parse`` shows what the parser reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer


def generate(
    out_dir: Path = typer.Argument(..., help="Folder to write the report files into (created if missing)."),
    count: int = typer.Option(1000, "--count", "-n", min=0, help="How many files to write."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed: the same seed writes the same bytes."),
    clean: bool = typer.Option(False, "--clean", help="Make every page's counts add up (no data-quality issues)."),
) -> None:
    """Write a deterministic corpus of synthetic report files, for tests, benchmarks and examples.

    The files vary as real collections do (gzip, CRLF, Windows-1252, re-saved pages,
    cut-off files, non-reports ...). Shows progress on stderr (a bar on a terminal,
    else a line per 1,000 files), then prints a JSON summary of what was written.
    """
    import json

    from tasks.corpus.generate import write_corpus

    from flows.cli.messages import human_size

    if out_dir.exists() and not out_dir.is_dir():
        typer.echo(f"citelake generate: {out_dir}: exists and is not a folder", err=True)
        raise typer.Exit(code=1)
    try:
        with _generate_progress(count) as show:
            summary = write_corpus(out_dir, count, seed, clean=clean, progress=show)
    except OSError as error:
        typer.echo(f"citelake generate: {error.filename or out_dir}: {error.strerror or error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"citelake generate: wrote {summary.files:,} files to {out_dir} ({human_size(summary.total_bytes)})", err=True
    )
    typer.echo(json.dumps(summary.as_dict(), indent=2))


# Off a terminal (a log, CI), generate says how far it is once per this many files.
GENERATE_PROGRESS_EVERY = 1000


@contextmanager
def _generate_progress(count: int) -> Iterator[Callable[[object], None]]:
    """The progress of ``citelake generate`` on stderr: a bar on a terminal, else a line per 1,000 files."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:

        def line(summary) -> None:
            if summary.files % GENERATE_PROGRESS_EVERY == 0 and summary.files < count:
                console.print(f"generated {summary.files:,}/{count:,} files", highlight=False)

        yield line
        return
    bar = Progress(
        TextColumn("[bold]generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    )
    task_id = bar.add_task("generating", total=count)

    def advance(summary) -> None:
        bar.update(task_id, completed=summary.files)

    with bar:
        yield advance


def parse(
    files: list[Path] = typer.Argument(
        ..., help="Report files to parse (.txt, or gzip-compressed .txt.gz), or saved scite API responses (.json, .json.gz)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per file and line: the parsed record plus a 'path' key."
    ),
) -> None:
    """Print what the parser reads from report files, without touching the lake.

    Without --json: a short summary per file (DOI, title, year, counts,
    statements by type, and warnings: what the parser did not understand).
    With --json: one JSON object per line, the record plus a 'path' key.
    A file that is not a report prints 'PATH: rejected: REASON' on stderr
    and makes the exit status 1; the other files are still printed.
    """
    import json

    from tasks.reading.parse import load_report
    from tasks.reading.record import Rejection

    from tasks.reading.scite_api import describe_response, read_api_file, response_record
    from tasks.reading.sniff import is_json_file

    rejected = False
    for path in files:
        if is_json_file(path):  # a saved scite API response (docs/scite-api.md)
            response = read_api_file(path).response
            if not isinstance(response, Rejection):
                shown = json.dumps({"path": str(path), **response_record(response)}, ensure_ascii=False)
                typer.echo(shown if as_json else describe_response(path, response))
                continue
            parsed = response
        else:
            parsed = load_report(path)
        if isinstance(parsed, Rejection):
            typer.echo(f"{path}: rejected: {parsed.reason}", err=True)
            rejected = True
        elif as_json:
            typer.echo(json.dumps({"path": str(path), **parsed}, ensure_ascii=False))
        else:
            typer.echo(_parse_summary(path, parsed))
    if rejected:
        raise typer.Exit(code=1)


def _parse_summary(path: Path, record: dict) -> str:
    """The human-readable lines ``citelake parse`` prints for one parsed record."""
    from collections import Counter

    def shown(count: int | None) -> str:
        return "-" if count is None else f"{count:,}"

    tallies = record["tallies"]
    by_type = Counter(statement["type"] for statement in record["statements"])
    return "\n".join(
        [
            f"{path}",
            f"  doi         {record['doi']}",
            f"  title       {record['title'] or '-'}",
            f"  year        {record['year'] or '-'}",
            f"  cited by    {shown(record['cited_by'])} publications, "
            f"{shown(record['statement_count'])} citation statements, {shown(record['reference_count'])} references",
            "  tallies     " + (", ".join(f"{name} {count:,}" for name, count in tallies.items()) if tallies else "-"),
            f"  statements  {len(record['statements'])} distinct"
            + "".join(f", {count} {kind}" for kind, count in sorted(by_type.items())),
            f"  warnings    {len(record['warnings']) or 'none'}",
            *(f"    - {warning}" for warning in record["warnings"]),
        ]
    )
