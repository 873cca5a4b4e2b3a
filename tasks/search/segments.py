"""Merging the search index's segments into one: the index's upkeep, which maintenance runs.

tantivy-py has no explicit merge call, so the published generation is rebuilt
from its own stored documents as a new generation, published as an update is
(``tasks.search.index``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import tantivy

from tasks.lake.location import LakeLocation
from tasks.search.index import (
    WRITER_HEAP,
    SearchIndexError,
    commit_writer,
    index_lock,
    index_root,
    new_generation_path,
    new_stamp,
    open_generation,
    publish_generation,
)
from tasks.search.schema import index_schema, to_document


@dataclass(frozen=True, slots=True)
class IndexMerge:
    """What merging the index's segments did."""

    segments_before: int
    segments_after: int
    documents: int


def merge_index_segments(location: LakeLocation) -> IndexMerge | None:
    """Rewrite the published generation's segments into one (dropping deleted documents), as a new generation.

    tantivy-py has no explicit merge call, so the generation is rebuilt from
    its own stored documents: same snapshot, same content, one segment. None
    when there is no usable index (the next update builds one).
    """
    with index_lock(location):
        try:
            generation = open_generation(location)
        except SearchIndexError:
            return None
        searcher = generation.index.searcher()
        before = searcher.num_segments
        if before <= 1:
            return IndexMerge(segments_before=before, segments_after=before, documents=searcher.num_docs)
        path = new_generation_path(index_root(location), generation.stamp.snapshot_id)
        path.mkdir()
        try:
            index = tantivy.Index(index_schema(), path=str(path), reuse=False)
            writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
            everything = searcher.search(tantivy.Query.all_query(), limit=max(searcher.num_docs, 1))
            for _, address in everything.hits:
                stored = searcher.doc(address).to_dict()
                writer.add_document(to_document({name: values[0] for name, values in stored.items() if values}))
            commit_writer(writer)
            index.reload()
            merged = index.searcher()
            documents, after = merged.num_docs, merged.num_segments
            publish_generation(location, path, new_stamp(location, generation.stamp.snapshot_id, documents))
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
    return IndexMerge(segments_before=before, segments_after=after, documents=documents)
