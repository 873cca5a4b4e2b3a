"""The script a user would write instead of ``citelake ingest``: the naive parser on all cores, one INSERT per table.

The yardstick of ``bench/bench_ingest.py`` for the time to commit. It uses
nothing of citelake: ``bench/naive_parser.py``'s parser in a
``multiprocessing`` pool (each worker returns its files' rows as Arrow tables),
then plain DuckDB with the ducklake extension, in one transaction: the six page
tables created and filled with one ``INSERT … SELECT`` each, the copies of a
page and a paper's older pages folded by window functions. The tables have the
names and roughly the columns of citelake's page tables (``tasks/lake/tables.py``):
``papers``, ``abstracts``, ``statements``, ``paper_snapshots``,
``statement_sightings``, ``facets``; there is no ``report_files``, no run
record, no checks, and a second run would add every row again. The catalog is
SQLite, as citelake's default lake.

The extensions come from the installed ``duckdb-extension-*`` packages, as
citelake loads them (``tasks/lake/extensions.py``): nothing is downloaded. The
SQL is written here, not in ``sql/``: the script stands alone. Run::

    .venv/bin/python bench/diy_ingest.py CORPUS LAKE            # LAKE: a new or empty folder
    .venv/bin/python bench/diy_ingest.py CORPUS LAKE --json     # the figures as JSON (bench_ingest.py reads them)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import time
from multiprocessing import Pool
from pathlib import Path

import pyarrow as pa

# The sibling file: this script runs as bench/diy_ingest.py, with bench/ first on sys.path.
from naive_parser import parse_bytes

CHUNK_FILES = 500  # files per task of the pool
_TYPES = {"supporting": "supporting", "mentioning": "mentioning", "contrasting": "contrasting", "disputing": "contrasting"}
_SECTION_WORDS = {
    "introduction": "introduction", "background": "introduction", "methods": "methods", "method": "methods",
    "materials": "methods", "results": "results", "findings": "results", "discussion": "discussion",
    "conclusion": "conclusion", "conclusions": "conclusion", "summary": "conclusion",
}  # fmt: skip
_UTC = pa.timestamp("us", tz="UTC")


def _section_category(section: str | None) -> str:
    if not section:
        return "unknown"
    for word in section.lower().replace(".", " ").split():
        if word in _SECTION_WORDS:
            return _SECTION_WORDS[word]
    return "other"


_PAGE_COLUMNS = (
    "doi", "observed_at", "source_sha256", "source_path", "title", "year", "cited_by", "statement_count",
    "reference_count", "supporting", "mentioning", "contrasting", "unclassified", "citing_year_min",
    "citing_year_max", "statements_shown", "abstract",
)  # fmt: skip
_SIGHTING_COLUMNS = (
    "statement_id", "doi", "source_sha256", "source_path", "observed_at", "position", "text", "section",
    "section_category", "type", "confidence",
)  # fmt: skip
_FACET_COLUMNS = ("doi", "source_sha256", "facet", "position", "value")


def _parse_chunk(paths: list[str]) -> dict[str, pa.Table]:
    """Read and parse ``paths``; the rows of their pages, statements and facet numbers, as Arrow tables."""
    pages, sightings, facets = [], [], []
    for path in paths:
        raw = Path(path).read_bytes()
        record = parse_bytes(raw, path)
        if record is None:
            continue
        sha256 = hashlib.sha256(raw).hexdigest()
        observed_at = int(os.stat(path).st_mtime * 1_000_000)
        doi = record["doi"]
        tallies = record["facets"].get("Citation Types") or []
        if len(tallies) != 4:
            tallies = [None] * 4
        years = record["facets"].get("Year Published") or [None]
        pages.append((
            doi, observed_at, sha256, path, record["title"], record["year"], record.get("cited_by"),
            record.get("statement_count"), record.get("reference_count"), *tallies, min(years), max(years),
            len(record["statements"]), record["abstract"],
        ))  # fmt: skip
        for position, statement in enumerate(record["statements"]):
            text, section = " ".join(statement["text"].split()), statement["section"]
            statement_id = hashlib.blake2b(f"{doi}\x1f{text}\x1f{section or ''}".encode(), digest_size=16).hexdigest()
            sightings.append((
                statement_id, doi, sha256, path, observed_at, position, text, section, _section_category(section),
                _TYPES[statement["type"]], statement.get("confidence"),
            ))  # fmt: skip
        for facet, values in record["facets"].items():
            facets.extend((doi, sha256, facet, position, value) for position, value in enumerate(values))
    return {
        "pages": _table(_PAGE_COLUMNS, pages, year=pa.int32(), citing_year_min=pa.int32(), citing_year_max=pa.int32(), statements_shown=pa.int32()),
        "sightings": _table(_SIGHTING_COLUMNS, sightings, position=pa.int32()),
        "facets": _table(_FACET_COLUMNS, facets, position=pa.int32()),
    }


def _table(names: tuple[str, ...], rows: list[tuple], **types: pa.DataType) -> pa.Table:
    """The rows as an Arrow table, column by column (``types`` where Arrow would guess otherwise)."""
    types.setdefault("observed_at", _UTC)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table({name: pa.array(column, type=types.get(name)) for name, column in zip(names, columns, strict=True)})


CREATE_TABLES = """
create table papers (
    doi varchar, title varchar, year integer, cited_by bigint, statement_count bigint, reference_count bigint,
    supporting bigint, mentioning bigint, contrasting bigint, unclassified bigint, citing_year_min integer,
    citing_year_max integer, statements_shown integer, first_seen timestamptz, last_seen timestamptz, source_sha256 varchar
);
create table abstracts (doi varchar, abstract varchar, truncated boolean, observed_at timestamptz, source_sha256 varchar);
create table statements (
    statement_id varchar, doi varchar, text varchar, section varchar, section_category varchar, type varchar,
    confidence double, first_seen timestamptz, last_seen timestamptz
);
create table paper_snapshots (
    doi varchar, observed_at timestamptz, source_sha256 varchar, source_path varchar, title varchar, year integer,
    cited_by bigint, statement_count bigint, reference_count bigint, supporting bigint, mentioning bigint,
    contrasting bigint, unclassified bigint, citing_year_min integer, citing_year_max integer, statements_shown integer
);
create table statement_sightings (
    statement_id varchar, doi varchar, source_sha256 varchar, observed_at timestamptz, position integer,
    type varchar, confidence double, seen integer
);
create table facets (doi varchar, source_sha256 varchar, facet varchar, position integer, value bigint);
"""

# One INSERT per table, in the order citelake lists them. Copies of a page (the same
# bytes) count once; a paper's and a statement's row are those of its latest page.
INSERTS = {
    "papers": """
        insert into papers
        select doi, title, year, cited_by, statement_count, reference_count, supporting, mentioning, contrasting,
               unclassified, citing_year_min, citing_year_max, statements_shown,
               min(observed_at) over paper, max(observed_at) over paper, source_sha256
        from pages
        window paper as (partition by doi)
        qualify row_number() over (partition by doi order by observed_at desc, source_sha256 desc) = 1""",
    "abstracts": """
        insert into abstracts
        select doi, abstract, false, observed_at, source_sha256
        from pages
        where abstract is not null
        qualify row_number() over (partition by doi order by observed_at desc, source_sha256 desc) = 1""",
    "statements": """
        insert into statements
        select statement_id, doi, text, section, section_category, type, confidence,
               min(observed_at) over statement, max(observed_at) over statement
        from sightings
        window statement as (partition by statement_id)
        qualify row_number() over (partition by statement_id order by observed_at desc, source_sha256 desc) = 1""",
    "paper_snapshots": """
        insert into paper_snapshots
        select * exclude (abstract)
        from pages
        qualify row_number() over (partition by source_sha256 order by source_path) = 1""",
    "statement_sightings": """
        insert into statement_sightings
        select statement_id, any_value(doi), source_sha256, any_value(observed_at), min(position),
               arg_min(type, position), arg_min(confidence, position), count(*)::integer
        from sightings
        group by statement_id, source_sha256, source_path
        qualify row_number() over (partition by statement_id, source_sha256 order by source_path) = 1""",
    "facets": "insert into facets select distinct doi, source_sha256, facet, position, value from facets_read",
}


def _extension(package: str, name: str) -> str:
    """The extension file the installed ``duckdb-extension-*`` package ships for this DuckDB."""
    import duckdb

    folder = Path(importlib.import_module(package).__file__).parent
    return str(folder / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension")


def discover(corpus: Path) -> list[str]:
    return sorted(str(path) for path in corpus.rglob("*") if path.name.endswith((".txt", ".txt.gz")) and path.is_file())


def parse_all(paths: list[str], workers: int) -> dict[str, pa.Table]:
    """Every file parsed by ``workers`` processes; their rows gathered into one Arrow table per kind."""
    chunks = [paths[start : start + CHUNK_FILES] for start in range(0, len(paths), CHUNK_FILES)]
    parts: dict[str, list[pa.Table]] = {"pages": [], "sightings": [], "facets": []}
    with Pool(workers) as pool:
        for tables in pool.imap_unordered(_parse_chunk, chunks):
            for kind, table in tables.items():
                parts[kind].append(table)
    return {kind: pa.concat_tables(tables) for kind, tables in parts.items()}


def write_lake(lake: Path, rows: dict[str, pa.Table]) -> dict[str, int]:
    """Create the lake (SQLite catalog, Parquet data under ``lake/data``) and fill it in one transaction."""
    import duckdb

    lake.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False, "allow_unsigned_extensions": True})
    con.load_extension(_extension("duckdb_extension_ducklake", "ducklake"))
    con.load_extension(_extension("duckdb_extension_sqlite_scanner", "sqlite_scanner"))
    con.execute(f"attach 'ducklake:sqlite:{lake / 'catalog.sqlite'}' as lake (data_path '{lake / 'data'}/')")
    con.execute("use lake")
    pages, sightings, facets_read = rows["pages"], rows["sightings"], rows["facets"]  # noqa: F841 - scanned by name
    added = {}
    con.execute("begin")
    con.execute(CREATE_TABLES)
    for table, insert in INSERTS.items():
        (added[table],) = con.execute(insert).fetchone()
    con.execute("commit")
    con.close()
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="folder of report files (*.txt, *.txt.gz), searched recursively")
    parser.add_argument("lake", type=Path, help="the lake's folder: new, or empty")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parser processes (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    arguments = parser.parse_args()
    if arguments.lake.exists() and any(arguments.lake.iterdir()):
        parser.error(f"{arguments.lake} is not empty")

    started = time.perf_counter()
    paths = discover(arguments.corpus)
    discovered = time.perf_counter()
    rows = parse_all(paths, arguments.workers)
    parsed = time.perf_counter()
    added = write_lake(arguments.lake, rows)
    committed = time.perf_counter()
    figures = {
        "files": len(paths), "discover": discovered - started, "parse": parsed - discovered,
        "insert_and_commit": committed - parsed, "seconds": committed - started, "rows_added": added,
    }  # fmt: skip
    if arguments.json:
        print(json.dumps(figures))
    else:
        print(f"{len(paths):,} files into {arguments.lake} in {figures['seconds']:.1f} s (discover {figures['discover']:.1f} s, "
              f"parse on {arguments.workers} processes {figures['parse']:.1f} s, insert and commit {figures['insert_and_commit']:.1f} s)")  # fmt: skip
        print("rows added: " + ", ".join(f"{table} {count:,}" for table, count in added.items()))


if __name__ == "__main__":
    main()
