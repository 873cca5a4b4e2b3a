"""A run's parsed batches, parked as Parquet between parsing and the commit.

Parse tasks run in worker processes (or on Dask workers) and finish in any
order; the commit needs every batch, one after the other, in one transaction.
Handing the frames back through the flow would hold the whole run in the flow's
memory, so each parse task writes its batch under the run's staging folder
(``<lake>/_staging/<run_id>/batch-NNNNNN/``, one Parquet file per table plus
the files' outcomes) and returns only a :class:`StagedBatch`. The commit reads
the batches back one at a time and removes the folder once the run is in the lake.

A batch is written to a temporary folder and renamed into place, so a batch
folder that exists is complete; a retried parse task simply rewrites it.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from tasks.reading.batch import BatchResult, in_worker_processes, parse_and_split
from tasks.reading.frames import SCHEMAS, STAGING_COMPRESSION, Frames, write_frames
from tasks.reading.record import DiscoveredFile
from tasks.reading.retraction_watch import empty_retractions
from tasks.reading.scite_api_frames import API_FRAME_SCHEMAS, ApiFrames

if TYPE_CHECKING:  # not imported at run time: the parser processes import this module, and DuckDB was 38 MB of each
    from tasks.lake.location import LakeLocation

STAGING_DIR = "_staging"
OUTCOMES_FILE = "outcomes.parquet"
API_PREFIX = "api_"  # the batch's scite API frames: api_<table>.parquet
RETRACTIONS_FILE = "retraction_watch.parquet"  # the records of the batch's Retraction Watch exports


@dataclass(frozen=True, slots=True)
class StagedBatch:
    """Where one parsed batch is parked, and what it holds (``bytes``: the size of its files)."""

    path: str
    files: int
    bytes: int
    parsed: int
    rejected: int
    number: int = 0  # the batch's place in the run (batch-NNNNNN)


def staging_folder(location: LakeLocation, run_id: str) -> Path:
    """The folder a run parks its batches in, inside the lake folder."""
    return location.path / STAGING_DIR / run_id


class StagingStopped(RuntimeError):
    """The run was stopped (Ctrl-C): no more batches are parked in this process."""


# Batches being written by threads of this process, and whether staging was stopped
# (:func:`stop_staging`): a stopped run's staging is removed once no thread writes into it.
_writers = threading.Condition()
_writing = 0
_stopped = False


@contextmanager
def _writing_batch() -> Iterator[None]:
    global _writing
    with _writers:
        if _stopped:
            raise StagingStopped("the run was stopped")
        _writing += 1
    try:
        yield
    finally:
        with _writers:
            _writing -= 1
            _writers.notify_all()


def stop_staging(timeout: float) -> bool:
    """Let no thread of this process park a batch from now on; wait up to ``timeout`` s for those writing one.

    Whether none is writing any more: the run's staging can then be removed for good.
    """
    global _stopped
    deadline = time.monotonic() + timeout
    with _writers:
        _stopped = True
        while _writing and (left := deadline - time.monotonic()) > 0:
            _writers.wait(left)
        return _writing == 0


class StagingError(OSError):
    """A batch could not be parked (a full disk, an I/O error); its text is one line naming the lake, the folder and the cause.

    An ``OSError`` built from (errno, strerror, filename), so it crosses process boundaries as it is.
    """

    def __str__(self) -> str:
        folder = Path(self.filename)
        lake = folder.parent.parent.parent  # LAKE/_staging/RUN/.batch-NNNNNN.partial
        return f"{lake}: cannot write the run's staged batch {folder} ({self.strerror}); nothing was written"


# polars reports an OS error inside its own message: "... (os error 28)".
_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)")


def _staging_error(error: Exception, folder: Path) -> StagingError:
    number = getattr(error, "errno", None)
    if number is None and (found := _OS_ERROR_NUMBER.search(str(error))):
        number = int(found.group(1))
    cause = os.strerror(number) if number else (str(error).strip().splitlines() or [type(error).__name__])[0]
    return StagingError(number or 0, cause, str(folder))


def stage_batch(result: BatchResult, folder: Path, batch_number: int) -> StagedBatch:
    """Write one batch's frames and outcomes under ``folder`` as ``batch-NNNNNN``; :class:`StagingError` when it cannot."""
    target = folder / f"batch-{batch_number:06d}"
    partial = folder / f".{target.name}.partial"
    with _writing_batch():
        try:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            write_frames(result.frames, partial)
            result.outcomes.write_parquet(partial / OUTCOMES_FILE, compression=STAGING_COMPRESSION)
            if not result.api.is_empty():
                for table, frame in result.api.items():
                    frame.write_parquet(partial / f"{API_PREFIX}{table}.parquet", compression=STAGING_COMPRESSION)
            if not result.retractions.is_empty():
                result.retractions.write_parquet(partial / RETRACTIONS_FILE, compression=STAGING_COMPRESSION)
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
        except (OSError, pl.exceptions.PolarsError) as error:
            shutil.rmtree(partial, ignore_errors=True)  # what a full disk let through is of no use
            raise _staging_error(error, partial) from None
    statuses = result.outcomes["status"]
    rejected = int((statuses == "rejected").sum())
    return StagedBatch(
        path=str(target),
        files=result.outcomes.height,
        bytes=int(result.outcomes["size"].sum()),
        parsed=statuses.len() - rejected,
        rejected=rejected,
        number=batch_number,
    )


