"""Deterministic synthetic report files, each with the parsed record the contract says it must give.

The pages look like ``tests/fixtures/scd.2013.0023.txt`` and vary in every way
``report-format.md`` describes: missing year, DOI prefixes and case, truncated or
missing abstracts, facet blocks with or without ``Select...``, short Citation
Types blocks, thousands separators, both quote styles, glued section and type,
bare type lines, ``disputing``, statements shown twice, missing confidence,
CRLF, a byte-order mark, Windows-1252, runs of blank lines, gzip, re-saved
pages of the same paper, files cut off inside a statement, and files that are
not reports at all.

The expected record is built from the same values the page is rendered from,
never by parsing the page, so a round trip through the parser checks the
parser against the contract. Where the contract leaves the parser's wording
free (warnings, rejection reasons) the expectation says only *that* there is
one: see :func:`record_differences` and :func:`parse_matches`.

Everything is drawn from one :class:`random.Random`, so the same seed gives the
same bytes; :func:`generate_corpus` streams, holding only a bounded pool of
recently saved papers (the ones it may re-save).
"""

from __future__ import annotations

import enum
import gzip
import math
import os
import random
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from tasks.reading.record import TALLY_CLASSES, Record, Rejection, Statement, StatementType, collapse_whitespace

# ---------------------------------------------------------------------------
# What the generated reports are and what a corpus summary counts
# ---------------------------------------------------------------------------

# The expected record's ``warnings`` hold these markers: the parser's wording is
# its own business, so a round trip compares warnings by presence only.
EXPECT_WARNING_CP1252 = "expected: bytes are not UTF-8, read as Windows-1252"
EXPECT_WARNING_NO_CONFIDENCE = "expected: a statement without a confidence line"
EXPECT_WARNING_CUT_OFF = "expected: the file ends inside a statement"
# Fewer than four Citation Types numbers cannot be assigned to their classes:
# present but not understood, so the page's tallies are null and it says why.
EXPECT_WARNING_SHORT_CITATION_TYPES = "expected: Citation Types does not show four numbers"


class NonReport(enum.Enum):
    """The kinds of file that are not a report; the value is the expected rejection's category."""

    EMPTY = "empty file"
    BINARY = "binary file"
    LOGIN_PAGE = "not a report: HTML login page"
    ERROR_PAGE = "not a report: error page"
    CORRUPT_GZIP = "corrupt gzip"


Encoding = Literal["utf-8", "utf-8-sig", "cp1252"]


@dataclass(frozen=True, slots=True)
class GeneratedReport:
    """One generated file and what parsing it must give.

    ``name`` is relative to the corpus folder (``ab/10.1234_x.y.txt`` or
    ``.txt.gz``); ``data`` is the file's exact bytes (gzipped when the name ends
    ``.gz``); ``mtime`` is the page's save time (UTC). ``expected`` is the parsed
    record, or for a non-report a :class:`Rejection` whose reason is the
    :class:`NonReport` category (not the parser's wording).

    The remaining fields are bookkeeping for :class:`CorpusSummary`.
    """

    name: str
    data: bytes
    mtime: datetime
    expected: Record | Rejection
    new_paper: bool = False
    new_statements: int = 0
    duplicate: bool = False
    consistent: bool = True


@dataclass(slots=True)
class CorpusSummary:
    """What :func:`write_corpus` wrote, for end-to-end tests to compare the lake against.

    ``snapshots`` counts report files that give a record, byte-identical copies
    once; ``distinct_statements`` counts statement identities (DOI +
    whitespace-collapsed text + section) over all records; ``inconsistent_snapshots``
    counts pages whose Citation Types numbers do not add up to their statement count.
    """

    files: int = 0
    report_files: int = 0
    rejected_files: int = 0
    duplicate_files: int = 0
    distinct_dois: int = 0
    snapshots: int = 0
    distinct_statements: int = 0
    inconsistent_snapshots: int = 0
    total_bytes: int = 0

    def add(self, report: GeneratedReport) -> None:
        """Count one generated file."""
        self.files += 1
        self.total_bytes += len(report.data)
        if isinstance(report.expected, Rejection):
            self.rejected_files += 1
            return
        self.report_files += 1
        if report.duplicate:
            self.duplicate_files += 1
            return
        self.snapshots += 1
        self.distinct_dois += report.new_paper
        self.distinct_statements += report.new_statements
        self.inconsistent_snapshots += not report.consistent

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# ---------------------------------------------------------------------------
# How often each variation occurs (per page unless stated)
# ---------------------------------------------------------------------------

