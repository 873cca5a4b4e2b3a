"""One save of a synthetic paper as page text, and the record the contract says it gives.

The expected record is built from the same values the page is rendered from,
never by parsing the page.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from tasks.corpus.papers import Citation, Paper, choose_shown
from tasks.corpus.sentences import between
from tasks.reading.record import TALLY_CLASSES, Record, Statement, collapse_whitespace


# The expected record's ``warnings`` hold these markers: the parser's wording is
# its own business, so a round trip compares warnings by presence only.
EXPECT_WARNING_CP1252 = "expected: bytes are not UTF-8, read as Windows-1252"
EXPECT_WARNING_NO_CONFIDENCE = "expected: a statement without a confidence line"
EXPECT_WARNING_CUT_OFF = "expected: the file ends inside a statement"
# Fewer than four Citation Types numbers cannot be assigned to their classes:
# present but not understood, so the page's tallies are null and it says why.
EXPECT_WARNING_SHORT_CITATION_TYPES = "expected: Citation Types does not show four numbers"


Encoding = Literal["utf-8", "utf-8-sig", "cp1252"]

P_DOI_PREFIX = 0.15
P_DOI_MIXED_CASE = 0.2
P_ABSTRACT_TRUNCATED = 0.6
P_SELECT = 0.4
P_YEAR_FACET_MISSING = 0.03
P_AUTHORS_NOT_EMPTY = 0.1
P_SHORT_CITATION_TYPES = 0.05
P_LEGACY_DISPUTING = 0.15
P_STRAIGHT_QUOTES = 0.3
P_LINE_BREAKS = 0.25
P_SHOWN_TWICE = 0.2
P_MISSING_CONFIDENCE = 0.012
P_CRLF = 0.1
P_BOM = 0.06
P_CP1252 = 0.06
P_BLANK_RUNS = 0.1
P_TRAILING_NEWLINE = 0.5
P_CUT_OFF = 0.03
P_INCONSISTENT = 0.05

QUOTES = {"curly": ("“…", "…”"), "straight": ('"...', '..."')}


def _count(number: int) -> str:
    """A count as the page prints it: thousands separated by commas."""
    return f"{number:,}"


@dataclass(frozen=True, slots=True)
class Style:
    """How one save of a page is written."""

    encoding: Encoding
    crlf: bool
    gzipped: bool
    cut_off: bool
    consistent: bool
    blank_runs: bool
    trailing_newline: bool
    legacy_disputing: bool
    canonical: bool = False  # only what tasks.reading.parse_vectorized reads: no Citation Types cut short, no confidence left out


def choose_style(
    rng: random.Random,
    *,
    encoding: Encoding | None,
    crlf: bool | None,
    gzipped: bool | None,
    cut_off: bool | None,
    consistent: bool | None,
    gzip_fraction: float,
    canonical: bool = False,
) -> Style:
    if encoding is None:
        roll = rng.random()
        encoding = "cp1252" if roll < P_CP1252 else "utf-8-sig" if roll < P_CP1252 + P_BOM else "utf-8"
    return Style(
        encoding=encoding,
        crlf=rng.random() < P_CRLF if crlf is None else crlf,
        gzipped=rng.random() < gzip_fraction if gzipped is None else gzipped,
        cut_off=rng.random() < P_CUT_OFF if cut_off is None else cut_off,
        consistent=rng.random() >= P_INCONSISTENT if consistent is None else consistent,
        blank_runs=rng.random() < P_BLANK_RUNS,
        trailing_newline=rng.random() < P_TRAILING_NEWLINE,
        legacy_disputing=rng.random() < P_LEGACY_DISPUTING,
        canonical=canonical,
    )


def _statement_lines(
    rng: random.Random, citation: Citation, type_word: str, confidence: bool
) -> tuple[str, str, list[str]]:
    """One showing: its quote marks and lines (text perhaps broken over lines, section+type, confidence)."""
    opener, closer = QUOTES["straight" if rng.random() < P_STRAIGHT_QUOTES else "curly"]
    tokens = citation.tokens
    breaks = []
    if len(tokens) > 8 and rng.random() < P_LINE_BREAKS:
        # Break before up to three tokens, at least three tokens apart and from
        # the ends so no line is a lone word, and never beside a quote mark or
        # an ellipsis so no line looks like a statement's start or end.
        for candidate in sorted({between(rng, 3, len(tokens) - 3) for _ in range(between(rng, 1, 3))}):
            if (
                candidate - (breaks[-1] if breaks else 0) >= 3
                and not tokens[candidate - 1].endswith(("…", ".", '"', "”"))
                and not tokens[candidate].startswith(("…", ".", '"', "“"))
            ):
                breaks.append(candidate)
    bounds = [0, *breaks, len(tokens)]
    body = "\n".join(" ".join(tokens[start:end]) for start, end in zip(bounds, bounds[1:]))
    lines = (opener + body + closer).split("\n")
    lines.append(type_word if citation.section is None else f"Section: {citation.section}{type_word}")
    if confidence:
        lines.append(f"confidence: {citation.confidence_percent}%")
    return opener, closer, lines


class _PageWriter:
    """Accumulates a page's lines; ``blank`` writes one blank line, or a run of them on some pages."""

    def __init__(self, rng: random.Random, blank_runs: bool) -> None:
        self.lines: list[str] = []
        self._rng = rng
        self._blank_runs = blank_runs

    def blank(self) -> None:
        runs = self._blank_runs and self._rng.random() < 0.4
        self.lines.extend([""] * (between(self._rng, 2, 4) if runs else 1))


