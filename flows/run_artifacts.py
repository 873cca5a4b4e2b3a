"""What the Prefect UI shows about an ingest run: its artifacts.

Every artifact has a fixed key, so the UI lists it on the Artifacts page and
keeps one version per run:

- ``citelake-ingest-progress``: the share of batches parsed, updated as they finish;
- ``citelake-ingest-summary``: files by status, folders skipped (that could not
  be read), rows added per table, quality findings and the run's duration (markdown);
- ``citelake-rejected-files``: the files set aside, with the reason (table);
- ``citelake-changed-papers``: papers whose counts moved since their previous
  page, those that gained contrasting statements first (table).

The content is built by pure functions (:func:`summary_markdown`,
:func:`rejected_file_rows`) and by the query of ``sql/artifacts``
(:func:`changed_paper_rows`); :class:`RunProgress` and the ``@task``
:func:`publish_run_report` publish them. :func:`announce` also hands each
step to whoever watches the run from the same process (``citelake ingest``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact

from tasks.lake.summary import IngestProgress, IngestSummary
from tasks.lake.plan import FILE_OUTCOMES, PlanTotals
from tasks.lake.checks import CheckFinding
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql
from tasks.reading.staging import StagedBatch

PROGRESS_KEY = "citelake-ingest-progress"
PROGRESS_UPDATE_SECONDS = 1.0  # the least time between two moves of the progress artifact
SUMMARY_KEY = "citelake-ingest-summary"
REJECTED_FILES_KEY = "citelake-rejected-files"
CHANGED_PAPERS_KEY = "citelake-changed-papers"

# A table artifact is read by a person in the UI, not by a program: past this
# many rows the lake (report_files, paper_count_history) has the rest.
MAX_TABLE_ROWS = 1000

PROGRESS_LOGGER = logging.getLogger("citelake.progress")
PROGRESS_RECORD_FIELD = "ingest_progress"

FILE_STATUSES = ("seen", *FILE_OUTCOMES)


def summary_markdown(summary: IngestSummary, *, changed_papers: int) -> str:
    """The run's summary as markdown: what came in, what was added, what the checks found, how long it took."""
    lines = [
        f"# citelake ingest run `{summary.run_id}`",
        "",
        f"- source: `{summary.source}`",
        f"- lake: `{summary.lake}`",
        f"- time to commit: {summary.seconds:.1f} s",
        *(f"- then {step}: {seconds:.1f} s" for step, seconds in summary.after_commit.items()),
        "",
        "## Files by status",
        "",
        "| status | files |",
        "|---|---:|",
        *(f"| {status} | {summary.files.get(status, 0):,} |" for status in FILE_STATUSES),
        "",
        *_skipped_folder_lines(summary.skipped_folders),
        "## Rows added per table",
        "",
        "| table | rows added |",
        "|---|---:|",
        *(f"| {table} | {added:,} |" for table, added in summary.rows_added.items()),
        "",
        "## Quality checks",
        "",
        *_findings_lines(summary.findings),
        "",
        f"Tables: `{REJECTED_FILES_KEY}` ({min(len(summary.rejected), MAX_TABLE_ROWS):,} rows) lists the rejected "
        f"files with the reason, `{CHANGED_PAPERS_KEY}` ({changed_papers:,} rows) the papers whose counts changed; "
        f"each shows at most {MAX_TABLE_ROWS:,} rows, the lake holds them all.",
    ]
    return "\n".join(lines) + "\n"


def _skipped_folder_lines(skipped_folders: Sequence[tuple[str, str]]) -> list[str]:
    if not skipped_folders:
        return []
    lines = ["## Folders skipped", "", f"{len(skipped_folders):,} folders could not be read; their files were not seen.", ""]
    lines += ["| folder | reason |", "|---|---|"]
    lines += [f"| `{folder}` | {reason} |" for folder, reason in skipped_folders[:MAX_TABLE_ROWS]]
    return [*lines, ""]


def _findings_lines(findings: Sequence[CheckFinding]) -> list[str]:
    if not findings:
        return ["No checks ran."]
    failing = [finding for finding in findings if finding.offending_rows]
    lines = [f"{len(findings) - len(failing)} of {len(findings)} checks found nothing.", ""]
    if failing:
        lines += ["| check | offending rows |", "|---|---:|"]
        lines += [f"| {finding.check_name} | {finding.offending_rows:,} |" for finding in failing]
    return lines


