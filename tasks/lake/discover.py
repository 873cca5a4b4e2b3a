"""Discovery: every report file under a source folder, walked iteratively (any depth), as stored paths.

Paths are stored absolute: the source folder is resolved (``./corpus`` and
``/data/corpus`` name the same files) and each file's path is that folder joined
with the names walked below it. A symlink inside the folder keeps its own name.
So a lake can collect several folders without two files sharing a path, and a
path in the lake leads back to its file. A path is stored as text
(``tasks.reading.record.path_text``): a byte of a name that is not UTF-8 is written
``\\xHH`` and a backslash ``\\\\``; ``tasks.reading.record.path_bytes`` gives the real path back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from tasks.lake.object_storage import is_object_url
from tasks.lake.preflight import readable_source
from tasks.reading.frames import UTC_TIME
from tasks.reading.record import DiscoveredFile, path_text
from tasks.reading.retraction_watch import is_csv_name, is_retraction_watch_file

if TYPE_CHECKING:
    from tasks.lake.bucket_source import BucketDiscovery

T = TypeVar("T")
logger = logging.getLogger(__name__)


# .json: saved scite API responses (tasks.reading.scite_api); .csv: the Retraction Watch export
# (tasks.reading.retraction_watch), taken only when its header is the export's.
REPORT_SUFFIXES = (".txt", ".txt.gz", ".json", ".json.gz", ".csv", ".csv.gz")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# etag: of an object in a bucket (tasks.lake.bucket_source); null for a local file.
DISCOVERED_SCHEMA = pl.Schema({"path": pl.Utf8, "size": pl.Int64, "mtime": UTC_TIME, "etag": pl.Utf8})


_DISCOVERY_CHUNK = 100_000  # files turned into one polars frame at a time while planning


def is_report_name(name: str) -> bool:
    """A report file is named ``*.txt``, ``*.txt.gz``, ``*.json``, ``*.json.gz``, ``*.csv`` or ``*.csv.gz``, in
    any case (the content then decides whether it is a page, a saved scite API response or the Retraction Watch export)."""
    return name.lower().endswith(REPORT_SUFFIXES)


def _is_source_file(name: str, path: str) -> bool:
    """A report-named file the walk yields: any but a CSV whose header is not the Retraction Watch export's
    (a folder of pages may hold other tables; they are not the lake's, and get no row in ``report_files``)."""
    return is_report_name(name) and (not is_csv_name(name) or is_retraction_watch_file(path))


def discover_reports(root: Path | str, skipped_folders: list[tuple[str, str]] | None = None) -> Discovery | BucketDiscovery:
    """Every report file under ``root``, recursively, in sorted order (names sorted per folder).

    Paths are absolute (see the module docstring). A symlink is followed only when
    its target lies inside ``root``; a folder reached twice (a symlink loop, or a
    link to a folder already walked) is walked once. A sub-folder that cannot be
    read is logged and skipped, and ``(folder, reason)`` is appended to
    ``skipped_folders`` (as the walk gets there). Raises :class:`~tasks.lake.errors.SourceError` at once when ``root``
    is missing, not a folder or unreadable (:func:`tasks.lake.preflight.readable_source`). The walk itself happens as the
    result is iterated (``DiscoveredFile`` by file) or turned into columns
    (:meth:`Discovery.frame`, what the plan uses).

    ``root`` an ``s3://BUCKET/PREFIX`` URL: the report objects under that prefix
    (:class:`tasks.lake.bucket_source.BucketDiscovery`), once the bucket has answered.
    """
    if is_object_url(root):
        from tasks.lake.bucket_source import BucketDiscovery, check_bucket_source

        return BucketDiscovery(check_bucket_source(str(root)))
    real_root = readable_source(Path(root))
    return Discovery(str(real_root), [] if skipped_folders is None else skipped_folders)


class Discovery:
    """The report files under a folder, walked lazily: iterate for ``DiscoveredFile``, or take :meth:`frame`.

    The plan takes the columns: a hundred thousand files are then three lists
    of plain values, never a ``DiscoveredFile`` and a ``datetime`` each.
    """

    def __init__(self, real_root: str, skipped: list[tuple[str, str]]) -> None:
        self._root = real_root
        self._skipped = skipped

    def __iter__(self) -> Iterator[DiscoveredFile]:
        for path, size, mtime_ns in _walk(self._root, self._skipped):
            yield DiscoveredFile(path=path, size=size, mtime=_utc_mtime(mtime_ns))

    def frame(self, *, beyond: int | None = None, then: Callable[[], None] | None = None) -> pl.DataFrame:
        """path, size and mtime (UTC, whole microseconds) of every file found, in discovery order.

        With ``beyond`` and ``then``: ``then()`` is called once, as soon as more
        than ``beyond`` files have been found.
        """
        found = _walk(self._root, self._skipped)
        if beyond is not None and then is not None:
            found = _calling_once_beyond(found, beyond, then)
        chunks = [pl.DataFrame(schema=DISCOVERED_SCHEMA)]
        while chunk := list(islice(found, _DISCOVERY_CHUNK)):
            paths, sizes, mtimes = zip(*chunk, strict=True)
            chunks.append(
                pl.DataFrame(
                    {"path": paths, "size": sizes, "mtime": mtimes},
                    schema={"path": pl.Utf8, "size": pl.Int64, "mtime": pl.Int64},
                ).with_columns((pl.col("mtime") // 1000).cast(UTC_TIME), etag=pl.lit(None, pl.Utf8))
            )
        return pl.concat(chunks)


def _calling_once_beyond(items: Iterator[T], beyond: int, then: Callable[[], None]) -> Iterator[T]:
    for count, item in enumerate(items):
        if count == beyond:
            then()
        yield item


def _walk(real_root: str, skipped: list[tuple[str, str]]) -> Iterator[tuple[str, int, int]]:
    """(path as stored, size, mtime in nanoseconds) of each report file below ``real_root``, names sorted per folder.

    Walked with a stack of folders, not by recursion, so a tree of any depth is
    walked (a thousand levels ended in ``RecursionError``). A report-named entry
    that is not a regular file (a FIFO, a socket) or that cannot be looked at is
    yielded all the same: the reader rejects it with its reason, so it gets a
    row in ``report_files`` instead of vanishing without a word.
    """
    walked: set[tuple[int, int]] = set()
    stack: list[Iterator[_Entry | os.DirEntry[str]]] = []
    entries = _folder_entries(real_root, walked, skipped)
    if entries is not None:
        stack.append(iter(entries))
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        # This loop runs once per file of the source: it is kept to what the
        # directory entry already knows, and one stat.
        path = entry.path if isinstance(entry, os.DirEntry) else entry.full_path
        try:
            if entry.is_symlink() and not _link_inside(entry, path, real_root):
                continue
            is_dir = entry.is_dir()
        except OSError as error:
            if is_report_name(entry.name):
                yield path_text(path), 0, 0  # the reader says why it cannot open it
            else:
                logger.warning("%s: skipped, cannot stat it (%s)", path, error.strerror or error)
            continue
        if is_dir:
            sub_entries = _folder_entries(path, walked, skipped)
            if sub_entries is not None:
                stack.append(iter(sub_entries))
        elif _is_source_file(entry.name, path):
            try:
                status = entry.stat()
            except OSError:
                yield path_text(path), 0, 0  # vanished, or cannot be looked at: the reader gives the reason
            else:
                # A FIFO, a socket or a device too: the reader refuses it as not a regular file.
                yield path_text(path), status.st_size, status.st_mtime_ns


# A folder path at least this long (bytes) is opened a piece at a time, relative to
# the piece before: Linux refuses paths of PATH_MAX (4,096 bytes) and more.
_LONG_PATH = 3_072


_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(slots=True)
class _Entry:
    """A directory entry of a folder beyond PATH_MAX, looked at while its folder was open (``os.DirEntry`` needs it open)."""

    name: str
    full_path: str
    symlink: bool
    symlink_target: str | None
    directory: bool | OSError
    status: os.stat_result | OSError | None

    def is_symlink(self) -> bool:
        return self.symlink

    def is_dir(self) -> bool:
        if isinstance(self.directory, OSError):
            raise self.directory
        return self.directory

    def stat(self) -> os.stat_result:
        if isinstance(self.status, OSError) or self.status is None:
            raise self.status or FileNotFoundError(self.full_path)
        return self.status


def _folder_entries(
    directory: str, walked: set[tuple[int, int]], skipped: list[tuple[str, str]]
) -> list[_Entry] | list[os.DirEntry[str]] | None:
    """The folder's entries sorted by name; None when it was walked already (a link loop) or cannot be read (logged, skipped)."""
    try:
        descriptor = _open_folder(directory)
    except OSError as error:
        _skip_folder(directory, error, skipped)
        return None
    try:
        status = os.fstat(descriptor)
        identity = (status.st_dev, status.st_ino)
        if identity in walked:
            return None
        walked.add(identity)
        if len(os.fsencode(directory)) < _LONG_PATH:
            # By path: its entries stat themselves later by path, as the walk reaches them.
            with os.scandir(directory) as scan:
                return sorted(scan, key=attrgetter("name"))
        with os.scandir(descriptor) as scan:
            return [_looked_at(entry, directory, descriptor) for entry in sorted(scan, key=attrgetter("name"))]
    except OSError as error:
        _skip_folder(directory, error, skipped)
        return None
    finally:
        os.close(descriptor)


def _skip_folder(directory: str, error: OSError, skipped: list[tuple[str, str]]) -> None:
    reason = error.strerror or str(error)
    logger.warning("%s: folder skipped, cannot read it (%s)", directory, reason)
    skipped.append((path_text(directory), reason))


def _looked_at(entry: os.DirEntry[str], directory: str, descriptor: int) -> _Entry:
    full_path = os.path.join(directory, entry.name)
    target = None
    if symlink := entry.is_symlink():
        try:
            target = os.readlink(entry.name, dir_fd=descriptor)
        except OSError:
            target = None
    try:
        is_dir: bool | OSError = entry.is_dir()
    except OSError as error:
        is_dir = error
    status: os.stat_result | OSError | None = None
    if is_dir is False and is_report_name(entry.name):
        try:
            status = entry.stat()
        except OSError as error:
            status = error
    return _Entry(entry.name, full_path, symlink, target, is_dir, status)


def _open_folder(directory: str) -> int:
    """A descriptor of the folder; a path too long for the OS is opened a piece at a time."""
    encoded = os.fsencode(directory)
    if len(encoded) < _LONG_PATH:
        return os.open(encoded, _FOLDER_FLAGS)
    descriptor: int | None = None
    start = 0
    while start < len(encoded):
        # The longest piece below _LONG_PATH that ends at a separator (a name is at most 255 bytes).
        end = len(encoded) if len(encoded) - start < _LONG_PATH else encoded.rindex(b"/", start + 1, start + _LONG_PATH)
        opened = os.open(encoded[start:end] or b"/", _FOLDER_FLAGS, dir_fd=descriptor)
        if descriptor is not None:
            os.close(descriptor)
        descriptor = opened
        start = end + 1
    assert descriptor is not None
    return descriptor


def _link_inside(entry: _Entry | os.DirEntry[str], path: str, real_root: str) -> bool:
    """Whether the symlink at ``path`` leads inside the walked folder (only such links are followed)."""
    if isinstance(entry, _Entry):
        if entry.symlink_target is None:
            return False
        path = os.path.join(os.path.dirname(path), entry.symlink_target)
    return _is_inside(os.path.realpath(path), real_root)


def _is_inside(path: str, real_root: str) -> bool:
    return path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep)


def _utc_mtime(mtime_ns: int) -> datetime:
    # Whole microseconds, computed in integers: the lake stores microseconds, and a
    # float timestamp would not compare equal to what it stored last run.
    return _EPOCH + timedelta(microseconds=mtime_ns // 1000)


def discovered_frame(discovered: Iterable[DiscoveredFile]) -> pl.DataFrame:
    iterator = iter(discovered)
    chunks = [pl.DataFrame(schema=DISCOVERED_SCHEMA)]
    while chunk := list(islice(iterator, _DISCOVERY_CHUNK)):
        chunks.append(
            pl.DataFrame(
                {
                    "path": [file.path for file in chunk],
                    "size": [file.size for file in chunk],
                    "mtime": [file.mtime for file in chunk],
                    "etag": [file.etag for file in chunk],
                },
                schema=DISCOVERED_SCHEMA,
            )
        )
    return pl.concat(chunks)
