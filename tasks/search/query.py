"""Searching citation statements: the query language, the page's filters, facets, and :func:`search`.

A query is tantivy's query language over the statement text, every term
required unless ``OR`` says otherwise: ``stem cells`` (both), ``"stem cells"``
(the phrase), ``stem OR cord``, ``-mouse`` (excluded), ``immuno*`` (a prefix,
which tantivy's parser does not do: :func:`translate_prefixes` turns it into a
regex over the indexed terms). ``title:word`` searches the cited paper's title.
Filters (:class:`SearchFilters`) narrow the matches without changing their scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
import tantivy

from tasks.lake.location import LakeLocation
from tasks.lake.tables import SECTION_CATEGORIES, STATEMENT_TYPES
from tasks.search.index import (
    Generation,
    IndexBusy,
    IndexWriteError,
    Notify,
    SearchIndexError,
    _stderr,
    ensure_index,
    open_generation,
    update_index,
)
from tasks.search.schema import TEXT_ANALYZER

DEFAULT_FIELDS = ["text"]
# The result's columns read from the stored document, in RESULT_SCHEMA's order.
_STORED_COLUMNS = ("statement_id", "doi", "title", "year", "section", "section_category", "type", "confidence")
SNIPPET_CHARS = 240
PREFIX_TERMS_MARKED = 50  # indexed terms of one prefix that snippets mark
FACET_FIELDS = ("type", "section_category", "year")
MISSING_YEAR = -1  # the facet key of statements whose paper has no year

RESULT_SCHEMA = {
    "rank": pl.Int64,
    "score": pl.Float64,
    "statement_id": pl.Utf8,
    "doi": pl.Utf8,
    "title": pl.Utf8,
    "year": pl.Int64,
    "section": pl.Utf8,
    "section_category": pl.Utf8,
    "type": pl.Utf8,
    "confidence": pl.Float64,
    "snippet": pl.Utf8,
}


class QuerySyntaxError(ValueError):
    """The query (or a filter) cannot be understood; the message is one line."""


class EmptyQueryError(QuerySyntaxError):
    """The query names nothing to search for: empty, ``*``, only operators or punctuation, or only excluded terms."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """The page's filters: each one left empty/None filters nothing; several values of one filter are alternatives."""

    types: tuple[str, ...] = ()
    section_categories: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    doi: str | None = None
    min_confidence: float | None = None

    def __post_init__(self) -> None:
        unknown = [value for value in self.types if value not in STATEMENT_TYPES]
        if unknown:
            raise QuerySyntaxError(f"unknown type {unknown[0]!r}; use {', '.join(STATEMENT_TYPES)}")
        unknown = [value for value in self.section_categories if value not in SECTION_CATEGORIES]
        if unknown:
            raise QuerySyntaxError(f"unknown section category {unknown[0]!r}; use {', '.join(SECTION_CATEGORIES)}")


# Outside quotes: a bare word ending in '*', with an optional + or - before it.
_QUOTED_OR_PREFIX = re.compile(r'"[^"]*"?|(?<![\w:*])([+-]?)(\w+)\*(?![\w*])')


_QUOTED_OR_APOSTROPHE = re.compile(r'"[^"]*"?|(\w+(?:[\'\u2019]\w+)+)')


def quote_apostrophes(query: str) -> str:
    """``Crohn's disease`` → ``"Crohn's" disease``: a word with an apostrophe is a phrase, not a syntax error.

    The tokenizer splits such a word at the apostrophe; as a phrase its parts must stand together.
    """
    return _QUOTED_OR_APOSTROPHE.sub(lambda match: match.group(0) if match.group(1) is None else f'"{match.group(1)}"', query)


