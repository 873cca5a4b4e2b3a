"""A tantivy index in memory with the lake's schema, for the tests of queries against fixed statements."""

from __future__ import annotations

from collections.abc import Iterable

import tantivy

from tasks.search.schema import index_schema, to_document


def memory_index(rows: Iterable[dict]) -> tantivy.Index:
    built = tantivy.Index(index_schema())  # in memory
    writer = built.writer(heap_size=15_000_000, num_threads=1)
    for row in rows:
        writer.add_document(to_document(row))
    writer.commit()
    writer.wait_merging_threads()
    built.reload()
    return built
