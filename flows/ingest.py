"""The ingest flow: report files in a folder (or under a bucket's prefix, ``s3://BUCKET/PREFIX/``) → one new snapshot of the lake.

Its DAG, in the order of the one orchestration ``tasks.lake.ingest.run_ingest``
with the Prefect tasks of ``flows.ingest_tasks.FlowSteps``:

    plan_ingest ─► parse_batches × N/5 (concurrently, on the task runner) ─► commit_run ─► detect_alerts ─► update_search_index ─► publish_run_report
    (discover,      (read, parse, split five batches, one on                 (classify, merge each batch as it comes;
     plan)           Dask or processes; park each as Parquet                  checks, COMMIT)
                     in the run's staging folder)

A failed alert detection or search-index update is a warning, never a failed
run: the run is committed, and the next one catches up (``flows.alert_tasks``,
``flows.search_tasks``).

The whole run holds the lake's ingest lock (``tasks.lake.lock.ingest_guard``), so
a second run on the same lake stops at once with a message naming the holder
instead of racing it. The default task runner is a pool of threads, two per
parser process (one process per core): each parse task hands its batch to a
parser process and waits for it, and threads start at once, where Prefect's
process pool costs seconds per worker and about a second per batch on this
machine. ``--runner processes`` gives each batch a core for
very large runs; ``--runner dask`` spreads the batches over a Dask
cluster instead (its workers must see the source folder and the lake folder; a bucket
source needs the ``AWS_*`` variables there instead of the folder: each worker fetches its
batch's objects itself, ``tasks.reading.objects``).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import httpx
from prefect import flow
from prefect.client.schemas.objects import Flow, FlowRun
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.runtime import deployment, flow_run
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.ingest_tasks import FlowSteps
from flows.interrupt import run_started
from flows.run_artifacts import publish_run_report
from flows.runner_options import runner_options_error
from flows.temporary_server import STARTING, PrefectServerUnreachable, TemporaryServer, TemporaryServerError, api_configured
from tasks.lake.head_start import adopt_head_start
from tasks.lake.ingest import run_ingest
from tasks.lake.location import resolve_location
from tasks.lake.lock import notice
from tasks.lake.session import LakeOpening, lake_kept_open
from tasks.lake.summary import IngestSummary
from tasks.lake.tables import DEFAULT_BATCH_SIZE
from tasks.reading.staging import remove_staging, staging_folder

# Parse tasks in flight per parser process on the threads runner: one the process
# works on, one queued behind it, so the process never idles while Prefect ends a
# task and starts the next.
TASKS_PER_PARSER = 2


def _thread_runner(workers: int | None = None) -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=TASKS_PER_PARSER * (workers or os.cpu_count() or 1))


def discard_staging(flow: Flow, flow_run: FlowRun, state: State) -> None:
    """State hook: a run that failed, crashed or was cancelled leaves no parked batches behind.

    The parameters' names are Prefect's: the runner of ``citelake serve`` calls the
    hooks of a cancelled or crashed run by keyword (``flow=, flow_run=, state=``).
    """
    location = resolve_location(flow_run.parameters.get("lake"), flow_run.parameters.get("catalog"))
    remove_staging(staging_folder(location, str(flow_run.id)))


@flow(
    name="citelake-ingest",
    task_runner=_thread_runner(),
    on_failure=[discard_staging],
    on_crashed=[discard_staging],
    on_cancellation=[discard_staging],
)
def ingest_flow(
    source: str,
    lake: str | None = None,
    catalog: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lock_wait: timedelta = timedelta(0),
    parser_processes: int | None = None,
) -> IngestSummary:
    """Bring the report files under ``source`` (a folder, or ``s3://BUCKET/PREFIX/``) into the lake as one snapshot, and report on it in the UI.

    ``lake`` and ``catalog`` are as for ``citelake ingest`` (default: ``CITELAKE_LAKE``,
    ``CITELAKE_CATALOG``, ``./lake``); ``batch_size`` files make one parse task;
    ``lock_wait`` is how long to wait for another ingest on the lake to finish.
    ``parser_processes`` is how many processes the parse tasks hand their work
    to (default: one per core when the run has more than one batch; 0: parse in
    the task's own worker, as with the processes and Dask runners).
    The lake's ``runs.run_id`` is this flow run's id.
    """
    started = time.monotonic()
    location = resolve_location(lake, catalog)
    run_id = str(flow_run.id)
    run_started(location, run_id)  # what a Ctrl-C of `citelake ingest` cleans up (flows.interrupt)
    if deployment.id is not None and threading.current_thread() is threading.main_thread():
        # A deployment's run (`citelake serve`) in a process of its own: a terminal's Ctrl-C reaches
        # that process too, but stopping the run is its runner's to do (it cancels it, and the hooks
        # remove the staging), not a KeyboardInterrupt's, which would end it as crashed.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The tasks run in this process: they open the lake once between them, not five times.
    with lake_kept_open(location):
        # What `citelake ingest` began in this process while Prefect started (none for a deployment's
        # run): the run's time counts from when its work began.
        ahead = adopt_head_start(source, location, batch_size, parser_processes)
        summary = run_ingest(
            source,
            location,
            FlowSteps(),
            run_id=run_id,
            batch_size=batch_size,
            workers=parser_processes,
            wait=lock_wait.total_seconds(),
            started=started if ahead is None else ahead.began,
            ahead=ahead,
        )
        reported = time.monotonic()
        publish_run_report(location, summary)
    return replace(summary, after_commit=summary.after_commit | {"run report": time.monotonic() - reported})


@contextmanager
def prefect_api(server: TemporaryServer | None = None) -> Iterator[None]:
    """One Prefect API for this process and every worker process it starts.

    With ``PREFECT_API_URL`` set, that server. Without it, Prefect would start a
    temporary server in each process that needs one (the flow's, and every
    parse worker's); this uses one instead, for the duration of the block:
    ``server``, launched earlier by the caller so that it starts while the
    caller imports, or one launched here. It points this
    process's settings (which worker processes inherit) at it. That server dies
    with this process, however it ends, and one that does not start raises
    ``TemporaryServerError`` (see ``flows.temporary_server``).

    A flow run on the temporary server sends no heartbeats. They tell a
    server that a run is still alive, for detecting crashed runs; this server
    ends with the run, so they would tell no one anything. And Prefect's
    heartbeat thread sleeps in steps of a second, which the end of every flow
    run waits out: 1.0 s of a 25-file run's 3.7 s.
    """
    if server is None and api_configured():
        try:
            yield
        except RuntimeError as error:
            raise _unreachable(error) or error
        finally:
            _deliver_logs_and_events()
        return
    if server is None:
        notice(STARTING)
        server = TemporaryServer().launch()
    try:
        # What the flow run's start imports (to serialize its parameters), imported
        # while the server boots rather than after.
        import fastapi.encoders  # noqa: F401

        server.wait_ready()
        with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            try:
                yield
            finally:
                _deliver_logs_and_events()  # while the server is still up
    finally:
        server.stop()


@contextmanager
def lake_opened_ahead(opening: LakeOpening) -> Iterator[None]:
    """The block's runs use the lake ``opening`` opened ahead (:class:`tasks.lake.session.LakeOpening`).

    The run's tasks get cursors of its instance (:func:`lake_kept_open`), as they
    get them of the one the flow opens itself. The open is done before the run
    takes the ingest lock, as any other command's writable open is; it changes
    nothing in a lake that is up to date. The folders the opening made are
    removed when the block ends with ``TemporaryServerError`` or
    ``PrefectServerUnreachable``: a run that never started writes nothing.
    """
    try:
        with lake_kept_open(opening.location, opened=opening):
            yield
    except (TemporaryServerError, PrefectServerUnreachable):
        opening.undo()
        raise


def _unreachable(error: RuntimeError) -> PrefectServerUnreachable | None:
    """Prefect's "Failed to reach API" as one line, or None for any other error.

    Prefect raises it, from the network error, when the run's client first asks the
    server for its version: before any flow run exists, so nothing was written.
    """
    cause = error.__cause__
    if not isinstance(cause, httpx.TransportError) or not str(error).startswith("Failed to reach API"):
        return None
    reason = re.sub(r"^\[Errno \d+\] ", "", str(cause)) or type(cause).__name__
    unreachable = PrefectServerUnreachable(
        f"cannot reach the Prefect server at {PREFECT_API_URL.value()} (PREFECT_API_URL): {reason}; nothing was written"
    )
    unreachable.__cause__ = error
    return unreachable


def _deliver_logs_and_events() -> None:
    """Send the runs' last log lines and events now, not at the interpreter's exit (which ``citelake ingest`` skips)."""
    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


def task_runner(runner: str = "threads", dask_address: str | None = None, workers: int | None = None) -> TaskRunner:
    """The task runner for ``--runner``: ``threads`` (the default), ``processes`` or ``dask``.

    ``threads`` and ``processes`` are pools of ``workers`` on this machine;
    ``dask`` connects to the scheduler at ``dask_address``, or without one starts
    a local cluster of ``workers`` worker processes. ``workers`` defaults to one per core.
    """
    if problem := runner_options_error(runner, dask_address, workers):
        raise ValueError(problem)
    if runner == "threads":
        return _thread_runner(workers)
    if runner == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    if runner == "dask":
        from prefect_dask import DaskTaskRunner  # imports dask.distributed: only when asked for

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers} if workers else None)
    raise AssertionError(f"runner {runner!r} passed runner_options_error")


if __name__ == "__main__":
    import sys

    ingest_flow(*sys.argv[1:3])  # python -m flows.ingest SOURCE [LAKE]
