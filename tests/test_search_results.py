"""What ``search_index`` answers, row by row, for a fixed index: ranks, scores, the paper's fields and marked snippets.

The expected ranks, scores and snippets were written down from the answers
before the search path was made faster (issue 29: the stored fields read in one
call, the filters as term queries instead of term sets). Any change to how a
hit's row is assembled must leave them as they are, and the paper's fields must
be the statement's own. Scores are rounded to 4 places.
"""

from __future__ import annotations

import pytest
import tantivy

from tasks.search.query import RESULT_SCHEMA, SearchFilters, search_index
from memory_index import memory_index


def statement(
    number: int,
    text: str | None,
    *,
    doi: str | None = None,
    title: str | None = "A paper",
    year: int | None = 2020,
    section: str | None = "Results",
    category: str = "results",
    kind: str = "supporting",
    confidence: float | None = 0.9,
) -> dict:
    return {
        "statement_id": f"g{number:02d}",
        "doi": doi or f"10.5555/g.{number:02d}",
        "text": text,
        "title": title,
        "year": year,
        "section": section,
        "section_category": category,
        "type": kind,
        "confidence": confidence,
    }


STATEMENTS = [
    statement(
        1,
        "Regulatory T cells suppressed the graft response in mice <in vivo> & in vitro.",
        title="Tregs & grafts",
        year=2008,
        kind="supporting",
        category="results",
        confidence=0.95,
    ),
    statement(
        2,
        "Stem cells from umbilical cord blood were expanded; cells grew in culture.",
        title="Cord blood",
        year=2012,
        kind="mentioning",
        category="introduction",
        confidence=0.55,
    ),
    statement(
        3,
        "Regulatory cells were absent from the cord blood samples we typed.",
        title=None,
        year=None,
        kind="contrasting",
        category="discussion",
        confidence=0.7,
    ),
    statement(
        4,
        "The immunomodulatory effect of mesenchymal cells was modest in mice.",
        doi="10.5555/SHARED",
        title="Mesenchymal cells",
        year=2015,
        kind="mentioning",
        category="methods",
        confidence=0.81,
    ),
    statement(
        5,
        "Mice given regulatory T cells lived longer than controls did.",
        doi="10.5555/SHARED",
        title="Mesenchymal cells",
        year=2015,
        kind="supporting",
        category="results",
        confidence=None,
    ),
    statement(
        6,
        None,
        title="Regulatory cells without statement text",
        year=2001,
        kind="mentioning",
        category="unknown",
        confidence=0.6,
    ),
    statement(
        7,
        "Cells were counted in the methods; regulatory markers were stained.",
        section=None,
        category="other",
        year=1999,
        kind="contrasting",
        confidence=0.99,
    ),
    statement(
        8,
        "Earlier work measured serum markers in patients over years. " * 6 + "Only then did regulatory cells appear.",
        year=2019,
        kind="mentioning",
        category="results",
        confidence=0.5,
    ),
]


BY_ID = {row["statement_id"]: row for row in STATEMENTS}
PAPER_FIELDS = ("doi", "title", "year", "section", "section_category", "type", "confidence")

