"""``citelake alerts``: what each ingest changed about the watched papers, listed or sent by Prefect."""

from __future__ import annotations

import typer

from flows.cli.messages import print_rows_or_say
from flows.cli.shared import CatalogOption, FormatOption, LakeOption, fail, lake_errors, require_format


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
    from tasks.lake.location import resolve_location
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
    shown = readable_alerts(rows) if output_format == "table" else rows
    print_rows_or_say(shown, output_format, _no_alerts(since, doi, kind))


def _no_alerts(since: str | None, doi: str | None, kind: str | None) -> str:
    """What an empty list of alerts means: none raised yet, or none of those asked for."""
    asked = [f"{option} {value}" for option, value in (("--since", since), ("--doi", doi), ("--kind", kind)) if value]
    if asked:
        return f"no alerts match {' '.join(asked)}"
    return "no alerts yet: each ingest raises them for the watched papers it changes (citelake watch add DOI)"


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
