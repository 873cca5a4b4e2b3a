"""``citelake serve``: the scheduled ingest and maintenance, and the explain and check deployments, run in this process."""

from __future__ import annotations


import typer

from flows.cli.shared import LakeOption, check_arguments


def serve(
    source: str = typer.Argument(
        ...,
        help="Folder of report files the scheduled ingest reads, or s3://BUCKET/PREFIX/ (credentials from the AWS_* variables).",
        show_default=False,
    ),
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

    Registers four deployments with the Prefect server of PREFECT_API_URL
    (citelake-ingest/scheduled, at most one run at a time;
    citelake-maintain/scheduled; citelake-explain/on-demand, run from the UI
    with DOIs and, by a trigger, after each completed ingest run for the
    watched papers; and citelake-check/on-demand, run from the UI with a
    reference list's path or text) and executes their runs, scheduled, triggered or started
    from the UI, in this process. Stop it with Ctrl-C or SIGTERM: the runs in
    flight are cancelled (their staging removed) and the process ends.

    Its first line is the address of the Prefect UI (PREFECT_UI_URL, else
    derived from PREFECT_API_URL).
    """
    # Checked before Prefect is imported, as an ingest checks them: its scheduled runs would each fail on them.
    check_arguments("serve", source, lake, catalog)

    import os
    import signal

    def stop_as_on_sigterm(signum, frame) -> None:
        # Prefect's runner stops on SIGTERM at once, cancelling the runs in flight; a KeyboardInterrupt
        # would wait on them instead. A second Ctrl-C ends the process there and then.
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGINT, stop_as_on_sigterm)

    typer.echo(prefect_ui_line(), err=True)

    from flows.deployments import serve_scheduled

    serve_scheduled(str(source), lake=lake and str(lake), catalog=catalog, ingest_cron=cron, maintain_cron=maintain_cron)


def prefect_ui_line() -> str:
    """Where the Prefect UI shows the deployments and their runs, from Prefect's settings, in one line.

    ``PREFECT_UI_URL`` when set, else Prefect's own derivation from ``PREFECT_API_URL``
    (``http://host:4200/api`` → ``http://host:4200``). Without one, Prefect serves
    on a temporary server of its own, which has no UI, and no scheduler either
    (Prefect runs it only in a real server).
    """
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if not settings.api.url:
        return (
            "Prefect UI: none: without PREFECT_API_URL, Prefect serves on a temporary server of its own, which has "
            "no UI and runs no schedules; start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    return f"Prefect UI: {settings.ui_url} (Prefect API {settings.api.url})"