P_YEAR_MISSING = 0.08
P_DOI_PREFIX = 0.15
P_DOI_MIXED_CASE = 0.2
P_ABSTRACT_MISSING = 0.1
P_ABSTRACT_TRUNCATED = 0.6
P_SELECT = 0.4
P_YEAR_FACET_MISSING = 0.03
P_AUTHORS_NOT_EMPTY = 0.1
P_SHORT_CITATION_TYPES = 0.05
P_LARGE_PAPER = 0.08
P_LEGACY_DISPUTING = 0.15
P_STRAIGHT_QUOTES = 0.3
P_NO_SECTION = 0.12
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
P_RECLASSIFIED = 0.2

DEFAULT_GZIP_FRACTION = 0.2

SECTION_WIDTH = 60  # the page cuts section titles at this many characters
RESAVE_POOL = 256  # papers kept for re-saving; bounds the generator's memory

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

WORDS = (
    "patients cells therapy treatment clinical trial cohort study results response disease "
    "mesenchymal stromal stem derived umbilical cord marrow immune regulatory inflammatory "
    "cytokines expression levels increased decreased reduced significantly compared with "
    "control group groups mice model vivo vitro analysis data evidence previous recent "
    "reported observed demonstrated showed suggest indicate associated efficacy safety "
    "outcome outcomes follow-up months weeks dose doses administration intravenous injection "
    "serum blood peripheral T-cell B-cell regulatory differentiation proliferation apoptosis "
    "signalling pathway receptor activation inhibition factor factors secreted paracrine "
    "mechanism mechanisms function dysfunction tissue repair regeneration damage injury "
    "chronic acute severe mild moderate remission relapse score scores index measured "
    "baseline randomized placebo-controlled phase trials systematic review meta-analysis "
    "however furthermore moreover although whereas thus therefore in the of and to a for "
    "by on at from that this these was were is are be been may might could not also both "
    "Müller naïve rôle café-au-lait 4×10(7) ±SD 37°C µg/mL Straße"
).split()
# Characters outside Windows-1252: a page holding one cannot be saved in that encoding.
RARE_WORDS = ("α-synuclein", "TNF-α", "IFN-γ", "≥50%", "β-cells", "κB")
AUTHORS = ("Wang", "Smith", "Müller", "García", "Nakamura", "O'Brien", "Kowalski", "Li", "Dupont")
TITLE_TOPICS = (
    "Human Umbilical Cord Mesenchymal Stem Cell Therapy",
    "Regulatory T Cells",
    "Interleukin-6 Blockade",
    "Bone Marrow–Derived Stromal Cells",
    "Gut Microbiota",
    "Deep Brain Stimulation",
    "CRISPR–Cas9 Editing",
    "Tumour Necrosis Factor Inhibitors",
    "Thymic Function",
)
TITLE_SETTINGS = (
    "in Patients with Active Rheumatoid Arthritis",
    "in Type 2 Diabetes",
    "after Myocardial Infarction",
    "in Crohn’s Disease",
    "in Children Aged 5–12 Years",
    "in Systemic Lupus Erythematosus",
    "in Mice",
)
TITLE_SUBTITLES = (
    "Safety and Efficacy",
    "A Randomized Controlled Trial",
    "A Systematic Review and Meta-analysis",
    "Mechanisms and Perspectives",
    "Results from the Ørsted Cohort",
    "Lessons from 10 Years of Follow-up",
)
SECTIONS = (
    "Introduction",
    "Background",
    "Discussion",
    "Results",
    "Methods",
    "Materials And Methods",
    "Results And Discussion",
    "Conclusions",
    "2. Methods",
    "II. Results",
    "4. Discussion",
    "Mesenchymal Stromal Cells",
    "Limitations Of Msc-mediated Immune Modulation In the Clinical Setting",
    "Statistical Analysis",
)
SECTION_WORDS = (
    "Role Of Immune Cells In the Regulation Of Tissue Repair After Injury And Chronic "
    "Inflammation Therapeutic Potential Clinical Translation Future Directions Stromal"
).split()
ERROR_PAGES = (
    "502 Bad Gateway\n\nnginx\n",
    "Too Many Requests\n\nYou have sent too many requests in a given amount of time. Please try again later.\n",
    "Page not found\n\nThe page you are looking for does not exist or has been moved.\n",
    "Service Unavailable\r\n\r\nThe server is temporarily unable to service your request.\r\n",
)
LOGIN_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Sign in</title>\n</head>\n'
    '<body>\n<form action="/login" method="post">\n<h1>Sign in to continue</h1>\n'
    '<input type="email" name="email" placeholder="Email">\n<input type="password" name="password">\n'
    "<button>Log in</button>\n</form>\n</body>\n</html>\n"
)
QUOTES = {"curly": ("“…", "…”"), "straight": ('"...', '..."')}
FIRST_SAVE = datetime(2024, 1, 1, tzinfo=UTC)
FIRST_SAVE_SPAN_SECONDS = 540 * 86_400

