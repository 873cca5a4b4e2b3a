"""``citelake watch``: the watchlist, the papers whose changes raise alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.messages import print_rows_or_say
from flows.cli.shared import CatalogOption, FormatOption, LakeOption, fail, lake_errors, require_format


watch_app = typer.Typer(
    help="The watchlist: papers whose changes (new contrasting or supporting statements, "
    "reclassifications, moved counts, a first page) raise alerts after each ingest.",
    no_args_is_help=True,
)


LabelOption = Annotated[str | None, typer.Option("--label", help="A label stored with each DOI (e.g. a project name).")]


WaitOption = Annotated[
    float, typer.Option("--wait", min=0.0, help="Seconds to wait for an ingest holding the lake's lock before giving up.")
]


@watch_app.command("add")
def watch_add(
    dois: list[str] = typer.Argument(..., help="DOIs to watch, in any case, with or without https://doi.org/ or doi:."),
    label: LabelOption = None,
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Watch papers: alerts are raised for them from the next ingest on.

    A DOI the lake has no page of yet may be watched: its first page raises a
    first_seen alert. One lake transaction; exit status 2 for a text that is not a DOI.
    """
    from tasks.lake.location import resolve_location
    from tasks.reading.record import InvalidDOI
    from tasks.alerts.watch import describe_watch, parse_dois, watch

    try:
        wanted = parse_dois(dois)
    except InvalidDOI as error:
        raise fail("watch add", error, code=2) from None
    try:
        states = watch(resolve_location(lake, catalog), wanted, label=label, wait=wait)
    except lake_errors() as error:
        raise fail("watch add", error) from None
    for line in describe_watch(states):
        typer.echo(line)


@watch_app.command("remove")
def watch_remove(
    dois: list[str] = typer.Argument(..., help="DOIs to stop watching."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Stop watching papers (their alerts stay in the lake). One lake transaction."""
    from tasks.lake.location import resolve_location
    from tasks.reading.record import InvalidDOI
    from tasks.alerts.watch import describe_watch, parse_dois, unwatch

    try:
        wanted = parse_dois(dois)
    except InvalidDOI as error:
        raise fail("watch remove", error, code=2) from None
    try:
        states = unwatch(resolve_location(lake, catalog), wanted, wait=wait)
    except lake_errors() as error:
        raise fail("watch remove", error) from None
    for line in describe_watch(states, removing=True):
        typer.echo(line)


@watch_app.command("list")
def watch_list(lake: LakeOption = None, catalog: CatalogOption = None, output_format: FormatOption = "table") -> None:
    """List the watched papers: label, since when, title, latest page, counts and alerts raised."""
    from tasks.lake.location import resolve_location
    from tasks.alerts.watch import watchlist

    require_format("watch list", output_format)
    try:
        rows = watchlist(resolve_location(lake, catalog))
    except lake_errors() as error:
        raise fail("watch list", error) from None
    print_rows_or_say(
        rows, output_format, "no papers watched yet: citelake watch add DOI or citelake watch import FILE adds some"
    )


@watch_app.command("import")
def watch_import(
    file: Path = typer.Argument(..., help="A plain list of DOIs (one a line), a BibTeX (.bib) or an RIS (.ris) file."),
    label: LabelOption = None,
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Watch every DOI of a file: a plain list, BibTeX or RIS (the format is told by the name or the content).

    Entries without a DOI, or whose DOI is not one, are counted and listed; the
    others are watched in one lake transaction.
    """
    from tasks.lake.location import resolve_location
    from tasks.alerts.watch import describe_watch, read_doi_file, watch

    try:
        found = read_doi_file(file)
        states = watch(resolve_location(lake, catalog), found.dois, label=label, wait=wait) if found.dois else []
    except lake_errors() as error:
        raise fail("watch import", error) from None
    for line in describe_watch(states):
        typer.echo(line)
    new = sum(not state.watched for state in states)
    typer.echo(
        f"{file}: {found.file_format}, {len(found.dois)} DOIs ({new} newly watched), "
        f"{len(found.without_doi)} without DOI, {len(found.invalid)} invalid"
    )
    for name in found.without_doi:
        typer.echo(f"  without DOI  {name}")
    for name, message in found.invalid:
        typer.echo(f"  invalid      {name}: {message}")
