"""The plan of a run and the fate of each file read: what is new or changed, and what becomes of it.

:func:`plan_run` sets the discovered files against the lake's manifest
(``report_files``): a path whose size and mtime are as recorded is unchanged and
never read (unless its last read failed: it is retried). :func:`classify_outcomes`
then decides each read file's fate by its content hash.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from tasks.lake.bucket_source import BucketDiscovery
from tasks.lake.discover import Discovery, discovered_frame
from tasks.lake.sql import read_sql, registered
from tasks.reading.frames import UTC_TIME, Frames
from tasks.reading.page_text import READ_FAILURE
from tasks.reading.record import DiscoveredFile
from tasks.reading.split import combine_frames
from tasks.reading.staging import files_of


# What a run counts files by; ``seen`` is every file discovered, the others add up to it.
FILE_OUTCOMES = ("new", "changed", "unchanged", "duplicate", "rejected")


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What a run will read.

    ``to_read`` holds the files to read, in discovery order: ``path``, ``size``,
    ``mtime``, ``etag`` (of an object in a bucket) and the path's recorded state (``previous_sha256``,
    ``previous_status``; null for a path never seen). ``files_seen`` counts every
    discovered file, ``unchanged`` those skipped because size and mtime are as recorded;
    ``skipped_folders`` the ``(folder, reason)`` of the folders discovery could not read;
    ``joined_manifest`` whether the files were set against a recorded manifest in
    DuckDB (a first run's are not: there is none).
    """

    files_seen: int
    unchanged: int
    to_read: pl.DataFrame
    skipped_folders: tuple[tuple[str, str], ...] = ()
    joined_manifest: bool = False

    @property
    def bytes_to_read(self) -> int:
        return int(self.to_read["size"].sum() or 0)

    def totals(self) -> PlanTotals:
        """The plan's counts without its frame of files, for what outlives the reading of them."""
        return PlanTotals(
            files_seen=self.files_seen,
            unchanged=self.unchanged,
            files_to_read=self.to_read.height,
            bytes_to_read=self.bytes_to_read,
            skipped_folders=self.skipped_folders,
        )

    def files_to_read(self) -> Iterator[DiscoveredFile]:
        """The files to read, one at a time (the frame is not copied into Python objects at once)."""
        return files_of(self.to_read)


@dataclass(frozen=True, slots=True)
class PlanTotals:
    """A :class:`RunPlan`'s counts, without the frame of the files to read (:meth:`RunPlan.totals`)."""

    files_seen: int
    unchanged: int
    files_to_read: int
    bytes_to_read: int
    skipped_folders: tuple[tuple[str, str], ...] = ()


PLAN_FILE = "plan.arrow"


class ParkedPlan:
    """A plan's files to read, parked in the run's staging folder as Arrow IPC, one record batch per batch of files.

    The frame (paths, sizes, mtimes, the recorded sha256 and status) is needed
    twice: to cut the batches and, a slice at a time, to classify each. Held in
    memory, a million files to read again kept 243 MB of the main process for
    the whole parse; parked, each batch's slice is read from the file when it
    is needed. (Not memory-mapped: the mapped pages a run had read stayed in
    the process's resident memory, 250 MB again by the last batch.)
    """

    def __init__(self, frame: pl.DataFrame, folder: Path, batch_size: int) -> None:
        import pyarrow as pa  # DuckDB's result conversion has loaded it in this process already
        import pyarrow.ipc

        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / PLAN_FILE
        self._schema = frame.schema
        table = frame.to_arrow()
        with pa.OSFile(str(self.path), "wb") as sink, pyarrow.ipc.new_file(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=batch_size):
                writer.write_batch(batch)
        del table
        self._file = pyarrow.ipc.open_file(pa.OSFile(str(self.path)))

    def __len__(self) -> int:
        return self._file.num_record_batches

    def batch(self, number: int) -> pl.DataFrame:
        """Batch ``number``'s rows, with the frame's column types."""
        frame = pl.from_arrow(self._file.get_batch(number))
        assert isinstance(frame, pl.DataFrame)
        return frame.cast(dict(self._schema))

    def files_of(self, number: int) -> Iterator[DiscoveredFile]:
        """Batch ``number``'s files to read."""
        return files_of(self.batch(number))

    def files(self) -> Iterator[DiscoveredFile]:
        """The files to read in the plan's order, one batch's rows at a time."""
        for number in range(len(self)):
            yield from files_of(self.batch(number))


# What the user is told as a run's discovery begins (its lock is held by then).
DISCOVERING = "discovering files…"