# ---------------------------------------------------------------------------
# A paper's state across saves
# ---------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Citation:
    """One citation statement of a paper: canonical text (single-spaced) and current class."""

    tokens: list[str]
    section: str | None
    type: StatementType
    confidence_percent: int
    recorded: bool = False  # shown complete on a record page already (for the distinct count)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(slots=True)
class _Paper:
    """What the citation index knows about a paper; each save renders a page from it."""

    doi: str
    title: str
    year: int
    year_shown: bool
    abstract: str | None
    reference_count: int
    tallies: list[int]
    cited_by: int
    citing_years: tuple[int, int]
    citations: list[_Citation]
    saves: int = 0
    last_saved: datetime = FIRST_SAVE
    last_shown: list[_Citation] = field(default_factory=list)


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)``, several times faster (the generator calls it a lot)."""
    return low + int(rng.random() * (high - low + 1))


def _count(number: int) -> str:
    """A count as the page prints it: thousands separated by commas."""
    return f"{number:,}"


def _doi(rng: random.Random, serial: int, year: int) -> str:
    shape = rng.randrange(3)
    if shape == 0:
        return f"10.1089/scd.{year}.{serial:06d}"
    if shape == 1:
        journal = rng.choice(("cell", "jaut", "bbmt", "ijcard"))
        return f"10.1016/j.{journal}.{year}.{serial:06d}"
    return f"10.1371/journal.pone.{serial:07d}"


# Lengths follow the real sample (tests/fixtures): its statements hold three or four
# sentences of 15 to 30 words (about 560 characters), its abstract about 600
# characters before the page cut it. Shorter pages would understate MB/s figures.
def _sentence(rng: random.Random) -> list[str]:
    words = rng.choices(WORDS, k=_between(rng, 12, 30))
    words[0] = words[0][:1].upper() + words[0][1:]
    if rng.random() < 0.08:
        words[rng.randrange(1, len(words))] = rng.choice(RARE_WORDS)
    if rng.random() < 0.2:  # an abbreviation in brackets
        words.insert(rng.randrange(1, len(words)), f"({rng.choice(('UC-MSCs', 'RA', 'DMARDs', 'Tregs'))})")
    return words


def _statement_tokens(rng: random.Random) -> list[str]:
    """A statement's canonical tokens with a citation marker of one of the page's styles."""
    tokens: list[str] = []
    marker_style = rng.randrange(5)
    if marker_style == 3 and rng.random() < 0.3:
        tokens.append(str(_between(rng, 1, 60)))  # superscript left over from the previous sentence
    sentences = _between(rng, 2, 4)
    for position in range(sentences):
        words = _sentence(rng)
        if rng.random() < 0.15:  # quoted words inside the text
            at = rng.randrange(1, len(words) - 1)
            open_quote, close_quote = rng.choice((("“", "”"), ('"', '"')))
            words[at] = open_quote + words[at]
            words[at + 1] = words[at + 1] + close_quote
        if rng.random() < 0.12:  # an ellipsis inside the text
            at = rng.randrange(1, len(words) - 1)
            if rng.random() < 0.5:
                words.insert(at, "…")
            else:
                words[at] += "..."
        if marker_style == 0:
            words.append(f"[{_between(rng, 1, 80)}].")
        elif marker_style == 1:
            first = _between(rng, 1, 60)
            words.append(f"[{first},{first + _between(rng, 1, 5)}].")
        elif marker_style == 2:
            first = _between(rng, 1, 60)
            words.append(f"[{first}–{first + _between(rng, 2, 6)}].")
        elif marker_style == 3:
            words[-1] += "."
            if position < sentences - 1:
                words.append(str(_between(rng, 1, 200)))  # superscript flattened into the text
        else:
            author = rng.choice(AUTHORS)
            words.append(f"({author} et al., {_between(rng, 1995, 2024)}).")
        tokens.extend(words)
    return tokens


def _section(rng: random.Random) -> str:
    if rng.random() < 0.25:  # a long title, cut by the page
        title = " ".join(rng.choices(SECTION_WORDS, k=10))
    else:
        title = rng.choice(SECTIONS)
    return title[:SECTION_WIDTH].rstrip()


def _new_citation(rng: random.Random, paper_texts: set[str]) -> _Citation:
    while True:
        tokens = _statement_tokens(rng)
        text = " ".join(tokens)
        if text not in paper_texts:
            paper_texts.add(text)
            break
    roll = rng.random()
    statement_type: StatementType = "mentioning" if roll < 0.8 else "supporting" if roll < 0.93 else "contrasting"
    section = None if rng.random() < P_NO_SECTION else _section(rng)
    return _Citation(tokens, section, statement_type, _between(rng, 50, 100))


def _new_paper(rng: random.Random, serial: int) -> _Paper:
    year = _between(rng, 1995, 2023)
    doi = _doi(rng, serial, year)
    title = f"{rng.choice(TITLE_TOPICS)} {rng.choice(TITLE_SETTINGS)}: {rng.choice(TITLE_SUBTITLES)}"
    abstract = None
    if rng.random() >= P_ABSTRACT_MISSING:
        abstract = " ".join(" ".join(_sentence(rng)) + "." for _ in range(_between(rng, 3, 7)))
    texts: set[str] = set()
    citations = [_new_citation(rng, texts) for _ in range(_between(rng, 1, 7))]
    large = rng.random() < P_LARGE_PAPER
    tallies = [
        _between(rng, 0, 40),
        _between(rng, 1000, 4000) if large else _between(rng, 1, 300),
        _between(rng, 0, 4),
        _between(rng, 0, 3),
    ]
    first_citing = min(year + _between(rng, 0, 2), 2024)
    return _Paper(
        doi=doi,
        title=title,
        year=year,
        year_shown=rng.random() >= P_YEAR_MISSING,
        abstract=abstract,
        reference_count=_between(rng, 1000, 2500) if rng.random() < 0.02 else _between(rng, 2, 120),
        tallies=tallies,
        cited_by=max(2, round(sum(tallies) * rng.uniform(0.6, 1.3))),
        citing_years=(first_citing, _between(rng, first_citing, 2024)),
        citations=citations,
    )


def _grow(rng: random.Random, paper: _Paper) -> None:
    """The paper some weeks later: more citations, some statements reclassified, some new."""
    texts = {citation.text for citation in paper.citations}
    paper.citations.extend(_new_citation(rng, texts) for _ in range(_between(rng, 1, 4)))
    for citation in paper.citations:
        if rng.random() < P_RECLASSIFIED:
            citation.type = rng.choice([t for t in ("supporting", "mentioning", "contrasting") if t != citation.type])
            citation.confidence_percent = _between(rng, 50, 100)
    paper.tallies = [count + _between(rng, 0, 12) for count in paper.tallies]
    paper.tallies[1] += 1  # the statement count always grows, so no two pages are identical
    paper.cited_by += _between(rng, 0, 15)
    paper.citing_years = (paper.citing_years[0], max(paper.citing_years[1], _between(rng, 2024, 2025)))


def _choose_shown(rng: random.Random, paper: _Paper) -> list[_Citation]:
    """The statements a save shows: on a re-save some of the last page's and some new ones."""
    if paper.saves == 0:
        shown = list(paper.citations)
    else:
        old = [c for c in paper.last_shown if rng.random() < 0.6]
        new = [c for c in paper.citations if c not in paper.last_shown and rng.random() < 0.7]
        shown = old + new or [rng.choice(paper.citations)]
    rng.shuffle(shown)
    return shown


