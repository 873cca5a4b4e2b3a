"""The lake's tables as they are: ``citelake sql`` (read-only queries), ``attach`` (open it from your own DuckDB), ``export`` (Parquet files)."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.shared import CatalogOption, LakeOption, fail, print_rows, require_format


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
    import duckdb

    from tasks.lake.errors import LakeError

    from tasks.lake.location import resolve_location
    from tasks.lake.query import WriteRefused, error_line, run_readonly_query

    require_format("sql", output_format)
    try:
        result = run_readonly_query(resolve_location(lake, catalog), query)
    except WriteRefused as error:
        typer.echo(f"citelake sql: {error}", err=True)
        raise typer.Exit(code=2) from None
    except duckdb.Error as error:
        typer.echo(f"citelake sql: {error_line(error)}", err=True)
        raise typer.Exit(code=1) from None
    except (LakeError, ValueError) as error:
        raise fail("sql", error) from None
    print_rows(result, output_format)


def attach(
    lake: LakeOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Print the statements that open the lake, read-only, from your own DuckDB session or the DuckDB CLI.

    The output LOADs the DuckLake and catalog extensions from the installed
    duckdb-extension-* packages (built for the DuckDB version citelake pins,
    which your DuckDB must be too) and ATTACHes the lake as 'lake'. Paste it into `duckdb`, or
    run `duckdb -init <(citelake attach)`. From Python:
    `from tasks.lake.session import connect_read_only; con = connect_read_only("lake")`.
    """
    from tasks.lake.errors import LakeError
    from tasks.lake.session import attach_script
    from tasks.lake.location import resolve_location

    try:
        typer.echo(attach_script(resolve_location(lake, catalog)))
    except LakeError as error:
        typer.echo(f"citelake attach: {error}", err=True)
        raise typer.Exit(code=1) from None


def export(
    out_dir: Path = typer.Argument(..., help="Folder to hold <table>.parquet per table (replaced whole by the new export)."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Export every table of the lake (the watchlist and alerts too) as a zstd-compressed Parquet file, from one snapshot.

    The export is written beside OUT_DIR and swapped in by rename, so a reader
    never sees a half-written export. Prints rows per table, then the tables written.
    """
    import duckdb

    from tasks.lake.errors import LakeError

    from tasks.lake.location import resolve_location
    from tasks.lake.query import export_lake

    try:
        rows = export_lake(resolve_location(lake, catalog), out_dir)
    except (LakeError, duckdb.Error, OSError) as error:
        raise fail("export", error) from None
    for table, count in rows.items():
        typer.echo(f"{table:<20} {count:>12,} rows")
    typer.echo(f"exported {len(rows)} tables to {out_dir}: {', '.join(rows)}")
