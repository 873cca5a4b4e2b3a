"""The search index's schema: its fields, the document of one statement row, and the text fields' analyzer.

What a document holds decides :data:`INDEX_FORMAT`, the format a generation's
stamp records (``tasks.search.index``): an index of another format is rebuilt.
"""

from __future__ import annotations

import functools
from typing import Any

import tantivy

# Bump when the schema or the documents change: an index of another format is rebuilt.
# 2: no first_seen and last_seen (no search used them; they were a fifth of a build's time).
INDEX_FORMAT = 2
# What the en_stem tokenizer of ``text`` and ``title`` makes of words (split, lower-cased,
# stemmed), for the queries that name indexed terms themselves: prefixes, snippet marks.
TEXT_ANALYZER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


@functools.cache
def index_schema() -> tantivy.Schema:
    """One document per statement. Raw (untokenised) fields filter and count; ``text`` and ``title`` are stemmed."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("statement_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("doi", stored=True, tokenizer_name="raw")
    builder.add_text_field("doi_key", tokenizer_name="raw")  # lower-cased: DOIs match in any case
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_integer_field("year", stored=True, indexed=True, fast=True)
    builder.add_text_field("section", stored=True)
    builder.add_text_field("section_category", stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("type", stored=True, fast=True, tokenizer_name="raw")
    builder.add_float_field("confidence", stored=True, indexed=True, fast=True)
    return builder.build()


def to_document(row: dict[str, Any]) -> tantivy.Document:
    """The index document of one statement row (``sql/search/statements_to_index.sql``); NULLs are left out.

    ``Document.from_dict`` with the schema converts each value by its field's
    type, 11 µs a row against 18 µs for ``Document(**fields)`` (the dates most),
    and the rows of a first build are hundreds of thousands.
    """
    fields = {name: value for name, value in row.items() if value is not None}
    if "doi" in fields:
        fields["doi_key"] = fields["doi"].lower()
    return tantivy.Document.from_dict(fields, index_schema())