def rejected_file_rows(summary: IngestSummary, limit: int = MAX_TABLE_ROWS) -> list[dict[str, str]]:
    """The files the run rejected, with the reason, as table-artifact rows (in discovery order)."""
    return [{"path": path, "reason": reason} for path, reason in summary.rejected[:limit]]


def changed_paper_rows(con: duckdb.DuckDBPyConnection, run_id: str, limit: int = MAX_TABLE_ROWS) -> list[dict[str, Any]]:
    """Papers whose counts moved on a page this run ingested, contrasting gains first (``sql/artifacts/changed_papers.sql``)."""
    return _table_rows(con, "artifacts/changed_papers.sql", {"run_id": run_id, "row_limit": limit})


def _table_rows(con: duckdb.DuckDBPyConnection, statement: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    result = con.execute(read_sql(statement), parameters)
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, map(_json_cell, row), strict=True)) for row in result.fetchall()]


def _json_cell(value: Any) -> Any:
    # Table artifacts are stored as JSON, which has no date type.
    return value.isoformat() if isinstance(value, datetime | date) else value


def announce(step: IngestProgress) -> None:
    """Tell an observer in this process (``citelake ingest``'s progress display) where the run is.

    A record on the :data:`PROGRESS_LOGGER` carrying the step; silent unless
    someone attached a handler and lowered the logger's level.
    """
    PROGRESS_LOGGER.info(
        "%s: %d/%d files", step.stage, step.files_done, step.files_total, extra={PROGRESS_RECORD_FIELD: step}
    )


class RunProgress:
    """A run's progress while its batches are parsed: the UI's progress artifact, a log line, :func:`announce`.

    Created once the plan is known (the artifact at 0 %); :meth:`batch_done` moves
    everything on as each batch finishes, with plain API calls from the flow, so
    no task run per update.
    """

    def __init__(self, plan: PlanTotals, total_batches: int) -> None:
        self.total_batches = total_batches
        self.batches_done = self.files_done = self.bytes_done = 0
        self.files_total = plan.files_to_read
        self.bytes_total = plan.bytes_to_read
        self._artifact_updated = time.monotonic()
        self.artifact_id: UUID = create_progress_artifact(
            0.0 if total_batches else 100.0,
            key=PROGRESS_KEY,
            description=f"Share of the run's {total_batches} batches parsed and staged",
        )
        announce(IngestProgress("planned", 0, self.files_total, 0, self.bytes_total))

    def batch_done(self, batch: StagedBatch) -> None:
        """Count one more parsed batch."""
        self.batches_done += 1
        self.files_done += batch.files
        self.bytes_done += batch.bytes
        # One API call per batch cost the flow's thread 130 ms each (6.5 s of a 100,000-file run): the
        # artifact moves at most once a PROGRESS_UPDATE_SECONDS, and always on the last batch.
        now = time.monotonic()
        if self.batches_done == self.total_batches or now - self._artifact_updated >= PROGRESS_UPDATE_SECONDS:
            update_progress_artifact(self.artifact_id, 100.0 * self.batches_done / self.total_batches)
            self._artifact_updated = now
        get_run_logger().info(
            "batch %d/%d parsed: %s/%s files", self.batches_done, self.total_batches, f"{self.files_done:,}", f"{self.files_total:,}"
        )
        announce(IngestProgress("parsed", self.files_done, self.files_total, self.bytes_done, self.bytes_total))


@task(cache_policy=NO_CACHE)
def publish_run_report(location: LakeLocation, summary: IngestSummary) -> str:
    """Publish the summary, rejected-files and changed-papers artifacts of a committed run; returns the markdown."""
    con = open_lake(location, read_only=True)
    try:
        changed = changed_paper_rows(con, summary.run_id)
    finally:
        con.close()
    create_table_artifact(
        rejected_file_rows(summary),
        key=REJECTED_FILES_KEY,
        description=f"Files run {summary.run_id} set aside, with the reason",
    )
    create_table_artifact(
        changed,
        key=CHANGED_PAPERS_KEY,
        description=f"Papers whose counts moved since their previous page in run {summary.run_id}, contrasting gains first",
    )
    markdown = summary_markdown(summary, changed_papers=len(changed))
    create_markdown_artifact(markdown, key=SUMMARY_KEY, description=f"What ingest run {summary.run_id} did")
    return markdown