# ---------------------------------------------------------------------------
# Rendering one page and its expected record
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Style:
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


def _choose_style(
    rng: random.Random,
    *,
    encoding: Encoding | None,
    crlf: bool | None,
    gzipped: bool | None,
    cut_off: bool | None,
    consistent: bool | None,
    gzip_fraction: float,
    canonical: bool = False,
) -> _Style:
    if encoding is None:
        roll = rng.random()
        encoding = "cp1252" if roll < P_CP1252 else "utf-8-sig" if roll < P_CP1252 + P_BOM else "utf-8"
    return _Style(
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
    rng: random.Random, citation: _Citation, type_word: str, confidence: bool
) -> tuple[str, str, list[str]]:
    """One showing: its quote marks and lines (text perhaps broken over lines, section+type, confidence)."""
    opener, closer = QUOTES["straight" if rng.random() < P_STRAIGHT_QUOTES else "curly"]
    tokens = citation.tokens
    breaks = []
    if len(tokens) > 8 and rng.random() < P_LINE_BREAKS:
        # Break before up to three tokens, at least three tokens apart and from
        # the ends so no line is a lone word, and never beside a quote mark or
        # an ellipsis so no line looks like a statement's start or end.
        for candidate in sorted({_between(rng, 3, len(tokens) - 3) for _ in range(_between(rng, 1, 3))}):
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
        self.lines.extend([""] * (_between(self._rng, 2, 4) if runs else 1))


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
    kept = abstract[: _between(rng, 20, len(abstract) - 1)]
    tail = "… Show more" if rng.random() < 0.6 else "...Show more"
    page.lines.append(f"Abstract: {kept}{tail}")
    page.blank()
    return collapse_whitespace(kept), True


