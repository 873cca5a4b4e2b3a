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
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from typing import Any, TypeVar

import signal

import polars as pl

from tasks.lake.tables import DEFAULT_BATCH_SIZE
from tasks.allocator import ALLOCATOR_SETTINGS, ALLOCATOR_SETTINGS_VARIABLE
from tasks.reading.frames import FILE_ETAG, FILE_STATES, Frames
from tasks.reading.objects import fetched_objects
from tasks.reading.page_text import read_report_file
from tasks.reading.parse import parse_report
from tasks.reading.parse_vectorized import canonical_texts, parse_canonical
from tasks.reading.record import DiscoveredFile, Rejection, SourceFile, path_bytes
from tasks.reading.retraction_watch import empty_retractions, is_csv_name, is_retraction_watch_file, read_export_file
from tasks.reading.scite_api_frames import ApiFrames, empty_api_frames, read_api_batch
from tasks.reading.sniff import is_json_file, sniff_first, starts_like_json
from tasks.reading.split import page_frames, reduce_page_frames, split_records

# The files' states, and the ETag of a file read from a bucket (null for a local file).
OUTCOME_SCHEMA = pl.Schema({**FILE_STATES, FILE_ETAG: pl.Utf8})
T = TypeVar("T")

# Batches submitted ahead of the ones being worked on, per worker: enough that a
# worker never waits for the main process, few enough that memory stays bounded.
_BATCHES_AHEAD_PER_WORKER = 2
# How often a parser process looks whether the command that started it is still there.
_PARENT_POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch gives: its frames and one outcome row per file (``OUTCOME_SCHEMA``).

    ``outcomes.status`` is ``parsed`` or ``rejected``; ``reason`` says why a file was
    rejected (not a report, or the OS error that kept it from being read);
    ``sha256`` is null for a file that could not be read. ``api`` holds the rows of the
    batch's saved scite API responses (``tasks.reading.scite_api_frames``), ``retractions``
    the records of its Retraction Watch exports (``tasks.reading.retraction_watch``).
    """

    frames: Frames
    outcomes: pl.DataFrame
    api: ApiFrames = field(default_factory=empty_api_frames)
    retractions: pl.DataFrame = field(default_factory=empty_retractions)


def parse_and_split(files: Sequence[DiscoveredFile], *, vectorized: bool = True) -> BatchResult:
    """Read each file once, hash its bytes, parse it and split the batch's records into frames.

    The file's ``size`` and ``mtime`` in the outcome and the snapshot are those of
    discovery; ``sha256`` is of the bytes as read (compressed, for a ``.gz`` file).

    With ``vectorized`` (the default) the batch's canonical pages are parsed together
    in polars (``tasks.reading.parse_vectorized``) and only the others by ``parse_report``;
    the result is the same as with ``vectorized=False``, which parses every file with
    ``parse_report`` and splits the records with ``split_records``.

    The batch's ``s3://`` files are fetched first, concurrently, and then read as
    local files are (``tasks.reading.objects``).
    """
    with _cyclic_gc_paused(), fetched_objects(files) as fetched:
        return _parse_and_split(files, vectorized, fetched)


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


def _parse_and_split(files: Sequence[DiscoveredFile], vectorized: bool, fetched: dict[str, bytes | Rejection]) -> BatchResult:
    discovered = pl.DataFrame(
        {"path": [file.path for file in files], "size": [file.size for file in files],
         "mtime": [file.mtime for file in files]},
        schema={name: OUTCOME_SCHEMA[name] for name in ("path", "size", "mtime")},
    )  # fmt: skip
    etags = pl.Series(FILE_ETAG, [file.etag for file in files], dtype=pl.Utf8)
    # Per file: the sha256 (None: not read), the rejection reason (None: parsed) and the warnings
    # (None: none; polars builds a column of lists ~30x faster when the empty ones are nulls).
    sha256s: list[str | None] = []
    reasons: list[str | None] = []
    warnings: list[list[str] | None] = [None] * len(files)
    read: list[tuple[int, SourceFile, bytes]] = []  # (index in files, source, bytes) of each file read
    # Saved scite API responses (JSON, by content) are read as a stream by their own reader
    # (tasks.reading.scite_api): a large or *.json file is looked at before it is read (tasks.reading.sniff).
    json_files: dict[int, DiscoveredFile] = {}
    # The Retraction Watch export (a CSV, by its header) is read by polars, streamed from disk.
    exports: list[pl.DataFrame] = []
    # Where each file is read: its own path, or the fetched copy of an object of a bucket.
    local = {path: where for path, where in fetched.items() if isinstance(where, bytes)}
    for index, file in enumerate(files):
        where = fetched.get(file.path) or path_bytes(file.path)
        if isinstance(where, Rejection):  # an object that could not be fetched
            sha256s.append(None)
            reasons.append(where.reason)
            continue
        if is_csv_name(file.path) and is_retraction_watch_file(where):
            export = read_export_file(file, where)
            sha256s.append(export.sha256)
            if isinstance(export.rows, Rejection):
                reasons.append(export.rows.reason)
            else:
                reasons.append(None)
                exports.append(export.rows)
            continue
        if sniff_first(file) and is_json_file(where):
            json_files[index] = file
            sha256s.append(None)
            reasons.append(None)
            continue
        data = read_report_file(where)
        if not isinstance(data, Rejection) and starts_like_json(data[:512]):
            json_files[index] = file
            sha256s.append(None)
            reasons.append(None)
            continue
        if isinstance(data, Rejection):
            sha256s.append(None)
            reasons.append(data.reason)
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        sha256s.append(sha256)
        reasons.append(None)
        read.append((index, SourceFile(path=file.path, size=file.size, mtime=file.mtime, sha256=sha256), data))
    api_reads, api = read_api_batch(list(json_files.items()), local) if json_files else ({}, empty_api_frames())
    for index, api_read in api_reads.items():
        sha256s[index] = api_read.sha256
        if isinstance(api_read.response, Rejection):
            reasons[index] = api_read.response.reason
        else:
            warnings[index] = api_read.response.warnings or None

    if vectorized:
        texts = canonical_texts([data for _, _, data in read])
        decoded = texts.is_not_null()
        indices = [index for (index, _, _), utf8 in zip(read, decoded, strict=True) if utf8]
        pages = discovered[indices].select(
            observed_at="mtime",
            source_sha256=pl.Series([sha256s[index] for index in indices], dtype=pl.Utf8),
            source_path="path",
            page_text=texts.filter(decoded),
        )
        fast = parse_canonical(pages)
        parsed_fast = {index for index, accepted in zip(indices, fast.accepted, strict=True) if accepted}
        read = [entry for entry in read if entry[0] not in parsed_fast]

    items = []
    for index, source, data in read:
        try:
            parsed = parse_report(data)
        except Exception as error:  # the parser never raises; if a bug makes it, it costs one file, not the batch
            parsed = Rejection(f"the parser failed: {type(error).__name__}: {error}")
        if isinstance(parsed, Rejection):
            reasons[index] = parsed.reason
            continue
        items.append((source, parsed))
        warnings[index] = parsed["warnings"] or None

    if vectorized:
        frames = reduce_page_frames([fast.page_frames, page_frames(items)])
    else:
        frames = split_records(items)
    outcomes = discovered.with_columns(
        sha256=pl.Series(sha256s, dtype=pl.Utf8),
        status=pl.Series(["parsed" if reason is None else "rejected" for reason in reasons], dtype=pl.Utf8),
        reason=pl.Series(reasons, dtype=pl.Utf8),
        warnings=pl.Series(warnings, dtype=OUTCOME_SCHEMA["warnings"]).fill_null([]),
    ).with_columns(etags)
    retractions = pl.concat(exports) if exports else empty_retractions()
    return BatchResult(frames=frames, outcomes=outcomes, api=api, retractions=retractions)


def parse_in_parallel(
    files: Iterable[DiscoveredFile], *, batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None, vectorized: bool = True
) -> Iterator[BatchResult]:
    """:func:`parse_and_split` (with ``vectorized``) over batches of ``batch_size`` files on ``workers`` processes.

    ``workers`` defaults to ``os.cpu_count()``. ``files`` is consumed lazily and at
    most ``2 × workers`` batches are in flight, so memory does not grow with the
    number of files. Results are yielded **as batches finish, not in input order**;
    combine them with ``tasks.reading.split.combine_frames``, whose result does not depend
    on the order. Closing the iterator early cancels the batches not yet started.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    files_iterator = iter(files)
    batches = iter(lambda: list(islice(files_iterator, batch_size)), [])
    yield from in_worker_processes(
        partial(parse_and_split, vectorized=vectorized), ((batch,) for batch in batches), workers=workers
    )


