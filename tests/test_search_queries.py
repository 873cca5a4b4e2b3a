"""What a query may be, and what each hit's snippet shows: on small indexes built here with real tantivy.

Queries that name nothing to search for (``""``, ``*``, operators or
punctuation alone, only excluded terms) are refused with one line; every hit of
a query that matches the statement text has a snippet marking one of its terms.
The command's cases run on a lake of the saved scite API responses
(examples/api), whose statements have no text.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tantivy

from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.search.query import (
    PREFIX_TERMS_MARKED,
    SNIPPET_CHARS,
    EmptyQueryError,
    QuerySyntaxError,
    has_words,
    search_index,
)
from memory_index import memory_index
from tasks.search.schema import TEXT_ANALYZER

REPO = Path(__file__).resolve().parent.parent
FILLER = "Earlier work measured serum markers in a small group of patients over several years. " * 12
# More terms under one prefix than snippet_query lists for it, each in one statement.
KAPPAS = [f"kappa{number:02d}" for number in range(PREFIX_TERMS_MARKED + 10)]
WITHOUT_WORDS = ["", "   ", "*", "* *", "(* OR *)", "*^2", "title:*", '""', ".", "...", "-", "+", "()", "OR", "AND", "NOT", ":", "?!"]


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
    return memory_index(STATEMENTS)


def marked_words(snippet: str) -> list[str]:
    return re.findall(r"<b>(.*?)</b>", snippet)


def query_terms(query: str) -> tuple[set[str], list[str]]:
    """The stemmed words of ``query`` and its prefixes (``word*``, and ``/word.*/`` in a regex)."""
    words = [word for word in re.findall(r"\w+", query) if word not in ("OR", "AND", "NOT")]
    stems = {stem for word in words for stem in TEXT_ANALYZER.analyze(word)}
    return stems, [word.lower() for word in re.findall(r"(\w+)\.?\*", query)]


# ---------------------------------------------------------------------------
# What a query may be
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", WITHOUT_WORDS)
def test_a_query_without_words_is_refused_before_parsing(index: tantivy.Index, query: str) -> None:
    assert not has_words(query)
    with pytest.raises(EmptyQueryError, match=r"^empty query: give words to search for$"):
        search_index(index, query)


def test_words_make_a_query_whatever_the_operators_around_them() -> None:
    for query in ["cells", '"T cells"', "-mice cells", "title:lichen", "immuno*", "a OR b", "cells^2", "text:/imm.*/", "or"]:
        assert has_words(query), query


def test_a_query_that_only_excludes_is_refused_saying_so(index: tantivy.Index) -> None:
    for query in ["-mice", "-mice -cord", "NOT mice"]:
        with pytest.raises(EmptyQueryError, match="only excludes: give words to search for too") as raised:
            search_index(index, query)
        assert "\n" not in str(raised.value)
    assert search_index(index, "regulatory cells -mice")["statement_id"].to_list() == ["s003"]


def test_a_malformed_query_is_still_a_syntax_error_not_an_empty_one(index: tantivy.Index) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        search_index(index, '"unterminated')
    assert not isinstance(raised.value, EmptyQueryError)


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
            (stem,) = TEXT_ANALYZER.analyze(word)
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


# ---------------------------------------------------------------------------
# The command, on the saved API responses (statements without text)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_lake(tmp_path_factory) -> LakeLocation:
    location = LakeLocation(path=tmp_path_factory.mktemp("search-api") / "lake")
    ingest(REPO / "examples" / "api", location, workers=1)
    return location


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_the_command_refuses_an_empty_or_all_wildcard_query_with_exit_2(api_lake: LakeLocation) -> None:
    for query in ["", "*", "* *"]:
        result = run_cli("search", "--lake", str(api_lake.path), "--", query)
        assert result.returncode == 2, (query, result.stderr)
        assert result.stderr == "citelake search: empty query: give words to search for (see citelake search --help)\n"


@pytest.mark.slow
def test_a_query_starting_with_a_minus_goes_after_double_dash(api_lake: LakeLocation) -> None:
    result = run_cli("search", "--lake", str(api_lake.path), "--format", "json", "--", "-mice title:cardiomyocytes")
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 3 and {hit["snippet"] for hit in hits} == {""}
    only_excluded = run_cli("search", "--lake", str(api_lake.path), "--", "-mice")
    assert only_excluded.returncode == 2 and "only excludes" in only_excluded.stderr
    help_text = run_cli("search", "--help").stdout
    assert "goes after --" in re.sub(r"[\s│]+", " ", help_text)


def test_a_word_with_an_apostrophe_is_searched_as_a_phrase_not_refused(index: tantivy.Index) -> None:
    # "snippet's" and "title's" are in statements 3 and 6; tantivy's parser took the apostrophe for syntax.
    for query, expected in (("snippet's length", "s003"), ("title’s words", "s006"), ('"the title\'s" words', "s006")):
        hits = search_index(index, query)
        assert hits["statement_id"].to_list() == [expected], query