def _citation_types(rng: random.Random, paper: _Paper, shown: list[_Citation], style: _Style) -> list[int]:
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


def _render(rng: random.Random, paper: _Paper, style: _Style) -> tuple[str, Record, int]:
    """The page text (LF line ends), the record the contract says it gives, and how many
    of its statements no earlier record of the paper held."""
    shown = _choose_shown(rng, paper)
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
        "Paper Sections": [_between(rng, 1, 9) for _ in range(_between(rng, 1, 5))],
        "Citation Types": type_counts,
        "Year Published": [first, first, last, last],
        "Publication Types": [_between(rng, 1, 40) for _ in range(_between(rng, 1, 3))],
        "Relationship": [_between(rng, 1, 12) for _ in range(_between(rng, 0, 2))],
        "Authors": [_between(rng, 1, 5) for _ in range(_between(rng, 1, 3))] if rng.random() < P_AUTHORS_NOT_EMPTY else [],
        "Journals": [_between(rng, 1, 5) for _ in range(_between(rng, 1, 3))] if rng.random() < P_AUTHORS_NOT_EMPTY else [],
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
    rng: random.Random, page: _PageWriter, shown: list[_Citation], style: _Style
) -> tuple[list[tuple[_Citation, Statement]], list[str]]:
    """Write the statements (one perhaps twice, the last perhaps cut off); return the
    record's statements, each with the citation it shows, and the expected warnings."""
    showings = list(shown)
    if rng.random() < P_SHOWN_TWICE:
        twice = rng.choice(shown)
        showings.insert(_between(rng, showings.index(twice) + 1, len(showings)), twice)
    without_confidence = {id(c) for c in shown if rng.random() < P_MISSING_CONFIDENCE and not style.canonical}
    cut_at = rng.randrange(len(showings)) if style.cut_off else len(showings)

    warnings: list[str] = []
    statements: dict[int, tuple[_Citation, Statement]] = {}
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
            page.lines.append(text[: _between(rng, len(opener) + 1, len(text) - len(closer))])
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