def parse_and_stage(files: list[DiscoveredFile], folder: Path, batch_number: int) -> StagedBatch:
    """Read, parse and split one batch and park it under ``folder``: the frames never travel between processes."""
    return stage_batch(parse_and_split(files), folder, batch_number)


def parse_and_stage_planned(plan_file: Path, batch_number: int, folder: Path) -> StagedBatch:
    """:func:`parse_and_stage` of batch ``batch_number`` of the parked plan ``plan_file``, whose files are read from it here.

    What travels to a parser process is a path and a number: pickling each
    batch's list of ``DiscoveredFile`` instead took the main process 0.9 s a
    hundred thousand files, under the GIL, while the parse ran.
    """
    return parse_and_stage(planned_files(plan_file, batch_number), folder, batch_number)


def planned_files(plan_file: Path, batch_number: int) -> list[DiscoveredFile]:
    """Batch ``batch_number``'s files to read, from a plan parked as Arrow IPC (``tasks.lake.plan.ParkedPlan``), in any process that sees the file."""
    import pyarrow as pa
    import pyarrow.ipc

    with pa.OSFile(str(plan_file)) as source:
        frame = pl.from_arrow(pyarrow.ipc.open_file(source).get_batch(batch_number))
    assert isinstance(frame, pl.DataFrame)
    return list(files_of(frame))


def files_of(frame: pl.DataFrame) -> Iterator[DiscoveredFile]:
    """The files of a plan's frame (``path``, ``size``, ``mtime``, and ``etag`` when it has one), one at a time."""
    columns = ("path", "size", "mtime", "etag") if "etag" in frame.columns else ("path", "size", "mtime")
    for row in frame.select(columns).iter_rows():
        yield DiscoveredFile(*row)


def stage_plan_in_parallel(plan_file: Path, batches: int, folder: Path, *, workers: int | None = None) -> Iterator[StagedBatch]:
    """:func:`parse_and_stage_planned` of each of the parked plan's ``batches`` on ``workers`` processes, in the plan's order.

    Batch ``i`` is parked as ``batch-{i:06d}``; the parser processes read their
    files from the plan and write the Parquet files themselves, and hand back
    only the :class:`StagedBatch`. Batches that finish early wait here for the
    earlier ones (at most those in flight).
    """
    work = ((plan_file, number, folder) for number in range(batches))
    waiting: dict[int, StagedBatch] = {}
    next_number = 0
    for staged in in_worker_processes(parse_and_stage_planned, work, workers=workers):
        waiting[staged.number] = staged
        while next_number in waiting:
            yield waiting.pop(next_number)
            next_number += 1


def has_api_frames(batch: StagedBatch) -> bool:
    """Whether the batch holds saved scite API responses (their frames beside the pages')."""
    return (Path(batch.path) / f"{API_PREFIX}api_responses.parquet").is_file()


def has_retractions(batch: StagedBatch) -> bool:
    """Whether the batch holds records of a Retraction Watch export."""
    return (Path(batch.path) / RETRACTIONS_FILE).is_file()


def read_staged_outcomes(batch: StagedBatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A staged batch's outcomes, and ``source_sha256`` and ``source_path`` of the copy it keeps of each page and API response.

    What classifying the batch needs, read without its frames.
    """
    folder = Path(batch.path)
    kept = ["source_sha256", "source_path"]
    pages = pl.read_parquet(folder / "paper_snapshots.parquet", columns=kept)
    if has_api_frames(batch):
        pages = pl.concat([pages, pl.read_parquet(folder / f"{API_PREFIX}api_responses.parquet", columns=kept)])
    return pl.read_parquet(folder / OUTCOMES_FILE), pages


def read_staged(batch: StagedBatch) -> BatchResult:
    """Read a staged batch back (Parquet keeps every column's type, time zones included)."""
    folder = Path(batch.path)
    frames = Frames(**{table: pl.read_parquet(folder / f"{table}.parquet") for table in SCHEMAS})
    outcomes = pl.read_parquet(folder / OUTCOMES_FILE)
    retractions = pl.read_parquet(folder / RETRACTIONS_FILE) if has_retractions(batch) else empty_retractions()
    if not (folder / f"{API_PREFIX}api_responses.parquet").is_file():
        return BatchResult(frames=frames, outcomes=outcomes, retractions=retractions)
    api = ApiFrames(**{table: pl.read_parquet(folder / f"{API_PREFIX}{table}.parquet") for table in API_FRAME_SCHEMAS})
    return BatchResult(frames=frames, outcomes=outcomes, api=api, retractions=retractions)


def remove_staging(folder: Path) -> None:
    """Delete a run's staging folder, and the staging root once no run uses it."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()
    except OSError:
        pass  # another run's batches are still parked there


def remove_stale_staging(location: LakeLocation) -> list[str]:
    """Delete the staging folders of runs that no longer run; the ids of the runs they belonged to.

    Call it holding the lake's ingest lock, before this run stages anything:
    the only run that may stage batches is the one holding the lock, so every
    folder found then was left by a run that was killed (SIGKILL, a power cut)
    before its failure hook could remove it.
    """
    root = location.path / STAGING_DIR
    try:
        leftovers = sorted(root.iterdir())
    except OSError:
        return []  # no staging root: nothing was left
    for leftover in leftovers:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    try:
        root.rmdir()
    except OSError:
        pass
    return [leftover.name for leftover in leftovers]
