"""The Prefect tasks of the ingest flow: thin wrappers over the steps of ``tasks.lake`` (discover, plan, commit) and ``tasks.reading.batch``.

The steps are those of ``tasks.lake.ingest.ingest`` (the run without Prefect), cut
where a flow can spread them over workers:

- :func:`plan_ingest`: discover the report files and set them against the lake's
  manifest (``discover_reports`` + ``plan_run``), in the flow's process;
- :func:`parse_batch`: read, parse and split one batch of files and park the
  result under the run's staging folder (``tasks.reading.staging``), on a worker;
- :func:`commit_run`: classify every staged batch, merge it, run the quality
  checks and commit, all in one ``LakeWriter`` transaction, then remove the
  staging folder.

Tasks that touch the outside (files, the lake) retry, unless the failure is
citelake's own verdict (:func:`worth_retrying`). Retrying is safe: a
batch folder is rewritten whole, and the commit is one transaction whose merges
change nothing for pages already stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from tasks.reading.batch import run_in_parser_process, warm_parser_processes
from tasks.lake.errors import IngestError, LakeError
from tasks.lake.discover import discover_reports
from tasks.lake.commit import commit_batches
from tasks.lake.summary import IngestSummary
from tasks.lake.plan import RunPlan, plan_run
from tasks.lake.lock import notice
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.reading.record import DiscoveredFile
from flows.run_artifacts import announce
from tasks.reading.staging import StagedBatch, parse_and_stage, remove_staging, staging_folder

# Delays between the attempts of a task that touches files or the lake: a
# network share that hiccups, a catalog that restarts.
OUTSIDE_RETRIES = 3
OUTSIDE_RETRY_DELAYS = [2, 5, 15]


def worth_retrying(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry what the outside did (an OS or database error), not citelake's own verdicts.

    ``IngestError`` (a missing source, another ingest holding the lake) and
    ``LakeError`` (a failed key check, a lake newer than this code) say what is
    wrong and would say it again.
    """
    return not isinstance(state.result(raise_on_failure=False), IngestError | LakeError)


OUTSIDE = {
    "retries": OUTSIDE_RETRIES,
    "retry_delay_seconds": OUTSIDE_RETRY_DELAYS,
    "retry_condition_fn": worth_retrying,
    # Inputs are plans and file lists: hashing them for a cache key would cost
    # time and buy nothing, since a run never reuses another run's results.
    "cache_policy": NO_CACHE,
}


def cut_batches(plan: RunPlan, batch_size: int) -> list[pl.DataFrame]:
    """The plan's files to read in slices of ``batch_size``, in discovery order (slices share the plan's memory)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    return [plan.to_read.slice(offset, batch_size) for offset in range(0, plan.to_read.height, batch_size)]


@task(**OUTSIDE)
def plan_ingest(source: str, location: LakeLocation, batch_size: int | None = None) -> RunPlan:
    """Discover the report files under ``source`` and decide which must be read (creates the lake on first use).

    With ``batch_size``, the flow's parser processes are started (without
    waiting) as soon as discovery is sure of more than one batch to read.
    """
    notice("discovering files…")
    skipped_folders: list[tuple[str, str]] = []
    discovered = discover_reports(source, skipped_folders)
    con = open_lake(location)
    try:
        when_work = None if batch_size is None else (batch_size + 1, warm_parser_processes)
        return plan_run(con, discovered, skipped_folders, when_work=when_work)
    finally:
        con.close()


@task(**OUTSIDE)
def parse_batch(files: pl.DataFrame, staging: Path, batch_number: int) -> StagedBatch:
    """Read, parse and split one batch of files (a slice of the plan) and park the result under ``staging``.

    Inside the flow's ``parser_processes`` block the work runs on a parser
    process, and only the staged batch's description comes back.
    """
    discovered = [
        DiscoveredFile(path=path, size=size, mtime=mtime)
        for path, size, mtime in files.select("path", "size", "mtime").iter_rows()
    ]
    return run_in_parser_process(parse_and_stage, discovered, staging, batch_number)


@task(**OUTSIDE)
def commit_run(
    location: LakeLocation,
    run_id: str,
    source: str,
    plan: RunPlan,
    staged: Sequence[StagedBatch],
    batch_size: int,
    started: float,
) -> IngestSummary:
    """Merge the staged batches in discovery order, run the checks and commit the run as one snapshot.

    ``staged[i]`` holds batch ``i`` of :func:`cut_batches` (``batch_size`` files
    from row ``i * batch_size`` of the plan); of each batch only the outcomes
    and page hashes are read here (the writer reads the frames in place), so
    memory is bounded by a batch. The staging folder is removed once the run is
    committed. ``started`` is the run's start (``time.time()``), for
    the summary's duration.
    """
    batches = ((plan.to_read.slice(number * batch_size, batch_size), batch) for number, batch in enumerate(staged))
    con = open_lake(location)
    try:
        summary = commit_batches(
            con, location, run_id=run_id, source=source, plan=plan, batches=batches, started=started, progress=announce
        )
    finally:
        con.close()
    remove_staging(staging_folder(location, run_id))
    return summary
