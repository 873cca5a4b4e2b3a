"""Saved scite API responses: the second source of the lake (``docs/scite-api.md``).

A user who can call the scite API saves its JSON responses beside the report
pages, as ``*.json`` or ``*.json.gz`` (or any name: the content decides, as
:mod:`tasks.reading.sniff` tells). This module reads such a file as a stream
(:func:`read_api_file`: ``ijson`` events, so a large ``citations`` array never
sits in memory as one JSON document), decides its shape and turns it into
:class:`ApiResponse`. Turning a batch of responses into the rows of the lake is
:mod:`tasks.reading.scite_api_frames`'s job.

The shapes, by their top-level keys:

- ``citations`` (an array): an ``/api_partner/citations/citing|cited_by/{doi}``
  response, optionally with ``tallies`` and ``papers`` objects keyed by DOI;
- ``papers`` (an object keyed by DOI): a ``POST /papers`` batch;
- ``tallies`` (an object keyed by DOI): a ``POST /tallies`` batch;
- ``total``, ``supporting``, ``contradicting``, ``mentioning``, ``unclassified``: a
  ``/tallies/{doi}`` response;
- ``total`` and the five section names: a ``/tallies/cited-by-sections`` response;
- ``doi`` with paper fields (``title``, ``authors``, ``journal`` …): a ``/papers/{doi}`` response.

Nothing here raises: malformed JSON, a truncated gzip, JSON of another shape or an
unreadable file is a :class:`~tasks.reading.record.Rejection` with a one-line reason.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ijson

from tasks.reading.page_text import READ_FAILURE
from tasks.reading.record import InvalidDOI, Rejection, collapse_whitespace, valid_doi

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_STARTS = {"start_map", "start_array"}
_ENDS = {"end_map", "end_array"}
TALLY_KEYS = ("total", "supporting", "contradicting", "mentioning", "unclassified")
SECTION_KEYS = ("introduction", "methods", "results", "discussion", "other")
PAPER_KEYS = frozenset(
    {"title", "authors", "journal", "publisher", "issns", "retracted", "editorialNotices", "year", "type", "slug"}
)
TYPE_OF = {"supporting": "supporting", "mentioning": "mentioning", "contradicting": "contrasting", "contrasting": "contrasting"}


@dataclass(slots=True)
class ApiPaper:
    doi: str
    title: str | None
    year: int | None
    journal: str | None
    publisher: str | None
    issns: list[str] | None
    type: str | None
    authors: list[dict[str, Any]] | None
    retracted: bool | None
    notices: list[dict[str, Any]]
    tally: ApiTally | None = None  # PaperResponse.tally, when the response embeds one


@dataclass(slots=True)
class ApiTally:
    doi: str
    total: int | None
    supporting: int | None
    contrasting: int | None
    mentioning: int | None
    unclassified: int | None
    citing_publications: int | None


@dataclass(slots=True)
class ApiStatement:
    doi: str
    source_doi: str | None
    text: str | None
    section: str | None
    type: str
    confidence: float | None
    self_citation: bool | None


@dataclass(slots=True)
class ApiResponse:
    """What one saved response holds, normalised: DOIs lower-cased, ``contradicting`` read as contrasting."""

    shape: str
    papers: list[ApiPaper] = field(default_factory=list)
    tallies: list[ApiTally] = field(default_factory=list)
    statements: list[ApiStatement] = field(default_factory=list)
    sections: list[tuple[str, str, int]] = field(default_factory=list)  # (doi, section, count)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ApiRead:
    """The outcome of reading one file that holds JSON: its hash (None: not read) and the response or why not."""

    sha256: str | None
    response: ApiResponse | Rejection


# ---------------------------------------------------------------------------
# Reading one file
# ---------------------------------------------------------------------------


def read_api_file(path: str | bytes | os.PathLike[str]) -> ApiRead:
    """Hash the file's bytes and read the response in it, both streamed: memory stays bounded by the largest
    object outside the ``citations`` array, however large the file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        return ApiRead(None, Rejection(f"{READ_FAILURE}: {error.strerror or error}"))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            return ApiRead(None, Rejection(f"{READ_FAILURE}: not a regular file"))
        digest = hashlib.sha256()
        with os.fdopen(descriptor, "rb") as raw:
            while chunk := raw.read(_CHUNK):
                digest.update(chunk)
    except OSError as error:
        return ApiRead(None, Rejection(f"{READ_FAILURE}: {error.strerror or error}"))
    return ApiRead(digest.hexdigest(), _read_response(path))


