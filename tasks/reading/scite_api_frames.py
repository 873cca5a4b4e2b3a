"""A batch of saved scite API responses turned into the lake's rows (``docs/scite-api.md``).

:func:`read_api_batch` reads a batch's JSON files (each with
:func:`~tasks.reading.scite_api.read_api_file`) and :func:`api_frames` turns the
responses into :class:`ApiFrames`: the rows of the API's own tables
(``api_responses``, ``api_papers``, ``editorial_notices``) and its rows of the
tables pages fill too, in the frame schemas they are staged with. Of several copies
of the same bytes the latest is kept, as the split keeps pages, and an API
statement gets an identity of its own (:func:`api_statement_id`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from tasks.reading.frames import UTC_TIME, polars_schema
from tasks.reading.record import DiscoveredFile, SourceFile, path_bytes
from tasks.reading.scite_api import ApiRead, ApiResponse, ApiStatement, read_api_file
from tasks.reading.sections import section_category

SECTION_FACET_PREFIX = "api_sections."
API_ID_MARKER = "api"
_UNIT_SEPARATOR = "\x1f"


AUTHOR = pl.Struct(
    {
        "family": pl.Utf8,
        "given": pl.Utf8,
        "name": pl.Utf8,
        "orcid": pl.Utf8,
        "affiliation": pl.Utf8,
        "sequence": pl.Int32,
    }
)

# The frames of the API's own tables (sql/schema/003_scite_api.sql).
API_RESPONSES = pl.Schema(
    {
        "source_sha256": pl.Utf8,
        "source_path": pl.Utf8,
        "observed_at": UTC_TIME,
        "shape": pl.Utf8,
        "papers": pl.Int32,
        "tallies": pl.Int32,
        "statements": pl.Int32,
        "statements_without_text": pl.Int32,
    }
)
API_PAPERS = pl.Schema(
    {
        "doi": pl.Utf8,
        "observed_at": UTC_TIME,
        "source_sha256": pl.Utf8,
        "source_path": pl.Utf8,
        "title": pl.Utf8,
        "year": pl.Int32,
        "journal": pl.Utf8,
        "publisher": pl.Utf8,
        "issns": pl.List(pl.Utf8),
        "type": pl.Utf8,
        "authors": pl.List(AUTHOR),
        "retracted": pl.Boolean,
    }
)
EDITORIAL_NOTICES = pl.Schema(
    {
        "doi": pl.Utf8,
        "status": pl.Utf8,
        "date": pl.Utf8,
        "notice_doi": pl.Utf8,
        "urls": pl.List(pl.Utf8),
        "observed_at": UTC_TIME,
        "source_sha256": pl.Utf8,
    }
)
# The shared tables' frames gain the columns only API rows fill.
API_SNAPSHOTS = pl.Schema({**polars_schema("paper_snapshots"), "source": pl.Utf8})
API_STATEMENTS = pl.Schema(
    {**polars_schema("statements"), "source_doi": pl.Utf8, "self_citation": pl.Boolean, "statement_source": pl.Utf8}
)


@dataclass(slots=True)
class ApiFrames:
    """The rows a batch of API responses adds: its own tables, and rows of the shared ones.

    ``paper_snapshots`` (``source`` 'api'), ``papers`` (candidates, as the split's),
    ``statements`` and ``statement_sightings`` (``statement_source`` 'api'),
    ``facets`` (``api_sections.*``) are staged into the same run tables as the
    pages' frames; ``api_responses``, ``api_papers``, ``editorial_notices`` into their own.
    """

    api_responses: pl.DataFrame
    api_papers: pl.DataFrame
    editorial_notices: pl.DataFrame
    paper_snapshots: pl.DataFrame
    papers: pl.DataFrame
    statements: pl.DataFrame
    statement_sightings: pl.DataFrame
    facets: pl.DataFrame

    def items(self) -> list[tuple[str, pl.DataFrame]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def is_empty(self) -> bool:
        return self.api_responses.is_empty()

    def keep(self, hashes: Sequence[str]) -> ApiFrames:
        """Only the rows of the responses with these content hashes."""
        wanted = pl.col("source_sha256").is_in(pl.Series(list(hashes), dtype=pl.Utf8).implode())
        kept = {}
        for name, frame in self.items():
            if name == "statements":
                kept[name] = frame.filter(pl.col("statement_id").is_in(self.statement_sightings.filter(wanted)["statement_id"].implode()))
            else:
                kept[name] = frame.filter(wanted)
        return ApiFrames(**kept)


API_FRAME_SCHEMAS: dict[str, pl.Schema] = {
    "api_responses": API_RESPONSES,
    "api_papers": API_PAPERS,
    "editorial_notices": EDITORIAL_NOTICES,
    "paper_snapshots": API_SNAPSHOTS,
    "papers": polars_schema("papers"),
    "statements": API_STATEMENTS,
    "statement_sightings": polars_schema("statement_sightings"),
    "facets": polars_schema("facets"),
}


def empty_api_frames() -> ApiFrames:
    return ApiFrames(**{name: pl.DataFrame(schema=schema) for name, schema in API_FRAME_SCHEMAS.items()})


def api_statement_id(statement: ApiStatement, occurrence: int) -> str:
    """The identity of an API citation statement: 32 hex digits, never equal to a page statement's.

    The BLAKE2b digest (16 bytes) of ``"api" \\x1f doi \\x1f source_doi \\x1f section \\x1f text \\x1f occurrence``
    (missing parts empty), where ``occurrence`` counts the earlier statements of the same
    response with the same other parts: two unseen snippets of one citing paper in one
    section are two statements. The same statement saved in the ``citing`` response of
    one paper and the ``cited_by`` response of the other gets the same id.
    """
    key = _UNIT_SEPARATOR.join(
        (API_ID_MARKER, statement.doi, statement.source_doi or "", statement.section or "", statement.text or "", str(occurrence))
    )
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def api_frames(items: Sequence[tuple[SourceFile, ApiResponse]]) -> ApiFrames:
    """The rows of a batch's responses. Of several copies of the same bytes the latest copy
    (by mtime, then path) is the one kept, as the split keeps pages."""
    latest: dict[str, tuple[SourceFile, ApiResponse]] = {}
    for source, response in items:
        kept = latest.get(source.sha256)
        if kept is None or (source.mtime, source.path) > (kept[0].mtime, kept[0].path):
            latest[source.sha256] = (source, response)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in API_FRAME_SCHEMAS}
    for sha256 in sorted(latest):
        source, response = latest[sha256]
        _response_rows(source, response, rows)
    return ApiFrames(
        **{name: pl.DataFrame(rows[name], schema=schema, orient="row") for name, schema in API_FRAME_SCHEMAS.items()}
    )


def _response_rows(source: SourceFile, response: ApiResponse, rows: dict[str, list[dict[str, Any]]]) -> None:
    at, sha256, path = source.mtime, source.sha256, source.path
    papers = {paper.doi: paper for paper in reversed(response.papers)}  # the first of a DOI wins
    shown: dict[str, int] = {}
    occurrences: dict[tuple, int] = {}
    seen_ids: set[str] = set()
    without_text = 0
    for statement in response.statements:
        identity = (statement.doi, statement.source_doi, statement.section, statement.text)
        occurrence = occurrences.get(identity, 0)
        occurrences[identity] = occurrence + 1
        statement_id = api_statement_id(statement, occurrence)
        if statement_id in seen_ids:
            continue
        seen_ids.add(statement_id)
        position = shown.get(statement.doi, 0)
        shown[statement.doi] = position + 1
        without_text += statement.text is None
        rows["statement_sightings"].append(
            {"statement_id": statement_id, "doi": statement.doi, "source_sha256": sha256, "observed_at": at,
             "position": position, "type": statement.type, "confidence": statement.confidence, "seen": 1}
        )  # fmt: skip
        rows["statements"].append(
            {"statement_id": statement_id, "doi": statement.doi, "text": statement.text, "section": statement.section,
             "section_category": section_category(statement.section), "type": statement.type,
             "confidence": statement.confidence, "first_seen": at, "last_seen": at,
             "source_doi": statement.source_doi, "self_citation": statement.self_citation, "statement_source": "api"}
        )  # fmt: skip
    tallies = {}
    for tally in response.tallies:
        tallies.setdefault(tally.doi, tally)
    for doi, tally in tallies.items():
        paper = papers.get(doi)
        counts = {
            "title": paper.title if paper else None,
            "year": paper.year if paper else None,
            "cited_by": tally.citing_publications,
            "statement_count": tally.total,
            "reference_count": None,
            "supporting": tally.supporting,
            "mentioning": tally.mentioning,
            "contrasting": tally.contrasting,
            "unclassified": tally.unclassified,
            "citing_year_min": None,
            "citing_year_max": None,
            "statements_shown": shown.get(doi, 0),
        }
        rows["paper_snapshots"].append(
            {"doi": doi, "observed_at": at, "source_sha256": sha256, "source_path": path, **counts, "source": "api"}
        )
        rows["papers"].append({"doi": doi, **counts, "first_seen": at, "last_seen": at, "source_sha256": sha256})
    for paper in papers.values():
        rows["api_papers"].append(
            {"doi": paper.doi, "observed_at": at, "source_sha256": sha256, "source_path": path, "title": paper.title,
             "year": paper.year, "journal": paper.journal, "publisher": paper.publisher, "issns": paper.issns,
             "type": paper.type, "authors": paper.authors, "retracted": paper.retracted}
        )  # fmt: skip
        for notice in paper.notices:
            rows["editorial_notices"].append({"doi": paper.doi, **notice, "observed_at": at, "source_sha256": sha256})
    for doi, section, count in response.sections:
        rows["facets"].append(
            {"doi": doi, "source_sha256": sha256, "facet": SECTION_FACET_PREFIX + section, "position": 0, "value": count}
        )
    rows["api_responses"].append(
        {"source_sha256": sha256, "source_path": path, "observed_at": at, "shape": response.shape,
         "papers": len(papers), "tallies": len(tallies), "statements": len(seen_ids),
         "statements_without_text": without_text}
    )  # fmt: skip


def read_api_batch(
    files: Sequence[tuple[int, DiscoveredFile]], local: Mapping[str, bytes] | None = None
) -> tuple[dict[int, ApiRead], ApiFrames]:
    """Read the JSON files of a batch (index in the batch, file): each file's outcome, and the batch's rows.

    ``local``: where a file is read when not at its path (the fetched copy of an object of a bucket).
    """
    local = local or {}
    outcomes: dict[int, ApiRead] = {}
    items: list[tuple[SourceFile, ApiResponse]] = []
    for index, file in files:
        read = read_api_file(local.get(file.path) or path_bytes(file.path))
        outcomes[index] = read
        if read.sha256 is not None and isinstance(read.response, ApiResponse):
            items.append((SourceFile(path=file.path, size=file.size, mtime=file.mtime, sha256=read.sha256), read.response))
    return outcomes, api_frames(items) if items else empty_api_frames()
