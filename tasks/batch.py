"""Read, parse and split report files in batches, on all cores.

:func:`parse_and_split` is the unit of work: one batch of discovered files in, the
batch's frames and one outcome per file out. It never raises for a bad file: an
unreadable file or a page that is not a report is a ``rejected`` outcome with its
reason. :func:`parse_in_parallel` runs it on a pool of worker processes.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

import polars as pl

from tasks.frames import UTC_TIME, Frames
from tasks.parse import parse_report
from tasks.record import DiscoveredFile, Rejection, SourceFile
from tasks.split import split_records

OUTCOME_SCHEMA = pl.Schema(
    {
        "path": pl.Utf8,
        "size": pl.Int64,
        "mtime": UTC_TIME,
        "sha256": pl.Utf8,
        "status": pl.Utf8,
        "reason": pl.Utf8,
        "warnings": pl.List(pl.Utf8),
    }
)

# Batches submitted ahead of the ones being worked on, per worker: enough that a
# worker never waits for the main process, few enough that memory stays bounded.
_BATCHES_AHEAD_PER_WORKER = 2


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch gives: its frames and one outcome row per file (``OUTCOME_SCHEMA``).

    ``outcomes.status`` is ``parsed`` or ``rejected``; ``reason`` says why a file was
    rejected (not a report, or the OS error that kept it from being read);
    ``sha256`` is null for a file that could not be read.
    """

    frames: Frames
    outcomes: pl.DataFrame


def parse_and_split(files: Sequence[DiscoveredFile]) -> BatchResult:
    """Read each file once, hash its bytes, parse it and split the batch's records into frames.

    The file's ``size`` and ``mtime`` in the outcome and the snapshot are those of
    discovery; ``sha256`` is of the bytes as read (compressed, for a ``.gz`` file).
    """
    with _cyclic_gc_paused():
        return _parse_and_split(files)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, then restore it as it was.

    A batch builds some hundred thousand small objects (the records) that all live
    until the split; the collector would traverse them again and again to find no
    cycle, which costs about an eighth of the batch's time. Reference counting
    still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_and_split(files: Sequence[DiscoveredFile]) -> BatchResult:
    items = []
    outcomes: dict[str, list] = {name: [] for name in OUTCOME_SCHEMA.names()}

    def record_outcome(file: DiscoveredFile, sha256: str | None, reason: str | None, warnings: list[str]) -> None:
        outcomes["path"].append(file.path)
        outcomes["size"].append(file.size)
        outcomes["mtime"].append(file.mtime)
        outcomes["sha256"].append(sha256)
        outcomes["status"].append("parsed" if reason is None else "rejected")
        outcomes["reason"].append(reason)
        outcomes["warnings"].append(warnings)

    for file in files:
        try:
            with open(file.path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            record_outcome(file, None, f"cannot read the file: {error.strerror or error}", [])
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            parsed = parse_report(data)
        except Exception as error:  # the parser never raises; if a bug makes it, it costs one file, not the batch
            parsed = Rejection(f"the parser failed: {type(error).__name__}: {error}")
        if isinstance(parsed, Rejection):
            record_outcome(file, sha256, parsed.reason, [])
            continue
        items.append((SourceFile(path=file.path, size=file.size, mtime=file.mtime, sha256=sha256), parsed))
        record_outcome(file, sha256, None, parsed["warnings"])

    return BatchResult(frames=split_records(items), outcomes=pl.DataFrame(outcomes, schema=OUTCOME_SCHEMA))


def parse_in_parallel(
    files: Iterable[DiscoveredFile], *, batch_size: int = 2000, workers: int | None = None
) -> Iterator[BatchResult]:
    """:func:`parse_and_split` over batches of ``batch_size`` files on ``workers`` processes.

    ``workers`` defaults to ``os.cpu_count()``. ``files`` is consumed lazily and at
    most ``2 × workers`` batches are in flight, so memory does not grow with the
    number of files. Results are yielded **as batches finish, not in input order**;
    combine them with ``tasks.split.combine_frames``, whose result does not depend
    on the order. Closing the iterator early cancels the batches not yet started.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    workers = workers or os.cpu_count() or 1
    max_in_flight = _BATCHES_AHEAD_PER_WORKER * workers
    files_iterator = iter(files)
    batches = iter(lambda: list(islice(files_iterator, batch_size)), [])
    # Workers are spawned, not forked: forking a process whose polars thread pool
    # is running can deadlock the child.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    in_flight: set[Future[BatchResult]] = set()
    try:
        for batch in batches:
            if len(in_flight) >= max_in_flight:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
            in_flight.add(pool.submit(parse_and_split, batch))
        while in_flight:
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
