"""Looking after the lake: ``citelake maintain`` (a maintenance pass), ``verify`` (is it sound), ``backup`` (a consistent copy)."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.shared import CatalogOption, LakeOption, fail


def maintain_command(
    retention: str = typer.Option(
        "7d", "--retention", help="Keep every snapshot younger than this for time travel (7d, 36h, 90m, 30s)."
    ),
    grace: str = typer.Option(
        "1h", "--grace", help="Delete unneeded and orphaned files only once they are this old (7d, 36h, 90m, 30s)."
    ),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    wait: float = typer.Option(
        0.0, "--wait", min=0.0, help="Seconds to wait for an ingest holding the lake's lock before giving up."
    ),
) -> None:
    """Run the lake's maintenance once: remove orphaned files, delete unneeded ones, merge small files, expire old snapshots.

    Orphans are Parquet files a failed run left that no snapshot names; files
    scheduled for deletion are those merged away or needed only by expired
    snapshots. Both are deleted only once older than --grace, so a query still
    reading them or a writer still committing keeps them. Snapshots older than
    --retention are expired (never the latest): time travel to them ends. Prints
    what each step did. The scheduled flow of `citelake serve` does the same daily.

    Exit status 1 with a one-line message when the lake cannot be maintained
    (no lake, another ingest holding it longer than --wait).
    """
    import logging

    import duckdb

    from tasks.lake.errors import IngestError, LakeError

    from tasks.lake.location import resolve_location
    from tasks.lake.lock import NOTICE_LOGGER
    from tasks.lake.maintenance import format_maintenance, maintain_lake, parse_duration

    try:
        retention_span, grace_span = parse_duration(retention), parse_duration(grace)
    except ValueError as error:
        raise fail("maintain", error, code=2) from None

    class ShowNotice(logging.Handler):
        """What the pass waits for (the lake's lock), one line at once."""

        def emit(self, record: logging.LogRecord) -> None:
            typer.echo(f"citelake maintain: {record.getMessage()}", err=True)

    NOTICE_LOGGER.addHandler(ShowNotice())
    NOTICE_LOGGER.setLevel(logging.INFO)
    NOTICE_LOGGER.propagate = False
    location = resolve_location(lake, catalog)
    try:
        result = maintain_lake(location, retention=retention_span, grace=grace_span, wait=wait)
    except (IngestError, LakeError, duckdb.Error, OSError) as error:
        raise fail("maintain", error) from None
    typer.echo(format_maintenance(location, result))


def verify(
    deep: bool = typer.Option(False, "--deep", help="Also decode every row of every file (reads all the data: slower)."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Check that the lake is sound; writes nothing.

    The catalog (SQLite's integrity check, or DuckLake's tables in a PostgreSQL
    catalog); every data and delete file the latest snapshot reads: present, of
    the size the catalog records, with a readable Parquet footer holding the rows
    the catalog records (--deep: every page decoded); and the search index's
    stamp (a stale or missing index is a warning: the next search updates it).

    Prints each problem as 'TABLE: FILE: what is wrong', then
    'lake LAKE: N problems' or 'lake LAKE: sound (...)'. Exit status 1 when a
    problem was found, or with one line when there is no lake.
    """
    from tasks.lake.errors import LakeError
    from tasks.lake.location import resolve_location
    from tasks.lake.verify import verify_lake

    try:
        result = verify_lake(resolve_location(lake, catalog), deep=deep)
    except (LakeError, OSError) as error:
        raise fail("verify", error) from None
    for problem in result.problems:
        typer.echo(problem.line())
    for warning in result.warnings:
        typer.echo(f"warning: {warning}")
    typer.echo(result.closing_line())
    if not result.sound:
        raise typer.Exit(code=1)


def backup(
    dest: Path = typer.Argument(..., help="A missing or empty folder to write the copy into."),
    lake: LakeOption = None,
) -> None:
    """Write a consistent copy of the lake to DEST, even while an ingest runs.

    The catalog is copied through SQLite's backup API (the lake as of one
    commit), then the Parquet files it references. The copy is written to
    DEST.partial and renamed to DEST when whole; it opens as a lake where it
    is (citelake sql --lake DEST, citelake verify --lake DEST). Its search
    index is built by the first search in it. A lake with a PostgreSQL catalog
    is refused: back it up with pg_dump plus a copy of its data folder.
    """
    from tasks.lake.backup import backup_lake
    from tasks.lake.errors import LakeError
    from tasks.lake.location import resolve_location

    try:
        summary = backup_lake(resolve_location(lake, None), dest)
    except (LakeError, OSError) as error:
        raise fail("backup", error) from None
    typer.echo(summary.describe())
