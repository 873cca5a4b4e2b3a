"""The commit of a run: each parsed batch classified and staged with the writer, then one snapshot or nothing.

:func:`commit_batches` is the one commit of a run, for the flow's commit task
and for :func:`tasks.lake.ingest.ingest`; :func:`commit_conflicts_reported`
turns a failed commit (another writer, a locked catalog, a full disk) into one
line for the user.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from tasks.lake.errors import IngestCollision, IngestError, first_line
from tasks.lake.location import LakeLocation, catalog_holders
from tasks.lake.object_storage import ObjectUrl, is_object_url
from tasks.lake.plan import FILE_OUTCOMES, PlanTotals, RunPlan, classify_outcomes, pages_to_store
from tasks.lake.summary import IngestProgress, IngestSummary, ProgressCallback
from tasks.lake.writer import LakeWriter
from tasks.reading.batch import BatchResult
from tasks.reading.record import path_text
from tasks.reading.staging import (
    StagedBatch,
    StagingError,
    has_api_frames,
    has_retractions,
    read_staged,
    read_staged_outcomes,
)


def commit_batches(
    con: duckdb.DuckDBPyConnection,
    location: LakeLocation,
    *,
    run_id: str,
    source: Path | str,
    plan: RunPlan | PlanTotals,
    batches: Iterable[tuple[pl.DataFrame, BatchResult | StagedBatch]],
    started: float,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Classify and stage each parsed batch (with its slice of the plan), then check and commit the run.

    The one commit of a run, for :func:`tasks.lake.ingest.ingest` and for the flow's commit task:
    one ``LakeWriter`` transaction over all batches, a commit conflict turned
    into :class:`IngestCollision`. ``started`` is the run's start
    (``time.monotonic()``: a step of the wall clock moves no second), for the
    summary's duration; ``progress`` hears "merged" after each batch, then
    "committing" and "committed".
    """
    notify = progress or (lambda _: None)
    totals = plan.totals() if isinstance(plan, RunPlan) else plan
    counts = dict.fromkeys(FILE_OUTCOMES, 0) | {"seen": totals.files_seen, "unchanged": totals.unchanged}
    rejected: list[tuple[str, str]] = []
    files_done = bytes_done = 0

    def step(stage: str) -> IngestProgress:
        return IngestProgress(stage, files_done, totals.files_to_read, bytes_done, totals.bytes_to_read)

    # A bucket's source is its URL (a Path would fold s3:// into a local folder's name).
    source_folder = str(ObjectUrl.parse(source)) if is_object_url(source) else path_text(str(Path(source).expanduser().resolve()))
    with commit_conflicts_reported(location), LakeWriter(con, run_id=run_id, source=source_folder) as writer:
        for previous, result in batches:
            classified = store_batch(con, writer, result, previous)
            for outcome, number in classified["outcome"].value_counts().iter_rows():
                counts[outcome] += number
            rejected.extend(classified.filter(pl.col("outcome") == "rejected").select("path", "reason").iter_rows())
            files_done += classified.height
            bytes_done += int(classified["size"].sum())
            notify(step("merged"))
        # A batch's slice of the plan is a view of the whole frame: let go of the last one.
        previous = result = classified = None
        notify(step("committing"))
        committed = writer.finish(counts)
    notify(step("committed"))
    return IngestSummary(
        run_id=run_id,
        source=source_folder,
        lake=location.describe(),
        files=counts,
        rejected=rejected,
        rows_added=committed.rows_added,
        findings=committed.findings,
        seconds=time.monotonic() - started,
        began=started,
        skipped_folders=list(totals.skipped_folders),
    )