def plan_run(
    con: duckdb.DuckDBPyConnection,
    discovered: Iterable[DiscoveredFile],
    skipped_folders: Collection[tuple[str, str]] = (),
    *,
    when_work: tuple[int, Callable[[], None]] | None = None,
    when_discovered: Callable[[], None] | None = None,
) -> RunPlan:
    """Set the discovered files against the lake's manifest: which must be read, which are unchanged.

    A path whose size, mtime and etag (an object's; null for a local file) equal the
    recorded ones is unchanged and is not read at all, unless its last read failed (a reason starting with
    ``tasks.reading.page_text.READ_FAILURE``): such a path is read again by every run until it
    is read. The discovered files are held as columns, not as a million Python
    objects, and set against the manifest in one join in DuckDB
    (``lake/files_to_read.sql``), which hands back only the files to read; a
    first run, with no manifest, reads them all.
    ``skipped_folders`` is read once ``discovered`` is exhausted (discovery fills it as it goes).

    ``when_work`` is ``(files, call)``: ``call()`` as soon as discovery is sure
    to find at least ``files`` files to read (that many more paths than the
    manifest holds), to start the parser processes while the plan goes on.
    ``when_discovered()`` is called once every file is found, before the join.
    """
    recorded = con.execute(read_sql("lake/recorded_file_count.sql")).fetchone()[0]
    if isinstance(discovered, Discovery | BucketDiscovery):
        if when_work is None:
            files = discovered.frame()
        else:
            files = discovered.frame(beyond=recorded + when_work[0] - 1, then=when_work[1])
    else:
        files = discovered_frame(discovered)
    if when_discovered is not None:
        when_discovered()
    if recorded == 0:  # a first run reads every file
        to_read = files.with_columns(previous_sha256=pl.lit(None, pl.Utf8), previous_status=pl.lit(None, pl.Utf8))
    else:
        # A file that could not be read (vanished, not a regular file, an I/O error) was never
        # looked at: its size and mtime say nothing of its bytes, so it is read again every run.
        with registered(con, "discovered_files", files.with_row_index("discovery_order")):
            to_read = con.execute(read_sql("lake/files_to_read.sql"), {"read_failure": READ_FAILURE + ":"}).pl()
        to_read = (
            to_read.sort("discovery_order")
            .drop("discovery_order")
            .with_columns(pl.col("mtime").dt.convert_time_zone("UTC").cast(UTC_TIME))
        )
    return RunPlan(
        files_seen=files.height,
        unchanged=files.height - to_read.height,
        to_read=to_read,
        skipped_folders=tuple(skipped_folders),
        joined_manifest=recorded > 0,
    )


def classify_outcomes(
    outcomes: pl.DataFrame,
    previous: pl.DataFrame,
    batch_pages: pl.DataFrame,
    stored_hashes: Collection[str],
) -> pl.DataFrame:
    """Each read file's fate: the batch's outcomes with ``outcome`` and the ``status`` to record.

    - ``outcomes``: ``tasks.reading.batch`` outcome rows (path, size, mtime, sha256, status
      ``parsed``/``rejected``, reason, warnings);
    - ``previous``: path, previous_sha256, previous_status of the paths (as in :class:`RunPlan`);
    - ``batch_pages``: source_sha256, source_path of the batch's ``paper_snapshots``,
      i.e. which copy of each page the split kept;
    - ``stored_hashes``: which of the batch's hashes are pages already in the lake
      (earlier runs, or earlier batches of this run).

    In this order: the bytes the path had → ``unchanged`` (its recorded status is
    kept; only size and mtime are recorded anew); not a report → ``rejected``;
    bytes already stored, or another copy in the batch is the one the split kept →
    ``duplicate``; otherwise ingested, as ``new`` or ``changed``. Returns the
    report_files columns (status one of ingested, unchanged, duplicate, rejected)
    plus ``outcome``, one of :data:`FILE_OUTCOMES`.
    """
    kept_copies = batch_pages.select(sha256="source_sha256", kept_path="source_path")
    rows = outcomes.join(previous.select("path", "previous_sha256", "previous_status"), on="path", how="left").join(
        kept_copies, on="sha256", how="left"
    )
    same_bytes = pl.col("sha256").is_not_null() & (pl.col("sha256") == pl.col("previous_sha256")).fill_null(False)
    already_stored = pl.col("sha256").is_in(list(stored_hashes))
    other_copy_kept = pl.col("kept_path").is_not_null() & (pl.col("path") != pl.col("kept_path"))
    outcome = (
        pl.when(same_bytes)
        .then(pl.lit("unchanged"))
        .when(pl.col("status") == "rejected")
        .then(pl.lit("rejected"))
        .when(already_stored | other_copy_kept)
        .then(pl.lit("duplicate"))
        .when(pl.col("previous_status").is_null())
        .then(pl.lit("new"))
        .otherwise(pl.lit("changed"))
    )
    return (
        rows.with_columns(outcome=outcome)
        .with_columns(
            status=pl.when(pl.col("outcome") == "unchanged")
            .then(pl.col("previous_status"))
            .when(pl.col("outcome").is_in(["new", "changed"]))
            .then(pl.lit("ingested"))
            .otherwise(pl.col("outcome"))
        )
        .select(outcomes.columns + ["outcome"])
    )


def pages_to_store(frames: Frames, hashes: Collection[str]) -> Frames:
    """The batch's frames reduced to the pages with these content hashes.

    The per-page frames are filtered; ``papers``, ``abstracts`` and ``statements``
    are derived anew from what is left (``tasks.reading.split.combine_frames``), so a page
    left out cannot move a paper's latest values or a statement's first and last
    sighting. ``abstracts`` holds only each DOI's latest abstract, so a kept page
    whose abstract lost to a page left out loses its abstract here: :func:`store_batch`
    uses this only for the rare page that must not be stored at all (see there).
    """
    if frames.paper_snapshots["source_sha256"].is_in(list(hashes)).all():
        return frames
    wanted = pl.col("source_sha256").is_in(list(hashes))
    kept = {name: frame.filter(wanted) if "source_sha256" in frame.columns else frame for name, frame in frames.items()}
    return combine_frames([Frames(**kept)])
