"""Benchmark: statement search (tantivy, ``tasks.search.query.search``) side by side with DuckDB FTS ``match_bm25``.

Builds a lake with the plain ingest from a generated corpus of about
``--count`` statements (reused between runs under ``--corpus``), then measures,
for the tantivy index in ``LAKE/_search`` and for DuckDB's ``fts`` extension on
the same statements (copied with their papers into an in-memory DuckDB):

* build time and size on disk (FTS: the in-memory database, so its size is
  not on disk: the memory it adds is shown instead);
* 200 queries: 130 of 1–3 mid-frequency terms, 20 two-word phrases, 50 of 1–2
  terms with filters (type, section category, paper years, confidence);
  p50/p95/p99 of ``search()`` top-20 with paper title and marked snippets, and
  of the FTS query top-20 with the title (FTS has no snippets, and no phrases:
  a phrase is its terms, all required, plus ``text ilike '%phrase%'``);
* beside ``search()``, in the same run and over the same queries, tantivy's own
  work as the baseline: the query alone (parse + top 20 addresses), and the
  query with the 20 stored documents and their snippets (what tantivy-py does
  for a page, without assembling the answer);
* the time to apply one run of about ``--apply`` new statements to the index
  (``update_index``, the ingest flow's task), after that run is ingested;
* peak resident memory of each stage (Linux: ``/proc/self/clear_refs`` resets
  the peak between stages).

Run::

    .venv/bin/python bench/bench_search.py                     # about 20,000 statements
    .venv/bin/python bench/bench_search.py --count 1000000     # 1M statements (long)
    .venv/bin/python bench/bench_search.py --lake /tmp/l --queries-only   # again on that lake: queries only
"""

from __future__ import annotations

import argparse
import random
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tantivy

from bench.corpus import MB, ensure_corpus
from tasks.corpus.sentences import WORDS
from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.extensions import connect, load_extensions
from tasks.lake.sql import read_sql, registered
from tasks.search.index import build_index, index_lock, index_root, open_generation, update_index
from tasks.lake.tables import SECTION_CATEGORIES, STATEMENT_TYPES
from tasks.search.query import SNIPPET_CHARS, SearchFilters, build_query, search

# Distinct statements the generator's corpus holds per file, about (measured on its output).
STATEMENTS_PER_FILE = 3.5
FTS_SQL = """
select docs.statement_id, docs.doi, docs.title, docs.score
from (
    select *, fts_main_docs.match_bm25(statement_id, $query, conjunctive := 1) as score from docs
) as docs
where docs.score is not null {filters}
order by docs.score desc
limit 20
"""
SAMPLE_SQL = "select text from statements where text is not null order by hash(statement_id, $seed) limit 200"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="statements, about (default 20000)")
    parser.add_argument("--apply", type=int, default=10_000, help="new statements in the run applied to the index (default 10000)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed (default 2024)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default /tmp/citelake-bench-search-COUNT-SEED)")
    parser.add_argument("--lake", type=Path, help="lake folder, emptied first (default: a temporary folder, removed after)")
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="measure the queries only, on the lake and index --lake holds from an earlier run (kept as it is: "
        "no ingest, no build, no FTS, no run applied)",
    )
    arguments = parser.parse_args()
    if arguments.queries_only and arguments.lake is None:
        parser.error("--queries-only needs --lake, the folder of an earlier run's lake")
    return arguments


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MB
    return float("nan")


def _folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / MB


def _percentiles(seconds: list[float]) -> str:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:7.2f} ms   p95 {cuts[94] * 1000:7.2f} ms   p99 {cuts[98] * 1000:7.2f} ms"