def _encode(text: str, record: Record, style: _Style) -> bytes:
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


def _file_stem(doi: str) -> str:
    """``<shard>/<doi with / as _>``: collections are split into folders, as big ones are."""
    shard = zlib.crc32(doi.encode()) & 0xFF
    return f"{shard:02x}/{doi.replace('/', '_')}"


def _page_report(rng: random.Random, paper: _Paper, style: _Style, mtime: datetime) -> GeneratedReport:
    """Save ``paper``'s page at ``mtime`` in ``style``; a re-save is named as a browser names it."""
    text, record, new_statements = _render(rng, paper, style)
    data = _encode(text, record, style)
    name = _file_stem(paper.doi) + (f" ({paper.saves + 1})" if paper.saves else "") + ".txt"
    if style.gzipped:
        data = gzip.compress(data, mtime=int(mtime.timestamp()))
        name += ".gz"
    paper.saves += 1
    paper.last_saved = mtime
    return GeneratedReport(
        name=name,
        data=data,
        mtime=mtime,
        expected=record,
        new_paper=paper.saves == 1,
        new_statements=new_statements,
        consistent=style.consistent,
    )


def _first_save_time(rng: random.Random) -> datetime:
    return FIRST_SAVE + timedelta(seconds=rng.randrange(FIRST_SAVE_SPAN_SECONDS))


