"""A run's record in the lake: its ``runs`` row and ``check_findings``, and the row counts they are measured with.

A run records itself in its own transaction, just before its COMMIT, so the record
and the rows it describes land in the same snapshot or not at all. :func:`record_run`
writes the ``runs`` row (the run's file tallies, and per table the registry counts
the rows it added: :func:`row_counts` before the merges and after) and one
``check_findings`` row per finding of the data-quality checks; :class:`RunSummary`
is what the writer hands back once the run is committed. The statements are
``sql/lake/record_run.sql``, ``record_check_finding.sql`` and ``row_count.sql``,
their per-table parts filled in from the registry (``tasks.lake.tables``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from tasks.lake import tables
from tasks.lake.checks import CheckFinding
from tasks.lake.sql import quote_identifier, quote_literal, read_sql


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a committed run added: rows per table and every check's findings."""

    run_id: str
    rows_added: dict[str, int]
    findings: list[CheckFinding]


def row_counts_sql() -> str:
    """Rows per table the registry counts (``table_name``, ``row_count``): what a run reports as added."""
    template = read_sql("lake/row_count.sql")
    return "\nunion all\n".join(
        template.format(name=quote_literal(name), table=quote_identifier(name)) for name in tables.COUNTED_TABLES
    )


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.execute(row_counts_sql()).fetchall())


def _record_run_sql() -> str:
    added = [f"{name}_added" for name in tables.COUNTED_TABLES]
    return read_sql("lake/record_run.sql").format(
        added_columns=", ".join(map(quote_identifier, added)), added_values=", ".join(f"${name}" for name in added)
    )


def normalise_file_counts(file_counts: dict[str, int]) -> dict[str, int]:
    """``seen``/``new``/… (or ``files_seen``/…) → the ``files_*`` parameters of ``record_run.sql``; missing = 0."""
    counts = {key: 0 for key in tables.FILE_COUNT_KEYS}
    for key, value in file_counts.items():
        short = key.removeprefix("files_")
        if short not in counts:
            raise ValueError(f"unknown file count {key!r}; expected some of {', '.join(tables.FILE_COUNT_KEYS)}")
        counts[short] = int(value)
    return {f"files_{key}": value for key, value in counts.items()}


def record_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    started_at: datetime | None,
    source: str | None,
    file_counts: dict[str, int],
    rows_added: dict[str, int],
    findings: list[CheckFinding],
) -> None:
    """Write the run's ``runs`` row and its findings, and name the snapshot it will commit; ``file_counts`` as :func:`normalise_file_counts` gives them."""
    con.execute(read_sql("lake/name_run_snapshot.sql"), {"run_id": run_id})
    con.execute(
        _record_run_sql(),
        {
            "run_id": run_id,
            "started_at": started_at,
            "finished_at": datetime.now(UTC),
            "source": source,
            **file_counts,
            **{f"{table}_added": added for table, added in rows_added.items()},
        },
    )
    for finding in findings:
        con.execute(
            read_sql("lake/record_check_finding.sql"),
            {
                "run_id": run_id,
                "check_name": finding.check_name,
                "offending_rows": finding.offending_rows,
                "sample": json.dumps(finding.sample, default=str) if finding.sample else None,
            },
        )
