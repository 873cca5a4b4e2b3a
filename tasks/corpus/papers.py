"""A synthetic paper's state across saves: what the citation index knows, and how it grows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tasks.corpus import sentences
from tasks.corpus.sentences import Subject, between
from tasks.reading.record import StatementType

P_YEAR_MISSING = 0.08
P_ABSTRACT_MISSING = 0.1
P_LARGE_PAPER = 0.08
P_NO_SECTION = 0.12
P_RECLASSIFIED = 0.2

FIRST_SAVE = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(slots=True, eq=False)
class Citation:
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
class Paper:
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
    citations: list[Citation]
    words: random.Random  # draws the paper's words, apart from the page's structure
    subject: Subject
    setting: str
    saves: int = 0
    last_saved: datetime = FIRST_SAVE
    last_shown: list[Citation] = field(default_factory=list)


def draw_doi(rng: random.Random, serial: int, year: int) -> str:
    shape = rng.randrange(3)
    if shape == 0:
        return f"10.1089/scd.{year}.{serial:06d}"
    if shape == 1:
        journal = rng.choice(("cell", "jaut", "bbmt", "ijcard"))
        return f"10.1016/j.{journal}.{year}.{serial:06d}"
    return f"10.1371/journal.pone.{serial:07d}"


def new_citation(rng: random.Random, paper: Paper, paper_texts: set[str]) -> Citation:
    """A new statement citing ``paper``: its class, section and confidence from ``rng``, its words from the paper's."""
    roll = rng.random()
    statement_type: StatementType = "mentioning" if roll < 0.8 else "supporting" if roll < 0.93 else "contrasting"
    section = None if rng.random() < P_NO_SECTION else sentences.section_title(paper.words)
    while True:
        tokens = sentences.statement_tokens(paper.words, statement_type, paper.subject, paper.setting)
        text = " ".join(tokens)
        if text not in paper_texts:
            paper_texts.add(text)
            break
    return Citation(tokens, section, statement_type, between(rng, 50, 100))


def new_paper(rng: random.Random, serial: int) -> Paper:
    year = between(rng, 1995, 2023)
    doi = draw_doi(rng, serial, year)
    # The words come from a generator of their own, seeded once from the page's, so
    # that rewording the vocabulary changes no DOI, count or variation of the corpus.
    words = random.Random(rng.getrandbits(64))
    title, subject, setting = sentences.title(words)
    abstract = sentences.abstract(words, subject, setting) if rng.random() >= P_ABSTRACT_MISSING else None
    large = rng.random() < P_LARGE_PAPER
    tallies = [
        between(rng, 0, 40),
        between(rng, 1000, 4000) if large else between(rng, 1, 300),
        between(rng, 0, 4),
        between(rng, 0, 3),
    ]
    first_citing = min(year + between(rng, 0, 2), 2024)
    paper = Paper(
        doi=doi,
        title=title,
        year=year,
        year_shown=rng.random() >= P_YEAR_MISSING,
        abstract=abstract,
        reference_count=between(rng, 1000, 2500) if rng.random() < 0.02 else between(rng, 2, 120),
        tallies=tallies,
        cited_by=max(2, round(sum(tallies) * rng.uniform(0.6, 1.3))),
        citing_years=(first_citing, between(rng, first_citing, 2024)),
        citations=[],
        words=words,
        subject=subject,
        setting=setting,
    )
    texts: set[str] = set()
    paper.citations = [new_citation(rng, paper, texts) for _ in range(between(rng, 1, 7))]
    return paper


def grow(rng: random.Random, paper: Paper) -> None:
    """The paper some weeks later: more citations, some statements reclassified, some new."""
    texts = {citation.text for citation in paper.citations}
    paper.citations.extend(new_citation(rng, paper, texts) for _ in range(between(rng, 1, 4)))
    for citation in paper.citations:
        if rng.random() < P_RECLASSIFIED:
            citation.type = rng.choice([t for t in ("supporting", "mentioning", "contrasting") if t != citation.type])
            citation.confidence_percent = between(rng, 50, 100)
    paper.tallies = [count + between(rng, 0, 12) for count in paper.tallies]
    paper.tallies[1] += 1  # the statement count always grows, so no two pages are identical
    paper.cited_by += between(rng, 0, 15)
    paper.citing_years = (paper.citing_years[0], max(paper.citing_years[1], between(rng, 2024, 2025)))


def choose_shown(rng: random.Random, paper: Paper) -> list[Citation]:
    """The statements a save shows: on a re-save some of the last page's and some new ones."""
    if paper.saves == 0:
        shown = list(paper.citations)
    else:
        old = [c for c in paper.last_shown if rng.random() < 0.6]
        new = [c for c in paper.citations if c not in paper.last_shown and rng.random() < 0.7]
        shown = old + new or [rng.choice(paper.citations)]
    rng.shuffle(shown)
    return shown
