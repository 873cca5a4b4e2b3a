"""Read one citation-report page into its parsed record (``docs/report-format.md``).

The page is read in two parts:

* the head (year, DOI, title, abstract, facet blocks, the citation summary) is a few
  dozen short lines, read line by line against the line kinds the format knows;
* the statements, the bulk of the bytes, are found with one regex anchored on each
  statement's classification line (``Section: …mentioning`` or a bare type), because
  the quoted text before it may itself hold quotes, ellipses and line breaks.

The bytes become the page's text first (gzip, encodings: :mod:`tasks.reading.page_text`).

Nothing here raises: bytes that are not a report give a :class:`Rejection` with one
short reason, and anything present but not understood becomes a warning in the record.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field

from tasks.reading.page_text import MAX_REPORT_BYTES, decode_page, read_report_file
from tasks.reading.record import (
    TALLY_CLASSES,
    Record,
    Rejection,
    Statement,
    StatementType,
    collapse_whitespace,
    normalise_doi,
)

FACET_NAMES = frozenset(
    {
        "Paper Sections",
        "Citation Types",
        "Year Published",
        "Publication Types",
        "Relationship",
        "Authors",
        "Journals",
    }
)

NO_REPORT_BLOCK = "DOI line but none of a report's blocks: not a citation report"
"""The reason for a page with a DOI line and none of the blocks only report pages have: a
citation summary line (``Cited by N publications``, ``(N citation statements)``,
``References N publications``), a facet block (``Citation Types`` …), an ``Abstract:``
line, or a citation statement (a quoted text with its classification line)."""

_DOI_SEARCH_LINES = 5  # the DOI line is the first or second line; a few stray lines are tolerated
_WARNING_QUOTE_LENGTH = 60

_YEAR = re.compile(r"[0-9]{4}")
_DOI = re.compile(r"10\.[0-9]+(?:\.[0-9]+)*/\S+")
# Thousands separators allowed (1,204); more than 18 digits is no count (nor an Int64).
_MAX_COUNT_DIGITS = 18
_COUNT = r"([0-9]{1,3}(?:,[0-9]{3}){1,5}|[0-9]{1,18})"
_GROUPED_COUNT = re.compile(_COUNT)
# The citation summary's three numbered lines in one pattern: which group matched tells the line.
_SUMMARY_LINE = re.compile(
    rf"Cited by {_COUNT} publications?|\({_COUNT} citation statements?\)|References {_COUNT} publications?",
    re.IGNORECASE,
)
_CITED_BY, _STATEMENT_TOTAL, _REFERENCES = 1, 2, 3  # _SUMMARY_LINE's groups
_SHOW_MORE = re.compile(r"(?:…|\.\.\.) ?Show more$")
_SHOW_MORE_LENGTH = len("... Show more")

# The head's fixed lines by kind, so that one dict lookup tells a line's kind.
_FACET, _SELECT, _ORDER_BY, _WIDGET, _CHROME, _SUMMARY_LABEL = range(6)
_KNOWN_LINES = {
    **dict.fromkeys(FACET_NAMES, _FACET),
    **dict.fromkeys(("Select...", "Select…"), _SELECT),
    "Order By: Relevance": _ORDER_BY,
    **dict.fromkeys(("Help me understand this report", "Search citation statements"), _WIDGET),
    "Sign up to set email alerts": _CHROME,  # as are all lines starting with "|"
    **dict.fromkeys(("citations", "references"), _SUMMARY_LABEL),
}

# A statement's classification line: ``Section: <title><type>`` (type glued on) or the type
# alone, then its confidence line. Starting with a literal newline lets the regex engine
# jump from line to line instead of trying every character.
_CLASSIFICATION = re.compile(
    r"\n[ \t]*(?:Section:(?P<section>[^\n]*))?"
    r"(?P<type>supporting|mentioning|contrasting|disputing)[ \t]*(?=\n|\Z)"
    r"(?:\n\s*(?i:confidence):(?P<confidence>[^\n]*))?"
)
_CONFIDENCE = re.compile(r"([0-9]{1,3}(?:\.[0-9]+)?)[ \t]*%")
_OPENING_LINE = re.compile(r"\n[ \t]*[“\"]")
# The page's wrapping of a statement's text, with its ellipsis when there is one.
_OPENING_MARK = re.compile(r'“(?:…|\.\.\.)?|"(?:\.\.\.|…)?')
_OPENINGS = ("“", '"')
_CLOSINGS = ("…”", "...”", '..."', '…"', "”", '"')  # longest first: the ellipsis goes with the mark
_STATEMENT_OPENINGS = ("“", '"...', '"…')
_TYPES: dict[str, StatementType] = {
    "supporting": "supporting",
    "mentioning": "mentioning",
    "contrasting": "contrasting",
    "disputing": "contrasting",  # older pages' word for contrasting
}


def parse_report(data: bytes) -> Record | Rejection:
    """Parse the bytes of one report file (plain or gzip-compressed) into its record.

    Returns the record of ``report-format.md`` ("The parsed record"), or a
    :class:`Rejection` naming in one line why the bytes are not a report. Never raises.
    """
    try:
        return _parse(data)
    except Exception as error:  # noqa: BLE001 - one odd file must not stop a run over millions
        return Rejection(collapse_whitespace(f"parser error: {type(error).__name__}: {error}"))


def load_report(path: str | os.PathLike[str] | bytes) -> Record | Rejection:
    """Read and parse one report file; a file that cannot be read is a :class:`Rejection`."""
    # One byte over the cap is enough for parse_report to reject an oversized file.
    data = read_report_file(path, limit=MAX_REPORT_BYTES + 1)
    return data if isinstance(data, Rejection) else parse_report(data)


def _parse(data: bytes) -> Record | Rejection:
    decoded = decode_page(data)
    if isinstance(decoded, Rejection):
        return decoded
    text, warnings = decoded
    lines = text.split("\n")
    head = _read_head(text, lines, warnings)
    if isinstance(head, Rejection):
        return head
    tallies, citing_years = _read_facets(head, warnings)
    # The leading line end lets the first statement's lines match like all others.
    region = "\n" + text[head.statements_from :]
    statements = _read_statements(region, warnings)
    if not (head.has_report_block or statements):
        return Rejection(NO_REPORT_BLOCK)
    return {
        "doi": head.doi,
        "title": head.title,
        "year": head.year,
        "abstract": head.abstract,
        "abstract_truncated": head.abstract_truncated,
        "cited_by": head.cited_by,
        "statement_count": head.statement_count,
        "reference_count": head.reference_count,
        "tallies": tallies,
        "citing_years": citing_years,
        "facets": head.facets,
        "statements": statements,
        "warnings": warnings,
    }



@dataclass(slots=True)
class _Head:
    """What the lines before the statements hold."""

    doi: str
    year: int | None
    title: str | None = None
    abstract: str | None = None
    abstract_truncated: bool | None = None
    cited_by: int | None = None
    statement_count: int | None = None
    reference_count: int | None = None
    facets: dict[str, list[int]] = field(default_factory=dict)
    repeat_tallies: list[int] = field(default_factory=list)
    statements_from: int = 0  # where in the text the statements' lines begin
    abstract_shown: bool = False  # an ``Abstract:`` line, even an empty one

    @property
    def has_report_block(self) -> bool:
        """Whether the head shows one of the blocks only report pages have (see :data:`NO_REPORT_BLOCK`)."""
        return bool(
            self.facets
            or self.abstract_shown
            or self.cited_by is not None
            or self.statement_count is not None
            or self.reference_count is not None
        )


def _read_head(text: str, lines: list[str], warnings: list[str]) -> _Head | Rejection:
    """Read the year, DOI, title, abstract, facet blocks and summary; find where statements begin.

    ``lines`` is ``text`` split at its line ends.
    """
    found = _find_doi(lines, warnings)
    if isinstance(found, Rejection):
        return found
    head, index = found
    abstract_lines: list[str] | None = None
    in_abstract = False  # lines right after ``Abstract:`` continue it, up to a blank line
    title_open = True  # the title is the first unknown line after the chrome, before anything else
    block: list[int] | None = None  # the numbers of the facet block being read
    block_fresh = False  # the block header was the last line, so ``Select...`` may follow
    past_widgets = False  # a facet block or the summary was read: the next ``Order By`` opens the statements
    head.statements_from = len(text)
    for index in range(index + 1, len(lines)):
        line = lines[index].strip()
        if not line:
            in_abstract = False
            continue
        # Most lines of the head are counts (181): the cheapest tests first.
        if line.isdigit() and line.isascii() and len(line) <= _MAX_COUNT_DIGITS:
            block_fresh = False
            if block is None:
                warnings.append(f"unknown line {_quote(line)}")
            else:
                block.append(int(line))
            continue
        kind = _KNOWN_LINES.get(line)
        if kind == _FACET:
            if line in head.facets:
                warnings.append(f"facet block {_quote(line)} shown twice: the repeat is ignored")
                block = []
            else:
                block = head.facets[line] = []
            block_fresh = True
            title_open = in_abstract = False
            past_widgets = True
            continue
        if kind == _SELECT:
            if block_fresh:
                block_fresh = False
                continue
            kind = None  # not after a block header: an unknown line
        block_fresh = False
        if "," in line and _GROUPED_COUNT.fullmatch(line):  # a count with thousands separators (1,204)
            if block is None:
                warnings.append(f"unknown line {_quote(line)}")
            else:
                block.append(_number(line))
            continue
        block = None  # any other line ends the block
        if kind == _ORDER_BY:
            if past_widgets:
                head.statements_from = _offset(lines, index + 1)
                break
            title_open = in_abstract = False
        elif kind == _WIDGET:
            title_open = in_abstract = False
        elif kind == _CHROME or line[0] == "|":
            pass  # page chrome: navigation links
        elif kind == _SUMMARY_LABEL:
            title_open = in_abstract = False
            past_widgets = True
        elif line.startswith("Abstract:") and abstract_lines is None:
            abstract_lines = [line[len("Abstract:") :]]
            head.abstract_shown = True
            in_abstract = True
            title_open = False
        elif (match := _SUMMARY_LINE.fullmatch(line)) is not None:
            number = _number(match[match.lastindex])
            if match.lastindex == _CITED_BY:
                head.cited_by = number
            elif match.lastindex == _STATEMENT_TOTAL:
                head.statement_count = number
            else:
                head.reference_count = number
                block = head.repeat_tallies  # the Citation Types counts are shown again below it
            title_open = in_abstract = False
            past_widgets = True
        elif in_abstract:
            abstract_lines.append(line)
        elif line.startswith(_STATEMENT_OPENINGS) and not title_open:
            head.statements_from = _offset(lines, index)  # statements without the second ``Order By`` line
            break
        elif title_open:
            head.title = _collapse(line)
            title_open = False
        else:
            warnings.append(f"unknown line {_quote(line)}")
    if abstract_lines is not None:
        head.abstract, head.abstract_truncated = _read_abstract(" ".join(abstract_lines))
    return head


def _offset(lines: list[str], index: int) -> int:
    """Where line ``index`` of ``lines`` begins in the text they were split from
    (one past the text's end for ``index == len(lines)``)."""
    return sum(map(len, lines[:index])) + index


def _find_doi(lines: list[str], warnings: list[str]) -> tuple[_Head, int] | Rejection:
    """The head with its year and DOI, and the index of the DOI line."""
    year = None
    malformed = None
    looked_at = 0
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        if line[:4].upper() == "DOI:":
            doi = normalise_doi(line[4:])
            if _DOI.fullmatch(doi):
                return _Head(doi=doi, year=year), index
            malformed = malformed or line
        elif looked_at == 0 and _YEAR.fullmatch(line):
            year = int(line)
        else:
            warnings.append(f"unknown line {_quote(line)}")
        looked_at += 1
        if looked_at == _DOI_SEARCH_LINES:
            break
    if malformed is not None:
        return Rejection(f"malformed DOI line {_quote(malformed)}")
    return Rejection("no DOI line: not a citation report")


def _read_abstract(text: str) -> tuple[str | None, bool | None]:
    """The abstract without a trailing ``… Show more``, and whether the page cut it."""
    text = _collapse(text)
    # Searching only the end: a regex search from the start would try every position.
    cut = _SHOW_MORE.search(text, max(0, len(text) - _SHOW_MORE_LENGTH))
    if cut is not None:
        text = text[: cut.start()].rstrip()
    if not text:
        return None, None
    return text, cut is not None


def _read_facets(head: _Head, warnings: list[str]) -> tuple[dict[str, int] | None, list[int] | None]:
    """The tallies (from Citation Types) and the citing years' range (from Year Published)."""
    citation_types = head.facets.get("Citation Types")
    tallies = None
    if citation_types is not None:
        if len(citation_types) == len(TALLY_CLASSES):
            tallies = dict(zip(TALLY_CLASSES, citation_types, strict=True))
        else:
            # Which class a missing number belongs to is unknown: the numbers stay in facets only.
            warnings.append(f"Citation Types shows {len(citation_types)} numbers, not four: tallies left null")
    if head.repeat_tallies and head.repeat_tallies != citation_types:
        warnings.append(
            f"tallies after the references line {head.repeat_tallies} "
            f"differ from Citation Types {citation_types if citation_types is not None else '(not shown)'}"
        )
    years = head.facets.get("Year Published")
    citing_years = [min(years), max(years)] if years else None
    return tallies, citing_years


def _read_statements(region: str, warnings: list[str]) -> list[Statement]:
    """The distinct statements of the region after the head, in the order first shown."""
    statements: list[Statement] = []
    by_identity: dict[tuple[str, str | None], Statement] = {}
    text_from = 0
    for match in _CLASSIFICATION.finditer(region):
        section_line, type_word, confidence_line = match.groups()
        chunk = region[text_from : match.start()]
        if section_line is None and not chunk.rstrip().endswith(_CLOSINGS):
            continue  # a type word alone on a line inside a multi-line text, not a classification
        text_from = match.end()
        text = _statement_text(chunk, warnings)
        if text is None:
            warnings.append(f"classification line without a statement {_quote(match[0].strip())}")
            continue
        confidence = _confidence(confidence_line)
        if confidence is None:
            if confidence_line is None:
                warnings.append(f"statement without a confidence line {_quote(text)}")
            elif text_from == len(region):
                warnings.append(f"file cut off inside a statement: dropped {_quote(text)}")
                continue
            else:
                warnings.append(f"unreadable confidence {_quote(confidence_line.strip())} of {_quote(text)}")
        section = (section_line.strip() or None) if section_line else None
        statement_type = _TYPES[type_word]
        shown = by_identity.get((text, section))
        if shown is None:
            shown = by_identity[text, section] = {
                "text": text,
                "section": section,
                "type": statement_type,
                "confidence": confidence,
                "seen": 1,
            }
            statements.append(shown)
        else:
            shown["seen"] += 1
            if shown["type"] != statement_type:
                warnings.append(
                    f"statement shown as {shown['type']} and as {statement_type}, "
                    f"kept {shown['type']}: {_quote(text)}"
                )
    tail = region[text_from:].strip()
    if tail:
        stray_lines, quoted = _split_off_stray_lines(tail)
        warnings.extend(f"unknown line {_quote(line)}" for line in stray_lines)
        if quoted:
            warnings.append(f"file cut off inside a statement: dropped {_quote(collapse_whitespace(quoted))}")
    return statements


def _statement_text(chunk: str, warnings: list[str]) -> str | None:
    """A statement's text without its wrapping quote marks, white space collapsed."""
    body = chunk.strip()
    if not body.startswith(_OPENINGS):  # the usual chunk is one quoted text: nothing to split off
        stray_lines, quoted = _split_off_stray_lines(body)
        if quoted:
            warnings.extend(f"unknown line {_quote(line)}" for line in stray_lines)
            body = quoted
        # else no line opens a quote: the whole chunk is taken as an unwrapped text (warned below)
    opening = _OPENING_MARK.match(body)
    start = 0 if opening is None else opening.end()
    closing = _closing_mark(body, start)
    text = _collapse(body[start : len(body) - closing])
    if not text:
        return None
    if opening is None or not closing:
        warnings.append(f"statement text not wrapped in quote marks {_quote(text)}")
    return text


def _closing_mark(body: str, start: int) -> int:
    """The length of the quote mark (and ellipsis) closing the statement text ``body[start:]``, or 0."""
    for mark in _CLOSINGS:
        if body.endswith(mark, start):
            return len(mark)
    return 0


def _split_off_stray_lines(body: str) -> tuple[list[str], str]:
    """The non-blank lines before the first line that opens a quote, and the text from that line.

    The text is ``""`` when no line opens a quote.
    """
    if body.startswith(_OPENINGS):
        return [], body
    opening = _OPENING_LINE.search(body)
    before, quoted = (body, "") if opening is None else (body[: opening.start()], body[opening.start() :].strip())
    return [line.strip() for line in before.split("\n") if line.strip()], quoted


@functools.lru_cache(maxsize=1024)  # a page shows few distinct confidences, a corpus a hundred or so
def _confidence(value: str | None) -> float | None:
    """``95%`` as 0.95; None when missing or not a percentage of at most 100."""
    if value is None:
        return None
    match = _CONFIDENCE.fullmatch(value.strip())
    if match is None:
        return None
    fraction = float(match[1]) / 100
    return fraction if fraction <= 1 else None


def _collapse(text: str) -> str:
    """``collapse_whitespace``, with line ends made spaces first so that single-spaced
    lines joined by line ends take its fast path (a good part of the parser's speed)."""
    return collapse_whitespace(text.strip().replace("\n", " "))


def _number(count: str) -> int:
    """A count (``181``, ``1,204``) as a number, without its thousands separators."""
    return int(count.replace(",", ""))


def _quote(text: str) -> str:
    """A line quoted for a warning, shortened to keep warnings one readable line."""
    text = _collapse(text)  # odd line separators (\x0b, \u2028, …) would break the warning's line
    if len(text) > _WARNING_QUOTE_LENGTH:
        text = text[: _WARNING_QUOTE_LENGTH - 1] + "…"
    return f"'{text}'"