def translate_prefixes(query: str) -> str:
    """``word*`` → a regex on ``text`` matching indexed terms that start with the word or with its stem.

    The text field is stemmed, so ``immunomodulatory*`` must also match the
    indexed ``immunomodulatori…``. Quoted phrases and a lone ``*`` (everything)
    are left alone.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(2) is None:
            return match.group(0)
        sign, word = match.group(1), match.group(2).lower()
        stems = {word, *TEXT_ANALYZER.analyze(word)}
        alternatives = "|".join(sorted(re.escape(stem) for stem in stems if stem))
        return f"{sign}text:/({alternatives}).*/"

    return _QUOTED_OR_PREFIX.sub(replace, query)


def prefixes(query: str) -> list[str]:
    """The prefixes (lower-cased, and their stems) of the ``word*`` in ``query``, outside quotes and not excluded."""
    found: list[str] = []
    for match in _QUOTED_OR_PREFIX.finditer(query):
        if match.group(2) is not None and match.group(1) != "-":
            word = match.group(2).lower()
            found.extend(sorted({word, *TEXT_ANALYZER.analyze(word)}))
    return found


# The parts of a query: a quoted phrase, a field name, a boost, a word.
_QUERY_PART = re.compile(r'"[^"]*"?|\w+:|\^[\d.]*|\w+')
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def has_words(query: str) -> bool:
    """Whether ``query`` names a word to search for: ``""``, ``*``, ``* *``, ``title:*``, ``-``, ``OR`` or ``...`` do not."""
    for match in _QUERY_PART.finditer(query):
        part = match.group(0)
        if not part.startswith('"') and (part.endswith(":") or part.startswith("^") or part in _OPERATORS):
            continue  # a field name, a boost or an operator
        if _LETTER_OR_DIGIT.search(part):  # what tantivy's tokenizer keeps: "_" alone is no word
            return True
    return False


def require_words(query: str) -> None:
    """Raise :class:`EmptyQueryError` when ``query`` names nothing to search for (see :func:`has_words`).

    ``*`` alone would list every statement in index order with nothing to mark: refused, not guessed at.
    """
    if not has_words(query):
        raise EmptyQueryError("empty query: give words to search for")


# A regex on the text field in a translated query (``word*`` becomes one), with its sign.
_TEXT_REGEX = re.compile(r'"[^"]*"?|(?<![\w:])([+-]?)text:/((?:[^/\\]|\\.)*)/')


def text_regexes(query: str) -> list[re.Pattern[str]]:
    """The regexes (``word*`` prefixes and ``text:/…/``) that ``query`` matches indexed text terms with, not excluded.

    Python's ``re`` reads tantivy's regex syntax alike for what queries use; one it cannot read is left out.
    """
    found: list[re.Pattern[str]] = []
    for match in _TEXT_REGEX.finditer(translate_prefixes(query)):
        if match.group(2) is None or match.group(1) == "-":
            continue
        try:
            found.append(re.compile(match.group(2).replace("\\/", "/")))
        except re.error:
            continue
    return found


def snippet_query(searcher: tantivy.Searcher, schema: tantivy.Schema, query: str, text_query: tantivy.Query) -> tantivy.Query:
    """The text query plus the indexed terms its prefixes stand for, so that snippets mark prefix matches too."""
    terms = {
        term
        for prefix in prefixes(query)
        for term, _ in searcher.terms_with_prefix("text", prefix, limit=PREFIX_TERMS_MARKED)
    }
    if not terms:
        return text_query
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, text_query), (tantivy.Occur.Should, tantivy.Query.term_set_query(schema, "text", sorted(terms)))]
    )


def parse_user_query(index: tantivy.Index, query: str) -> tantivy.Query:
    """The user's query as a tantivy query (all terms required).

    Raises :class:`EmptyQueryError` when it names nothing to search for, or
    only terms to exclude; :class:`QuerySyntaxError` when it is malformed.
    """
    require_words(query)
    try:
        return index.parse_query(
            translate_prefixes(quote_apostrophes(query)), DEFAULT_FIELDS, conjunction_by_default=True, allow_regexes=True
        )
    except ValueError as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else "syntax error"
        if "only excluding terms" in detail.lower():
            raise EmptyQueryError(f"the query {query!r} only excludes: give words to search for too") from None
        raise QuerySyntaxError(f"cannot parse the query {query!r}: {detail}") from None


def filter_queries(schema: tantivy.Schema, filters: SearchFilters) -> list[tantivy.Query]:
    """One query per filter set; they score nothing (constant 0), so they never change the ranking."""
    found: list[tantivy.Query] = []

    def any_of(field: str, values: Iterable[str]) -> tantivy.Query:
        # Term queries, not a term set: a term set reads every posting of its terms into a bitset
        # first (a type is a third of the index), a term query skips along beside the text's terms.
        terms = [tantivy.Query.term_query(schema, field, value) for value in dict.fromkeys(values)]
        return terms[0] if len(terms) == 1 else tantivy.Query.boolean_query([(tantivy.Occur.Should, term) for term in terms])

    if filters.types:
        found.append(any_of("type", filters.types))
    if filters.section_categories:
        found.append(any_of("section_category", filters.section_categories))
    if filters.year_from is not None or filters.year_to is not None:
        found.append(
            tantivy.Query.range_query(
                schema, "year", tantivy.FieldType.Integer, lower_bound=filters.year_from, upper_bound=filters.year_to
            )
        )
    if filters.doi:
        found.append(tantivy.Query.term_query(schema, "doi_key", filters.doi.strip().lower()))
    if filters.min_confidence is not None:
        found.append(
            tantivy.Query.range_query(
                schema, "confidence", tantivy.FieldType.Float, lower_bound=float(filters.min_confidence)
            )
        )
    return [tantivy.Query.const_score_query(query, 0.0) for query in found]


def build_query(index: tantivy.Index, query: str, filters: SearchFilters | None) -> tuple[tantivy.Query, tantivy.Query]:
    """(the whole query with filters, the user's text query alone: for snippets)."""
    text_query = parse_user_query(index, query)
    restrictions = filter_queries(index.schema, filters or SearchFilters())
    if not restrictions:
        return text_query, text_query
    clauses = [(tantivy.Occur.Must, text_query), *((tantivy.Occur.Must, part) for part in restrictions)]
    return tantivy.Query.boolean_query(clauses), text_query


def _generation(location: LakeLocation, refresh: bool, notify: Notify) -> Generation:
    if refresh:
        try:
            update_index(location, notify=notify, wait=False)
        except IndexBusy:
            pass  # an update is under way: answer from the state published before it
        except (IndexWriteError, OSError) as error:
            # A full disk, say: the generation published before still answers, for the snapshot it names.
            try:
                generation = open_generation(location)
            except SearchIndexError:
                raise error from None
            notify(f"citelake search: {error}; answering from the index of snapshot {generation.stamp.snapshot_id}")
            return generation
    return ensure_index(location, notify=notify)


def search(
    location: LakeLocation,
    query: str,
    filters: SearchFilters | None = None,
    limit: int = 20,
    offset: int = 0,
    *,
    refresh: bool = False,
    notify: Notify = _stderr,
) -> pl.DataFrame:
    """The statements matching ``query`` and ``filters``, best first: ranks ``offset+1 …``, at most ``limit`` rows.

    Columns: :data:`RESULT_SCHEMA`; ``snippet`` is HTML-escaped text with the
    matched terms in ``<b>…</b>``. Reads the published index (building it when
    it is missing, foreign or unreadable, with a line through ``notify``);
    ``refresh`` first brings it up to the lake's latest snapshot (opens the lake).
    """
    require_words(query)  # before any index work: an empty query fails the same with or without a lake
    if limit < 0 or offset < 0:
        raise QuerySyntaxError("limit and offset must not be negative")
    generation = _generation(location, refresh, notify)
    return search_index(generation.index, query, filters, limit=limit, offset=offset)


def search_index(
    index: tantivy.Index, query: str, filters: SearchFilters | None = None, limit: int = 20, offset: int = 0
) -> pl.DataFrame:
    """:func:`search` over an opened index (the published generation's, or any of :func:`tasks.search.schema.index_schema`)."""
    if limit < 0 or offset < 0:
        raise QuerySyntaxError("limit and offset must not be negative")
    full_query, text_query = build_query(index, query, filters)
    searcher = index.searcher()
    rows: list[dict[str, Any]] = []
    hits = searcher.search(full_query, limit=limit, offset=offset, count=False).hits if limit else []
    if hits:
        schema = index.schema
        snippets = _snippet_generator(searcher, schema, snippet_query(searcher, schema, query, text_query))
        regexes = text_regexes(query)
        for rank, (score, address) in enumerate(hits, start=offset + 1):
            document = searcher.doc(address)
            stored = document.to_dict()  # one call for all the fields, not one per field
            rows.append(
                {
                    "rank": rank,
                    "score": float(score),
                    **{name: values[0] if (values := stored.get(name)) else None for name in _STORED_COLUMNS},
                    "snippet": _snippet(searcher, schema, snippets, regexes, document, stored.get("text")),
                }
            )
    return pl.DataFrame(rows, schema=RESULT_SCHEMA)


def _snippet_generator(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query) -> tantivy.SnippetGenerator:
    generator = tantivy.SnippetGenerator.create(searcher, query, schema, "text")
    generator.set_max_num_chars(SNIPPET_CHARS)
    return generator


def _snippet(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    snippets: tantivy.SnippetGenerator,
    regexes: list[re.Pattern[str]],
    document: tantivy.Document,
    texts: list[str] | None,
) -> str:
    """The statement text's best fragment with the matched terms marked; its start when the match is elsewhere (title, section).

    ``texts`` is the document's ``text`` values. A statement without text (some
    scite API responses have none) has an empty snippet.
    """
    if not texts:
        return ""
    text = texts[0]
    html = snippets.snippet_from_doc(document).to_html()
    if not html and regexes:
        # A prefix or regex matched a term that snippet_query did not list (it lists
        # PREFIX_TERMS_MARKED a prefix): mark the terms of this text that it matches.
        terms = sorted({term for term in TEXT_ANALYZER.analyze(text) if any(regex.fullmatch(term) for regex in regexes)})
        if terms:
            own = _snippet_generator(searcher, schema, tantivy.Query.term_set_query(schema, "text", terms))
            html = own.snippet_from_doc(document).to_html()
    return html or _escape(text[:SNIPPET_CHARS])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class Facets:
    """Counts over the whole matching set: the total, and per type, section category and paper year."""

    total: int
    by_type: dict[str, int]
    by_section_category: dict[str, int]
    by_year: dict[int | None, int]
    snapshot_id: int


def search_facets(
    location: LakeLocation,
    query: str,
    filters: SearchFilters | None = None,
    *,
    refresh: bool = False,
    notify: Notify = _stderr,
) -> Facets:
    """Counts of every statement matching ``query`` and ``filters`` (one tantivy aggregation over fast fields)."""
    require_words(query)
    generation = _generation(location, refresh, notify)
    full_query, _ = build_query(generation.index, query, filters)
    searcher = generation.index.searcher()
    total = searcher.search(full_query, limit=1, count=True).count
    aggregations = {
        "type": {"terms": {"field": "type", "size": len(STATEMENT_TYPES) + 10}},
        "section_category": {"terms": {"field": "section_category", "size": len(SECTION_CATEGORIES) + 10}},
        "year": {"terms": {"field": "year", "size": 10_000, "missing": MISSING_YEAR}},
    }
    answer = searcher.aggregate(full_query, aggregations) if total else {}

    def buckets(name: str) -> dict[Any, int]:
        return {bucket["key"]: int(bucket["doc_count"]) for bucket in answer.get(name, {}).get("buckets", [])}

    years = {(None if int(key) == MISSING_YEAR else int(key)): count for key, count in buckets("year").items()}
    return Facets(
        total=total,
        by_type=dict(sorted(buckets("type").items())),
        by_section_category=dict(sorted(buckets("section_category").items())),
        by_year=dict(sorted(years.items(), key=lambda item: (item[0] is None, item[0] or 0))),
        snapshot_id=generation.stamp.snapshot_id,
    )