# (query, filters, limit, offset, the rows: rank, score, statement_id, snippet)
CASES = [
    ("regulatory cells", SearchFilters(), 20, 0, [
        (1, 0.7933, "g05", "Mice given <b>regulatory</b> T <b>cells</b> lived longer than controls did"),
        (2, 0.7933, "g07", "<b>Cells</b> were counted in the methods; <b>regulatory</b> markers were stained"),
        (3, 0.7698, "g03", "<b>Regulatory</b> <b>cells</b> were absent from the cord blood samples we typed"),
        (4, 0.7267, "g01", (
            "<b>Regulatory</b> T <b>cells</b> suppressed the graft response in mice &lt;in vivo&gt; "
            "&amp; in vitro"
        )),
        (5, 0.314, "g08", (
            "Earlier work measured serum markers in patients over years. Earlier work measured serum "
            "markers in patients over years. Only then did <b>regulatory</b> <b>cells</b> appear"
        )),
    ]),
    ("cells", SearchFilters(), 3, 2, [
        (3, 0.2143, "g05", "Mice given regulatory T <b>cells</b> lived longer than controls did"),
        (4, 0.2143, "g07", "<b>Cells</b> were counted in the methods; regulatory markers were stained"),
        (5, 0.208, "g03", "Regulatory <b>cells</b> were absent from the cord blood samples we typed"),
    ]),
    ('"cord blood"', SearchFilters(), 20, 0, [
        (1, 2.9224, "g03", "Regulatory cells were absent from the <b>cord</b> <b>blood</b> samples we typed"),
        (2, 2.8383, "g02", "Stem cells from umbilical <b>cord</b> <b>blood</b> were expanded; cells grew in culture"),
    ]),
    ("regul* OR mesenchym*", SearchFilters(), 20, 0, [
        (1, 1.0, "g01", "<b>Regulatory</b> T cells suppressed the graft response in mice &lt;in vivo&gt; &amp; in vitro"),
        (2, 1.0, "g03", "<b>Regulatory</b> cells were absent from the cord blood samples we typed"),
        (3, 1.0, "g04", "The immunomodulatory effect of <b>mesenchymal</b> cells was modest in mice"),
        (4, 1.0, "g05", "Mice given <b>regulatory</b> T cells lived longer than controls did"),
        (5, 1.0, "g07", "Cells were counted in the methods; <b>regulatory</b> markers were stained"),
        (6, 1.0, "g08", (
            "Earlier work measured serum markers in patients over years. Earlier work measured serum "
            "markers in patients over years. Only then did <b>regulatory</b> cells appear"
        )),
    ]),
    ("title:regulatory", SearchFilters(), 20, 0, [
        (1, 1.1534, "g06", ""),
    ]),
    ("cells", SearchFilters(types=("supporting", "contrasting")), 20, 0, [
        (1, 0.2143, "g05", "Mice given regulatory T <b>cells</b> lived longer than controls did"),
        (2, 0.2143, "g07", "<b>Cells</b> were counted in the methods; regulatory markers were stained"),
        (3, 0.208, "g03", "Regulatory <b>cells</b> were absent from the cord blood samples we typed"),
        (4, 0.1963, "g01", (
            "Regulatory T <b>cells</b> suppressed the graft response in mice &lt;in vivo&gt; &amp; in "
            "vitro"
        )),
    ]),
    ("cells", SearchFilters(types=("mentioning",), section_categories=("methods", "introduction", "results")), 20, 0, [
        (1, 0.2687, "g02", "Stem <b>cells</b> from umbilical cord blood were expanded; <b>cells</b> grew in culture"),
        (2, 0.2143, "g04", "The immunomodulatory effect of mesenchymal <b>cells</b> was modest in mice"),
        (3, 0.0848, "g08", (
            "Earlier work measured serum markers in patients over years. Earlier work measured serum "
            "markers in patients over years. Only then did regulatory <b>cells</b> appear"
        )),
    ]),
    ("cells", SearchFilters(year_from=2008, year_to=2015, min_confidence=0.6), 20, 0, [
        (1, 0.2143, "g04", "The immunomodulatory effect of mesenchymal <b>cells</b> was modest in mice"),
        (2, 0.1963, "g01", (
            "Regulatory T <b>cells</b> suppressed the graft response in mice &lt;in vivo&gt; &amp; in "
            "vitro"
        )),
    ]),
    ("cells OR mice", SearchFilters(doi="10.5555/shared"), 20, 0, [
        (1, 1.3246, "g04", "The immunomodulatory effect of mesenchymal <b>cells</b> was modest in <b>mice</b>"),
        (2, 1.3246, "g05", "<b>Mice</b> given regulatory T <b>cells</b> lived longer than controls did"),
    ]),
    ("regulatory", SearchFilters(year_to=2010), 20, 0, [
        (1, 0.5789, "g07", "Cells were counted in the methods; <b>regulatory</b> markers were stained"),
        (2, 0.5304, "g01", (
            "<b>Regulatory</b> T cells suppressed the graft response in mice &lt;in vivo&gt; &amp; in "
            "vitro"
        )),
    ]),
]


@pytest.fixture(scope="module")
def index() -> tantivy.Index:
    return memory_index(STATEMENTS)


@pytest.mark.parametrize(
    ("query", "filters", "limit", "offset", "expected"), CASES, ids=[f"{case[0]}{repr(case[1])[13:]}" for case in CASES]
)
def test_the_rows_of_a_fixed_index_are_as_written_down(
    index: tantivy.Index, query: str, filters: SearchFilters, limit: int, offset: int, expected: list[tuple]
) -> None:
    frame = search_index(index, query, filters, limit=limit, offset=offset)
    assert frame.schema == RESULT_SCHEMA
    rows = frame.to_dicts()
    assert [(row["rank"], round(row["score"], 4), row["statement_id"], row["snippet"]) for row in rows] == expected
    for row in rows:  # the paper's fields as the statement gave them, None where it had none
        given = BY_ID[row["statement_id"]]
        assert {name: row[name] for name in PAPER_FIELDS} == {name: given[name] for name in PAPER_FIELDS}