class _Counting:
    """A binary reader that counts the bytes it handed out (for "at byte N" in a reason)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.offset += len(data)
        return data


def _read_response(path: str | bytes | os.PathLike[str]) -> ApiResponse | Rejection:
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            stream = _Counting(gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw)
            try:
                return _parse(stream)
            except ijson.JSONError as error:
                kind = "truncated JSON" if "premature EOF" in str(error) else "malformed JSON"
                return Rejection(f"{kind} near byte {stream.offset:,}{' of the gzip content' if compressed else ''}: {_first_line(error)}")
            except EOFError:
                return Rejection(f"truncated gzip: the compressed data ends after {stream.offset:,} bytes of content")
            except (gzip.BadGzipFile, zlib.error) as error:
                return Rejection(f"corrupt gzip: {_first_line(error)}")
    except OSError as error:
        return Rejection(f"{READ_FAILURE}: {error.strerror or error}")
    except Exception as error:  # never raise: a bug here costs one file, not the run
        return Rejection(f"the JSON reader failed: {type(error).__name__}: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    text = error.args[0] if error.args else str(error)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _build(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    """The whole JSON value that begins with this event."""
    if event not in _STARTS:
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    while depth:
        event, value = next(events)
        builder.event(event, value)
        depth += (event in _STARTS) - (event in _ENDS)
    return builder.value


def _interned(value: str | None, seen: dict[str, str]) -> str | None:
    """One string object per distinct DOI or section: a large citations array repeats them."""
    return None if value is None else seen.setdefault(value, value)


def _parse(stream: _Counting) -> ApiResponse | Rejection:
    # basic_parse, not parse: parse gives each event its path as a prefix string,
    # which for deeply nested input costs memory quadratic in the depth (10 GB for
    # 100 KB of "["). The loop below knows where it is without one.
    events = ijson.basic_parse(stream, use_float=True)
    try:
        event, _ = next(events)
    except StopIteration:
        return Rejection("empty JSON file: not a scite API response")
    if event == "start_array":
        return Rejection(
            "a JSON array at the top level: not a scite API response "
            "(expected an object from /papers, /tallies or /api_partner/citations)"
        )
    if event != "start_map":
        return Rejection("a bare JSON value at the top level: not a scite API response")
    top: dict[str, Any] = {}
    statements: list[ApiStatement] = []
    warnings: list[str] = []
    citations_seen = False
    seen: dict[str, str] = {}
    for event, value in events:
        if event == "end_map":  # at the top level, between values, every event is a map_key or the end
            break
        key = value
        event, value = next(events)
        if key == "citations" and event == "start_array":
            citations_seen = True
            for index, item in enumerate(_array_items(events)):
                statement = _statement(item, index, warnings)
                if statement is not None:
                    statement.doi = _interned(statement.doi, seen)
                    statement.source_doi = _interned(statement.source_doi, seen)
                    statement.section = _interned(statement.section, seen)
                    statements.append(statement)
        else:
            top[key] = _build(event, value, events)
    for _ in events:  # trailing garbage is an error (ijson raises)
        pass
    return _shaped(top, citations_seen, statements, warnings)


def _array_items(events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
    """Each element of the array whose ``start_array`` was just read, built one at a time."""
    for event, value in events:
        if event == "end_array":
            return
        yield _build(event, value, events)


def _shaped(top: dict[str, Any], citations_seen: bool, statements: list[ApiStatement], warnings: list[str]) -> ApiResponse | Rejection:
    if citations_seen:
        response = ApiResponse("citations", statements=statements, warnings=warnings)
        response.papers = _keyed(top.get("papers"), _paper, "papers", warnings)
        response.tallies = _keyed(top.get("tallies"), _tally, "tallies", warnings)
    elif isinstance(top.get("papers"), dict):
        response = ApiResponse("papers", warnings=warnings)
        response.papers = _keyed(top["papers"], _paper, "papers", warnings)
    elif isinstance(top.get("tallies"), dict):
        response = ApiResponse("tallies", warnings=warnings)
        response.tallies = _keyed(top["tallies"], _tally, "tallies", warnings)
    elif all(key in top for key in TALLY_KEYS):
        response = ApiResponse("tally", warnings=warnings)
        response.tallies = [tally] if (tally := _tally(top, None, warnings)) else []
    elif "total" in top and all(key in top for key in SECTION_KEYS):
        response = ApiResponse("cited_by_sections", warnings=warnings)
        doi = _doi(top.get("doi"), "cited-by-sections response", warnings)
        if doi:
            for key in ("total", *SECTION_KEYS):
                if (count := _count(top.get(key), key, warnings)) is not None:
                    response.sections.append((doi, key, count))
    elif "doi" in top and PAPER_KEYS & top.keys():
        response = ApiResponse("paper", warnings=warnings)
        response.papers = [paper] if (paper := _paper(top, None, warnings)) else []
    else:
        keys = ", ".join(sorted(top)[:6]) + (" …" if len(top) > 6 else "")
        return Rejection(
            "JSON, but not a scite API response: expected /papers, /tallies or /api_partner/citations "
            f"(top-level keys: {keys or 'none'})"
        )
    # The papers' embedded tallies (PaperResponse.tally) count as tallies of the same save.
    tallied = {tally.doi for tally in response.tallies}
    for embedded in response.papers:
        if embedded.tally is not None and embedded.doi not in tallied:
            response.tallies.append(embedded.tally)
            tallied.add(embedded.doi)
    if not (response.papers or response.tallies or response.statements or response.sections):
        return Rejection(f"a scite API response ({response.shape}) with no paper, tally or citation in it")
    return response


def _keyed(objects: Any, read: Any, what: str, warnings: list[str]) -> list[Any]:
    if objects is None:
        return []
    if not isinstance(objects, dict):
        warnings.append(f"{what} is not an object keyed by DOI: ignored")
        return []
    read_objects = []
    for key, value in objects.items():
        if (item := read(value, key, warnings)) is not None:
            read_objects.append(item)
    return read_objects


def _doi(value: Any, what: str, warnings: list[str]) -> str | None:
    if not isinstance(value, str):
        warnings.append(f"{what} without a DOI: ignored")
        return None
    try:
        return valid_doi(value)
    except InvalidDOI:
        warnings.append(f"{what} with DOI {value.strip()[:80]!r}, not a DOI: ignored")
        return None


def _count(value: Any, name: str, warnings: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        warnings.append(f"{name} {value!r} is not a count: read as missing")
        return None
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _tally(value: Any, key: str | None, warnings: list[str]) -> ApiTally | None:
    if not isinstance(value, dict):
        warnings.append(f"tally {key!r} is not an object: ignored")
        return None
    doi = _doi(value.get("doi", key), "tally", warnings)
    if doi is None:
        return None
    return ApiTally(
        doi=doi,
        total=_count(value.get("total"), "total", warnings),
        supporting=_count(value.get("supporting"), "supporting", warnings),
        contrasting=_count(value.get("contradicting", value.get("contrasting")), "contradicting", warnings),
        mentioning=_count(value.get("mentioning"), "mentioning", warnings),
        unclassified=_count(value.get("unclassified"), "unclassified", warnings),
        citing_publications=_count(value.get("citingPublications"), "citingPublications", warnings),
    )


def _paper(value: Any, key: str | None, warnings: list[str]) -> ApiPaper | None:
    if not isinstance(value, dict):
        warnings.append(f"paper {key!r} is not an object: ignored")
        return None
    doi = _doi(value.get("doi", key), "paper", warnings)
    if doi is None:
        return None
    year = value.get("year")
    issns = value.get("issns")
    authors = value.get("authors")
    notices = value.get("editorialNotices")
    retracted = value.get("retracted")
    paper = ApiPaper(
        doi=doi,
        title=_text(value.get("title")),
        year=year if isinstance(year, int) and not isinstance(year, bool) else None,
        journal=_text(value.get("journal")),
        publisher=_text(value.get("publisher")),
        issns=[issn for issn in issns if isinstance(issn, str)] if isinstance(issns, list) else None,
        type=_text(value.get("type")),
        authors=[_author(author) for author in authors if isinstance(author, dict)] if isinstance(authors, list) else None,
        retracted=retracted if isinstance(retracted, bool) else None,
        notices=[_notice(notice) for notice in notices if isinstance(notice, dict)] if isinstance(notices, list) else [],
    )
    if isinstance(value.get("tally"), dict):
        paper.tally = _tally(value["tally"] | {"doi": value["tally"].get("doi", doi)}, doi, warnings)
    return paper


def _author(author: dict[str, Any]) -> dict[str, Any]:
    sequence = author.get("authorSequenceNumber")
    if isinstance(sequence, str) and sequence.isdigit():
        sequence = int(sequence)
    return {
        "family": _text(author.get("family")),
        "given": _text(author.get("given")),
        "name": _text(author.get("authorName")),
        "orcid": _text(author.get("orcid")),
        "affiliation": _text(author.get("affiliation")),
        "sequence": sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else None,
    }


def _notice(notice: dict[str, Any]) -> dict[str, Any]:
    urls = notice.get("urls")
    notice_doi = _text(notice.get("noticeDoi"))
    return {
        "status": _text(notice.get("status")),
        "date": _text(notice.get("date")),
        "notice_doi": notice_doi.strip().lower() if notice_doi else None,
        "urls": [url for url in urls if isinstance(url, str)] if isinstance(urls, list) else None,
    }


def _statement(item: Any, index: int, warnings: list[str]) -> ApiStatement | None:
    if not isinstance(item, dict):
        warnings.append(f"citation {index} is not an object: ignored")
        return None
    doi = _doi(item.get("target"), f"citation {index}", warnings)
    if doi is None:
        return None
    kind = TYPE_OF.get(str(item.get("type")).lower()) if isinstance(item.get("type"), str) else None
    if kind is None:
        warnings.append(f"citation {index} has type {item.get('type')!r}, not supporting, mentioning or contradicting: ignored")
        return None
    source = item.get("source")
    try:
        source_doi = valid_doi(source) if isinstance(source, str) else None
    except InvalidDOI:
        source_doi = None
    confidence = item.get("typeConfidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        if confidence is not None:
            warnings.append(f"citation {index} has typeConfidence {confidence!r}, not a fraction: read as missing")
        confidence = None
    self_cites = item.get("selfCites")
    snippet = item.get("snippet")
    section = _text(item.get("section"))
    return ApiStatement(
        doi=doi,
        source_doi=source_doi,
        text=collapse_whitespace(snippet) if isinstance(snippet, str) and snippet.strip() else None,
        section=section.strip() if section else None,
        type=kind,
        confidence=float(confidence) if confidence is not None else None,
        self_citation=bool(self_cites) if isinstance(self_cites, list) else None,
    )


def response_record(response: ApiResponse) -> dict[str, Any]:
    """The response as ``citelake parse --json`` prints it: its normalised parts, JSON-serialisable."""
    from dataclasses import asdict

    record = asdict(response)
    record["sections"] = [{"doi": doi, "section": section, "count": count} for doi, section, count in response.sections]
    return record


def describe_response(path: object, response: ApiResponse) -> str:
    """The lines ``citelake parse`` prints for one saved API response."""
    without_text = sum(statement.text is None for statement in response.statements)
    lines = [
        f"{path}",
        f"  scite API   {response.shape} response",
        f"  papers      {len(response.papers):,}" + "".join(f"\n    {paper.doi}  {paper.journal or '-'}  {paper.year or '-'}"
                                                         f"{'  retracted' if paper.retracted else ''}" for paper in response.papers[:5]),
        f"  tallies     {len(response.tallies):,}",
        f"  statements  {len(response.statements):,} ({without_text:,} without text)",
    ]
    if response.sections:
        lines.append("  sections    " + ", ".join(f"{section} {count:,}" for _, section, count in response.sections))
    lines.extend(f"  warning     {warning}" for warning in response.warnings)
    return "\n".join(lines)