def _shown_doi(rng: random.Random, doi: str) -> str:
    """The DOI as a page may print it: upper or mixed case, with or without a resolver prefix."""
    if rng.random() < P_DOI_MIXED_CASE:
        if rng.random() < 0.5:
            doi = doi.upper()
        else:
            doi = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in doi)
    return "https://doi.org/" + doi if rng.random() < P_DOI_PREFIX else doi


def _write_abstract(rng: random.Random, page: _PageWriter, abstract: str | None) -> tuple[str | None, bool | None]:
    """Write the abstract line (if any); return the record's ``abstract`` and ``abstract_truncated``."""
    if abstract is None:
        return None, None
    if rng.random() >= P_ABSTRACT_TRUNCATED:
        page.lines.append(f"Abstract: {abstract}")
        page.blank()
        return abstract, False
    kept = abstract[: between(rng, 20, len(abstract) - 1)]
    tail = "… Show more" if rng.random() < 0.6 else "...Show more"
    page.lines.append(f"Abstract: {kept}{tail}")
    page.blank()
    return collapse_whitespace(kept), True


def _citation_types(rng: random.Random, paper: Paper, shown: list[Citation], style: Style) -> list[int]:
    """The Citation Types numbers of a page: never fewer of a class than the page shows."""
    tallies = [
        max(count, sum(c.type == statement_type for c in shown))
        for count, statement_type in zip(paper.tallies, TALLY_CLASSES, strict=True)
    ]
    paper.tallies = list(tallies)  # what a page showed, a later save of it never shows less of
    # The page may leave out trailing classes the paper has none of; never one it counts.
    shortest = max(2, 1 + max((i for i, count in enumerate(tallies) if count), default=0))
    if shortest < len(TALLY_CLASSES) and rng.random() < P_SHORT_CITATION_TYPES and not style.canonical:
        return tallies[: rng.randrange(shortest, len(TALLY_CLASSES))]
    return tallies


def _write_facets(rng: random.Random, page: _PageWriter, facets: dict[str, list[int]]) -> None:
    for name, numbers in facets.items():
        page.lines.append(name)
        page.blank()
        if rng.random() < P_SELECT:
            page.lines.append("Select...")
        # Years are not counts: the page prints them without separators.
        page.lines.extend(str(n) if name == "Year Published" else _count(n) for n in numbers)
        if page.lines[-1]:
            page.blank()


