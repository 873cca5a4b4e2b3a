"""The Retraction Watch export (a CSV, via Crossref) as the lake's third source: its records as ``retractions`` rows.

The export is recognised by its header line, whatever the file's name ends
with (``.csv`` or ``.csv.gz``): :func:`is_retraction_watch_file`. It is read by
polars' CSV reader, all columns as text (quoted fields hold commas and line
breaks), a plain file streamed from disk; :func:`retraction_rows` then turns
the export's own conventions into values: dates written month first
(``3/14/2022 0:00``), lists separated by ``;`` with reasons prefixed ``+``, and
``unavailable`` or ``0`` for a missing DOI or PubMed id. The original paper's
DOI goes through the project's one normaliser (``tasks.reading.record.normalise_doi``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from tasks.reading.frames import UTC_TIME
from tasks.reading.record import DiscoveredFile, Rejection, normalise_doi, path_bytes
from tasks.reading.sniff import first_bytes

# The export's header as Crossref serves it, with its trailing comma (an unnamed, empty last column).
HEADER = (
    "Record ID,Title,Subject,Institution,Journal,Publisher,Country,Author,URLS,ArticleType,"
    "RetractionDate,RetractionDOI,RetractionPubMedID,OriginalPaperDate,OriginalPaperDOI,"
    "OriginalPaperPubMedID,RetractionNature,Reason,Paywalled,Notes,"
)
COLUMNS: tuple[str, ...] = tuple(HEADER.rstrip(",").split(","))
CSV_SUFFIXES = (".csv", ".csv.gz")
# What the export writes for a DOI or a PubMed id it does not know.
_MISSING_IDS = ("", "unavailable", "0")
_DATE_FORMAT = "%m/%d/%Y %H:%M"
_GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 4096
_HASH_CHUNK = 1 << 20

# The frame staged for the lake's table retractions (sql/schema/005_retractions.sql).
RETRACTIONS = pl.Schema(
    {
        "record_id": pl.Int64,
        "doi": pl.Utf8,
        "pubmed_id": pl.Int64,
        "notice_doi": pl.Utf8,
        "notice_pubmed_id": pl.Int64,
        "nature": pl.Utf8,
        "retraction_date": pl.Date,
        "original_paper_date": pl.Date,
        "reasons": pl.List(pl.Utf8),
        "title": pl.Utf8,
        "journal": pl.Utf8,
        "publisher": pl.Utf8,
        "article_types": pl.List(pl.Utf8),
        "urls": pl.List(pl.Utf8),
        "observed_at": UTC_TIME,
        "source_sha256": pl.Utf8,
        "source_path": pl.Utf8,
    }
)


def empty_retractions() -> pl.DataFrame:
    return pl.DataFrame(schema=RETRACTIONS)


def is_csv_name(name: str) -> bool:
    return name.lower().endswith(CSV_SUFFIXES)


def starts_like_export(head: bytes) -> bool:
    """Whether these first bytes of a file (plain or gzip) begin with the export's header line."""
    if head[:2] == _GZIP_MAGIC:
        try:
            head = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head, _HEAD_BYTES)
        except zlib.error:
            return False
    first_line = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    # With or without the trailing comma: a spreadsheet that saved the file again drops it.
    return first_line.rstrip(b",") == HEADER.rstrip(",").encode("ascii")


def is_retraction_watch_file(path: str | bytes | os.PathLike[str]) -> bool:
    """Whether the file begins with the export's header (an unreadable file, or not a regular one, does not)."""
    head = first_bytes(path, _HEAD_BYTES)
    return head is not None and starts_like_export(head)


@dataclass(frozen=True, slots=True)
class ExportRead:
    """One export file read: its content hash (None: not read) and its rows, or why it was rejected."""

    sha256: str | None
    rows: pl.DataFrame | Rejection


