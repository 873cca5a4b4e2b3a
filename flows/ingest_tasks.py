"""The ingest flow's steps as Prefect tasks: :class:`FlowSteps`, for the one orchestration ``tasks.lake.ingest.run_ingest``.

Each step is a thin task over the library's step (``tasks.lake.ingest``,
``tasks.reading.staging``), cut where a flow can spread the work over workers:

- :func:`plan_ingest`: discover the report files and set them against the lake's
  manifest, in the flow's process;
- :func:`parse_batches`: read, parse and split a few batches of files and park
  each under the run's staging folder, on the task runner (a thread handing
  the work to the parser processes, a process, or a Dask worker);
- :func:`commit_run`: classify each staged batch as it comes, merge it, run the
  quality checks and commit, all in one ``LakeWriter`` transaction;
- after the commit, the alerts of watched papers and the search index's update
  (``flows.alert_tasks``, ``flows.search_tasks``), which never fail a committed run.

Tasks that touch the outside (files, the lake) retry, unless the failure is
citelake's own verdict (:func:`worth_retrying`). Retrying is safe: a
batch folder is rewritten whole, and the commit is one transaction whose merges
change nothing for pages already stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.futures import PrefectFuture
from prefect.states import State

from flows.alert_tasks import detect_alerts
from flows.run_artifacts import RunProgress, announce
from flows.search_tasks import update_search_index
from tasks.lake.errors import IngestError, LakeError
from tasks.lake.ingest import IngestRun, IngestSteps, commit_staged, plan_files
from tasks.lake.location import LakeLocation
from tasks.lake.lock import notice
from tasks.lake.plan import DISCOVERING, ParkedPlan, PlanTotals, RunPlan
from tasks.lake.summary import IngestSummary
from tasks.reading.batch import ParserProcesses, ParserProcessesStopped, submit_to_parser_process
from tasks.reading.shipping import fetch_batch, parse_and_ship, remove_shipped, ship_plan_batch, shipping_url
from tasks.reading.staging import StagedBatch, StagingStopped, parse_and_stage_planned

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

# Delays between the attempts of a task that touches files or the lake: a
# network share that hiccups, a catalog that restarts.
OUTSIDE_RETRIES = 3
OUTSIDE_RETRY_DELAYS = [2, 5, 15]


def worth_retrying(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry what the outside did (an OS or database error), not citelake's own verdicts.

    ``IngestError`` (a missing source, another ingest holding the lake) and
    ``LakeError`` (a failed key check, a lake newer than this code) say what is
    wrong and would say it again; so does a stopped run (Ctrl-C, a failed
    sibling) to a task that reaches its parser processes or its staging after the stop.
    """
    return not isinstance(
        state.result(raise_on_failure=False), IngestError | LakeError | ParserProcessesStopped | StagingStopped
    )


# Added to the error of a parse that failed (after its own retries) while the commit read its batches.
PARSE_FAILED_NOTE = "a batch of the run failed to parse; the commit stopped with it"


def commit_worth_retrying(task: Task, task_run: TaskRun, state: State) -> bool:
    """As :func:`worth_retrying`, and not when a parse failed under the commit (it would fail again)."""
    error = state.result(raise_on_failure=False)
    return worth_retrying(task, task_run, state) and PARSE_FAILED_NOTE not in getattr(error, "__notes__", ())


OUTSIDE = {
    "retries": OUTSIDE_RETRIES,
    "retry_delay_seconds": OUTSIDE_RETRY_DELAYS,
    "retry_condition_fn": worth_retrying,
    # Inputs are plans and file lists: hashing them for a cache key would cost
    # time and buy nothing, since a run never reuses another run's results.
    "cache_policy": NO_CACHE,
}


@task(**OUTSIDE)
def plan_ingest(source: str, location: LakeLocation, batch_size: int | None = None, planned: RunPlan | None = None) -> RunPlan:
    """Discover the report files under ``source`` and decide which must be read (creates the lake on first use).

    ``planned``: the plan ``citelake ingest`` made while Prefect started (``tasks.lake.head_start``), which this returns.
    """
    if planned is not None:
        return planned
    notice(DISCOVERING)
    return plan_files(source, location, batch_size)


# Batches a parse task takes when it hands them to this machine's parser processes. Each task run
# costs the flow's process about 10 ms and the Prefect server 20-50 ms of CPU, on the cores the
# parser processes use: at 100,000 files (50 batches) the server took 1.16 s of CPU to the commit
# with two a task, 0.68 s with five. Five still move the progress every 10,000 files at the
# default batch size. A task that parses its batches itself (the processes and Dask runners) takes
# one: there the tasks are what runs side by side.
BATCHES_PER_TASK = 5


def batches_of_tasks(batches: int, per_task: int) -> list[list[int]]:
    """The batch numbers ``0 .. batches - 1`` in the plan's order, ``per_task`` to a parse task."""
    numbers = range(batches)
    return [list(numbers[first : first + per_task]) for first in numbers[::per_task]]


@task(**OUTSIDE)
def parse_batches(plan_file: Path, batch_numbers: list[int], staging: Path) -> list[StagedBatch]:
    """Read, parse and split batches ``batch_numbers`` of the parked plan ``plan_file`` and park each under ``staging``.

    What travels to a worker, and on to a parser process, is a path and
    numbers: the files are read from the plan's file where they are parsed.
    Inside the flow's ``parser_processes`` block the batches go to the parser
    processes together, and only the staged batches' descriptions come back;
    elsewhere they are parsed here, one after the other.
    """
    futures = [submit_to_parser_process(parse_and_stage_planned, plan_file, number, staging) for number in batch_numbers]
    return [future.result() for future in futures]


