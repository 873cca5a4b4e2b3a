"""The parsed record of one report file, and the few normalisers every step shares.

The record's form is the contract of ``docs/report-format.md`` ("The parsed
record"): a plain dict, JSON-serialisable as it is, so that ``citelake parse``
prints it unchanged and tests compare it field by field. A file that is not a
report gives a :class:`Rejection` instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

StatementType = Literal["supporting", "mentioning", "contrasting"]
TALLY_CLASSES: tuple[str, ...] = ("supporting", "mentioning", "contrasting", "unclassified")


class Statement(TypedDict):
    text: str
    section: str | None
    type: StatementType
    confidence: float | None
    seen: int


class Record(TypedDict):
    doi: str
    title: str | None
    year: int | None
    abstract: str | None
    abstract_truncated: bool | None
    cited_by: int | None
    statement_count: int | None
    reference_count: int | None
    tallies: dict[str, int] | None
    citing_years: list[int] | None
    facets: dict[str, list[int]]
    statements: list[Statement]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file that is not a report: no record, one human-readable reason."""

    reason: str


_DOI_PREFIX = re.compile(r"^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
# A DOI: the directory indicator 10, a registrant code of digits (dot-separated
# sub-codes allowed), a slash, and a suffix without white space.
_VALID_DOI = re.compile(r"^10\.\d{4,9}(?:\.\d+)*/\S+$")


def collapse_whitespace(text: str) -> str:
    """Every run of white space (line breaks included) becomes one space; ends trimmed."""
    # Most texts on the hot paths (parser, statement ids) are collapsed already: every
    # white space character but the plain space is unprintable, so a printable text
    # without double, leading or trailing spaces is returned as it is.
    if text.isprintable() and "  " not in text and not text.startswith(" ") and not text.endswith(" "):
        return text
    # str.split() without arguments splits on exactly the characters str.isspace() knows.
    return " ".join(text.split())


def normalise_doi(doi: str) -> str:
    """The one DOI normaliser: lower-cased, without a resolver or ``doi:`` prefix."""
    return _DOI_PREFIX.sub("", doi.strip()).strip().lower()


class InvalidDOI(ValueError):
    """Text that is not a DOI; the message says what was given and what a DOI looks like."""


def valid_doi(doi: str) -> str:
    """:func:`normalise_doi`, then checked: ``10.NNNN/suffix`` or :class:`InvalidDOI` saying why not."""
    normalised = normalise_doi(doi)
    if not _VALID_DOI.match(normalised):
        raise InvalidDOI(f"{doi.strip()!r} is not a DOI: expected 10.NNNN/suffix (e.g. 10.1089/scd.2013.0023)")
    return normalised


@dataclass(frozen=True, slots=True)
class DiscoveredFile:
    """A report file found on disk, before it is read: what ``stat`` tells."""

    path: str
    size: int
    mtime: datetime


@dataclass(frozen=True, slots=True)
class SourceFile:
    """Where a record came from: the file's path, size, modification time (UTC) and content hash.

    ``mtime`` is when the page was saved; it becomes the snapshot's ``observed_at``.
    """

    path: str
    size: int
    mtime: datetime
    sha256: str

