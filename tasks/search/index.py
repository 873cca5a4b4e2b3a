"""The statement search index: a tantivy index derived from the lake, in ``LAKE/_search/``.

Layout::

    LAKE/_search/
        CURRENT               the name of the generation readers use (replaced atomically)
        .lock                 held (flock) by whoever builds or updates the index
        gen-00000042-3fa2…/   one generation: a tantivy index plus STAMP_FILE

A generation is never changed once CURRENT names it. An update copies the
current generation by hard links (tantivy never rewrites a file: segments are
written once, ``meta.json`` is replaced by rename), applies the lake's changes
to the copy, commits, stamps it and then swaps CURRENT with ``os.replace``: a
search during an update answers from the previous generation, whole. The stamp
(``citelake-search.json``) says which lake the index belongs to (:func:`lake_id`)
and which lake snapshot it reflects.

Updates follow DuckLake's change feed: the statements ``table_changes`` lists
between the stamped snapshot and the current one (and the statements of papers
whose row changed) are deleted from the index by ``statement_id`` and added
again as the lake holds them now. Re-applying a change is harmless, so a
stamp that lags its content (a crash between steps) only costs time.

An index that is missing, belongs to another lake, or cannot be read is
rebuilt from the lake, with a one-line message. Prefect stays out of this
module (see ``flows.search_tasks``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import tantivy

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql, registered
from tasks.search.schema import INDEX_FORMAT, index_schema, to_document

INDEX_DIR = "_search"
POINTER_FILE = "CURRENT"
LOCK_FILE = ".lock"
STAMP_FILE = "citelake-search.json"
GENERATION_PREFIX = "gen-"
# Generations kept besides the current one, for searches that opened them just before a swap.
KEPT_GENERATIONS = 2
WRITER_HEAP = 100_000_000
# tantivy's indexing threads for a build from scratch (sharing WRITER_HEAP): two
# build faster for the same CPU. Updates and merges keep one: each adds one
# segment, not one per thread, so tantivy's own merging (at 8 segments) stays rare.
INDEX_THREADS = max(1, min(2, os.cpu_count() or 1))
FETCH_ROWS = 20_000

Notify = Callable[[str], None]
# Statements indexed so far of those to index, after each fetch of rows and before the commit.
IndexProgress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    pass


class SearchIndexError(RuntimeError):
    """The search index cannot be used as it is; the message says why."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def index_root(location: LakeLocation) -> Path:
    return location.path / INDEX_DIR