def in_worker_processes(
    function: Callable[..., T], arguments: Iterable[tuple[Any, ...]], *, workers: int | None = None
) -> Iterator[T]:
    """``function(*args)`` for each of ``arguments`` on ``workers`` spawned processes, yielded as each finishes.

    ``workers`` defaults to ``os.cpu_count()``. ``arguments`` is consumed lazily
    and at most ``2 × workers`` calls are in flight, so memory does not grow with
    the amount of work. Closing the iterator early cancels the calls not yet started.
    """
    # Workers are spawned, not forked: forking a process whose polars thread pool
    # is running can deadlock the child. Inside a parser_processes block of as
    # many workers, its processes (perhaps started ahead) are used.
    workers = workers or os.cpu_count() or 1
    pending = iter(arguments)
    first = next(pending, None)
    if first is None:
        return  # no work: no process is started for it
    arguments = chain([first], pending)
    current = _parser_processes
    if current is not None and current.workers == workers and workers > 1:
        yield from _bounded(current.start(), function, arguments, workers)
        return
    pool = _spawn_pool(workers)
    try:
        yield from _bounded(pool, function, arguments, workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_QUIET_RESOURCE_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _spawn_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each with its share of polars threads, started without waiting.

    The processes ignore SIGINT: a Ctrl-C on a terminal reaches every process
    of its group, and the process that started them stops them (see
    :func:`terminate_parser_processes`) instead of each dying with a traceback.
    SIGINT is blocked while they are spawned, so one that comes before a
    process has set it ignored waits, and is then dropped.
    """
    # The pool's semaphores start multiprocessing's resource tracker, a process that, when a
    # Ctrl-C ends the run with the pool killed, frees them and warns of "leaked semaphore
    # objects" on stderr after the run's last line. It takes its -W filters from ours.
    if _QUIET_RESOURCE_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_RESOURCE_TRACKER)
    with _worker_environment(max(1, (os.cpu_count() or 1) // workers)), _interrupts_blocked():
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts, initargs=(os.getpid(),)
        )
        for _ in range(workers):
            pool.submit(os.getpid)  # a worker is spawned by each submit that finds none idle, up to max_workers
    return pool


@contextmanager
def _interrupts_blocked() -> Iterator[None]:
    """Block SIGINT in this thread for the block: the processes it spawns start with it blocked."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _ignore_interrupts(parent: int) -> None:
    """In a parser process, at its start: ignore SIGINT (a pending one is dropped), then unblock it; end with the parent.

    A parser process outliving its command (a Ctrl-C's teardown racing a spawn,
    a ``kill -9``) would hold the command's stdout and stderr open, and a batch's
    CPU, for nothing: a watcher thread ends it once its parent is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)


def _kill_workers(pool: ProcessPoolExecutor, timeout: float) -> None:
    """SIGKILL the pool's processes and wait up to ``timeout`` s for them to be gone: nothing more of theirs is written."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        try:
            process.kill()
        except (OSError, ValueError):
            pass  # already gone
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))


