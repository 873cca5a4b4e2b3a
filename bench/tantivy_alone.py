"""Tantivy alone: the yardstick of bench_ingest.py for the search index's part of an ingest.

Reads a lake's statements as the index holds them (``sql/search/statements_to_index.sql``,
the same rows ``tasks.search.index.build_index`` reads) into a list in memory,
untimed; then times indexing that list into a fresh index in a temporary folder
with citelake's schema and tokenizer (``tasks.search.schema``: ``index_schema``,
``to_document``), an ``IndexWriter`` on all cores, and its commit with the
merges it started. Nothing else: no DuckDB read, no stamp, no publishing. Run::

    .venv/bin/python bench/tantivy_alone.py LAKE                 # all cores, citelake's writer heap
    .venv/bin/python bench/tantivy_alone.py LAKE --threads 1 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import tantivy

from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake
from tasks.lake.sql import read_sql
from tasks.search.index import WRITER_HEAP, current_snapshot
from tasks.search.schema import index_schema, to_document


def statement_rows(lake: Path) -> list[dict]:
    """The lake's statements at its current snapshot, as the index's documents are made from them."""
    con = open_lake(LakeLocation(path=lake.resolve()), read_only=True)
    try:
        snapshot_id = current_snapshot(con)
        return con.execute(read_sql("search/statements_to_index.sql"), {"snapshot": snapshot_id}).to_arrow_table().to_pylist()
    finally:
        con.close()


def index_rows(rows: list[dict], folder: Path, *, threads: int, heap: int) -> dict[str, float]:
    """Index ``rows`` into a new index in ``folder``; the seconds of the adds and of the commit."""
    index = tantivy.Index(index_schema(), path=str(folder), reuse=False)
    started = time.perf_counter()
    writer = index.writer(heap_size=heap, num_threads=threads)
    for row in rows:
        writer.add_document(to_document(row))
    added = time.perf_counter()
    writer.commit()
    writer.wait_merging_threads()
    committed = time.perf_counter()
    return {"add": added - started, "commit": committed - added, "seconds": committed - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lake", type=Path, help="a citelake lake folder (embedded catalog)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="the writer's indexing threads (default: all cores)")
    parser.add_argument("--heap", type=int, default=WRITER_HEAP, help=f"the writer's heap in bytes, shared by its threads (default {WRITER_HEAP:,}, citelake's)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    arguments = parser.parse_args()

    started = time.perf_counter()
    rows = statement_rows(arguments.lake)
    loaded = time.perf_counter() - started
    folder = Path(tempfile.mkdtemp(prefix="citelake-tantivy-alone-"))
    try:
        figures = index_rows(rows, folder, threads=arguments.threads, heap=arguments.heap)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures |= {
        "documents": len(rows), "load": loaded, "threads": arguments.threads, "heap": arguments.heap,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip
    if arguments.json:
        print(json.dumps(figures))
    else:
        print(f"{len(rows):,} statements indexed in {figures['seconds']:.2f} s (adds {figures['add']:.2f} s, commit "
              f"{figures['commit']:.2f} s) on {arguments.threads} threads, heap {arguments.heap / 1e6:,.0f} MB; "
              f"read from the lake first in {loaded:.2f} s, not counted; peak {figures['peak_mb']:,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