def render(rng: random.Random, paper: Paper, style: Style) -> tuple[str, Record, int]:
    """The page text (LF line ends), the record the contract says it gives, and how many
    of its statements no earlier record of the paper held."""
    shown = choose_shown(rng, paper)
    paper.last_shown = shown
    type_counts = _citation_types(rng, paper, shown, style)
    statement_count = sum(type_counts)
    if not style.consistent:
        statement_count = max(1, statement_count + rng.choice((-3, -2, -1, 1, 2, 5, 40)))
        if statement_count == sum(type_counts):
            statement_count += 1

    page = _PageWriter(rng, style.blank_runs)
    if style.blank_runs and rng.random() < 0.5:
        page.blank()
    if paper.year_shown:
        page.lines.append(str(paper.year))
    page.lines += [f"DOI: {_shown_doi(rng, paper.doi)}", "|View full text |Cite", "|", "Sign up to set email alerts", "|"]
    page.blank()
    page.lines.append(paper.title)
    page.blank()
    abstract, abstract_truncated = _write_abstract(rng, page, paper.abstract)
    for widget in ("Help me understand this report", "Search citation statements", "Order By: Relevance"):
        page.lines.append(widget)
        page.blank()

    first, last = paper.citing_years
    facets: dict[str, list[int]] = {
        "Paper Sections": [between(rng, 1, 9) for _ in range(between(rng, 1, 5))],
        "Citation Types": type_counts,
        "Year Published": [first, first, last, last],
        "Publication Types": [between(rng, 1, 40) for _ in range(between(rng, 1, 3))],
        "Relationship": [between(rng, 1, 12) for _ in range(between(rng, 0, 2))],
        "Authors": [between(rng, 1, 5) for _ in range(between(rng, 1, 3))] if rng.random() < P_AUTHORS_NOT_EMPTY else [],
        "Journals": [between(rng, 1, 5) for _ in range(between(rng, 1, 3))] if rng.random() < P_AUTHORS_NOT_EMPTY else [],
    }
    citing_years: list[int] | None = [first, last]
    if rng.random() < P_YEAR_FACET_MISSING:
        del facets["Year Published"]
        citing_years = None
    _write_facets(rng, page, facets)
    page.lines += [
        "citations",
        f"Cited by {_count(paper.cited_by)} publications",
        f"({_count(statement_count)} citation statements)",
        "references",
        f"References {_count(paper.reference_count)} publications",
        *(_count(n) for n in type_counts),
        "Order By: Relevance",
    ]

    statements, warnings = _write_statements(rng, page, shown, style)
    text = "\n".join(page.lines)
    if style.trailing_newline and not style.cut_off:
        text += "\n"
    record = Record(
        doi=paper.doi,
        title=paper.title,
        year=paper.year if paper.year_shown else None,
        abstract=abstract,
        abstract_truncated=abstract_truncated,
        cited_by=paper.cited_by,
        statement_count=statement_count,
        reference_count=paper.reference_count,
        tallies=dict(zip(TALLY_CLASSES, type_counts, strict=True)) if len(type_counts) == 4 else None,
        citing_years=citing_years,
        facets=facets,
        statements=[statement for _, statement in statements],
        warnings=warnings,
    )
    if len(type_counts) != 4:
        warnings.append(EXPECT_WARNING_SHORT_CITATION_TYPES)
    new_statements = 0
    for citation, _ in statements:
        new_statements += not citation.recorded
        citation.recorded = True
    return text, record, new_statements


def _write_statements(
    rng: random.Random, page: _PageWriter, shown: list[Citation], style: Style
) -> tuple[list[tuple[Citation, Statement]], list[str]]:
    """Write the statements (one perhaps twice, the last perhaps cut off); return the
    record's statements, each with the citation it shows, and the expected warnings."""
    showings = list(shown)
    if rng.random() < P_SHOWN_TWICE:
        twice = rng.choice(shown)
        showings.insert(between(rng, showings.index(twice) + 1, len(showings)), twice)
    without_confidence = {id(c) for c in shown if rng.random() < P_MISSING_CONFIDENCE and not style.canonical}
    cut_at = rng.randrange(len(showings)) if style.cut_off else len(showings)

    warnings: list[str] = []
    statements: dict[int, tuple[Citation, Statement]] = {}
    for position, citation in enumerate(showings):
        if position and style.blank_runs and rng.random() < 0.2:
            page.blank()
        type_word = "disputing" if citation.type == "contrasting" and style.legacy_disputing else citation.type
        has_confidence = id(citation) not in without_confidence
        opener, closer, lines = _statement_lines(rng, citation, type_word, has_confidence)
        if position == cut_at:
            # The file ends strictly inside the text: after the opener and at
            # least one character, before the closing quote.
            text = "\n".join(lines[: -2 if has_confidence else -1])
            page.lines.append(text[: between(rng, len(opener) + 1, len(text) - len(closer))])
            warnings.append(EXPECT_WARNING_CUT_OFF)
            break
        page.lines.extend(lines)
        if id(citation) in statements:
            statements[id(citation)][1]["seen"] += 1
            continue
        if not has_confidence:
            warnings.append(EXPECT_WARNING_NO_CONFIDENCE)
        statements[id(citation)] = (
            citation,
            Statement(
                text=citation.text,
                section=citation.section,
                type=citation.type,
                confidence=citation.confidence_percent / 100 if has_confidence else None,
                seen=1,
            ),
        )
    return list(statements.values()), warnings


def encode(text: str, record: Record, style: Style) -> bytes:
    """The page's bytes in the style's encoding (a Windows-1252 page adds its expected warning).

    A page Windows-1252 cannot hold, or whose Windows-1252 bytes are plain ASCII or
    happen to be valid UTF-8, is written as UTF-8: it would not read as another encoding.
    """
    if style.crlf:
        text = text.replace("\n", "\r\n")
    if style.encoding != "cp1252":
        return text.encode(style.encoding)
    try:
        data = text.encode("cp1252")
        data.decode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8")
    except UnicodeDecodeError:
        record["warnings"].append(EXPECT_WARNING_CP1252)
        return data
    return text.encode("utf-8")