def _queries(location: LakeLocation, seed: int) -> list[tuple[str, SearchFilters | None]]:
    """200 queries: mid-frequency terms (the middle third of the vocabulary by document frequency), phrases, filters."""
    generation = open_generation(location)
    searcher = generation.index.searcher()
    total = searcher.num_docs
    vocabulary = sorted({word for word in WORDS if re.fullmatch(r"[a-z]+", word)})
    frequency = {
        word: searcher.search(generation.index.parse_query(word, ["text"]), limit=1, count=True).count for word in vocabulary
    }
    ranked = sorted((count, word) for word, count in frequency.items() if 0 < count < total)
    middle = [word for _, word in ranked[len(ranked) // 3 : 2 * len(ranked) // 3]] or vocabulary
    rng = random.Random(seed)
    con = open_lake(location, read_only=True)
    try:
        # 200 texts chosen by the seed, not by DuckDB's sampling (which differs between runs): the same queries each time.
        texts = [row[0] for row in con.execute(SAMPLE_SQL, {"seed": seed}).fetchall()]
    finally:
        con.close()
    queries: list[tuple[str, SearchFilters | None]] = []
    for _ in range(130):
        queries.append((" ".join(rng.sample(middle, rng.randint(1, 3))), None))
    for text in rng.sample(texts, 20):
        words = [word for word in re.findall(r"[A-Za-z]+", text) if len(word) > 2]
        at = rng.randrange(max(1, len(words) - 1))
        queries.append((f'"{" ".join(words[at : at + 2]).lower()}"', None))
    for _ in range(50):
        year_from = rng.randint(1995, 2015)
        filters = SearchFilters(
            types=tuple(rng.sample(STATEMENT_TYPES, rng.randint(1, 2))),
            section_categories=tuple(rng.sample(SECTION_CATEGORIES, rng.randint(0, 3))),
            year_from=year_from,
            year_to=year_from + rng.randint(0, 15),
            min_confidence=rng.choice((None, 0.5, 0.8)),
        )
        queries.append((" ".join(rng.sample(middle, rng.randint(1, 2))), filters))
    return queries


def _fts_statement(query: str, filters: SearchFilters | None) -> tuple[str, dict]:
    parameters: dict = {"query": query.strip('"')}
    clauses = []
    if query.startswith('"'):
        clauses.append("and docs.text ilike $phrase")
        parameters["phrase"] = f"%{query.strip(chr(34))}%"
    if filters:
        if filters.types:
            clauses.append("and list_contains($types, docs.type)")
            parameters["types"] = list(filters.types)
        if filters.section_categories:
            clauses.append("and list_contains($categories, docs.section_category)")
            parameters["categories"] = list(filters.section_categories)
        if filters.year_from is not None:
            clauses.append("and docs.year between $year_from and $year_to")
            parameters |= {"year_from": filters.year_from, "year_to": filters.year_to}
        if filters.min_confidence is not None:
            clauses.append("and docs.confidence >= $min_confidence")
            parameters["min_confidence"] = filters.min_confidence
    return FTS_SQL.format(filters=" ".join(clauses)), parameters


def _timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _tantivy_alone(index: tantivy.Index, query: str, filters: SearchFilters | None, *, stored: bool) -> int:
    """tantivy's own part of one ``search()`` on an opened index: parse and top 20; with ``stored``, also the 20
    documents and their snippets."""
    full_query, text_query = build_query(index, query, filters)
    searcher = index.searcher()
    hits = searcher.search(full_query, limit=20, count=False).hits
    if stored:
        snippets = tantivy.SnippetGenerator.create(searcher, text_query, index.schema, "text")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        for _, address in hits:
            snippets.snippet_from_doc(searcher.doc(address)).to_html()
    return len(hits)


def _measure_queries(location: LakeLocation, queries: list[tuple[str, SearchFilters | None]]) -> dict[str, list[float]]:
    """Seconds of each query, by what ran it: ``search()`` and tantivy's own parts, interleaved query by query
    (after a pass over all to warm up) so that the machine's load weighs on all three alike."""
    search(location, "cells")  # open the index once, as a long-lived reader would have
    index = open_generation(location).index
    runs: dict[str, Callable[[str, SearchFilters | None], object]] = {
        "search": lambda query, filters: search(location, query, filters, limit=20),
        "tantivy": lambda query, filters: _tantivy_alone(index, query, filters, stored=False),
        "tantivy+docs": lambda query, filters: _tantivy_alone(index, query, filters, stored=True),
    }
    for run in runs.values():  # warm: the index's pages in the page cache, the store's caches
        for query, filters in queries:
            run(query, filters)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for number, (query, filters) in enumerate(queries):
        # Each goes first for a third of the queries: the one after finds the same postings
        # and the same stored blocks in the caches.
        for name in names[number % 3 :] + names[: number % 3]:
            seconds[name].append(_timed(lambda: runs[name](query, filters))[0])
    return seconds


def main() -> None:
    arguments = _arguments()
    if arguments.queries_only:
        _queries_only(LakeLocation(path=arguments.lake.resolve()), arguments)
        return
    files = max(1, round(arguments.count / STATEMENTS_PER_FILE))
    corpus_root = arguments.corpus or Path(f"/tmp/citelake-bench-search-{arguments.count}-{arguments.seed}")
    base = ensure_corpus(corpus_root / "base", files, arguments.seed)
    extra = ensure_corpus(corpus_root / "run", max(1, round(arguments.apply / STATEMENTS_PER_FILE)), arguments.seed + 1)
    lake_folder = arguments.lake or Path(tempfile.mkdtemp(prefix="citelake-bench-search-lake-"))
    shutil.rmtree(lake_folder, ignore_errors=True)
    location = LakeLocation(path=lake_folder.resolve())
    try:
        ingested = ingest(base, location)
        statements = ingested.rows_added["statements"]
        print(f"Lake {location.path}: {statements:,} statements from {files:,} generated files ({base})")
        print()

        _reset_peak()
        with index_lock(location):
            build_seconds, _ = _timed(lambda: build_index(location))
        tantivy_build_peak = _peak_mb()
        tantivy_mb = _folder_mb(index_root(location))

        queries = _queries(location, arguments.seed)
        tantivy_hits = sum(search(location, query, filters, limit=20).height for query, filters in queries)
        _reset_peak()
        measured = _measure_queries(location, queries)
        tantivy_seconds = measured["search"]
        tantivy_query_peak = _peak_mb()

        _reset_peak()
        fts = connect()
        load_extensions(fts, "fts")
        lake = open_lake(location, read_only=True)
        snapshot = lake.execute(read_sql("lake/current_snapshot.sql")).fetchone()[0]
        rows = lake.execute(read_sql("search/statements_to_index.sql"), {"snapshot": snapshot}).pl()
        lake.close()
        fts_seconds_build, _ = _timed(
            lambda: (
                _copy(fts, rows),
                fts.execute("pragma create_fts_index('docs', 'statement_id', 'text', stemmer = 'english', overwrite = 1)"),
            )
        )
        fts_build_peak = _peak_mb()
        fts_mb = fts.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchone()[0] / MB
        _reset_peak()
        fts_seconds, fts_hits = [], 0
        for query, filters in queries:
            sql, parameters = _fts_statement(query, filters)
            seconds, found = _timed(lambda: fts.execute(sql, parameters).fetchall())
            fts_seconds.append(seconds)
            fts_hits += len(found)
        fts_query_peak = _peak_mb()
        fts.close()

        run = ingest(extra, location)
        _reset_peak()
        apply_seconds, update = _timed(lambda: update_index(location))
        apply_peak = _peak_mb()
        segments = open_generation(location).index.searcher().num_segments

        print(f"{'':34}{'tantivy (citelake search)':>30}   {'DuckDB FTS match_bm25':>30}")
        print(f"{'index build':34}{build_seconds:>28.2f} s   {fts_seconds_build:>28.2f} s")
        print(f"{'index size':34}{tantivy_mb:>24.1f} MB disk   {fts_mb:>22.1f} MB memory")
        print(f"{'peak memory, build':34}{tantivy_build_peak:>27.0f} MB   {fts_build_peak:>27.0f} MB")
        print(f"{'200 queries, top 20':34}{'(title + snippets)':>30}   {'(title, no snippets)':>30}")
        print(f"  all     {_percentiles(tantivy_seconds)}")
        print(f"          {_percentiles(fts_seconds)}   (FTS)")
        for name, part in (("terms", slice(0, 130)), ("phrases", slice(130, 150)), ("filters", slice(150, 200))):
            print(f"  {name:<8}{_percentiles(tantivy_seconds[part])}")
            print(f"          {_percentiles(fts_seconds[part])}   (FTS)")
        print(f"{'hits returned':34}{tantivy_hits:>30,}   {fts_hits:>30,}")
        print()
        _print_baseline(measured)
        print()
        print(f"{'peak memory, queries':34}{tantivy_query_peak:>27.0f} MB   {fts_query_peak:>27.0f} MB")
        print(f"{'apply one run':34}{apply_seconds:>28.2f} s   (FTS: rebuild, as above)")
        print(f"  the run: {run.rows_added['statements']:,} new statements; index: {update.added:,} added, "
              f"{update.removed:,} removed, {update.documents:,} documents, {segments} segments; peak {apply_peak:.0f} MB")  # fmt: skip
    finally:
        if arguments.lake is None:
            shutil.rmtree(lake_folder, ignore_errors=True)

    command = [".venv/bin/python", "bench/bench_search.py", "--count", str(arguments.count), "--apply", str(arguments.apply),
               "--seed", str(arguments.seed), "--corpus", str(corpus_root)]  # fmt: skip
    print()
    print("Reproduce: " + shlex.join(command))


def _print_baseline(measured: dict[str, list[float]]) -> None:
    print("search() against tantivy's own work, the same 200 queries, interleaved:")
    print(f"  search()         {_percentiles(measured['search'])}   (top 20, titles, marked snippets, a polars frame)")
    print(f"  tantivy query    {_percentiles(measured['tantivy'])}   (parse + top 20 addresses)")
    print(f"  + docs, snippets {_percentiles(measured['tantivy+docs'])}   (and the 20 stored documents, their snippets)")
    for name, part in (("terms", slice(0, 130)), ("phrases", slice(130, 150)), ("filters", slice(150, 200))):
        print(f"  {name:<8} search()  {_percentiles(measured['search'][part])}")
        print(f"           tantivy   {_percentiles(measured['tantivy'][part])}")


def _queries_only(location: LakeLocation, arguments: argparse.Namespace) -> None:
    generation = open_generation(location)
    searcher = generation.index.searcher()
    print(f"Lake {location.path}: index of {searcher.num_docs:,} statements in {searcher.num_segments} segments "
          f"(snapshot {generation.stamp.snapshot_id}), kept as it is")  # fmt: skip
    print()
    queries = _queries(location, arguments.seed)
    hits = sum(search(location, query, filters, limit=20).height for query, filters in queries)
    _reset_peak()
    measured = _measure_queries(location, queries)
    peak = _peak_mb()
    _print_baseline(measured)
    print(f"hits returned {hits:,}; peak memory, queries {peak:.0f} MB")
    print()
    command = [".venv/bin/python", "bench/bench_search.py", "--lake", str(arguments.lake), "--queries-only",
               "--seed", str(arguments.seed)]  # fmt: skip
    print("Reproduce: " + shlex.join(command))


def _copy(con, rows) -> None:
    with registered(con, "rows", rows):
        con.execute("create or replace table docs as select * from rows")


if __name__ == "__main__":
    sys.exit(main())
