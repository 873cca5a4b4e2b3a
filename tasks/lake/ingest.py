"""The one orchestration of an ingest: discover and plan → parse in parallel → commit → after the commit.

:func:`run_ingest` is the order of the steps, under the lake's lock
(:mod:`~tasks.lake.lock`); an :class:`IngestSteps` says how each step runs.
The steps here run in this process, without Prefect: :func:`ingest` (the
library's call, for tests and scripts). The ingest flow
(``flows/ingest.py``) runs the same order with ``flows.ingest_tasks.FlowSteps``,
whose steps are Prefect tasks and which adds the alerts and the search index
after the commit.

The commit consumes the parsed batches as they come, in order, while later
batches are still being parsed: a run's merge overlaps its parse.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tasks.lake.commit import commit_batches
from tasks.lake.discover import discover_reports
from tasks.lake.location import LakeLocation
from tasks.lake.lock import ingest_guard
from tasks.lake.plan import ParkedPlan, PlanTotals, RunPlan, plan_run
from tasks.lake.session import lake_kept_open, open_lake, release_kept_instance
from tasks.lake.summary import IngestProgress, IngestSummary, ProgressCallback
from tasks.lake.tables import DEFAULT_BATCH_SIZE
from tasks.reading.batch import ParserProcesses, parser_processes, run_in_parser_process, warm_parser_processes
from tasks.reading.staging import StagedBatch, parse_and_stage_planned, remove_staging, stage_plan_in_parallel, staging_folder

if TYPE_CHECKING:
    from tasks.lake.head_start import HeadStart

T = TypeVar("T")
# From this many files seen, the commit opens the lake afresh rather than on the plan's DuckDB instance.
FRESH_CONNECTION_AFTER_PLAN = 100_000


def plan_files(source: Path | str, location: LakeLocation, batch_size: int | None = None) -> RunPlan:
    """Discover the report files under ``source`` (a folder, or ``s3://BUCKET/PREFIX/``) and decide which must be read (creates the lake on first use).

    With ``batch_size``, the current block's parser processes are started
    (without waiting) as soon as discovery is sure of more than one batch to read.
    Raises ``tasks.lake.errors.SourceError`` for a missing source before the lake is touched.
    """
    skipped_folders: list[tuple[str, str]] = []
    discovered = discover_reports(source, skipped_folders)
    con = open_lake(location)
    try:
        when_work = None if batch_size is None else (batch_size + 1, warm_parser_processes)
        return plan_run(con, discovered, skipped_folders, when_work=when_work)
    finally:
        con.close()


@dataclass(frozen=True, slots=True)
class IngestRun:
    """One run of :func:`run_ingest`: what it reads, where it writes, its id and its start (``time.monotonic()``)."""

    source: Path | str
    location: LakeLocation
    run_id: str
    started: float
    batch_size: int = DEFAULT_BATCH_SIZE


def commit_staged(
    run: IngestRun,
    totals: PlanTotals,
    parked: ParkedPlan,
    staged: Iterable[StagedBatch],
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Merge the staged batches as they come, each with its slice of the plan, run the checks and commit the run as one snapshot.

    The batches are merged in the order given (:func:`commit_batches`).
    """
    batches = ((parked.batch(batch.number), batch) for batch in staged)
    con = open_lake(run.location)
    try:
        return commit_batches(
            con, run.location, run_id=run.run_id, source=run.source, plan=totals, batches=batches, started=run.started, progress=progress
        )
    finally:
        con.close()


class IngestSteps:
    """How the steps of :func:`run_ingest` run: here, in this process, without Prefect.

    ``progress`` hears the run's steps ("planned", then "merged" after each
    batch, "committing", "committed"). ``flows.ingest_tasks.FlowSteps`` runs the
    same steps as Prefect tasks.
    """

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self.progress = progress or (lambda _: None)

    def plan(self, run: IngestRun, planned: RunPlan | None = None) -> RunPlan:
        """The run's plan: ``planned``, made by a head start (``tasks.lake.head_start``), or made now."""
        return planned if planned is not None else plan_files(run.source, run.location, run.batch_size)

    def planned(self, totals: PlanTotals, batches: int) -> None:
        """The plan is known: ``batches`` batches of files to read."""
        self.progress(IngestProgress("planned", 0, totals.files_to_read, 0, totals.bytes_to_read))

    def parse(self, run: IngestRun, parked: ParkedPlan, staging: Path, processes: ParserProcesses) -> Iterator[StagedBatch]:
        """Each batch of ``parked`` read, parsed and parked under ``staging``, yielded in the plan's order."""
        if processes.workers <= 1:
            for number in range(len(parked)):  # a batch a head start began is collected, not parsed again
                yield run_in_parser_process(parse_and_stage_planned, parked.path, number, staging)
            return
        yield from stage_plan_in_parallel(parked.path, len(parked), staging, workers=processes.workers)

    def commit(self, run: IngestRun, totals: PlanTotals, parked: ParkedPlan, staged: Iterable[StagedBatch]) -> IngestSummary:
        return commit_staged(run, totals, parked, staged, self.progress)

    def after_commit(self, run: IngestRun, summary: IngestSummary) -> IngestSummary:
        """What follows a committed run while it still holds the lake's lock (the flow: alerts, search index)."""
        return summary


def run_ingest(
    source: Path | str,
    location: LakeLocation,
    steps: IngestSteps,
    *,
    run_id: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    wait: float = 0.0,
    started: float | None = None,
    ahead: HeadStart | None = None,
) -> IngestSummary:
    """Bring the report files under ``source`` into the lake, as one snapshot or not at all.

    discover → plan → parse in parallel → per batch, as it comes: classify, merge
    → check and commit → after the commit. The whole run is one ``LakeWriter``
    transaction: if it stops anywhere (an error, a kill) the lake stays at its
    previous snapshot and the next run does the work again. A rejected file
    never fails the run. ``workers`` parser processes (default: one per core, or
    none when the run has one batch to read; 0 or 1: parse in this thread).
    Raises ``tasks.lake.errors.SourceError`` for a missing source,
    ``IngestCollision`` when another ingest holds the lake longer than ``wait``
    seconds or committed during this run, ``tasks.lake.errors.LakeError`` when
    the lake cannot be opened.

    ``ahead``, a head start adopted for this run (``tasks.lake.head_start``), holds
    the lake's lock, the plan, its staging folder and the parser processes, and
    has begun the batches: the run takes them over.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    run = IngestRun(source, location, run_id, time.monotonic() if started is None else started, batch_size)
    staging = ahead.staging if ahead is not None else staging_folder(location, run_id)
    processes_wanted = (os.cpu_count() or 1) if workers is None else workers
    guard = nullcontext() if ahead is not None else ingest_guard(location, wait=wait)
    with guard, parser_processes(processes_wanted) as processes:
        try:
            # The plan starts the parser processes once it is sure of two batches to read or more.
            plan = steps.plan(run, ahead.plan if ahead is not None else None)
            totals = plan.totals()
            parked = ahead.parked if ahead is not None else ParkedPlan(plan.to_read, staging, batch_size)
            joined_manifest = plan.joined_manifest
            del plan  # from here the plan's files are read back from the parked file, a batch at a time
            if ahead is not None:
                ahead.plan = None
            if workers is None and len(parked) <= 1:
                processes.not_needed()  # one batch is not worth a process's start
            if joined_manifest and totals.files_seen >= FRESH_CONNECTION_AFTER_PLAN and len(parked) > 1:
                # DuckDB keeps the memory of the plan's join for its instance's life: 180 MB at a
                # million files, held through the parse. A fresh instance costs 0.2 s (a fresh
                # lake's first one 0.6 s): a first run, which joins nothing, keeps its instance.
                release_kept_instance(location)
            steps.planned(totals, len(parked))
            staged = _closing_after(steps.parse(run, parked, staging, processes), processes)
            summary = steps.commit(run, totals, parked, staged)
            return steps.after_commit(run, summary)
        finally:
            remove_staging(staging)


def ingest(
    source: Path | str,
    location: LakeLocation,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    wait: float = 0.0,
    run_id: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """:func:`run_ingest` with the steps run here, without Prefect (and without the flow's alerts and index).

    As in the flow, the steps open the lake as cursors of one DuckDB instance (:func:`lake_kept_open`).
    """
    with lake_kept_open(location):
        return run_ingest(
            source, location, IngestSteps(progress), run_id=run_id or uuid.uuid4().hex, batch_size=batch_size, workers=workers, wait=wait
        )


def _closing_after(batches: Iterable[T], processes: ParserProcesses) -> Iterator[T]:
    """The batches; once the last is parsed, the parser processes are stopped, so their memory is free for the merge."""
    yield from batches
    processes.close()