def _bounded(
    pool: ProcessPoolExecutor, function: Callable[..., T], arguments: Iterable[tuple[Any, ...]], workers: int
) -> Iterator[T]:
    """Submit ``function(*args)`` to ``pool``, at most ``2 × workers`` in flight; results as they finish."""
    max_in_flight = _BATCHES_AHEAD_PER_WORKER * workers
    in_flight: set[Future[T]] = set()
    try:
        for args in arguments:
            if len(in_flight) >= max_in_flight:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
            in_flight.add(collect_begun(function, *args) or pool.submit(function, *args))
        while in_flight:
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
    finally:
        for future in in_flight:
            future.cancel()


@contextmanager
def _worker_environment(threads: int) -> Iterator[None]:
    """``POLARS_MAX_THREADS`` (and polars' allocator settings) for the worker processes spawned meanwhile, unless the user set them.

    polars sizes its thread pool when imported, so the variable must be in the
    environment a worker starts with. Workers × threads = cores: the workers' own
    parallelism is cheaper than polars threads contending for the same cores.
    The allocator's settings (``tasks.allocator``) have each worker give back
    the memory of a batch it is done with.
    """
    wanted = {"POLARS_MAX_THREADS": str(threads), ALLOCATOR_SETTINGS_VARIABLE: ALLOCATOR_SETTINGS}
    added = [name for name in wanted if name not in os.environ]
    os.environ.update({name: wanted[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            del os.environ[name]


class ParserProcessesStopped(RuntimeError):
    """Work was handed to parser processes that were stopped (the run was interrupted or failed)."""


class ParserProcesses:
    """A pool of spawned parser processes, started only when there is work for it.

    Spawning a process and importing polars in it costs about a second and a
    half: :meth:`warm` starts the processes without waiting for them (the
    plan calls it as soon as it knows a run has several batches to read, so the
    imports overlap the rest of the plan), :meth:`start` makes sure they run.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._terminated = False

    def warm(self) -> None:
        """Start the processes if they are not yet, without waiting for them to be ready."""
        if self._pool is None and self.workers > 1 and not self._terminated:
            self._pool = _spawn_pool(self.workers)

    def start(self) -> ProcessPoolExecutor:
        """The running pool (started now if :meth:`warm` did not); :class:`ParserProcessesStopped` after :meth:`terminate`."""
        if self._terminated:
            # A stopped run's parse task that comes late must not start processes anew: they
            # would write a batch into the staging the stop has just removed.
            raise ParserProcessesStopped("the run's parser processes were stopped")
        self.warm()
        if self._pool is None:
            raise ValueError(f"a pool of {self.workers} parser process(es) is not worth starting")
        return self._pool

    def not_needed(self) -> None:
        """The run is too small for processes: stop any that :meth:`warm` started, and work in the calling thread."""
        self.close()
        self.workers = 0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def terminate(self, timeout: float = 1.0) -> None:
        """Stop the processes now, the batches they work on abandoned (a stopped or failed run); none start again."""
        self._terminated = True
        pool, self._pool = self._pool, None
        if pool is not None:
            _kill_workers(pool, timeout)
            pool.shutdown(wait=False, cancel_futures=True)


_parser_processes: ParserProcesses | None = None


@contextmanager
def parser_processes(workers: int) -> Iterator[ParserProcesses]:
    """For the block, :func:`run_in_parser_process` runs its work on ``workers`` spawned processes.

    The ingest flow's parse tasks run on threads (they start at once, where
    Prefect's process runner costs seconds per worker); this gives their CPU
    work a core each instead of sharing one interpreter. With ``workers`` 0 or 1
    the work stays in the calling thread (a small run is not worth a process's
    start). The processes are started by the first call that needs them, or
    ahead of it by :func:`warm_parser_processes`; each has its share of polars
    threads. Blocks do not nest: an inner block uses the outer block's processes.
    """
    global _parser_processes
    if _parser_processes is not None:
        yield _parser_processes
        return
    processes = ParserProcesses(workers)
    _parser_processes = processes
    try:
        yield processes
    except BaseException:
        # A failed or cancelled run does not wait for the batches in flight: they would be thrown
        # away, and one written after the run's staging is removed would be left behind.
        processes.terminate()
        raise
    finally:
        _parser_processes = None
        processes.close()


def terminate_parser_processes(timeout: float = 1.0) -> None:
    """Stop the current :func:`parser_processes` block's processes now, from any thread (none: nothing)."""
    processes = _parser_processes
    if processes is not None:
        processes.terminate(timeout)


def warm_parser_processes() -> None:
    """Start the current :func:`parser_processes` block's processes now, without waiting (none: nothing)."""
    if _parser_processes is not None:
        _parser_processes.warm()


def run_in_parser_process(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on a process of the current :func:`parser_processes` block, or here without one.

    A call begun ahead with the same arguments (:func:`begin_calls`) is collected instead of run again.
    """
    return submit_to_parser_process(function, *args).result()


def submit_to_parser_process(function: Callable[..., T], *args: Any) -> Future[T]:
    """:func:`run_in_parser_process` without waiting for the result: its future.

    Without parser processes the call runs here, now, and the future is done.
    """
    begun = collect_begun(function, *args)
    if begun is not None:
        return begun
    processes = _parser_processes
    if processes is not None and processes.workers > 1:
        return processes.start().submit(function, *args)
    done: Future[T] = Future()
    _run_into(done, function, args)
    return done


# Calls begun before anyone asked for them (``tasks.lake.head_start``), by (function, *args):
# each is collected once, by the first call of the same function with the same arguments.
_begun: dict[tuple[Any, ...], Future[Any]] = {}
_begun_lock = threading.Lock()


def begin_calls(
    function: Callable[..., Any], calls: Sequence[tuple[Any, ...]], registered: Callable[[], None] = lambda: None
) -> None:
    """Begin ``function(*args)`` for each of ``calls`` now; :func:`run_in_parser_process` (or :func:`in_worker_processes`) with the same arguments collects the result.

    On the current :func:`parser_processes` block's processes when it has them;
    else one after the other in this thread. ``registered`` is called once every
    call is registered (before any runs here): one asked for from then on is
    waited for, not run a second time.
    """
    processes = _parser_processes
    if processes is not None and processes.workers > 1:
        pool = processes.start()
        with _begun_lock:
            for args in calls:
                _begun[(function, *args)] = pool.submit(function, *args)
        registered()
        return
    pending: list[tuple[Future[Any], tuple[Any, ...]]] = []
    with _begun_lock:
        for args in calls:
            future: Future[Any] = Future()
            future.set_running_or_notify_cancel()
            _begun[(function, *args)] = future
            pending.append((future, args))
    registered()
    for future, args in pending:
        _run_into(future, function, args)


def _run_into(future: Future[T], function: Callable[..., T], args: tuple[Any, ...]) -> None:
    """Run ``function(*args)`` in this thread, its result or its error into ``future`` (raised to whoever asks)."""
    try:
        future.set_result(function(*args))
    except Exception as error:
        future.set_exception(error)


def collect_begun(function: Callable[..., T], *args: Any) -> Future[T] | None:
    """The begun call of ``function(*args)``, taken out of the register; None if none was begun."""
    with _begun_lock:
        return _begun.pop((function, *args), None)


def forget_begun() -> None:
    """Drop the begun calls no one collected (their run failed or never started); those not started never will."""
    with _begun_lock:
        futures = list(_begun.values())
        _begun.clear()
    for future in futures:
        future.cancel()
