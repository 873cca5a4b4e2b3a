"""The ``citelake`` command: one sub-command per job, each a thin wrapper over ``tasks/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# The options that name the lake, the same for every command that opens it.
LakeOption = Annotated[
    Path | None,
    typer.Option("--lake", help="Lake folder (catalog and Parquet files). Default: $CITELAKE_LAKE, else ./lake."),
]
CatalogOption = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        help="PostgreSQL connection string of a shared catalog (e.g. postgresql://user@host/db). "
        "Default: $CITELAKE_CATALOG, else the embedded SQLite catalog in the lake folder.",
    ),
]

app = typer.Typer(
    name="citelake",
    help="Turn folders of citation-report pages into a DuckLake lakehouse you can query with SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def generate(
    out_dir: Path = typer.Argument(..., help="Folder to write the report files into (created if missing)."),
    count: int = typer.Option(1000, "--count", "-n", min=0, help="How many files to write."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed: the same seed writes the same bytes."),
    clean: bool = typer.Option(False, "--clean", help="Make every page's counts add up (no data-quality issues)."),
) -> None:
    """Write a deterministic corpus of synthetic report files, for tests, benchmarks and examples.

    The files vary as real collections do (gzip, CRLF, Windows-1252, re-saved pages,
    cut-off files, non-reports ...). Prints a JSON summary of what was written.
    """
    import json

    from tasks.generate import write_corpus

    summary = write_corpus(out_dir, count, seed, clean=clean)
    typer.echo(json.dumps(summary.as_dict(), indent=2))


@app.command()
def parse(
    files: list[Path] = typer.Argument(..., help="Report files to parse (.txt, or gzip-compressed .txt.gz)."),
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

    from tasks.parse import load_report
    from tasks.record import Rejection

    rejected = False
    for path in files:
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


@app.command()
def ingest(
    source: Path = typer.Argument(..., help="Folder of report files (*.txt, *.txt.gz), searched recursively."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    batch_size: int = typer.Option(2000, "--batch-size", min=1, help="Files per parse batch."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Parser threads or processes. Default: one per CPU."),
    wait: float = typer.Option(
        0.0, "--wait", min=0.0, help="Seconds to wait for another ingest on the same lake to finish before giving up."
    ),
    runner: str = typer.Option(
        "threads",
        "--runner",
        help="Where batches are parsed: 'threads' (this process, one thread per core), "
        "'processes' (one per core: for very large runs) or 'dask' (a Dask cluster).",
    ),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="With --runner dask: the scheduler to use (tcp://host:8786). Default: a local cluster."
    ),
) -> None:
    """Bring new and changed report files into the lake, as one snapshot or not at all.

    Files whose size and modification time are as recorded are skipped without
    being read; a file with the same bytes as before is counted unchanged, a copy
    of a page already stored is a duplicate, and a file that is not a report is
    rejected with its reason (the run goes on). Shows progress on a terminal, then
    files by outcome, rows added per table and the data-quality findings.

    The run is a Prefect flow run (citelake-ingest), on the Prefect server of
    PREFECT_API_URL, where its artifacts are listed; without one, Prefect starts
    a temporary local server for the run. Prefect's own log lines stay in the
    run's log; this command prints its progress and summary.

    Exit status: 0 when the run committed (even if some files were rejected);
    1 with a one-line message when nothing was written (missing source, lake
    unreachable, another ingest running on the lake).
    """
    import logging
    import os
    from contextlib import nullcontext
    from datetime import timedelta

    # Prefect's log lines go to the run's log in the UI, not to this terminal,
    # here and in the worker processes (which inherit the environment); set
    # before Prefect is imported, which reads it.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")

    import duckdb
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

    from flows.ingest import ingest_flow, prefect_api, task_runner
    from tasks.ingest import IngestError, IngestProgress, format_summary
    from tasks.lake import LakeError
    from tasks.run_report import PROGRESS_LOGGER, PROGRESS_RECORD_FIELD

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]}"),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task_id = bar.add_task("parsing", total=None, files="")

    def show(step: IngestProgress) -> None:
        files = f"{step.files_done:,}/{step.files_total:,} files"
        if console.is_terminal:
            bar.update(task_id, description=step.stage, completed=step.bytes_done, total=step.bytes_total, files=files)
        else:
            # A log, not a terminal: one plain line per step.
            megabytes = f"{step.bytes_done / 1e6:,.1f}/{step.bytes_total / 1e6:,.1f} MB"
            typer.echo(f"{step.stage}: {files}, {megabytes}", err=True)

    class ShowProgress(logging.Handler):
        """The flow announces its steps on the progress logger; this shows them."""

        def emit(self, record: logging.LogRecord) -> None:
            show(getattr(record, PROGRESS_RECORD_FIELD))

    PROGRESS_LOGGER.addHandler(ShowProgress())
    PROGRESS_LOGGER.setLevel(logging.INFO)
    PROGRESS_LOGGER.propagate = False

    try:
        flow = ingest_flow.with_options(task_runner=task_runner(runner, dask_address, workers))
        with prefect_api(), bar if console.is_terminal else nullcontext():
            summary = flow(
                source=str(source),
                lake=lake and str(lake),
                catalog=catalog,
                batch_size=batch_size,
                lock_wait=timedelta(seconds=wait),
            )
    except (IngestError, LakeError, duckdb.Error, OSError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        typer.echo(f"citelake ingest: {message}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(format_summary(summary))


@app.command("sql")
def sql_command(
    query: str = typer.Argument(..., help="SQL to run: SELECT, WITH, DESCRIBE, SHOW, EXPLAIN (several, ';'-separated: the last one answers)."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    output_format: str = typer.Option(
        "table", "--format", "-f", help="table (a readable table), csv (with a header) or json (one object per line)."
    ),
) -> None:
    """Answer a read-only SQL query from the lake's tables and views.

    Tables: papers, abstracts, statements, paper_snapshots, statement_sightings,
    facets, report_files, runs, check_findings. Views: paper_citation_profile,
    contrasting_statements, paper_section_mix, paper_count_history,
    statement_reclassifications. Time travel: FROM papers AT (VERSION => 3).

    A statement that would write (INSERT, CREATE, COPY, ATTACH ...) is refused
    with a one-line message and exit status 2; any other error exits with 1.
    """
    import json
    import sys

    import duckdb
    import pyarrow.csv
    from rich.console import Console
    from rich.table import Table

    from tasks.lake import LakeError, resolve_location
    from tasks.query import WriteRefused, run_readonly_query

    if output_format not in ("table", "csv", "json"):
        typer.echo(f"citelake sql: unknown --format {output_format!r}; use table, csv or json", err=True)
        raise typer.Exit(code=2)
    try:
        result = run_readonly_query(resolve_location(lake, catalog), query)
    except WriteRefused as error:
        typer.echo(f"citelake sql: {error}", err=True)
        raise typer.Exit(code=2) from None
    except (LakeError, ValueError, duckdb.Error) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        typer.echo(f"citelake sql: {message}", err=True)
        raise typer.Exit(code=1) from None
    if output_format == "csv":
        sink = pyarrow.BufferOutputStream()
        pyarrow.csv.write_csv(result, sink)
        sys.stdout.write(sink.getvalue().to_pybytes().decode())
    elif output_format == "json":
        for row in result.to_pylist():
            typer.echo(json.dumps(row, default=str, ensure_ascii=False))
    else:
        table = Table(*result.column_names, show_lines=False)
        for row in result.to_pylist():
            table.add_row(*("" if value is None else str(value) for value in row.values()))
        Console().print(table)


@app.command("search")
def search_command(
    query: str = typer.Argument(
        ...,
        help='What to find in the statements\' text: terms (all required), "exact phrases", OR, -excluded, prefix*.',
    ),
    types: list[str] = typer.Option(
        [], "--type", help="supporting, mentioning or contrasting (repeat for several)."
    ),
    section_categories: list[str] = typer.Option(
        [],
        "--section-category",
        help="introduction, methods, results, discussion, conclusion, other or unknown (repeat for several).",
    ),
    year_from: int | None = typer.Option(None, "--paper-year-from", help="Cited paper published in this year or later."),
    year_to: int | None = typer.Option(None, "--paper-year-to", help="Cited paper published in this year or earlier."),
    doi: str | None = typer.Option(None, "--doi", help="Only statements citing this paper (any case)."),
    min_confidence: float | None = typer.Option(None, "--min-confidence", help="Classification confidence at least this."),
    limit: int = typer.Option(20, "--limit", min=0, help="Hits to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Hits to skip (for the next page)."),
    output_format: str = typer.Option("table", "--format", "-f", help="table, json (one object per line) or csv."),
    facets: bool = typer.Option(False, "--facets", help="Also count the whole matching set by type, section category and paper year."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the search index from the lake first."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Search the citation statements, best match first, with the report page's filters.

    Answers from the lake's search index (LAKE/_search), brought up to the
    lake's latest snapshot first; an index that is missing, belongs to another
    lake or is unreadable is rebuilt, with a line on stderr. Snippets mark the
    matched terms (bold here, <b>…</b> in json and csv).

    Exit status: 2 with a one-line message for a malformed query or option,
    1 when the lake cannot be read.
    """
    import json
    import sys

    import duckdb

    from tasks.lake import LakeError, resolve_location
    from tasks.search_index import SearchIndexError
    from tasks.search_query import QuerySyntaxError, SearchFilters, search, search_facets

    if output_format not in ("table", "csv", "json"):
        typer.echo(f"citelake search: unknown --format {output_format!r}; use table, json or csv", err=True)
        raise typer.Exit(code=2)
    location = resolve_location(lake, catalog)
    try:
        filters = SearchFilters(
            types=tuple(types),
            section_categories=tuple(section_categories),
            year_from=year_from,
            year_to=year_to,
            doi=doi,
            min_confidence=min_confidence,
        )
        if rebuild:
            from tasks.search_index import ensure_index

            ensure_index(location, rebuild=True)
        hits = search(location, query, filters, limit=limit, offset=offset, refresh=not rebuild)
        counts = search_facets(location, query, filters) if facets else None
    except QuerySyntaxError as error:
        typer.echo(f"citelake search: {error}", err=True)
        raise typer.Exit(code=2) from None
    except (LakeError, SearchIndexError, duckdb.Error, OSError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        typer.echo(f"citelake search: {message}", err=True)
        raise typer.Exit(code=1) from None

    if output_format == "json":
        for row in hits.to_dicts():
            typer.echo(json.dumps(row, ensure_ascii=False))
        if counts is not None:
            typer.echo(json.dumps({"facets": _facets_dict(counts)}, ensure_ascii=False))
    elif output_format == "csv":
        sys.stdout.write(hits.write_csv())
        if counts is not None:
            typer.echo(f"# facets {json.dumps(_facets_dict(counts), ensure_ascii=False)}", err=True)
    else:
        _print_hits(hits, counts)


def _facets_dict(counts) -> dict:
    return {
        "total": counts.total,
        "type": counts.by_type,
        "section_category": counts.by_section_category,
        "year": {("none" if year is None else str(year)): number for year, number in counts.by_year.items()},
    }


def _snippet_text(html_snippet: str):
    """A snippet's ``<b>…</b>`` marks as bold rich text."""
    import html
    import re

    from rich.text import Text

    text = Text()
    for number, part in enumerate(re.split(r"</?b>", html_snippet)):
        text.append(html.unescape(part), style="bold" if number % 2 else None)
    return text


def _print_hits(hits, counts) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("type")
    table.add_column("paper, section", ratio=2)
    table.add_column("snippet", ratio=5)
    for row in hits.iter_rows(named=True):
        kind = row["type"] + ("" if row["confidence"] is None else f"\n{row['confidence']:.2f}")
        paper = "\n".join(part for part in (row["doi"], row["title"], row["section"] and f"§ {row['section']}") if part)
        table.add_row(str(row["rank"]), f"{row['score']:.2f}", kind, paper, _snippet_text(row["snippet"]))
    console.print(table)
    if counts is not None:
        console.print(f"{counts.total:,} matching statements (snapshot {counts.snapshot_id})")
        console.print("  type              " + ", ".join(f"{key} {value:,}" for key, value in counts.by_type.items()))
        console.print(
            "  section category  " + ", ".join(f"{key} {value:,}" for key, value in counts.by_section_category.items())
        )
        console.print(
            "  paper year        "
            + ", ".join(f"{'none' if key is None else key} {value:,}" for key, value in counts.by_year.items())
        )


@app.command()
def export(
    out_dir: Path = typer.Argument(..., help="Folder to hold <table>.parquet per table (replaced whole by the new export)."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Export every lake table as a zstd-compressed Parquet file, from one snapshot.

    The export is written beside OUT_DIR and swapped in by rename, so a reader
    never sees a half-written export. Prints rows per table.
    """
    import duckdb

    from tasks.lake import LakeError, resolve_location
    from tasks.query import export_lake

    try:
        rows = export_lake(resolve_location(lake, catalog), out_dir)
    except (LakeError, duckdb.Error, OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        typer.echo(f"citelake export: {message}", err=True)
        raise typer.Exit(code=1) from None
    for table, count in rows.items():
        typer.echo(f"{table:<20} {count:>12,} rows")


@app.command()
def serve(
    source: Path = typer.Argument(..., help="Folder of report files the scheduled ingest reads."),
    lake: LakeOption = None,
    catalog: str | None = typer.Option(
        None,
        "--catalog",
        help="PostgreSQL connection string of a shared catalog; stored in the deployment's parameters, so "
        "prefer $CITELAKE_CATALOG for one with a password. Default: the embedded SQLite catalog.",
    ),
    cron: str | None = typer.Option(None, "--cron", help="When the ingest runs (cron, UTC). Default: hourly, 0 * * * *."),
    maintain_cron: str | None = typer.Option(
        None, "--maintain-cron", help="When maintenance runs (cron, UTC). Default: daily, 30 3 * * *."
    ),
) -> None:
    """Run the ingest and the maintenance flows on a schedule, visible in the Prefect UI, until stopped.

    Registers two deployments with the Prefect server of PREFECT_API_URL
    (citelake-ingest/scheduled, at most one run at a time, and
    citelake-maintain/scheduled) and executes their runs, scheduled or started
    from the UI, in this process. Stop it with Ctrl-C.
    """
    from flows.deployments import serve_scheduled

    serve_scheduled(str(source), lake=lake and str(lake), catalog=catalog, ingest_cron=cron, maintain_cron=maintain_cron)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
