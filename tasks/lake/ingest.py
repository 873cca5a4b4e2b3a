"""A whole ingest without Prefect, in one call: discover, plan, parse in parallel, commit.

The steps are the modules of ``tasks.lake``: :mod:`~tasks.lake.discover`,
:mod:`~tasks.lake.plan`, the parser processes of ``tasks.reading``, and
:mod:`~tasks.lake.commit` (through :class:`~tasks.lake.writer.LakeWriter`),
all under the lake's lock (:mod:`~tasks.lake.lock`). The ingest flow
(``flows/ingest.py``) runs the same steps as Prefect tasks; this call serves
the tests and the plain benchmarks.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from tasks.lake.commit import commit_batches
from tasks.lake.discover import discover_reports
from tasks.lake.location import LakeLocation
from tasks.lake.lock import ingest_guard
from tasks.lake.plan import ParkedPlan, plan_run
from tasks.lake.session import open_lake
from tasks.lake.summary import IngestProgress, IngestSummary, ProgressCallback
from tasks.lake.tables import DEFAULT_BATCH_SIZE
from tasks.reading.batch import ParserProcesses, parser_processes
from tasks.reading.staging import remove_staging, stage_in_parallel, staging_folder

T = TypeVar("T")
# From this many files seen, a run with parser processes commits on a connection other than its plan's.
FRESH_CONNECTION_AFTER_PLAN = 100_000


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
    """Bring the report files under ``source`` into the lake, as one snapshot or not at all.

    discover → plan → parse in parallel → per batch: classify, merge → check and
    commit. The whole run is one ``LakeWriter`` transaction: if it stops anywhere
    (an error, a kill) the lake stays at its previous snapshot and the next run
    does the work again. A rejected file never fails the run. Raises
    ``tasks.lake.errors.SourceError`` for a missing source, ``IngestCollision`` when
    another ingest holds the lake longer than ``wait`` seconds or committed
    during this run, ``tasks.lake.errors.LakeError`` when the lake cannot be opened.
    """
    started = time.time()
    run_id = run_id or uuid.uuid4().hex
    skipped_folders: list[tuple[str, str]] = []
    discovered = discover_reports(source, skipped_folders)  # raises before the lake is touched
    notify = progress or (lambda _: None)
    workers = workers or os.cpu_count() or 1
    with ingest_guard(location, wait=wait), parser_processes(workers) as processes:
        con = open_lake(location)
        try:
            # A run with two batches or more to read starts its parser processes as soon as
            # discovery is sure of it: their start overlaps the rest of the plan.
            plan = plan_run(con, discovered, skipped_folders, when_work=(batch_size + 1, processes.warm))
            if plan.files_seen >= FRESH_CONNECTION_AFTER_PLAN and plan.to_read.height > batch_size:
                # DuckDB keeps the memory of the plan's join for the connection's life: 180 MB at
                # a million files, held while the parser processes run. A fresh one costs 0.1 s,
                # which a run without them (a no-op re-run, a few files) does not pay.
                con.close()
                con = open_lake(location)
            notify(IngestProgress("planned", 0, plan.to_read.height, 0, plan.bytes_to_read))
            # The parser processes park each batch as Parquet; the writer reads it in place.
            staging = staging_folder(location, run_id)
            totals = plan.totals()
            parked = ParkedPlan(plan.to_read, staging, batch_size)
            del plan  # from here the plan's frame is read back from the parked file, a batch at a time
            staged = stage_in_parallel(parked.files(), staging, batch_size=batch_size, workers=workers)
            batches = _closing_after(((parked.batch(batch.number), batch) for batch in staged), processes)
            return commit_batches(
                con,
                location,
                run_id=run_id,
                source=source,
                plan=totals,
                batches=batches,
                started=started,
                progress=notify,
            )
        finally:
            con.close()
            remove_staging(staging_folder(location, run_id))


def _closing_after(batches: Iterable[T], processes: ParserProcesses) -> Iterator[T]:
    """The batches; once the last is parsed, the parser processes are stopped, so their memory is free for the merge."""
    yield from batches
    processes.close()