@task(**(OUTSIDE | {"retry_condition_fn": commit_worth_retrying}))
def commit_run(run: IngestRun, totals: PlanTotals, parked: ParkedPlan, staged: Iterable[StagedBatch]) -> IngestSummary:
    """Merge the staged batches as they come (in the plan's order), run the checks and commit the run as one snapshot."""
    return commit_staged(run, totals, parked, staged, announce)


@task(**OUTSIDE)
def parse_shipped_batch(plan_url: str, batch_number: int, url: str) -> StagedBatch:
    """:func:`parse_batches` of one batch, for a worker that shares only the lake's bucket with the run: the batch travels through it."""
    return parse_and_ship(plan_url, batch_number, url)


def _ships_through_bucket(location: LakeLocation) -> bool:
    """Whether the parse tasks may run on other machines, which see nothing of this one but the lake's bucket.

    Threads and processes of this machine read the run's local staging folder; a
    Dask cluster's workers may be anywhere. A local lake has no bucket: its
    workers must see its folder, as before.
    """
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    return location.on_object_storage and not isinstance(_task_runner(), ThreadPoolTaskRunner | ProcessPoolTaskRunner | None)


def _task_runner() -> TaskRunner | None:
    """The task runner of the flow run this is called in (None outside one)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context.task_runner if context is not None else None


class FlowSteps(IngestSteps):
    """The steps of ``tasks.lake.ingest.run_ingest`` as the ingest flow runs them: Prefect tasks, with the UI's progress."""

    def __init__(self) -> None:
        super().__init__(announce)
        self._progress: RunProgress | None = None

    def plan(self, run: IngestRun, planned: RunPlan | None = None) -> RunPlan:
        plan = plan_ingest(str(run.source), run.location, run.batch_size, planned)
        logger = get_run_logger()
        for folder, reason in plan.skipped_folders:
            logger.warning("%s: folder skipped, cannot read it (%s)", folder, reason)
        return plan

    def planned(self, totals: PlanTotals, batches: int) -> None:
        get_run_logger().info(
            "%s files seen, %s unchanged, %s to read in %d batches",
            f"{totals.files_seen:,}", f"{totals.unchanged:,}", f"{totals.files_to_read:,}", batches,
        )
        self._progress = RunProgress(totals, batches)

    def parse(self, run: IngestRun, parked: ParkedPlan, staging: Path, processes: ParserProcesses) -> Iterator[StagedBatch]:
        # Submitted here, in the flow's context: submitted from inside the commit task (which
        # consumes the results), they would be its children and carry its context to Dask.
        if _ships_through_bucket(run.location):
            url = shipping_url(run.location, run.run_id)
            futures = [
                parse_shipped_batch.submit(ship_plan_batch(parked, number, url), number, url) for number in range(len(parked))
            ]
            return self._in_order(futures, staging, shipped=url)
        from prefect.task_runners import ThreadPoolTaskRunner

        # Tasks on threads wait for this machine's parser processes, which run the batches side by side.
        handed_on = processes.workers > 1 and isinstance(_task_runner(), ThreadPoolTaskRunner)
        per_task = BATCHES_PER_TASK if handed_on else 1
        futures = [parse_batches.submit(parked.path, numbers, staging) for numbers in batches_of_tasks(len(parked), per_task)]
        return self._in_order(futures, staging)

    def _in_order(
        self, futures: list[PrefectFuture[StagedBatch]] | list[PrefectFuture[list[StagedBatch]]], staging: Path, shipped: str | None = None
    ) -> Iterator[StagedBatch]:
        try:
            for future in futures:
                result = future.result()
                for batch in result if isinstance(result, list) else [result]:
                    staged = fetch_batch(batch, staging)
                    if self._progress is not None:
                        self._progress.batch_done(staged)
                    yield staged
        finally:
            if shipped is not None:
                remove_shipped(shipped)

    def commit(self, run: IngestRun, totals: PlanTotals, parked: ParkedPlan, staged: Iterable[StagedBatch]) -> IngestSummary:
        # The task is called, not submitted: it merges in this thread as the parse tasks finish.
        return commit_run(run, totals, parked, _Replayable(staged))

    def after_commit(self, run: IngestRun, summary: IngestSummary) -> IngestSummary:
        timed: dict[str, float] = {}
        started = time.monotonic()
        detect_alerts(run.location, summary)
        timed["alerts"] = time.monotonic() - started
        started = time.monotonic()
        # Still under the ingest lock: the index follows the runs one at a time.
        index = update_search_index(run.location)
        timed["search index"] = time.monotonic() - started
        summary = replace(summary, after_commit=summary.after_commit | timed)
        if index.error:  # the run is committed all the same; its summary says the index lags
            summary = replace(summary, search_index_error=index.error)
        return summary


class _Replayable:
    """Staged batches that a retried commit reads again: a later pass replays those the first one saw, then goes on."""

    def __init__(self, staged: Iterable[StagedBatch]) -> None:
        self._source = iter(staged)
        self._seen: list[StagedBatch] = []
        self._failed: BaseException | None = None

    def __iter__(self) -> Iterator[StagedBatch]:
        yield from list(self._seen)
        if self._failed is not None:  # a pass after the parse failed: never a run with batches missing
            raise self._failed
        while True:
            try:
                batch = next(self._source)
            except StopIteration:
                return
            except Exception as error:
                error.add_note(PARSE_FAILED_NOTE)
                self._failed = error
                raise
            self._seen.append(batch)
            yield batch
