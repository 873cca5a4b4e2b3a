"""Explaining one paper's report in plain sentences, every number from a query of ``sql/explain``.

No language model: :func:`gather_facts` runs one query per fact group
(``sql/explain/<group>.sql``, each one row per DOI of the list ``$dois``), and
:func:`explain` turns those rows into :class:`Sentence` objects. Many papers
at once (:func:`explain_each`) run each query once per chunk of DOIs, not once
per paper: the lake-wide parts (percentiles, medians) are computed together. A sentence keeps the numbers
it states and the SQL file they come from, so anyone (and a test) can re-run
that file and check each one. ``tasks.explain.forms`` writes the sentences as
text, Markdown or JSON; the HTML page is ``tasks.explain.site``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tasks.lake.sql import read_sql
from tasks.lake.tables import SECTION_CATEGORIES, TALLY_CLASSES
from tasks.reading.record import normalise_doi

# The fact groups, one SQL file each in sql/explain/, in the order the explanation reads.
FACT_GROUPS: tuple[str, ...] = ("counts", "balance", "standing", "trend", "changes", "sections", "evidence", "caveats")
# Below this many comparable papers a percentile says nothing; the explanation says so.
MIN_PEERS = 10
# Data whose latest page is older than this many days get a caveat.
STALE_AFTER_DAYS = 90

HEADINGS: dict[str, str] = {
    "counts": "What the counts are",
    "balance": "How the citing statements lean",
    "standing": "Compared with the other papers in the lake",
    "trend": "How it changed across the saved pages",
    "sections": "Where in the citing papers it is cited",
    "evidence": "The evidence, quoted",
    "caveats": "Keep in mind",
}


class PaperNotFound(LookupError):
    """The lake holds no paper with this DOI; ``nearest`` are DOIs sharing the longest prefix with it."""

    def __init__(self, doi: str, nearest: Sequence[str]) -> None:
        self.doi = doi
        self.nearest = list(nearest)
        hint = f"; nearest by prefix: {', '.join(self.nearest)}" if self.nearest else "; no DOI in the lake shares its prefix"
        super().__init__(f"{doi} is not in the lake{hint}")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an explanation: its text, the numbers it states (column → value) and their SQL file."""

    section: str
    text: str
    numbers: dict[str, Any]
    sql: str
    quote: str | None = None


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


def sql_file(group: str) -> str:
    """The name (under ``sql/``) of a fact group's query."""
    return f"explain/{group}.sql"


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
    explanation.sentences = list(_sentences(facts))
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


# ---------------------------------------------------------------------------
# The sentences
# ---------------------------------------------------------------------------


