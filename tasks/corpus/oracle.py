"""The test oracle: whether a parse of a generated file gives what the file promises.

Where the contract leaves the parser's wording free (warnings, rejection
reasons) the expectation says only *that* there is one.
"""

from __future__ import annotations

import math

from tasks.corpus.generate import GeneratedReport
from tasks.reading.record import Record, Rejection


def _same_value(key: str, expected: object, parsed: object) -> bool:
    # A confidence is a fraction computed from a percentage: equal up to rounding.
    if key == "confidence" and isinstance(expected, float) and isinstance(parsed, float):
        return math.isclose(expected, parsed)
    return expected == parsed


def record_differences(expected: Record, parsed: Record) -> list[str]:
    """Each field where ``parsed`` differs from ``expected``; warnings compared by presence only."""
    differences = []
    for key, want in expected.items():
        got = parsed.get(key)
        if key == "warnings":
            if bool(want) != bool(got):
                differences.append(f"warnings: expected {want!r}, got {got!r}")
        elif key != "statements" and want != got:
            differences.append(f"{key}: expected {want!r}, got {got!r}")
    parsed_statements = parsed.get("statements") or []
    if len(expected["statements"]) != len(parsed_statements):
        differences.append(f"statements: expected {len(expected['statements'])}, got {len(parsed_statements)}")
    for index, (want_statement, got_statement) in enumerate(zip(expected["statements"], parsed_statements)):
        for key, want in want_statement.items():
            got = got_statement.get(key)
            if not _same_value(key, want, got):
                differences.append(f"statements[{index}].{key}: expected {want!r}, got {got!r}")
    return differences


def parse_matches(report: GeneratedReport, parsed: Record | Rejection) -> list[str]:
    """What is wrong with ``parsed`` as the parse of ``report``; empty when it matches.

    A non-report must give a :class:`Rejection` with a reason (its wording is the
    parser's); a report must give its expected record (:func:`record_differences`).
    """
    if isinstance(report.expected, Rejection):
        if not isinstance(parsed, Rejection):
            return [f"{report.name}: expected a rejection ({report.expected.reason}), got a record"]
        return [] if parsed.reason.strip() else [f"{report.name}: rejection without a reason"]
    if isinstance(parsed, Rejection):
        return [f"{report.name}: expected a record, got a rejection: {parsed.reason}"]
    return [f"{report.name}: {difference}" for difference in record_differences(report.expected, parsed)]
