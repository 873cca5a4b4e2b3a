"""``citelake ingest``: one ingest flow run on the Prefect server (a temporary one if none is set), with its progress on the terminal."""

from __future__ import annotations

import time

import typer

from flows.cli.shared import CatalogOption, LakeOption, check_arguments, ended_cleanly, fail
from flows.runner_options import runner_options_error
from tasks.lake.tables import DEFAULT_BATCH_SIZE


def ingest(
    # Text, not a Path: a Path folds s3://BUCKET/PREFIX into the local name s3:/BUCKET/PREFIX.
    source: str = typer.Argument(
        ...,
        help="Folder of report pages (*.txt[.gz]), saved scite API responses (*.json[.gz]) and Retraction Watch exports (*.csv[.gz]), searched recursively; "
        "or s3://BUCKET/PREFIX/ for the same files in a bucket (credentials and endpoint from the AWS_* variables).",
        readable=False,  # the source is checked with the lake, in one line (tasks.lake.preflight)
    ),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Files per parse batch."),
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
    unreachable, the Prefect server of PREFECT_API_URL down, another ingest
    running on the lake); 2 for an unknown runner
    or options that do not go together; 130 when stopped with Ctrl-C, which
    says whether the run was committed first. The source, the lake folder and
    the catalog are checked before Prefect starts: a mistake there is one line
    at once.
    """
    command_started = time.monotonic()  # the closing line accounts for the command's whole time from here
    # The arguments are checked before Prefect is imported and a server launched: a typo costs no seconds.
    if problem := runner_options_error(runner, dask_address, workers):
        raise fail("ingest", ValueError(problem), code=2)
    check_arguments("ingest", source, lake, catalog)

    # Say at once what happens: importing Prefect, and starting a server, take seconds.
    typer.echo("starting Prefect…", err=True)

    from flows.interrupt import IngestInterrupt, run_interruptibly

    # Ctrl-C from here on stops the run and everything it started, then exits 130 (flows.interrupt).
    interrupt = IngestInterrupt().install()

    import logging
    import os
    from contextlib import nullcontext
    from datetime import timedelta

    # Prefect's log lines go to the run's log in the UI, not to this terminal,
    # here and in the worker processes (which inherit the environment); set
    # before Prefect is imported, which reads it.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")

    from flows.temporary_server import (
        STARTING,
        PrefectServerUnreachable,
        TemporaryServer,
        TemporaryServerError,
        api_configured,
        api_in_environment,
    )

    server = None
    if not api_in_environment():
        # Launched before Prefect is imported: it boots while this process imports. A
        # profile may still name a server (known once Prefect's settings are read).
        server = TemporaryServer().launch()
        interrupt.server = server
        if api_configured():
            server.stop()
            server = interrupt.server = None
        else:
            typer.echo(STARTING, err=True)

    from tasks.lake.location import resolve_location
    from tasks.lake.session import LakeOpening

    # The lake opens in a thread while Prefect is imported (and the temporary server boots).
    location = resolve_location(lake, catalog)
    opening = LakeOpening(location)
    interrupt.opening = opening
    head_start = None
    if runner == "threads" and wait == 0 and location.catalog is None and not source.startswith("s3://"):
        from tasks.lake.head_start import HeadStart

        # And the files are discovered, planned and handed to the parser processes meanwhile:
        # the flow run adopts what was begun (tasks.lake.head_start).
        head_start = HeadStart(str(source), location, batch_size=batch_size, workers=workers, opening=opening)
        interrupt.head_start = head_start
        # Discovery holds the GIL as Prefect's import does: the two side by side took twice as long
        # each. The plan's join and the parse, in DuckDB and in processes, go on beside the import.
        head_start.wait_discovered()

    import duckdb
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.ingest import ingest_flow, lake_opened_ahead, prefect_api, task_runner
    from tasks.lake.head_start import head_start_closed
    from tasks.lake.lock import NOTICE_LOGGER
    from tasks.lake.errors import IngestError, LakeError
    from tasks.lake.summary import IngestProgress, format_summary
    from flows.run_artifacts import PROGRESS_LOGGER, PROGRESS_RECORD_FIELD

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]}"),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task_id = bar.add_task("parsing", total=None, files="", speed="")
    stage_started: dict[str, float] = {}
    if console.is_terminal:
        interrupt.before_message.append(bar.stop)  # the bar's line is cleared before the last word

    def show(step: IngestProgress) -> None:
        if console.is_terminal and step.stage == "merged" and step.files_done < step.files_total:
            return  # the merge trails the parse by a batch: the bar follows the parse until it ends
        files = f"{step.files_done:,}/{step.files_total:,} {step.unit}"
        elapsed = time.monotonic() - stage_started.setdefault(step.unit, time.monotonic())
        if step.unit == "files":
            megabytes = f"{step.bytes_done / 1e6:,.1f}/{step.bytes_total / 1e6:,.1f} MB"
            speed = f"{step.bytes_done / 1e6 / elapsed:,.1f} MB/s" if elapsed > 0 else ""
        else:
            megabytes = ""
            speed = f"{step.files_done / elapsed:,.0f} {step.unit}/s" if elapsed > 0 else ""
        if console.is_terminal:
            bar.update(task_id, description=step.stage, completed=step.bytes_done, total=step.bytes_total, files=files, speed=speed)
        else:
            # A log, not a terminal: one plain line per step.
            typer.echo(f"{step.stage}: {files}" + (f", {megabytes}" if megabytes else ""), err=True)

    class ShowProgress(logging.Handler):
        """The flow announces its steps on the progress logger; this shows them."""

        def emit(self, record: logging.LogRecord) -> None:
            show(getattr(record, PROGRESS_RECORD_FIELD))

    class ShowNotice(logging.Handler):
        """What the run is doing or waiting for, one line at once (above the progress bar on a terminal)."""

        def emit(self, record: logging.LogRecord) -> None:
            console.print(record.getMessage(), markup=False, highlight=False, soft_wrap=True)

    PROGRESS_LOGGER.addHandler(ShowProgress())
    PROGRESS_LOGGER.setLevel(logging.INFO)
    PROGRESS_LOGGER.propagate = False
    NOTICE_LOGGER.addHandler(ShowNotice())
    NOTICE_LOGGER.setLevel(logging.INFO)
    NOTICE_LOGGER.propagate = False

    try:
        flow = ingest_flow.with_options(task_runner=task_runner(runner, dask_address, workers))
        with lake_opened_ahead(opening), head_start_closed(head_start), prefect_api(server), bar if console.is_terminal else nullcontext():
            # In a thread: this one stays free to answer Ctrl-C at once, whatever the run is doing.
            summary = run_interruptibly(
                lambda: flow(
                    source=str(source),
                    lake=lake and str(lake),
                    catalog=catalog,
                    batch_size=batch_size,
                    lock_wait=timedelta(seconds=wait),
                    # On threads, the parse tasks hand their CPU work to processes; other runners have their own.
                    parser_processes=workers if runner == "threads" else 0,
                )
            )
    except (IngestError, TemporaryServerError, PrefectServerUnreachable, LakeError, duckdb.Error, OSError, ValueError) as error:
        raise fail("ingest", error) from None
    typer.echo(format_summary(summary, wall_seconds=time.monotonic() - command_started, command_began=command_started))
    ended_cleanly.append("ingest")