def _n(value: int | None) -> str:
    return "an unknown number of" if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _verb(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _pick(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


def _say(section: str, group: str, text: str, row: dict[str, Any], *names: str, quote: str | None = None) -> Sentence:
    return Sentence(section=section, text=text, numbers=_pick(row, *names), sql=sql_file(group), quote=quote)


def _sentences(facts: dict[str, dict[str, Any]]) -> Iterable[Sentence]:
    yield from _count_sentences(facts["counts"])
    yield from _balance_sentences(facts["balance"])
    yield from _standing_sentences(facts["standing"], facts["balance"])
    yield from _trend_sentences(facts["trend"], facts["changes"])
    yield from _section_sentences(facts["sections"])
    yield from _evidence_sentences(facts["evidence"], facts["balance"])
    yield from _caveat_sentences(facts["caveats"], facts["changes"])


def _count_sentences(row: dict[str, Any]) -> Iterable[Sentence]:
    yield _say(
        "counts",
        "counts",
        f"{_n(row['cited_by'])} publications cite this paper, and the report found "
        f"{_n(row['statement_count'])} citation statements in them: the sentences in which a citing paper refers to it.",
        row,
        "cited_by",
        "statement_count",
    )
    held = f"The lake holds {_plural(row['statements_held'], 'of these statements', 'of these statements')} word for word"
    if row["last_quoted"] is None:
        yield _say(
            "counts", "counts", f"{held} (a saved page quotes only a few); none of its pages quoted any.", row,
            "statements_held",
        )
    elif row["statements_shown"]:
        yield _say(
            "counts",
            "counts",
            f"{held} (a saved page quotes only a few); the latest page quoted {_n(row['statements_shown'])}.",
            row,
            "statements_held",
            "statements_shown",
        )
    else:
        # The latest count is an API tally (or a page quoting none): name the page the quotes are from.
        yield _say(
            "counts",
            "counts",
            f"{held} (a saved page quotes only a few); the latest page to quote any, of "
            f"{row['last_quoted_on'].isoformat()}, quoted {row['last_quoted']:,}.",
            row,
            "statements_held",
            "last_quoted_on",
            "last_quoted",
        )
    if row["reference_count"] is not None:
        yield _say("counts", "counts", f"The paper itself cites {row['reference_count']:,} works.", row, "reference_count")
    if row["citing_year_min"] is not None:
        yield _say(
            "counts",
            "counts",
            f"The citing works were all published in {row['citing_year_min']}."
            if row["citing_year_min"] == row["citing_year_max"]
            else f"The citing works were published from {row['citing_year_min']} to {row['citing_year_max']}.",
            row,
            "citing_year_min",
            "citing_year_max",
        )


def _balance_sentences(row: dict[str, Any]) -> Iterable[Sentence]:
    if not row or row["tally_total"] is None:
        yield Sentence(
            "balance", "The latest page did not show the four citation-type tallies, so there is no balance to report.",
            {}, sql_file("balance")
        )
        return
    yield _say(
        "balance",
        "balance",
        f"Of the {row['tally_total']:,} statements the type tallies count, {row['supporting']:,} "
        f"{_verb(row['supporting'], 'supports', 'support')} the paper's findings ({_pct(row['supporting_pct'])}), "
        f"{row['mentioning']:,} merely {_verb(row['mentioning'], 'mentions', 'mention')} it ({_pct(row['mentioning_pct'])}), "
        f"{row['contrasting']:,} {_verb(row['contrasting'], 'contrasts', 'contrast')} with it ({_pct(row['contrasting_pct'])}) "
        f"and {row['unclassified']:,} {_verb(row['unclassified'], 'is', 'are')} unclassified ({_pct(row['unclassified_pct'])}).",
        row,
        "tally_total",
        "supporting",
        "supporting_pct",
        "mentioning",
        "mentioning_pct",
        "contrasting",
        "contrasting_pct",
        "unclassified",
        "unclassified_pct",
    )


def _standing_sentences(row: dict[str, Any], balance: dict[str, Any]) -> Iterable[Sentence]:
    if not row:
        return
    peers = row["peer_papers"]
    if peers == 0:
        yield _say(
            "standing",
            "standing",
            "No other paper in the lake has at least as many citation statements, so there is nothing to compare it with.",
            row,
            "peer_papers",
        )
    else:
        yield _say(
            "standing",
            "standing",
            f"Among the {_plural(peers, 'other paper')} in the lake with at least as many citation statements, its "
            f"contrasting share is higher than that of {row['peers_lower_contrasting']:,} "
            f"(percentile {row['contrasting_percentile']:.1f}) and its supporting share higher than that of "
            f"{row['peers_lower_supporting']:,} (percentile {row['supporting_percentile']:.1f}).",
            row,
            "peer_papers",
            "peers_lower_contrasting",
            "contrasting_percentile",
            "peers_lower_supporting",
            "supporting_percentile",
        )
        if peers < MIN_PEERS:
            yield _say(
                "standing",
                "standing",
                f"That comparison rests on only {_plural(peers, 'paper')}, fewer than {MIN_PEERS}: "
                "too few for the percentiles to mean anything.",
                row,
                "peer_papers",
            )
    yield _say(
        "standing",
        "standing",
        f"The median paper of the {_plural(row['lake_papers'], 'paper')} with tallies in the lake has "
        f"{_pct(row['median_supporting_pct'])} supporting, {_pct(row['median_mentioning_pct'])} mentioning, "
        f"{_pct(row['median_contrasting_pct'])} contrasting and {_pct(row['median_unclassified_pct'])} unclassified statements.",
        row,
        "lake_papers",
        "median_supporting_pct",
        "median_mentioning_pct",
        "median_contrasting_pct",
        "median_unclassified_pct",
    )


def _change(value: int | None, what: str) -> str:
    if value is None:
        return f"{what} is unknown on one of the pages"
    if value > 0:
        return f"{what} grew by {value:,}"
    if value < 0:
        return f"{what} fell by {-value:,}"
    return f"{what} did not change"


def _trend_sentences(row: dict[str, Any], changes: dict[str, Any]) -> Iterable[Sentence]:
    if row["pages"] == 1:
        what = "API tally" if row["api_tallies"] else "saved page"
        yield _say(
            "trend",
            "trend",
            f"The lake holds 1 {what} of this report, from {row['first_saved_on'].isoformat()}, so there is no trend yet.",
            row,
            "pages",
            *(("api_tallies",) if row["api_tallies"] else ()),
            "first_saved_on",
        )
        return
    span = (
        f"from {row['first_saved_on'].isoformat()} to {row['last_saved_on'].isoformat()} "
        f"({_plural(row['days_between'], 'day')} apart)"
    )
    if not (row["api_tallies"] and row["saved_pages"]):
        what = _plural(row["pages"], "API tally", "API tallies") if row["api_tallies"] else f"{row['pages']:,} saved pages"
        yield _say(
            "trend", "trend", f"The lake holds {what} of this report, {span}.", row,
            "pages", "first_saved_on", "last_saved_on", "days_between",
        )
    else:
        # Saved API tallies count, but quote nothing: the reader is told which is which.
        yield _say(
            "trend",
            "trend",
            f"The lake holds {row['pages']:,} counts of this report, {_plural(row['saved_pages'], 'saved page')} and "
            f"{_plural(row['api_tallies'], 'API tally', 'API tallies')}, {span}.",
            row,
            "pages",
            "saved_pages",
            "api_tallies",
            "first_saved_on",
            "last_saved_on",
            "days_between",
        )
    between = "Between the first and the latest of them" if row["api_tallies"] else "Between the first and the latest page"
    yield _say(
        "trend",
        "trend",
        f"{between}, {_change(row['cited_by_growth'], 'the number of citing publications')} "
        f"(from {_n(row['first_cited_by'])} to {_n(row['last_cited_by'])}) and "
        f"{_change(row['statement_count_growth'], 'the number of citation statements')} "
        f"(from {_n(row['first_statement_count'])} to {_n(row['last_statement_count'])}).",
        row,
        "cited_by_growth",
        "first_cited_by",
        "last_cited_by",
        "statement_count_growth",
        "first_statement_count",
        "last_statement_count",
    )
    yield _say(
        "trend",
        "trend",
        "By type: " + ", ".join(_change(row[f"{kind}_growth"], kind) for kind in TALLY_CLASSES) + ".",
        row,
        *(f"{kind}_growth" for kind in TALLY_CLASSES),
    )
    reclassified = f"{_plural(changes['statements_reclassified'], 'statement')} changed type from one page to the next"
    if changes["first_quoted_on"] is None:
        yield _say(
            "trend",
            "changes",
            f"None of them quotes a statement, so the lake cannot tell which statements are new; {reclassified}.",
            changes,
            "first_quoted_on",
            "statements_reclassified",
        )
        return
    # New since the first page that quotes any: an API tally quotes none, so it is no baseline.
    yield _say(
        "trend",
        "changes",
        f"{_plural(changes['statements_appeared'], 'quoted statement')} appeared after the first page that quoted any "
        f"(of {changes['first_quoted_on'].isoformat()}), and {reclassified}.",
        changes,
        "first_quoted_on",
        "statements_appeared",
        "statements_reclassified",
    )


def _section_sentences(row: dict[str, Any]) -> Iterable[Sentence]:
    if not row["sectioned_statements"]:
        yield _say(
            "sections", "sections", "The lake holds none of its statements, so it cannot say where it is cited.", row,
            "sectioned_statements",
        )
        return
    present = sorted(
        (category for category in SECTION_CATEGORIES if row[f"{category}_statements"]),
        key=lambda category: (-row[f"{category}_statements"], SECTION_CATEGORIES.index(category)),
    )
    parts = [
        f"{'no section given' if category == 'unknown' else category} {row[f'{category}_statements']:,} "
        f"({_pct(row[f'{category}_pct'])})"
        for category in present
    ]
    yield _say(
        "sections",
        "sections",
        f"Of the {_plural(row['sectioned_statements'], 'statement')} the lake holds, by the section of the citing paper: "
        + ", ".join(parts)
        + ".",
        row,
        "sectioned_statements",
        *(name for category in present for name in (f"{category}_statements", f"{category}_pct")),
    )


def _section_name(section: str | None) -> str:
    return f"the section “{section}”" if section else "no named section"


def _evidence_sentences(row: dict[str, Any], balance: dict[str, Any]) -> Iterable[Sentence]:
    for kind in ("supporting", "contrasting"):
        if row[f"{kind}_statement_id"] is not None:
            yield _say(
                "evidence",
                "evidence",
                f"The strongest {kind} statement the lake holds ({_plural(row[f'{kind}_held'], kind + ' statement')} in all), "
                f"from {_section_name(row[f'{kind}_section'])}, classified with {_pct(row[f'{kind}_confidence_pct'])} "
                f"confidence (statement {row[f'{kind}_statement_id']}):",
                row,
                f"{kind}_held",
                f"{kind}_confidence_pct",
                f"{kind}_statement_id",
                quote=row[f"{kind}_text"],
            )
        else:
            tallied = row[f"{kind}_tallied"]
            text = f"No saved page quotes a {kind} statement: the lake holds {row[f'{kind}_held']:,} of them"
            if tallied:
                yield _say("evidence", "evidence", text + f", although the tallies count {tallied:,}.", row,
                           f"{kind}_held", f"{kind}_tallied")
            else:
                yield _say("evidence", "evidence", text + ".", row, f"{kind}_held")


def _caveat_sentences(row: dict[str, Any], changes: dict[str, Any]) -> Iterable[Sentence]:
    latest = "API tally" if row["last_source"] == "api" else "page"
    if row["tally_gap"]:
        yield _say(
            "caveats",
            "caveats",
            f"The type tallies add up to {row['tally_total']:,}, not to the {row['statement_count']:,} citation statements "
            f"the {latest} counts: the shares are of the tallies.",
            row,
            "tally_total",
            "statement_count",
        )
    if row["statement_count"] and row["statements_held"] < row["statement_count"]:
        # The quotes and the section mix are of every statement the lake holds, from every page; not of the latest's only.
        yield _say(
            "caveats",
            "caveats",
            f"The lake holds only {row['statements_held']:,} of its {row['statement_count']:,} statements word for word: "
            "the quotes and the section mix rest on those, not on all of them.",
            row,
            "statements_held",
            "statement_count",
        )
    if row["abstract_truncated"]:
        yield _say(
            "caveats", "caveats", "The page cut the abstract short; the lake holds only its beginning.", row,
            "abstract_truncated",
        )
    if changes["reclassifications"]:
        yield _say(
            "caveats",
            "changes",
            f"{_plural(changes['statements_reclassified'], 'statement')} changed type between pages "
            f"({_plural(changes['became_contrasting'], 'time')} to contrasting, "
            f"{_plural(changes['stopped_contrasting'], 'time')} from contrasting): the classifier is not final.",
            changes,
            "statements_reclassified",
            "became_contrasting",
            "stopped_contrasting",
        )
    if row["age_days"] is not None and row["age_days"] > STALE_AFTER_DAYS:
        yield _say(
            "caveats",
            "caveats",
            f"The latest {latest} was saved on {row['last_saved_on'].isoformat()}, {row['age_days']:,} days ago "
            f"(more than {STALE_AFTER_DAYS}): the counts may have moved since.",
            row,
            "last_saved_on",
            "age_days",
        )