def store_batch(
    con: duckdb.DuckDBPyConnection, writer: LakeWriter, result: BatchResult | StagedBatch, previous: pl.DataFrame
) -> pl.DataFrame:
    """Classify one parsed batch, stage its pages and its files' states with the writer; return the classification.

    ``result`` is a batch in memory or one a parser process parked as Parquet
    (:class:`~tasks.reading.staging.StagedBatch`); of a parked batch only the
    outcomes and the pages' hashes and paths are read here, and the writer
    reads its frames in place when the run is merged.

    The frames go to the writer whole: its merges store each page once and let
    a page already stored change nothing, so unchanged and duplicate files need
    no filtering (filtering re-derived ``abstracts`` from what was left, which
    lost a kept page's abstract when a newer page of its DOI was left out). Only
    pages that parse now but are recorded ``rejected`` (same bytes as a file
    rejected before) are left out, so a rejected file never adds a page.
    ``con`` is the writer's connection (kept for callers; the writer holds it).
    """
    if isinstance(result, StagedBatch):
        outcomes, pages = read_staged_outcomes(result)  # the pages' and the API responses' kept copies
    else:
        outcomes, pages = result.outcomes, _kept_copies(result)
    hashes = outcomes["sha256"].drop_nulls().unique().to_list()
    # The writer sees the lake and the batches staged earlier in this run, so a
    # page staged earlier in this run counts as stored.
    classified = classify_outcomes(outcomes, previous, pages, writer.stored_hashes(hashes))
    parsed_but_rejected = classified.filter(
        (pl.col("status") == "rejected") & pl.col("sha256").is_in(pages["source_sha256"].implode())
    )
    report_files = classified.drop("outcome")
    if (
        parsed_but_rejected.is_empty()
        and isinstance(result, StagedBatch)
        and not has_api_frames(result)
        and not has_retractions(result)
    ):
        writer.add_staged(Path(result.path), report_files)
        return classified
    # In memory: a batch given so, one with pages to leave out, or one with saved API responses or an export's records.
    result = read_staged(result) if isinstance(result, StagedBatch) else result
    frames, api = result.frames, result.api
    kept = classified.filter(pl.col("status") != "rejected")["sha256"].drop_nulls().to_list()
    if not parsed_but_rejected.is_empty():
        frames = pages_to_store(frames, kept)
    if not api.is_empty():
        api = api.keep(kept)
    retractions = result.retractions.filter(pl.col("source_sha256").is_in(pl.Series(kept, dtype=pl.Utf8).implode()))
    writer.add_batch(frames, report_files, api, retractions)
    return classified


def _kept_copies(result: BatchResult) -> pl.DataFrame:
    """source_sha256, source_path of the copy the batch keeps of each page and each saved API response."""
    pages = result.frames.paper_snapshots.select("source_sha256", "source_path")
    if result.api.is_empty():
        return pages
    return pl.concat([pages, result.api.api_responses.select("source_sha256", "source_path")])


@contextmanager
def commit_conflicts_reported(location: LakeLocation) -> Iterator[None]:
    """Turn a failed DuckLake commit into :class:`IngestCollision`, saying what stood in the way.

    The run holds the ingest lock, so no other citelake ingest can have written.
    A catalog that was locked is named as such, with the processes that have it
    open (a tool holding a write transaction on it, say); otherwise another
    writer, outside citelake, changed the lake during the run.
    """
    try:
        yield
    except StagingError as error:  # a batch could not be parked: its text says where and why
        raise IngestError(str(error)) from error
    except (duckdb.IOException, OSError) as error:
        # A full disk or an I/O error while the run's files or its catalog rows were written.
        raise IngestError(f"{location.describe()}: the run could not be written: {_fault(error)}; nothing was written") from error
    except duckdb.TransactionException as error:
        if "Failed to commit" not in str(error):
            raise
        if _DISK_FULL.search(str(error)):
            raise IngestError(
                f"{location.describe()}: the commit failed: {_fault(error)}; nothing was written"
            ) from error
        if "locked" in str(error):
            holders = catalog_holders(location)
            held_by = f"; it is open in {', '.join(holders)}" if holders else ""
            raise IngestCollision(
                f"could not commit to {location.describe()}: its catalog was locked by another connection "
                f"(database is locked){held_by}; nothing was written"
            ) from error
        raise IngestCollision(
            f"another writer changed {location.describe()} during this ingest "
            f"({first_line(error)}); nothing was written"
        ) from error


# How SQLite and the OS say a disk is full, inside DuckDB's messages.
_DISK_FULL = re.compile(r"disk is full|No space left on device|Disk quota exceeded", re.IGNORECASE)


def _fault(error: BaseException) -> str:
    """An I/O error's first line, without DuckDB's "IO Error: " and with an OSError's file named."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return re.sub(r"^(IO|TransactionContext) Error: ", "", first_line(error))
