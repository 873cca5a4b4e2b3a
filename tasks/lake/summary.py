"""What a run tells its caller: its progress as it goes, its summary once committed, and that summary for a person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.lake.checks import CheckFinding
from tasks.lake.plan import FILE_OUTCOMES


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where a run is, for a progress display.

    ``stage`` is ``planned`` (discovery and plan done), ``parsed`` and
    ``merged`` (after each batch), ``committing`` or ``committed``; ``files_*``
    and ``bytes_*`` count the files to read and their bytes. After the commit,
    ``indexing`` counts statements (``unit``) into the search index, in both pairs.
    """

    stage: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    unit: str = "files"


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What one committed ingest did.

    ``files`` counts ``seen`` and each of :data:`FILE_OUTCOMES`; ``rejected``
    lists every rejected file with its reason; ``rows_added`` is per lake table;
    ``findings`` are the data-quality checks' results as committed with the run;
    ``skipped_folders`` lists every folder discovery could not read, with the reason;
    ``search_index_error`` says why the search index was not brought up to the run (the run stays committed).
    ``seconds`` is the time from the run's start to its commit (``began``, ``time.monotonic()``);
    ``after_commit`` the seconds of each step that followed it (the search index, the alerts, the run's report).
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
    after_commit: dict[str, float] = field(default_factory=dict)
    began: float | None = None


ProgressCallback = Callable[[IngestProgress], None]


def format_summary(
    summary: IngestSummary, *, rejected_shown: int = 5, wall_seconds: float | None = None, command_began: float | None = None
) -> str:
    """The run's summary for a person: files by outcome, the first rejected files, rows added, findings, time.

    With ``wall_seconds`` (the command's time, start to end), the last line
    accounts for all of it: the run to its commit, each step after it, and the
    rest (see :func:`time_line`; ``command_began``, ``time.monotonic()`` at the command's start, splits it).
    """
    files = summary.files
    lines = [
        f"ingested {summary.source} into {summary.lake} (run {summary.run_id})",
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
    lines.append(time_line(summary, wall_seconds, command_began))
    return "\n".join(lines)


def time_line(summary: IngestSummary, wall_seconds: float | None = None, command_began: float | None = None) -> str:
    """The closing time line, such as ``time      committed in 19.2 s; then search index 25.3 s, alerts 0.2 s,
    run report 0.4 s; start-up 0.6 s, closing 0.9 s; 48.2 s in all`` (one line).

    "committed in" counts from when the run's work began: the flow run's start, or
    earlier, when ``citelake ingest`` began it while Prefect started
    (``tasks.lake.head_start``). The rest of the command's time (``wall_seconds``)
    is "start-up" before the work began (from ``command_began``: Python, and Prefect's
    start when nothing went on beside it) and "closing" after the last step (the run's
    staging removed, Prefect ending the flow run, the lake closed, the exit); without ``command_began`` (or the
    run's ``began``) it is one figure, "start-up and closing".
    """
    parts = [f"committed in {summary.seconds:.1f} s"]
    if summary.after_commit:
        parts.append("then " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in summary.after_commit.items()))
    if wall_seconds is not None:
        rest = max(0.0, wall_seconds - summary.seconds - sum(summary.after_commit.values()))
        if command_began is None or summary.began is None:
            parts.append(f"start-up and closing {rest:.1f} s")
        else:
            start_up = min(rest, max(0.0, summary.began - command_began))
            parts.append(f"start-up {start_up:.1f} s, closing {rest - start_up:.1f} s")
        parts.append(f"{wall_seconds:.1f} s in all")
    return "time      " + "; ".join(parts)
