"""Explaining one paper's report in plain sentences, every number from a query of ``sql/explain``.

No language model: :func:`gather_facts` runs one query per fact group
(``sql/explain/<group>.sql``, each one row per DOI of the list ``$dois``), and
:func:`explain` turns those rows into sentences (``tasks.explain.sentences``).
Many papers at once (:func:`explain_each`) run each query once per chunk of
DOIs, not once per paper: the lake-wide parts (percentiles, medians) are
computed together. A sentence keeps the numbers it states and the SQL file they
come from, so anyone (and a test) can re-run that file and check each one.
``tasks.explain.forms`` writes the sentences as text, Markdown or JSON; the HTML
page is ``tasks.explain.site``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tasks.explain.sentences import HEADINGS, Sentence, sentences_of, sql_file
from tasks.lake.sql import read_sql
from tasks.reading.record import normalise_doi

# The fact groups, one SQL file each in sql/explain/, in the order the explanation reads.
FACT_GROUPS: tuple[str, ...] = ("counts", "balance", "standing", "trend", "changes", "sections", "evidence", "caveats")


class PaperNotFound(LookupError):
    """The lake holds no paper with this DOI; ``nearest`` are DOIs sharing the longest prefix with it."""

    def __init__(self, doi: str, nearest: Sequence[str]) -> None:
        self.doi = doi
        self.nearest = list(nearest)
        hint = f"; nearest by prefix: {', '.join(self.nearest)}" if self.nearest else "; no DOI in the lake shares its prefix"
        super().__init__(f"{doi} is not in the lake{hint}")


@dataclass(slots=True)
class Explanation:
    """Everything said about one paper: the facts (one row per group) and the sentences built from them."""

    doi: str
    title: str | None
    facts: dict[str, dict[str, Any]]
    sentences: list[Sentence] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def by_section(self) -> list[tuple[str, list[Sentence]]]:
        """The sentences grouped under their headings, in reading order."""
        groups: dict[str, list[Sentence]] = {}
        for sentence in self.sentences:
            groups.setdefault(sentence.section, []).append(sentence)
        return [(HEADINGS[section], groups[section]) for section in HEADINGS if section in groups]


def query_rows(con: duckdb.DuckDBPyConnection, name: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of ``sql/explain/<name>.sql`` as dicts."""
    result = con.execute(read_sql(sql_file(name)), parameters or {})
    columns = [column[0] for column in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def nearest_dois(con: duckdb.DuckDBPyConnection, doi: str) -> list[str]:
    """DOIs in the lake sharing the longest prefix with ``doi`` (at least its registrant), at most five."""
    return [row["doi"] for row in query_rows(con, "nearest_dois", {"doi": doi})]


def gather_facts(con: duckdb.DuckDBPyConnection, dois: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per DOI of ``dois`` (normalised): one row per fact group, and ``history``, its pages.

    Each group's query runs once for all of ``dois``. A group without a row for
    a DOI (no tallies, say) is an empty dict; a DOI the lake does not hold has
    an empty ``counts``.
    """
    parameters = {"dois": list(dois)}
    facts: dict[str, dict[str, dict[str, Any]]] = {doi: {group: {} for group in FACT_GROUPS} for doi in dois}
    for group in FACT_GROUPS:
        for row in query_rows(con, group, parameters):
            facts[row["doi"]][group] = row
    for doi in facts:
        facts[doi]["history"] = []
    for page in query_rows(con, "history", parameters):
        facts[page["doi"]]["history"].append(page)
    return facts


def _explanation(doi: str, facts: dict[str, Any]) -> Explanation:
    history = facts.pop("history")
    explanation = Explanation(doi=doi, title=facts["counts"]["title"], facts=facts, history=history)
    explanation.sentences = list(sentences_of(facts))
    return explanation


def explain(con: duckdb.DuckDBPyConnection, doi: str) -> Explanation:
    """The explanation of one paper's report, from the lake open on ``con`` (read-only is enough).

    Raises :class:`PaperNotFound` (with the nearest DOIs) when the lake does not hold the paper.
    """
    doi = normalise_doi(doi)
    facts = gather_facts(con, [doi])[doi]
    if not facts["counts"]:
        raise PaperNotFound(doi, nearest_dois(con, doi))
    return _explanation(doi, facts)


# Explaining many papers reads the facts of this many at a time: few queries, bounded memory.
CHUNK = 1000


def explain_each(
    con: duckdb.DuckDBPyConnection, dois: Sequence[str], *, chunk: int = CHUNK
) -> Iterator[tuple[str, Explanation | None]]:
    """``(doi, explanation)`` for each of ``dois`` (normalised, distinct) in order; ``None`` for one not in the lake.

    Gives what :func:`explain` gives for each paper, from one set of queries per ``chunk`` DOIs.
    """
    for start in range(0, len(dois), chunk):
        part = list(dois[start : start + chunk])
        facts = gather_facts(con, part)
        for doi in part:
            yield doi, (_explanation(doi, facts[doi]) if facts[doi]["counts"] else None)