def lake_id(location: LakeLocation) -> str:
    """Which lake an index belongs to: a digest of its catalog (the SQLite file's path, or the PostgreSQL connection)."""
    catalog = f"postgres:{location.catalog}" if location.catalog else f"sqlite:{location.catalog_file.resolve()}"
    return hashlib.sha256(catalog.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a generation reflects: the lake it belongs to and the lake snapshot it was brought to."""

    lake_id: str
    snapshot_id: int
    documents: int
    format: int = INDEX_FORMAT
    written_at: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "lake_id": self.lake_id,
                "snapshot_id": self.snapshot_id,
                "documents": self.documents,
                "format": self.format,
                "written_at": self.written_at,
            },
            indent=2,
        )

    @classmethod
    def read(cls, path: Path) -> Stamp:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            lake_id=str(data["lake_id"]),
            snapshot_id=int(data["snapshot_id"]),
            documents=int(data["documents"]),
            format=int(data["format"]),
            written_at=str(data.get("written_at", "")),
        )


@dataclass(frozen=True, slots=True)
class Generation:
    """A published generation of the index, opened."""

    path: Path
    stamp: Stamp
    index: tantivy.Index


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    """What one build or update did: documents added and removed, the snapshot now reflected.

    ``rebuilt`` is the reason the index was built from scratch (None for an
    incremental update); ``error`` is set by the Prefect task when the update failed.
    """

    snapshot_id: int | None
    added: int = 0
    removed: int = 0
    documents: int = 0
    rebuilt: str | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"search index not updated: {self.error}"
        how = f"rebuilt ({self.rebuilt})" if self.rebuilt else "updated"
        return (
            f"search index {how} to snapshot {self.snapshot_id}: "
            f"{self.added:,} added, {self.removed:,} removed, {self.documents:,} documents"
        )


# ---------------------------------------------------------------------------
# Reading: the published generation
# ---------------------------------------------------------------------------

_open_indexes: dict[Path, tantivy.Index] = {}
# The generation each lake's CURRENT named when last checked, with what CURRENT was then (inode, size,
# mtime): while it is the same file, a search costs one stat, not reading the pointer and the stamp and
# hashing the catalog's resolved path (about 0.2 ms, most of it system calls). A publish replaces
# CURRENT by rename, so a new generation always comes with a new CURRENT.
_checked: dict[LakeLocation, tuple[tuple[int, int, int], Generation]] = {}


def open_generation(location: LakeLocation) -> Generation:
    """The generation CURRENT names, checked: raises :class:`SearchIndexError` saying why it cannot be used."""
    root = index_root(location)
    pointer = root / POINTER_FILE
    try:
        status = os.stat(pointer)
    except OSError:
        status = None
    if status is None or not stat.S_ISREG(status.st_mode):
        raise SearchIndexError(f"no search index in {root}")
    seen = (status.st_ino, status.st_size, status.st_mtime_ns)
    checked = _checked.get(location)
    if checked is not None and checked[0] == seen and checked[1].path in _open_indexes:
        return checked[1]
    try:
        name = pointer.read_text(encoding="utf-8").strip()
        if not name.startswith(GENERATION_PREFIX) or "/" in name:
            raise SearchIndexError(f"{pointer} names no generation")
        path = root / name
        stamp = Stamp.read(path / STAMP_FILE)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SearchIndexError(f"the search index in {root} is unreadable ({_first_line(error)})") from error
    if stamp.format != INDEX_FORMAT:
        raise SearchIndexError(f"the search index in {root} has format {stamp.format}, not {INDEX_FORMAT}")
    if stamp.lake_id != lake_id(location):
        raise SearchIndexError(f"the search index in {root} belongs to another lake")
    index = _open_indexes.get(path)
    if index is None:
        try:
            index = tantivy.Index.open(str(path))
            documents = index.searcher().num_docs
        except BaseException as error:  # tantivy raises ValueError, or a pyo3 panic on damaged files
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            raise SearchIndexError(f"the search index in {root} is unreadable ({_first_line(error)})") from error
        if documents != stamp.documents:
            raise SearchIndexError(
                f"the search index in {root} is damaged: it holds {documents:,} documents, its stamp says {stamp.documents:,}"
            )
        _forget_other_generations(root, keep=path)
        _open_indexes[path] = index
    generation = Generation(path=path, stamp=stamp, index=index)
    _checked[location] = (seen, generation)
    return generation


def _forget_other_generations(root: Path, keep: Path) -> None:
    for cached in [path for path in _open_indexes if path.parent == root and path != keep]:
        del _open_indexes[cached]


def ensure_index(location: LakeLocation, *, rebuild: bool = False, notify: Notify = _stderr) -> Generation:
    """The index to search: the published generation, or one built now when it is missing, foreign or unreadable.

    ``rebuild`` builds it from scratch whatever its state. A rebuild that was
    not asked for is announced with one line through ``notify``.
    """
    if not rebuild:
        try:
            return open_generation(location)
        except SearchIndexError as error:
            reason = str(error)
        with index_lock(location):
            try:  # another process may have rebuilt it while this one waited for the lock
                return open_generation(location)
            except SearchIndexError:
                pass
            notify(f"citelake search: {reason}; rebuilding it from the lake")
            build_index(location, reason=reason)
    else:
        with index_lock(location):
            build_index(location, reason="asked for")
    return open_generation(location)


# ---------------------------------------------------------------------------
# Writing: build, update, merge
# ---------------------------------------------------------------------------


class IndexBusy(SearchIndexError):
    """Another process is building or updating the index (raised only when not waiting for it)."""


@contextmanager
def index_lock(location: LakeLocation, *, wait: bool = True) -> Iterator[None]:
    """One builder or updater of a lake's index at a time (an flock, released if the process dies).

    With ``wait=False`` raises :class:`IndexBusy` at once when another holds it.
    """
    root = index_root(location)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise IndexBusy(f"the search index in {root} is being updated") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_generation_path(root: Path, snapshot_id: int) -> Path:
    return root / f"{GENERATION_PREFIX}{snapshot_id:010d}-{uuid.uuid4().hex[:12]}"


def publish_generation(location: LakeLocation, path: Path, stamp: Stamp) -> None:
    """Stamp the generation, then point CURRENT at it atomically, then remove generations no reader needs."""
    root = index_root(location)
    (path / STAMP_FILE).write_text(stamp.to_json(), encoding="utf-8")
    staged_pointer = root / f".{POINTER_FILE}.{uuid.uuid4().hex[:8]}"
    staged_pointer.write_text(path.name, encoding="utf-8")
    os.replace(staged_pointer, root / POINTER_FILE)
    _remove_old_generations(root, current=path)


def _remove_old_generations(root: Path, current: Path) -> None:
    generations = sorted(
        (entry for entry in root.iterdir() if entry.is_dir() and entry.name.startswith(GENERATION_PREFIX) and entry != current),
        key=lambda entry: entry.stat().st_mtime,
    )
    for old in generations[: max(0, len(generations) - KEPT_GENERATIONS)]:
        shutil.rmtree(old, ignore_errors=True)
    for entry in root.iterdir():  # anything a crash left behind and nobody points at
        if entry.is_dir() and not entry.name.startswith(GENERATION_PREFIX):
            shutil.rmtree(entry, ignore_errors=True)


def new_stamp(location: LakeLocation, snapshot_id: int, documents: int) -> Stamp:
    return Stamp(
        lake_id=lake_id(location),
        snapshot_id=snapshot_id,
        documents=documents,
        written_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    (snapshot_id,) = con.execute(read_sql("lake/current_snapshot.sql")).fetchone()
    return int(snapshot_id)


def _add_rows(writer: tantivy.IndexWriter, result: duckdb.DuckDBPyConnection, progress: IndexProgress, total: int) -> int:
    added = 0
    reader = result.to_arrow_reader(FETCH_ROWS)
    for batch in reader:
        for row in batch.to_pylist():
            writer.add_document(to_document(row))
            added += 1
        progress(added, max(total, added))
    return added


def commit_writer(writer: tantivy.IndexWriter) -> None:
    writer.commit()
    writer.wait_merging_threads()


def build_index(location: LakeLocation, *, reason: str = "asked for", progress: IndexProgress = _no_progress) -> IndexUpdate:
    """Build the index from scratch at the lake's current snapshot into a new generation, and publish it.

    The caller holds :func:`index_lock`. Readers keep the previous generation until the swap.
    """
    root = index_root(location)
    root.mkdir(parents=True, exist_ok=True)
    con = open_lake(location, read_only=True)
    try:
        con.begin()  # one snapshot for the snapshot id and the rows
        snapshot_id = current_snapshot(con)
        path = new_generation_path(root, snapshot_id)
        path.mkdir()
        try:
            index = tantivy.Index(index_schema(), path=str(path), reuse=False)
            writer = index.writer(heap_size=WRITER_HEAP, num_threads=INDEX_THREADS)
            (total,) = con.execute(read_sql("search/statement_count.sql"), {"snapshot": snapshot_id}).fetchone()
            progress(0, total)
            result = con.execute(read_sql("search/statements_to_index.sql"), {"snapshot": snapshot_id})
            added = _add_rows(writer, result, progress, total)
            commit_writer(writer)
            publish_generation(location, path, new_stamp(location, snapshot_id, added))
        except BaseException as error:
            shutil.rmtree(path, ignore_errors=True)
            raise _write_failure(root, error) from error
        con.rollback()
    finally:
        con.close()
    return IndexUpdate(snapshot_id=snapshot_id, added=added, documents=added, rebuilt=reason)


def update_index(
    location: LakeLocation, *, notify: Notify = _stderr, wait: bool = True, progress: IndexProgress = _no_progress
) -> IndexUpdate:
    """Bring the index to the lake's current snapshot: apply the change feed since its stamp, or rebuild.

    Rebuilds (with a line through ``notify``) when there is no usable index, or
    when its stamp cannot be followed (a snapshot the lake no longer holds, or
    one newer than the lake's). Otherwise copies the published generation,
    deletes every changed statement by ``statement_id``, adds those still in
    the lake, commits and publishes the copy. ``wait=False``: raise
    :class:`IndexBusy` rather than wait for another update. ``progress`` hears
    the statements indexed of those to index as they go.
    """
    with index_lock(location, wait=wait):
        try:
            generation = open_generation(location)
        except SearchIndexError as error:
            if not str(error).startswith("no search index"):  # a first build is no news
                notify(f"citelake search: {error}; rebuilding it from the lake")
            return build_index(location, reason=str(error), progress=progress)
        con = open_lake(location, read_only=True)
        try:
            con.begin()
            snapshot_id = current_snapshot(con)
            stamped = generation.stamp.snapshot_id
            if stamped == snapshot_id:
                con.rollback()
                return IndexUpdate(snapshot_id=snapshot_id, documents=generation.stamp.documents)
            known = {row[0] for row in con.execute(read_sql("search/snapshot_ids.sql")).fetchall()}
            if stamped > snapshot_id or stamped not in known:
                reason = f"its snapshot {stamped} is not in the lake's history"
                notify(f"citelake search: the search index in {index_root(location)}: {reason}; rebuilding it")
            else:
                reason = None
                update = _apply_changes(location, con, generation, stamped + 1, snapshot_id, progress)
            con.rollback()
        finally:
            con.close()
        if reason is not None:
            return build_index(location, reason=reason, progress=progress)
        return update


def _apply_changes(
    location: LakeLocation,
    con: duckdb.DuckDBPyConnection,
    generation: Generation,
    from_snapshot: int,
    to_snapshot: int,
    progress: IndexProgress = _no_progress,
) -> IndexUpdate:
    changed = con.execute(
        read_sql("search/changed_statement_ids.sql"), {"from_snapshot": from_snapshot, "to_snapshot": to_snapshot}
    ).pl()
    path = new_generation_path(index_root(location), to_snapshot)
    try:
        shutil.copytree(generation.path, path, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(STAMP_FILE, "*.lock"))
        index = tantivy.Index.open(str(path))
        searcher = index.searcher()
        removed = 0
        ids = changed["statement_id"].to_list()
        writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
        for statement_id in ids:
            removed += searcher.doc_freq("statement_id", statement_id) > 0
            writer.delete_documents_by_term("statement_id", statement_id)
        with registered(con, "changed_ids", changed.select(pl.col("statement_id").cast(pl.Utf8))):
            result = con.execute(read_sql("search/statements_for_ids.sql"), {"snapshot": to_snapshot})
            added = _add_rows(writer, result, progress, len(ids))
        commit_writer(writer)
        index.reload()
        documents = index.searcher().num_docs
        publish_generation(location, path, new_stamp(location, to_snapshot, documents))
    except BaseException as error:
        shutil.rmtree(path, ignore_errors=True)
        raise _write_failure(index_root(location), error) from error
    return IndexUpdate(snapshot_id=to_snapshot, added=added, removed=removed, documents=documents)


class IndexWriteError(SearchIndexError):
    """A new generation could not be written (a full disk, an I/O error); the published one is untouched."""


# Below this many free bytes on the index's disk, a failed write is put down to the full disk: tantivy
# reports one only as "An index writer was killed … (io::Error most likely)".
_NEARLY_FULL = 1 << 20


def _write_failure(root: Path, error: BaseException) -> BaseException:
    """``error`` as an :class:`IndexWriteError` naming the index folder and the cause (an interrupt is left as it is)."""
    if not isinstance(error, Exception) or isinstance(error, SearchIndexError):
        return error
    if isinstance(error, OSError) and error.strerror:
        cause = error.strerror
    else:
        cause = _first_line(error)
        try:
            free = shutil.disk_usage(root).free
        except OSError:
            free = None
        if free is not None and free < _NEARLY_FULL:
            cause = f"No space left on device ({free:,} bytes free)"
    return IndexWriteError(f"cannot write the search index in {root}: {cause}")


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
