"""What a run tells its caller: its progress as it goes, its summary once committed, and that summary for a person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.lake.checks import CheckFinding
from tasks.lake.plan import FILE_OUTCOMES


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where a run is, for a progress display.

    ``stage`` is ``planned`` (discovery and plan done), ``parsed`` (after each
    batch), ``committing`` or ``committed``; ``files_*`` and ``bytes_*`` count the
    files to read and their bytes.
    """

    stage: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one committed ingest did.

    ``files`` counts ``seen`` and each of :data:`FILE_OUTCOMES`; ``rejected``
    lists every rejected file with its reason; ``rows_added`` is per lake table;
    ``findings`` are the data-quality checks' results as committed with the run;
    ``skipped_folders`` lists every folder discovery could not read, with the reason;
    ``search_index_error`` says why the search index was not brought up to the run (the run stays committed).
    """

    run_id: str
    source: str
    lake: str
    files: dict[str, int]
    rejected: list[tuple[str, str]]
    rows_added: dict[str, int]
    findings: list[CheckFinding]
    seconds: float
    skipped_folders: list[tuple[str, str]] = field(default_factory=list)
    search_index_error: str | None = None


ProgressCallback = Callable[[IngestProgress], None]


def format_summary(summary: IngestSummary, *, rejected_shown: int = 5) -> str:
    """The run's summary for a person: files by outcome, the first rejected files, rows added, findings, time."""
    files = summary.files
    lines = [
        f"ingested {summary.source} into {summary.lake} in {summary.seconds:.1f} s (run {summary.run_id})",
        f"files     {files['seen']:,} seen: "
        + ", ".join(f"{files[outcome]:,} {outcome}" for outcome in FILE_OUTCOMES),
    ]
    for path, reason in summary.rejected[:rejected_shown]:
        lines.append(f"  rejected  {path}: {reason}")
    if len(summary.rejected) > rejected_shown:
        lines.append(f"  … and {len(summary.rejected) - rejected_shown:,} more rejected (report_files, status 'rejected')")
    if summary.skipped_folders:
        lines.append(f"folders   {len(summary.skipped_folders):,} skipped, cannot read them")
        lines.extend(f"  skipped   {folder}: {reason}" for folder, reason in summary.skipped_folders[:rejected_shown])
        if len(summary.skipped_folders) > rejected_shown:
            lines.append(f"  … and {len(summary.skipped_folders) - rejected_shown:,} more folders skipped")
    lines.append("rows added " + ", ".join(f"{table} {added:,}" for table, added in summary.rows_added.items()))
    offending = [finding for finding in summary.findings if finding.offending_rows]
    lines.append(
        "checks    "
        + (", ".join(f"{finding.check_name}: {finding.offending_rows:,} rows" for finding in offending) or "all passed")
    )
    if summary.search_index_error:
        lines.append(f"search    index not updated: {summary.search_index_error}")
        lines.append("          the run is committed; `citelake search` answers from the previous index until it can update it")
    return "\n".join(lines)