def read_export_file(file: DiscoveredFile, local: bytes | None = None) -> ExportRead:
    """Hash the file, then read its records with polars (a plain file is scanned from disk, a gzipped one from memory).

    Each row carries the file's hash, its path and its modification time (``observed_at``):
    of two exports the later one's values are kept (sql/lake/merge_retractions.sql).
    ``local``: where the file is read, when not at its path (the fetched copy of an object of a bucket).
    """
    path = path_bytes(file.path) if local is None else local
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as error:
        return ExportRead(None, Rejection(f"cannot read the file: {error.strerror or error}"))
    sha256 = digest.hexdigest()
    try:
        if path.lower().endswith(b".gz"):
            with gzip.open(path, "rb") as handle:
                raw = pl.read_csv(io.BytesIO(handle.read()), **_CSV_OPTIONS).lazy()
        else:
            raw = pl.scan_csv(path.decode("utf-8", "surrogateescape"), **_CSV_OPTIONS)
        rows = retraction_rows(raw, sha256=sha256, source_path=file.path, observed_at=file.mtime).collect()
    except (OSError, EOFError, zlib.error, pl.exceptions.PolarsError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return ExportRead(sha256, Rejection(f"not a readable Retraction Watch export: {first}"))
    return ExportRead(sha256, rows)


# Every column as text (an id column holds "unavailable"), undecodable bytes replaced, and a row
# with one field more or less than the header (a line the export's writer cut) kept, not fatal.
_CSV_OPTIONS = {"infer_schema": False, "encoding": "utf8-lossy", "truncate_ragged_lines": True}


def _text(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def _identifier(column: str) -> pl.Expr:
    """A DOI as the export writes it, or null for its ways of saying none."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value.is_null() | value.str.to_lowercase().is_in(_MISSING_IDS)).then(None).otherwise(value)


# normalise_doi in polars, exact on text of printable ASCII alone (every DOI the export writes):
# there Python's and Rust's white space, case folding and lower-casing agree, so the regex is
# tasks.reading.record._DOI_PREFIX with " " for \s, its only white space character there.
_PRINTABLE_ASCII = r"^[ -~]*$"
_DOI_PREFIX_ASCII = r"(?i)^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi: *)"


def normalised_doi(value: pl.Expr) -> pl.Expr:
    """``value`` (text) through the project's one DOI normaliser, :func:`tasks.reading.record.normalise_doi`.

    Vectorised for printable ASCII text; any other text goes through the Python
    function itself, so the two always agree (tests/test_retraction_watch_reader.py).
    """
    ascii_only = value.str.contains(_PRINTABLE_ASCII)
    vectorised = (
        value.str.strip_chars(" ").str.replace(_DOI_PREFIX_ASCII, "").str.strip_chars(" ").str.to_lowercase()
    )
    # Only the other rows reach Python: the ASCII ones are null there, and nulls are skipped.
    by_python = pl.when(~ascii_only).then(value).map_elements(normalise_doi, return_dtype=pl.Utf8, skip_nulls=True)
    return pl.when(ascii_only).then(vectorised).otherwise(by_python)


def _pubmed_id(column: str) -> pl.Expr:
    number = _identifier(column).cast(pl.Int64, strict=False)
    return pl.when(number > 0).then(number)


def _date(column: str) -> pl.Expr:
    # Month first, with a time of day the export always writes as 0:00; a date alone is read too.
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Datetime, _DATE_FORMAT, strict=False).dt.date(),
        text.str.strptime(pl.Date, "%m/%d/%Y", strict=False),
    )


def _list(column: str, *, prefix: str = "") -> pl.Expr:
    """A ``;``-separated field as a list, each item trimmed (and ``prefix`` removed), empty items dropped."""
    items = pl.col(column).fill_null("").str.split(";").list.eval(
        pl.element().str.strip_chars().str.strip_prefix(prefix).str.strip_chars()
    )
    return items.list.eval(pl.element().filter(pl.element() != ""))


def retraction_rows(raw: pl.LazyFrame, *, sha256: str, source_path: str, observed_at: datetime) -> pl.LazyFrame:
    """The export's records (all columns text, as read) as rows of :data:`RETRACTIONS`; of a record id given twice, the last."""
    return (
        raw.select(
            record_id=_text("Record ID").cast(pl.Int64, strict=False),
            doi=normalised_doi(_identifier("OriginalPaperDOI")),
            pubmed_id=_pubmed_id("OriginalPaperPubMedID"),
            notice_doi=normalised_doi(_identifier("RetractionDOI")),
            notice_pubmed_id=_pubmed_id("RetractionPubMedID"),
            nature=_text("RetractionNature"),
            retraction_date=_date("RetractionDate"),
            original_paper_date=_date("OriginalPaperDate"),
            reasons=_list("Reason", prefix="+"),
            title=_text("Title"),
            journal=_text("Journal"),
            publisher=_text("Publisher"),
            article_types=_list("ArticleType"),
            urls=_list("URLS"),
        )
        .filter(pl.col("record_id").is_not_null())
        .unique("record_id", keep="last", maintain_order=True)
        .with_columns(
            observed_at=pl.lit(observed_at, dtype=UTC_TIME),
            source_sha256=pl.lit(sha256, dtype=pl.Utf8),
            source_path=pl.lit(source_path, dtype=pl.Utf8),
        )
        .cast(dict(RETRACTIONS))
        .select(RETRACTIONS.names())
    )
