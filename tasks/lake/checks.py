"""The data-quality checks: each ``sql/checks`` query and the registry's key checks, run against a lake.

A run's writer runs them before its COMMIT (a key check with findings stops it)
and records the findings with the run (``check_findings``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tasks.lake import tables
from tasks.lake.sql import SQL_DIR, quote_identifier, read_sql


KEY_CHECK_PREFIX = tables.KEY_CHECK_PREFIX
CHECK_SAMPLE_ROWS = 5


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """What one ``sql/checks`` query found: how many rows offend, and a few of them."""

    check_name: str
    offending_rows: int
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_key_check(self) -> bool:
        """Key checks guard the tables' identities: a finding stops the commit."""
        return self.check_name.startswith(KEY_CHECK_PREFIX)


def _check_files() -> list[Path]:
    return sorted((SQL_DIR / "checks").glob("*.sql"))


def checks() -> dict[str, str]:
    """Every data-quality check by name, in name order: each ``sql/checks/*.sql``, and a
    ``duplicate_keys_<table>`` check for each table the registry marks key-checked."""
    template = read_sql("checks/per_table/duplicate_keys.sql")
    found = {path.stem: path.read_text(encoding="utf-8") for path in _check_files()}
    for name in tables.names(key_checked=True):
        key = ", ".join(map(quote_identifier, tables.table(name).key))
        found[f"{KEY_CHECK_PREFIX}{name}"] = template.format(table=quote_identifier(name), key=key)
    return dict(sorted(found.items()))


# A check that can only find rows when its guard (a query of one boolean, in
# sql/lake) says so; otherwise it is not run and finds nothing, as it would have.
CHECK_GUARDS: dict[str, str] = {"page_api_disagreements": "lake/holds_api_sourced_rows.sql"}


def run_checks(con: duckdb.DuckDBPyConnection) -> list[CheckFinding]:
    """Run every ``sql/checks/*.sql`` against the lake as the connection sees it."""
    findings = []
    for name, statement in checks().items():
        guard = CHECK_GUARDS.get(name)
        if guard is not None and not con.execute(read_sql(guard)).fetchone()[0]:
            findings.append(CheckFinding(check_name=name, offending_rows=0))
            continue
        offending = con.sql(statement)
        (count,) = offending.count("*").fetchone()
        sample = []
        if count:  # (most checks find nothing: no second query for an empty sample)
            sample_rows = offending.limit(CHECK_SAMPLE_ROWS)
            sample = [dict(zip(sample_rows.columns, row, strict=True)) for row in sample_rows.fetchall()]
        findings.append(CheckFinding(check_name=name, offending_rows=count, sample=sample))
    return findings


def latest_findings(con: duckdb.DuckDBPyConnection) -> list[CheckFinding] | None:
    """The findings recorded by the lake's latest run, or None when there is none or its checks are not today's."""
    rows = con.execute(read_sql("lake/latest_findings.sql")).fetchall()
    if [name for name, _, _ in rows] != list(checks()):
        return None
    return [
        CheckFinding(check_name=name, offending_rows=offending, sample=json.loads(sample) if sample else [])
        for name, offending, sample in rows
    ]
