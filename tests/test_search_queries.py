"""What each hit's snippet shows: on a small index built here with real tantivy.

Every hit of a query that matches the statement text has a snippet marking one
of its terms; a match elsewhere shows the text's start.
"""

from __future__ import annotations

import re

import pytest
import tantivy

from tasks.search.index import index_schema, to_document
from tasks.search.query import PREFIX_TERMS_MARKED, SNIPPET_CHARS, search_index

STEMMER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)
FILLER = "Earlier work measured serum markers in a small group of patients over several years. " * 12
# More terms under one prefix than snippet_query lists for it, each in one statement.
KAPPAS = [f"kappa{number:02d}" for number in range(PREFIX_TERMS_MARKED + 10)]


def statement(number: int, text: str | None, *, title: str = "A paper", section: str = "Results") -> dict:
    return {
        "statement_id": f"s{number:03d}",
        "doi": f"10.5555/q.{number:03d}",
        "text": text,
        "title": title,
        "year": 2020,
        "section": section,
        "section_category": "results",
        "type": "supporting",
        "confidence": 0.9,
    }


STATEMENTS = [
    statement(1, "Regulatory T cells suppressed the graft response in mice."),
    statement(2, "Stem cells from umbilical cord blood were expanded in culture."),
    statement(3, FILLER + "Only at the end do regulatory cells appear, far past the snippet's length."),
    statement(4, "The immunomodulatory effect of mesenchymal cells was modest."),
    statement(5, "Cord blood banking has grown; the trial enrolled regulatory affairs staff."),
    statement(6, "Nothing here matches the title's words.", title="Lichen growth on volcanic basalt"),
    statement(7, None, title="Lichen surveys without statement text"),
    statement(8, "Cells were counted in the methods.", section="Immunohistochemistry methods"),
    *(statement(100 + number, f"The cohort was typed for {kappa} alleles.") for number, kappa in enumerate(KAPPAS)),
]


@pytest.fixture(scope="module")
def index() -> tantivy.Index:
    built = tantivy.Index(index_schema())  # in memory
    writer = built.writer(heap_size=15_000_000, num_threads=1)
    for row in STATEMENTS:
        writer.add_document(to_document(row))
    writer.commit()
    writer.wait_merging_threads()
    built.reload()
    return built


def marked_words(snippet: str) -> list[str]:
    return re.findall(r"<b>(.*?)</b>", snippet)


def query_terms(query: str) -> tuple[set[str], list[str]]:
    """The stemmed words of ``query`` and its prefixes (``word*``, and ``/word.*/`` in a regex)."""
    words = [word for word in re.findall(r"\w+", query) if word not in ("OR", "AND", "NOT")]
    stems = {stem for word in words for stem in STEMMER.analyze(word)}
    return stems, [word.lower() for word in re.findall(r"(\w+)\.?\*", query)]


# ---------------------------------------------------------------------------
# Snippets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "regulatory cells",
        '"regulatory T cells" OR cord',
        "stem OR immunomodulatory",
        "cord blood -stem",
        "immuno* cells",
        "kappa* OR lichen",
        "text:/kappa5.*/ OR mesenchymal",
    ],
)
def test_each_hit_snippet_marks_a_term_of_the_query(index: tantivy.Index, query: str) -> None:
    hits = search_index(index, query, limit=100)
    assert hits.height > 0
    stems, prefixes = query_terms(query)
    for row in hits.iter_rows(named=True):
        marked = marked_words(row["snippet"])
        assert marked, (query, row["statement_id"], row["snippet"])
        for word in marked:
            (stem,) = STEMMER.analyze(word)
            assert stem in stems or any(stem.startswith(prefix) for prefix in prefixes), (query, word)
        assert len(re.sub(r"</?b>", "", row["snippet"])) <= SNIPPET_CHARS


def test_a_match_in_the_title_or_section_shows_the_start_of_the_text(index: tantivy.Index) -> None:
    hits = {row["statement_id"]: row["snippet"] for row in search_index(index, "title:lichen").iter_rows(named=True)}
    assert hits == {"s006": "Nothing here matches the title's words.", "s007": ""}, "a statement without text has no snippet"
    (methods,) = search_index(index, "section:immunohistochemistry")["snippet"]
    assert methods == "Cells were counted in the methods."
    mixed = search_index(index, "title:lichen OR cord")
    assert {row["statement_id"]: bool(marked_words(row["snippet"])) for row in mixed.iter_rows(named=True)} == {
        "s002": True, "s005": True, "s006": False, "s007": False
    }
