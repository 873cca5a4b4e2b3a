"""The one writer of a run: :class:`LakeWriter` stages a run's batches and commits them as one DuckLake snapshot, or nothing.

The statements it runs live in ``sql/lake``; the per-table ones (staging, the
merges' keys) are built from the registry (``tasks.lake.tables``). The run's own
record (its ``runs`` row and findings) is :mod:`tasks.lake.run_record`'s.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from tasks.lake import tables
from tasks.lake.checks import latest_findings, run_checks
from tasks.lake.errors import KeyCheckFailed, LakeError
from tasks.lake.run_record import RunSummary, normalise_file_counts, record_run, row_counts
from tasks.lake.sql import quote_identifier, quote_literal, read_sql, registered, transaction

if TYPE_CHECKING:  # polars and the frame schemas (pandera) cost a second to import: only the writer's callers have them
    import polars as pl

    from tasks.reading.frames import Frames
    from tasks.reading.scite_api_frames import ApiFrames

logger = logging.getLogger(__name__)


# The frames a batch parks as Parquet ({table}.parquet); finish() reads them as the views run_{table}.
STAGED_FRAMES: tuple[str, ...] = tables.PAGE_FRAMES


# Where the writer parks a batch's files' states, beside its frames; finish() reads them as the view run_report_files.
REPORT_FILES_PARKED = "report_files.parquet"


# What finish() runs, in this order, to bring the staged run into the lake: each
# a set-based statement over every batch at once. The pages the run adds are
# chosen first, so the per-page inserts agree; statements merge after the
# sightings, whose latest classification they take. Papers, abstracts and
# statements are merged only for the papers the run can change (those with a
# page the run adds, lake/select_changed_dois.sql). Of those only the rows
# whose key the lake holds or the run staged twice go through a MERGE; the
# rest, most of a first run, are inserted as staged (a MERGE of a million new
# rows took DuckDB to its memory limit). Then the files' states
# (REPORT_FILES_STATEMENTS), merged or inserted in the same way.
FINISH_STATEMENTS: tuple[str, ...] = (
    "lake/select_new_pages.sql",
    "lake/select_changed_dois.sql",
    "lake/insert_paper_snapshots.sql",
    "lake/insert_statement_sightings.sql",
    "lake/insert_facets.sql",
    "lake/select_merged_keys.sql:papers",
    "lake/merge_papers.sql",
    "lake/insert_new_papers.sql",
    "lake/select_merged_keys.sql:abstracts",
    "lake/merge_abstracts.sql",
    "lake/insert_new_abstracts.sql",
    "lake/select_merged_keys.sql:statements",
    "lake/merge_statements.sql",
    "lake/insert_new_statements.sql",
    # The saved scite API responses' own tables (tasks/reading/scite_api.py), after the merges they complete.
    "lake/insert_api_responses.sql",
    "lake/insert_api_papers.sql",
    "lake/insert_editorial_notices.sql",
    "lake/merge_paper_metadata.sql",
    # The Retraction Watch export's records (tasks/reading/retraction_watch.py), merged on record_id.
    "lake/merge_retractions.sql",
    # papers.retracted, both sources combined: after every merge that writes papers or the sources.
    "lake/merge_papers_retracted.sql",
)


# A FINISH_STATEMENTS entry "lake/select_merged_keys.sql:TABLE" runs that template
# with {table} and {key} filled in: the key of each table merged that way.
MERGED_KEYS: dict[str, str] = {name: tables.table(name).key[0] for name in tables.MERGED_TABLES}


# The files' states: what the run changes chosen first, then the two writes (the
# paths the lake holds, the new ones), which take the run id.
REPORT_FILES_STATEMENTS: tuple[str, ...] = (
    "lake/select_report_file_changes.sql",
    "lake/merge_report_files.sql",
    "lake/insert_new_report_files.sql",
)


# A statement of FINISH_STATEMENTS that can only change something when its
# guard (a query of one boolean) says so, and is skipped otherwise: the papers'
# metadata come from saved API responses alone, and over a lake of pages
# alone the MERGE touched nothing for 1.2 s of a million-page run (0.1 s of 25 files).
FINISH_GUARDS: dict[str, str] = {
    "lake/merge_paper_metadata.sql": "lake/holds_api_rows.sql",
    "lake/merge_retractions.sql": "lake/run_holds_retractions.sql",
    "lake/merge_papers_retracted.sql": "lake/holds_retraction_sources.sql",
}


# The run's staging table of each frame the API gives: run_{table} for the API's
# own tables, run_api_rows_{table} for those pages fill too (sql/lake/create_staging_table.sql).
API_STAGING_TABLES: dict[str, str] = {
    **{name: f"run_{name}" for name in tables.API_ONLY_TABLES},
    **{t.name: f"run_api_rows_{t.name}" for t in tables.TABLES if t.staged_from_pages and t.staged_from_api},
}


REPORT_FILE_STATUSES = tables.REPORT_FILE_STATUSES


# Each staging table of a run → the lake table whose columns it takes: the API's
# rows of each table pages fill, the API's own tables, and the Retraction Watch export's.
RUN_STAGING_TABLES: dict[str, str] = {
    **{f"run_api_rows_{name}": name for name in tables.PAGE_FRAMES},
    **{f"run_{name}": name for name in tables.API_ONLY_TABLES},
    **{f"run_{name}": name for name in tables.RETRACTION_WATCH_TABLES},
}


def _staging_tables_sql() -> str:
    template = read_sql("lake/create_staging_table.sql")
    return "\n".join(
        template.format(staging=quote_identifier(staging), table=quote_identifier(table))
        for staging, table in RUN_STAGING_TABLES.items()
    )


def _drop_table_staging_sql() -> str:
    template = read_sql("lake/drop_table_staging.sql")
    drops = [("view", f"run_{name}") for name in tables.PAGE_FRAMES]
    drops += [("table", f"run_merged_{name}") for name in tables.MERGED_TABLES]
    drops += [("table", staging) for staging in RUN_STAGING_TABLES]
    return "\n".join(template.format(kind=kind, name=quote_identifier(name)) for kind, name in drops)


def __getattr__(name: str) -> Any:
    # REPORT_FILES_SCHEMA is the frames' FILE_STATES, imported when first asked for (see TYPE_CHECKING above).
    if name == "REPORT_FILES_SCHEMA":
        from tasks.reading.frames import FILE_STATES

        return FILE_STATES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _prepare_report_files(report_files: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    from tasks.reading.frames import FILE_ETAG, FILE_STATES as REPORT_FILES_SCHEMA

    missing = [name for name in REPORT_FILES_SCHEMA if name not in report_files.columns]
    if missing:
        raise ValueError(f"report_files frame lacks columns {', '.join(missing)}")
    prepared = report_files.select(REPORT_FILES_SCHEMA.names()).cast(REPORT_FILES_SCHEMA)
    unknown = set(prepared["status"].unique().to_list()) - set(REPORT_FILE_STATUSES)
    if unknown:
        raise ValueError(
            f"report_files has unknown status {sorted(map(str, unknown))}; expected one of {', '.join(REPORT_FILE_STATUSES)}"
        )
    # The ETag of a file read from a bucket, when the frame has one (sql/schema/006_report_file_etags.sql).
    etag = report_files[FILE_ETAG].cast(pl.Utf8) if FILE_ETAG in report_files.columns else pl.lit(None, pl.Utf8)
    return prepared.with_columns(etag.alias(FILE_ETAG))


# Held around a run's COMMIT. Ctrl-C in `citelake ingest` (flows.interrupt) takes it to know
# whether the run committed: once it holds it, no COMMIT of this process starts or is half done.
COMMIT_GATE = threading.Lock()


class LakeWriter:
    """One run's writes, as one DuckLake transaction.

    ::

        with LakeWriter(con, run_id=run_id, source=folder) as writer:
            writer.add_batch(frames, report_files)   # once per batch
            summary = writer.finish(file_counts)     # merges, checks, runs row, COMMIT

    :meth:`add_batch` (or :meth:`add_staged`) only stages a batch: its frames
    stay parked as Parquet, and only its files' states and page hashes go into
    temporary tables of the connection (``sql/lake/create_run_staging.sql``),
    which costs little and touches no table of the lake. :meth:`finish` brings the whole run
    into the lake with a few set-based statements per table (:data:`FINISH_STATEMENTS`),
    so a run's cost does not grow with its number of batches. Every merge is
    idempotent: pages already stored, in the lake or earlier in the run, add
    nothing, and re-adding rows the lake holds changes nothing.

    Leaving the block by an exception, or without :meth:`finish`, rolls back:
    the lake stays at its previous snapshot. A failed COMMIT raises its own error.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, run_id: str, source: str | None = None, staging: Path | None = None
    ) -> None:
        self.con = con
        self.run_id = run_id
        self.source = source
        self._open = False
        self._finished = False
        self._batches = 0
        # Where add_batch parks frames handed over in memory; without one, a temporary folder of the writer's own.
        self._staging = staging
        self._own_staging: Path | None = None
        self._staged: list[tuple[int, Path]] = []
        self._started_at: datetime | None = None
        self._lake_hashes_staged = False

    def __enter__(self) -> LakeWriter:
        self.con.begin()
        self._open = True
        self._lake_hashes_staged = False
        try:
            self._started_at = datetime.now(UTC)
            self.con.execute(read_sql("lake/create_run_staging.sql"))
            self.con.execute(_staging_tables_sql())
        except BaseException:
            self._open = False
            self.con.rollback()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._open:
            self._open = False
            try:
                self.con.rollback()
            except duckdb.Error:
                if exc_type is None:
                    raise
                # The error that left the block is the one to see, not the rollback's.
            if exc_type is None:
                raise LakeError(f"run {self.run_id}: the writer was left without finish(); nothing was committed")
        self._drop_staging(quiet=exc_type is not None)
        if self._own_staging is not None:
            shutil.rmtree(self._own_staging, ignore_errors=True)

    def _drop_staging(self, *, quiet: bool) -> None:
        """Free the run's staging (after COMMIT or ROLLBACK; a rollback already removed what it created).

        In one transaction: each of the two dozen drops committed on its own
        took the lake's catalog through a commit each, 84-101 ms in all against
        9-11 ms (measured on the example reports' lake).
        """
        try:
            with transaction(self.con):
                self.con.execute(read_sql("lake/drop_run_staging.sql"))
                self.con.execute(_drop_table_staging_sql())
        except duckdb.Error:
            if not quiet:
                raise

    def add_batch(
        self, frames: Frames, report_files: pl.DataFrame, api: ApiFrames | None = None, retractions: pl.DataFrame | None = None
    ) -> None:
        """Stage one batch of split frames, given in memory, and its files' states for the run.

        The frames are written as Parquet under the writer's staging folder and
        staged from there, as :meth:`add_staged` does with a batch a parser
        process parked itself. The rows of saved scite API responses (``api``)
        are copied into the connection's API staging, and the records of Retraction
        Watch exports (``retractions``) into ``run_retractions``.
        """
        if not self._open:
            raise LakeError("add_batch() outside the writer's with-block")
        if self._staging is None:
            self._own_staging = self._staging = Path(tempfile.mkdtemp(prefix=f"citelake-run-{self.run_id}-"))
        folder = self._staging / f"writer-{self._batches:06d}"
        folder.mkdir(parents=True, exist_ok=True)
        from tasks.reading.frames import write_frames

        write_frames(frames, folder)
        batch = self.add_staged(folder, report_files)
        if api is not None and not api.is_empty():
            self._stage_api(api, batch)
        if retractions is not None and not retractions.is_empty():
            self._stage_frame("run_retractions", "batch_retractions", retractions, batch)

    def add_staged(self, folder: Path, report_files: pl.DataFrame) -> int:
        """Stage one batch parked as Parquet in ``folder`` (a ``{table}.parquet`` per frame) and its files' states.

        Nothing is copied here: :meth:`finish` reads the parked files in place,
        by identity, so a batch already in the lake (or staged twice) changes
        nothing. Of a page staged by several batches the first batch's copy is
        stored; of a path staged twice, the later batch's state is recorded.
        Only the batch's page hashes (for :meth:`stored_hashes`) go into the
        connection, a few bytes a file; the files' states are parked beside the
        frames (``report_files.parquet``), where :meth:`finish` reads them (held
        in a temporary table, they took a million-file run's main process to
        1,098 MB while parsing, against 625 MB parked). The
        folder must stay until the writer's block ends. Returns the batch's number in the run.
        """
        if not self._open:
            raise LakeError("add_staged() outside the writer's with-block")
        batch = self._batches
        self._batches += 1
        folder = Path(folder).resolve()
        self._staged.append((batch, folder))
        self.con.execute(read_sql("lake/stage_batch_folder.sql"), {"folder": str(folder), "batch": batch})
        self.con.execute(
            read_sql("lake/stage_page_hashes.sql"), {"snapshots": str(folder / "paper_snapshots.parquet"), "batch": batch}
        )
        from tasks.reading.frames import STAGING_COMPRESSION

        _prepare_report_files(report_files).write_parquet(folder / REPORT_FILES_PARKED, compression=STAGING_COMPRESSION)
        return batch

    def _stage_api(self, api: ApiFrames, batch: int) -> None:
        """Copy the rows of a batch's saved API responses into the API staging (sql/lake/create_staging_table.sql)."""
        for table, staging in API_STAGING_TABLES.items():
            frame = dict(api.items())[table]
            if not frame.is_empty():
                self._stage_frame(staging, f"api_batch_{table}", frame, batch)

    def _stage_frame(self, staging: str, name: str, frame: pl.DataFrame, batch: int) -> None:
        """Append ``frame`` (registered as ``name``) to the run's staging table ``staging`` (sql/lake/stage_batch.sql)."""
        statement = read_sql("lake/stage_batch.sql").format(staging=quote_identifier(staging), frame=quote_identifier(name))
        with registered(self.con, name, frame):
            self.con.execute(statement, {"batch": batch})

    def stored_hashes(self, hashes: Sequence[str]) -> set[str]:
        """Which of these content hashes are pages stored in the lake or staged earlier in this run."""
        if not self._open:
            raise LakeError("stored_hashes() outside the writer's with-block")
        import polars as pl

        if not self._lake_hashes_staged:  # the lake's hashes, once per run (see the SQL)
            self.con.execute(read_sql("lake/stage_lake_hashes.sql"))
            self._lake_hashes_staged = True
        wanted = pl.DataFrame({"sha256": list(hashes)}, schema={"sha256": pl.Utf8})
        with registered(self.con, "wanted_hashes", wanted):
            # Built on the batch's hashes, not on all the run's (see the SQL): at a
            # million files a look-up grew from 20 ms to 160 ms by the last batch.
            self.con.execute(read_sql("lake/keep_build_sides.sql"))
            try:
                found = self.con.execute(read_sql("lake/known_hashes_in_run.sql")).pl()
            finally:
                self.con.execute(read_sql("lake/reset_build_sides.sql"))
        return set(found["sha256"].to_list())

    def _create_report_files_view(self) -> None:
        """The run's files' states, every batch at once: the view run_report_files over the parked files.

        Only called with a batch staged, so the list of files is never empty.
        """
        files = [str(folder / REPORT_FILES_PARKED) for _, folder in self._staged]
        statement = read_sql("lake/run_report_files_view.sql").format(
            files="[" + ", ".join(map(quote_literal, files)) + "]"
        )
        self.con.execute(statement)

    def _create_run_views(self) -> None:
        """The run's staged frames as views over the parked Parquet files, with each row's batch number.

        Each view also holds the rows the run's saved API responses gave that table
        (``run_api_rows_<table>``, which carries every column of the lake's table).
        """
        for table in STAGED_FRAMES:
            files = [str(folder / f"{table}.parquet") for _, folder in self._staged]
            names = {"view": quote_identifier(f"run_{table}"), "api_rows": quote_identifier(f"run_api_rows_{table}")}
            if files:
                statement = read_sql("lake/run_view.sql").format(
                    **names, files="[" + ", ".join(map(quote_literal, files)) + "]"
                )
            else:
                statement = read_sql("lake/run_view_empty.sql").format(**names)
            self.con.execute(statement)

    def finish(self, file_counts: dict[str, int]) -> RunSummary:
        """Merge the staged run into the lake, run the checks, record the run and its findings, and COMMIT.

        ``file_counts`` holds the run's file tallies by ``seen``, ``new``,
        ``changed``, ``unchanged``, ``duplicate``, ``rejected`` (a ``files_``
        prefix is accepted; missing ones count 0). A key check with findings
        raises :class:`KeyCheckFailed` and nothing is committed. A COMMIT that
        fails (another writer got in first) raises DuckDB's own error.
        """
        if not self._open:
            raise LakeError("finish() outside the writer's with-block")
        counts = normalise_file_counts(file_counts)
        if self._batches == 0:
            # Nothing staged: no merge can change a row, so the lake is the one the
            # latest run's checks saw, and their findings are this run's.
            rows_added = dict.fromkeys(row_counts(self.con), 0)
            findings = latest_findings(self.con) or run_checks(self.con)
        else:
            counts_before = row_counts(self.con)  # nothing in this transaction has written to the lake yet
            self._create_run_views()
            for statement in FINISH_STATEMENTS:
                with _timed(statement):
                    guard = FINISH_GUARDS.get(statement)
                    if guard is None or self.con.execute(read_sql(guard)).fetchone()[0]:
                        self.con.execute(_finish_sql(statement))
            self._create_report_files_view()
            select, *writes = REPORT_FILES_STATEMENTS
            with _timed(select):
                self.con.execute(read_sql(select))
            for statement in writes:
                with _timed(statement):
                    self.con.execute(read_sql(statement), {"run_id": self.run_id})
            counts_after = row_counts(self.con)
            rows_added = {table: counts_after[table] - counts_before[table] for table in counts_after}
            with _timed("checks"):
                findings = run_checks(self.con)
        broken = [finding for finding in findings if finding.is_key_check and finding.offending_rows]
        if broken:
            details = "; ".join(
                f"{finding.check_name}: {finding.offending_rows} duplicated, e.g. {finding.sample[0]}" for finding in broken
            )
            raise KeyCheckFailed(f"run {self.run_id} not committed, key check failed: {details}")
        record_run(
            self.con,
            run_id=self.run_id,
            started_at=self._started_at,
            source=self.source,
            file_counts=counts,
            rows_added=rows_added,
            findings=findings,
        )
        # Whether COMMIT succeeds or fails, the transaction is over: a failed
        # DuckLake commit leaves none to roll back, and its error is the one raised.
        self._open = False
        with _timed("COMMIT"), COMMIT_GATE:
            self.con.commit()
        self._finished = True
        return RunSummary(run_id=self.run_id, rows_added=rows_added, findings=findings)


def _finish_sql(statement: str) -> str:
    """The SQL of a FINISH_STATEMENTS entry: a file of ``sql/``, or ``file:TABLE`` for a template filled in for TABLE."""
    name, _, table = statement.partition(":")
    if not table:
        return read_sql(name)
    return read_sql(name).format(table=table, key=MERGED_KEYS[table])


@contextmanager
def _timed(step: str) -> Iterator[None]:
    """Log (at DEBUG, ``tasks.lake.writer``) how long one step of :meth:`LakeWriter.finish` took."""
    started = time.perf_counter()
    yield
    logger.debug("finish: %s took %.2f s", step, time.perf_counter() - started)


def file_manifest(con: duckdb.DuckDBPyConnection, paths: list[str] | None = None) -> pl.DataFrame:
    """The stored state (path, size, mtime, sha256, status, reason) of the given paths, or of every file seen."""
    if paths is None:
        return con.execute(read_sql("lake/file_manifest.sql")).pl()
    import polars as pl

    wanted = pl.DataFrame({"path": paths}, schema={"path": pl.Utf8})
    with registered(con, "wanted_paths", wanted):
        return con.execute(read_sql("lake/file_manifest_for_paths.sql")).pl()
