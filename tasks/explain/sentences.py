"""The sentences of an explanation, built from the rows of the fact groups' queries (``sql/explain``).

Each :class:`Sentence` keeps the numbers it states and the SQL file they come
from. The sentences say only what the lake holds: a saved API tally counts
statements but quotes none, and the sentences tell it from a saved page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tasks.lake.tables import SECTION_CATEGORIES, TALLY_CLASSES

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


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an explanation: its text, the numbers it states (column → value) and their SQL file."""

    section: str
    text: str
    numbers: dict[str, Any]
    sql: str
    quote: str | None = None


def sql_file(group: str) -> str:
    """The name (under ``sql/``) of a fact group's query."""
    return f"explain/{group}.sql"


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


def sentences_of(facts: dict[str, dict[str, Any]]) -> Iterable[Sentence]:
    """The sentences of one paper's facts (one row per fact group), in reading order."""
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
