"""The parsed record of one report file, and the few normalisers every step shares.

The record's form is the contract of ``docs/report-format.md`` ("The parsed
record"): a plain dict, JSON-serialisable as it is, so that ``citelake parse``
prints it unchanged and tests compare it field by field. A file that is not a
report gives a :class:`Rejection` instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

StatementType = Literal["supporting", "mentioning", "contrasting"]
from tasks.lake.tables import TALLY_CLASSES  # noqa: F401  (the parsers name the tallies by it)


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


_ESCAPED = re.compile(r"\\(?:\\|x([0-9a-f]{2}))")


def path_text(path: str | bytes) -> str:
    """A file path as the lake stores it: its UTF-8 text, with a byte that is not UTF-8 written ``\\xHH``.

    The backslash itself is written ``\\\\`` so that the text leads back to exactly
    one path (:func:`path_bytes`). A path that is valid UTF-8 without a backslash
    (nearly every path) is stored as it is. ``path`` is bytes, or a str as
    ``os.fsdecode`` gives it (undecodable bytes as surrogates).
    """
    if isinstance(path, str) and path.isascii() and "\\" not in path:
        return path
    raw = path if isinstance(path, bytes) else os.fsencode(path)
    text = raw.decode("utf-8", errors="surrogateescape").replace("\\", "\\\\")
    if not any("\udc80" <= character <= "\udcff" for character in text):
        return text
    return "".join(
        f"\\x{ord(character) - 0xDC00:02x}" if "\udc80" <= character <= "\udcff" else character for character in text
    )


def path_bytes(text: str) -> bytes:
    """The real path (bytes) of a path the lake stores (:func:`path_text`)."""
    if "\\" not in text:
        return text.encode("utf-8")
    parts: list[bytes] = []
    last = 0
    for match in _ESCAPED.finditer(text):
        parts.append(text[last : match.start()].encode("utf-8"))
        parts.append(b"\\" if match[1] is None else bytes([int(match[1], 16)]))
        last = match.end()
    parts.append(text[last:].encode("utf-8"))
    return b"".join(parts)


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
    """A report file found on disk or in a bucket, before it is read: what ``stat`` (or the bucket's listing) tells.

    ``path`` is as the lake stores it (:func:`path_text`); :func:`path_bytes` gives the real path.
    An object of a bucket has the path ``s3://BUCKET/KEY``, its last-modified time and its ``etag``.
    """

    path: str
    size: int
    mtime: datetime
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class SourceFile:
    """Where a record came from: the file's path, size, modification time (UTC) and content hash.

    ``mtime`` is when the page was saved; it becomes the snapshot's ``observed_at``.
    """

    path: str
    size: int
    mtime: datetime
    sha256: str

