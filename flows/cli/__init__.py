"""The ``citelake`` command: one sub-command per job, each a thin wrapper over ``tasks/``.

Each command group parses its arguments and renders its output in a module of its own
(``flows/cli/<group>.py``) and imports what it needs inside its functions, so that
``citelake --help`` and the short commands start without Prefect, polars or DuckDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tasks.allocator import return_freed_memory

return_freed_memory()  # before any command imports polars

from flows.cli import care, explain, ingest, reading, search, serve, sql
from flows.cli.shared import (
    CatalogOption,
    FormatOption,
    LakeOption,
    ended_cleanly,
    fail,
    lake_errors,
    print_rows,
    require_format,
)

app = typer.Typer(
    name="citelake",
    help="Turn folders of citation-report pages into a DuckLake lakehouse you can query with SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    from tasks.lake.connection import resolve_location
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
    from tasks.lake.connection import resolve_location
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
    from tasks.lake.connection import resolve_location
    from tasks.alerts.watch import watchlist

    require_format("watch list", output_format)
    try:
        rows = watchlist(resolve_location(lake, catalog))
    except lake_errors() as error:
        raise fail("watch list", error) from None
    print_rows(rows, output_format)


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
    from tasks.lake.connection import resolve_location
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


alerts_app = typer.Typer(
    help="Alerts: what each ingest changed about the watched papers (citelake watch), newest first; "
    "'alerts notify' sends them by e-mail or to a webhook through Prefect.",
    invoke_without_command=True,
)


@alerts_app.callback()
def alerts_list(
    context: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Only alerts of pages saved on or after this date (YYYY-MM-DD or ISO time)."),
    doi: str | None = typer.Option(None, "--doi", help="Only the alerts of this paper."),
    kind: str | None = typer.Option(
        None, "--kind", help="Only alerts of this kind: first_seen, contrasting_added, supporting_added, reclassified, tally_changed, "
        "retracted, editorial_notice."
    ),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    output_format: FormatOption = "table",
) -> None:
    """List the alerts, newest first: page date, DOI, kind, title, what changed, the statement.

    --format json or csv gives every column: observed_at, doi, kind, title,
    statement_id, run_id, detail (JSON: the statement, counts before and after …), alert_id.

    Alerts are computed after each committed ingest for the watched papers it
    changed: contrasting_added / supporting_added (a new statement of that type),
    reclassified (a known statement's type changed), tally_changed (counts moved),
    first_seen (the paper's first page arrived).
    """
    if context.invoked_subcommand is not None:
        return
    from datetime import datetime

    from tasks.alerts.detect import list_alerts, readable_alerts
    from tasks.lake.connection import resolve_location
    from tasks.reading.record import InvalidDOI, valid_doi

    require_format("alerts", output_format)
    try:
        since_time = datetime.fromisoformat(since) if since else None
    except ValueError:
        typer.echo(f"citelake alerts: --since {since!r} is not a date (YYYY-MM-DD or an ISO time)", err=True)
        raise typer.Exit(code=2) from None
    if since_time is not None and since_time.tzinfo is None:
        from datetime import UTC

        since_time = since_time.replace(tzinfo=UTC)
    try:
        wanted = valid_doi(doi) if doi else None
    except InvalidDOI as error:
        raise fail("alerts", error, code=2) from None
    try:
        rows = list_alerts(resolve_location(lake, catalog), since=since_time, doi=wanted, kind=kind)
    except lake_errors() as error:
        raise fail("alerts", error) from None
    print_rows(readable_alerts(rows) if output_format == "table" else rows, output_format)


@alerts_app.command("notify")
def alerts_notify(
    email: str | None = typer.Option(None, "--email", help="Send each alert to this e-mail address (with --smtp)."),
    smtp: str | None = typer.Option(None, "--smtp", help="The SMTP server for --email, HOST:PORT (plain SMTP, no login)."),
    webhook: str | None = typer.Option(None, "--webhook", help="POST each alert as JSON ({subject, body}) to this URL."),
    test: bool = typer.Option(False, "--test", help="Send one test notification now, so a wrong host or URL shows at once."),
) -> None:
    """Send every new alert by e-mail or to a webhook, through a Prefect automation.

    Saves a Prefect notification block and an automation (citelake-alerts-email
    or citelake-alerts-webhook) on the server of PREFECT_API_URL: every
    citelake.alert.* event that an ingest run emits sends one message naming the
    paper, what changed and the statement quoted. Running it again updates both
    instead of adding more. Exit status 1 with one line when the test
    notification or the server fails, 2 for wrong options.
    """
    import os

    if (email is None) == (webhook is None):
        typer.echo("citelake alerts notify: give either --email ADDRESS --smtp HOST:PORT or --webhook URL", err=True)
        raise typer.Exit(code=2)
    if email is not None and smtp is None:
        typer.echo("citelake alerts notify: --email needs --smtp HOST:PORT", err=True)
        raise typer.Exit(code=2)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            typer.echo(
                "citelake alerts notify: no Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api) "
                "to the server that runs your ingests",
                err=True,
            )
            raise typer.Exit(code=1)

    from tasks.alerts.notify import EMAIL_NAME, WEBHOOK_NAME, NotifySetupError, email_block, set_up, webhook_block

    try:
        if email is not None:
            name, where, block = EMAIL_NAME, f"{email} via {smtp}", email_block(email, smtp)
        else:
            name, where, block = WEBHOOK_NAME, webhook, webhook_block(webhook)
    except NotifySetupError as error:
        raise fail("alerts notify", error, code=2) from None
    try:
        done = set_up(name, block, where=where, test=test)
    except NotifySetupError as error:
        raise fail("alerts notify", error) from None
    except Exception as error:  # the Prefect API: unreachable, refused
        raise fail("alerts notify", error) from None
    if done.tested:
        typer.echo(f"test notification sent to {where}")
    verb = "updated" if done.updated else "created"
    typer.echo(f"{verb} automation {name} ({done.automation_id}): every citelake.alert.* event notifies {where}")


# Every command in the order `citelake --help` lists them.
app.command()(reading.generate)
app.command()(reading.parse)
app.command()(ingest.ingest)
app.command("sql")(sql.sql_command)
app.command()(sql.attach)
app.command("search")(search.search_command)
app.command()(sql.export)
app.command()(serve.serve)
app.command("maintain")(care.maintain_command)
app.command()(explain.explain)
app.command()(care.verify)
app.command()(care.backup)
app.add_typer(watch_app, name="watch")
app.add_typer(alerts_app, name="alerts")


def main() -> None:
    import logging

    # What the steps warn about (a moved lake, a skipped folder) reaches the terminal, one line each.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("citelake: %(message)s"))
    steps = logging.getLogger("tasks")
    steps.addHandler(handler)
    steps.setLevel(logging.WARNING)
    try:
        app()
    except SystemExit as ending:
        if not ended_cleanly or ending.code not in (None, 0):
            raise
    if not ended_cleanly:
        return
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