def _non_report(rng: random.Random, kind: NonReport, serial: int) -> GeneratedReport:
    name = _file_stem(_doi(rng, serial, _between(rng, 1995, 2023))) + ".txt"
    mtime = _first_save_time(rng)
    if kind is NonReport.EMPTY:
        data = b""
    elif kind is NonReport.BINARY:
        header = rng.choice((b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00"))
        data = header + rng.randbytes(_between(rng, 200, 2000))
    elif kind is NonReport.LOGIN_PAGE:
        data = LOGIN_PAGE.encode()
    elif kind is NonReport.ERROR_PAGE:
        data = rng.choice(ERROR_PAGES).encode()
    else:
        # A gzip header and the first bytes of its stream: nothing recoverable, not even a DOI line.
        whole = gzip.compress(f"2013\nDOI: 10.1089/scd.2013.{serial:06d}\n".encode(), mtime=int(mtime.timestamp()))
        data = whole[: 10 + _between(rng, 0, 4)]
        name += ".gz"
    return GeneratedReport(name=name, data=data, mtime=mtime, expected=Rejection(reason=kind.value))


def generate_report(
    rng: random.Random,
    *,
    serial: int = 0,
    non_report: NonReport | None = None,
    encoding: Encoding | None = None,
    crlf: bool | None = None,
    gzipped: bool | None = None,
    cut_off: bool | None = None,
    consistent: bool | None = None,
) -> GeneratedReport:
    """One report file of a newly seen paper (or a non-report), drawn from ``rng``.

    Each keyword left ``None`` is drawn at random; set it to force that variation.
    ``serial`` makes the DOI unique within a corpus. ``consistent=False`` gives a
    page whose counts do not add up (tallies vs. statement count).
    """
    if non_report is not None:
        return _non_report(rng, non_report, serial)
    paper = _new_paper(rng, serial)
    style = _choose_style(
        rng,
        encoding=encoding,
        crlf=crlf,
        gzipped=gzipped,
        cut_off=cut_off,
        consistent=consistent,
        gzip_fraction=DEFAULT_GZIP_FRACTION,
    )
    return _page_report(rng, paper, style, _first_save_time(rng))


def generate_corpus(
    count: int,
    seed: int,
    *,
    resave_fraction: float = 0.15,
    reject_fraction: float = 0.03,
    gzip_fraction: float = DEFAULT_GZIP_FRACTION,
    duplicate_fraction: float = 0.01,
    clean: bool = False,
    canonical: bool = False,
) -> Iterator[GeneratedReport]:
    """``count`` generated files, deterministic from ``seed``, one at a time.

    Of the files, about ``reject_fraction`` are non-reports (their kinds taken in
    turn), ``resave_fraction`` are later saves of a recently generated paper,
    ``duplicate_fraction`` byte-identical copies of the previous report file under
    another name, and ``gzip_fraction`` are gzipped. ``clean=True`` makes every
    page's counts add up; otherwise about 5% do not.

    ``canonical=True`` gives only canonical pages (``docs/report-format.md``; what
    ``tasks.reading.parse_vectorized`` reads): no non-report, and every page UTF-8
    with LF line ends, whole, with four Citation Types numbers and every
    statement's confidence. Re-saves, copies, gzip and the layout's other
    variations (quotes, line breaks, blank runs, prefixed DOIs…) stay as they are.
    """
    if canonical:
        reject_fraction = 0.0
    rng = random.Random(seed)
    recent: deque[_Paper] = deque(maxlen=RESAVE_POOL)
    non_report_kinds = list(NonReport)
    rejections = 0
    previous: GeneratedReport | None = None
    for serial in range(count):
        roll = rng.random()
        if roll < reject_fraction:
            yield _non_report(rng, non_report_kinds[rejections % len(non_report_kinds)], serial)
            rejections += 1
            continue
        roll -= reject_fraction
        if roll < duplicate_fraction and previous is not None:
            copy_name = previous.name.replace(".txt", " - Copy.txt", 1)
            yield replace(previous, name=copy_name, duplicate=True, new_paper=False, new_statements=0)
            previous = None  # one copy per page, so copy names stay unique
            continue
        roll -= duplicate_fraction
        style = _choose_style(
            rng,
            encoding="utf-8" if canonical else None,
            crlf=False if canonical else None,
            gzipped=None,
            cut_off=False if canonical else None,
            consistent=True if clean else None,
            gzip_fraction=gzip_fraction,
            canonical=canonical,
        )
        if roll < resave_fraction and recent:
            paper = rng.choice(recent)
            _grow(rng, paper)
            mtime = paper.last_saved + timedelta(seconds=_between(rng, 86_400, 120 * 86_400))
            if not clean and rng.random() < P_INCONSISTENT:
                paper.cited_by = max(2, paper.cited_by - _between(rng, 1, 20))  # a count that went down
        else:
            paper = _new_paper(rng, serial)
            recent.append(paper)
            mtime = _first_save_time(rng)
        previous = _page_report(rng, paper, style, mtime)
        yield previous


def write_corpus(out_dir: Path, count: int, seed: int, **options: object) -> CorpusSummary:
    """Write :func:`generate_corpus` ``(count, seed, **options)`` under ``out_dir`` and summarise it.

    Sub-folders are created as needed and each file's modification time is set to
    its page's save time. Files are written as they are generated.
    """
    summary = CorpusSummary()
    made: set[Path] = set()
    for report in generate_corpus(count, seed, **options):  # type: ignore[arg-type]
        path = out_dir / report.name
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(report.data)
        timestamp = report.mtime.timestamp()
        os.utime(path, (timestamp, timestamp))
        summary.add(report)
    return summary


# ---------------------------------------------------------------------------
# Comparing a parse with the expectation
# ---------------------------------------------------------------------------


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
