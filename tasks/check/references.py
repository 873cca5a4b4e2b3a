"""A reference list checked against the lake: each reference's DOI, flags and the facts behind them.

:func:`read_references` reads a BibTeX, RIS or plain DOI-list file with the
readers ``citelake watch import`` uses (``tasks.reading.doi_files``), one
:class:`Reference` per entry in the file's order. :func:`check_references`
asks the lake about their DOIs with the three queries of ``sql/check`` (each
once for the whole list) and gives one :class:`ReferenceCheck` per reference.
A reference is flagged ``retracted`` (the view ``retraction_status``: either source,
even for a DOI the lake knows from the Retraction Watch export alone),
``notice`` (an editorial notice of any source, ``sql/check/notices.sql``) or
``contrasting`` (at least ``contrasting_share`` of its classified statements
contrast it). The rendering is ``tasks.check.report``. Nothing here imports
Prefect.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from tasks.lake.errors import LakeError
from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake
from tasks.lake.sql import read_sql
from tasks.reading.doi_files import read_entries
from tasks.reading.record import InvalidDOI, valid_doi

# The flags, most serious first: the order of a reference's status and of the HTML page.
FLAGS: tuple[str, ...] = ("retracted", "notice", "contrasting")
# A reference's status: its most serious flag, else what kept it from being checked, else ok.
STATUSES: tuple[str, ...] = (*FLAGS, "ok", "not_in_lake", "no_doi", "invalid_doi")
DEFAULT_FAIL_ON: tuple[str, ...] = ("retracted",)
# A reference has contrasting evidence from this share of contrasting statements among its
# classified ones: a few times the share of a typical paper, so that it stands out.
DEFAULT_CONTRASTING_SHARE = 0.05
# Contrasting statements quoted per reference.
QUOTED = 3
# How the closing line names each status; `ok` is not named.
SUMMARY_WORDS: dict[str, str] = {
    "retracted": "retracted",
    "notice": "with a notice",
    "contrasting": "with contrasting evidence",
    "not_in_lake": "not in the lake",
    "no_doi": "without a DOI",
    "invalid_doi": "with an invalid DOI",
}


class BadReferenceFile(ValueError):
    """The file cannot be read as a reference list; the message names it and says why."""


class UnknownFlag(ValueError):
    """``--fail-on`` named something other than the flags (or ``none``)."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One entry of the file, in its order (``position`` from 1).

    ``doi`` is normalised, or None with ``status`` ``no_doi`` or ``invalid_doi``
    and ``problem`` saying why. ``name`` is how the file names the entry
    (``@article{key}``, ``JOUR 'title'``, the list's line).
    """

    position: int
    key: str | None
    name: str
    title: str | None
    doi: str | None
    status: str | None = None
    problem: str | None = None


@dataclass(slots=True)
class ReferenceCheck:
    """What the check found for one reference; the fields are the JSON form's, in its order."""

    position: int
    key: str | None
    reference: str
    doi: str | None
    status: str
    flags: list[str]
    in_lake: bool
    retracted: bool | None
    title: str | None
    year: int | None
    notices: list[dict[str, Any]] = field(default_factory=list)
    cited_by: int | None = None
    statement_count: int | None = None
    supporting: int | None = None
    mentioning: int | None = None
    contrasting: int | None = None
    unclassified: int | None = None
    tally_source: str | None = None
    tally_date: date | None = None
    contrasting_share: float | None = None
    contrasting_percentile: float | None = None
    contrasting_statements: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


@dataclass(slots=True)
class CheckReport:
    """A checked file: its path and format, and one :class:`ReferenceCheck` per reference in its order."""

    path: Path
    file_format: str
    checks: list[ReferenceCheck]
    contrasting_share: float = DEFAULT_CONTRASTING_SHARE

    def counts(self) -> Counter[str]:
        return Counter(check.status for check in self.checks)

    def summary(self) -> str:
        """The closing line: ``7 references: 2 retracted, 1 with a notice, …, 1 without a DOI``."""
        return summary_line(self.checks)

    def failing(self, fail_on: Iterable[str]) -> list[ReferenceCheck]:
        """The references carrying any of the flags ``fail_on``."""
        wanted = set(fail_on)
        return [check for check in self.checks if wanted.intersection(check.flags)]

    def dois(self) -> list[str]:
        """The references' DOIs, once each, in the file's order."""
        return list(dict.fromkeys(check.doi for check in self.checks if check.doi))


def summary_line(checks: Sequence[ReferenceCheck]) -> str:
    """How many references, and how many of each status but ``ok`` (``none flagged`` when no flag is set)."""
    counts = Counter(check.status for check in checks)
    noun = "reference" if len(checks) == 1 else "references"
    parts = [f"{counts[status]} {SUMMARY_WORDS[status]}" for status in STATUSES if status in SUMMARY_WORDS and counts[status]]
    if not any(counts[flag] for flag in FLAGS):
        parts.insert(0, "none flagged")
    return f"{len(checks)} {noun}: {', '.join(parts)}"


def parse_fail_on(text: str) -> tuple[str, ...]:
    """``retracted,notice`` → the flags; ``none`` (or nothing) → no flag fails; :class:`UnknownFlag` otherwise."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if names in ([], ["none"]):
        return ()
    unknown = [name for name in names if name not in FLAGS]
    if unknown:
        raise UnknownFlag(f"unknown --fail-on {', '.join(unknown)}; use a comma-separated list of {', '.join(FLAGS)}, or none")
    return tuple(flag for flag in FLAGS if flag in names)


# ---------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------

# A NUL byte in the file's first bytes: a binary file (a PDF, a .docx), not a reference list.
_SNIFF_BYTES = 8192


def read_references(path: Path | str) -> tuple[str, list[Reference]]:
    """The file's format and its references in order; :class:`BadReferenceFile` when it is no reference list."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise BadReferenceFile(f"{path}: cannot read it ({error.strerror or error})") from None
    if b"\0" in head:
        raise BadReferenceFile(f"{path}: binary content, not a BibTeX, RIS or DOI-list file")
    try:
        file_format, entries = read_entries(path)
    except LakeError as error:
        raise BadReferenceFile(str(error)) from None
    if not entries:
        raise BadReferenceFile(f"{path}: no references in it (read as {_FORMAT_NAMES[file_format]})")
    if all(entry.unparsable for entry in entries):
        raise BadReferenceFile(f"{path}: no BibTeX entry in it could be read ({entries[0].name})")
    references = []
    for position, entry in enumerate(entries, start=1):
        doi, status, problem = None, None, None
        if entry.doi is None or not entry.doi.strip():
            status, problem = "no_doi", ("unreadable, so no DOI" if entry.unparsable else "no DOI")
        else:
            try:
                doi = valid_doi(entry.doi)
            except InvalidDOI as error:
                status, problem = "invalid_doi", str(error)
        references.append(Reference(position, entry.key, entry.name, entry.title, doi, status, problem))
    return file_format, references


_FORMAT_NAMES = {"bibtex": "BibTeX", "ris": "RIS", "list": "a list of DOIs, one a line"}


# ---------------------------------------------------------------------------
# Asking the lake
# ---------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, name: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    result = con.execute(read_sql(f"check/{name}.sql"), parameters)
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def check_references(
    con: duckdb.DuckDBPyConnection,
    references: Sequence[Reference],
    *,
    contrasting_share: float = DEFAULT_CONTRASTING_SHARE,
) -> list[ReferenceCheck]:
    """One :class:`ReferenceCheck` per reference, from the lake open on ``con`` (read-only is enough).

    Each query of ``sql/check`` runs once, for all the references' DOIs.
    """
    dois = list(dict.fromkeys(reference.doi for reference in references if reference.doi))
    papers: dict[str, dict[str, Any]] = {}
    notices: dict[str, list[dict[str, Any]]] = {}
    quoted: dict[str, list[dict[str, Any]]] = {}
    if dois:
        papers = {row["doi"]: row for row in _rows(con, "references", {"dois": dois})}
        for row in _rows(con, "notices", {"dois": dois}):
            notices.setdefault(row.pop("doi"), []).append(row)
        for row in _rows(con, "contrasting_statements", {"dois": dois, "per_paper": QUOTED}):
            quoted.setdefault(row.pop("doi"), []).append(row)
    return [
        _checked(reference, papers.get(reference.doi or ""), notices.get(reference.doi or "", []),
                 quoted.get(reference.doi or "", []), contrasting_share)
        for reference in references
    ]


def _checked(
    reference: Reference,
    paper: dict[str, Any] | None,
    notices: list[dict[str, Any]],
    quoted: list[dict[str, Any]],
    contrasting_share: float,
) -> ReferenceCheck:
    check = ReferenceCheck(
        position=reference.position,
        key=reference.key,
        reference=reference.name,
        doi=reference.doi,
        status="ok",
        flags=[],
        in_lake=paper is not None and paper["in_lake"],
        retracted=None,
        title=reference.title,
        year=None,
        problem=reference.problem,
    )
    if reference.doi is None:
        check.status = reference.status or "no_doi"
        return check
    # The Retraction Watch export's records of a paper the lake has no page or API response of still count.
    check.notices = [
        {"nature": row["nature"], "date": row["date"], "source": row["source"], "reasons": row["reasons"],
         "notice_doi": row["notice_doi"]}
        for row in notices
    ]
    if paper is not None:
        check.retracted = bool(paper["retracted"])
    if not check.in_lake:
        check.flags = _flags(check, contrasting_share)
        check.status = check.flags[0] if check.flags else "not_in_lake"
        return check
    check.title = paper["title"] or reference.title
    check.year = paper["year"]
    for name in ("cited_by", "statement_count", "supporting", "mentioning", "contrasting", "unclassified",
                 "tally_source", "contrasting_share", "contrasting_percentile"):
        setattr(check, name, paper[name])
    observed_at: datetime | None = paper["tally_observed_at"]
    check.tally_date = observed_at.astimezone(UTC).date() if observed_at is not None else None
    check.contrasting_statements = [
        {"text": row["text"], "section": row["section"], "citing_year": row["citing_year"],
         "citing_doi": row["citing_doi"], "confidence": row["confidence"], "first_seen": row["first_seen"],
         "statement_id": row["statement_id"]}
        for row in quoted
    ]
    check.flags = _flags(check, contrasting_share)
    check.status = check.flags[0] if check.flags else "ok"
    return check


def _flags(check: ReferenceCheck, contrasting_share: float) -> list[str]:
    flags = []
    if check.retracted:
        flags.append("retracted")
    if check.notices:
        flags.append("notice")
    if (check.contrasting or 0) > 0 and check.contrasting_share is not None and check.contrasting_share >= contrasting_share:
        flags.append("contrasting")
    return flags


def check_file(
    location: LakeLocation, path: Path | str, *, contrasting_share: float = DEFAULT_CONTRASTING_SHARE
) -> CheckReport:
    """Read the reference list at ``path`` and check it against the lake at ``location`` (opened read-only, once).

    :class:`BadReferenceFile` before the lake is opened when the file is no reference list.
    """
    file_format, references = read_references(path)
    con = open_lake(location, read_only=True)
    try:
        checks = check_references(con, references, contrasting_share=contrasting_share)
    finally:
        con.close()
    return CheckReport(path=Path(path), file_format=file_format, checks=checks, contrasting_share=contrasting_share)
