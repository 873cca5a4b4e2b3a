"""The split: parsed records in, the lake's six frames out (``tasks/reading/frames.py``).

Two steps, both pure:

1. *Pages*: each record with its source file becomes rows of the per-page frames
   (``paper_snapshots``, ``statement_sightings``, ``facets``) and candidate rows of
   ``abstracts`` and ``statements``. Built in one pass over the records, as rows
   handed to polars whole, not as per-row polars calls.
2. *Reduction*: duplicate pages (identical bytes, same ``source_sha256``) are
   dropped and the per-paper and per-statement frames are derived with polars
   group-bys: ``papers`` and ``abstracts`` take the latest page, ``statements`` the
   latest sighting.

:func:`combine_frames` runs step 2 on the concatenated frames of several batches,
so a batch's frames can be merged with others' in any grouping and give what
:func:`split_records` gives on all the records at once.

Order of "latest" (docs/tables.md, Conventions), earliest first; the last is the latest:

1. the 2-second window of ``observed_at`` (the file's mtime), the windows starting at
   every even second since the Unix epoch (:data:`SAME_SAVE_MICROSECONDS`). Saves of
   a paper in one window count as simultaneous: mtimes that close come from a
   checkout or a copy, which writes the files in any order, not from two saves;
2. ``cited_by``, then ``statement_count`` (a missing count is smallest): a paper's
   counts never shrink on a re-save;
3. ``source``: an API tally (``api``) before a report page (``page``). Of a page and
   a tally that agree on the counts the page is the latest, because ``papers`` takes
   its values whole from the latest and a tally has no title, year, references or
   citing years;
4. ``source_sha256``: the larger is the latest.

Within a window nothing but content decides, so files found in any order, in any
batches and runs, give the same lake. The window is a key of each save alone (not
"within 2 s of another save") so that a batch and every later merge decide alike:
the lake keeps only each paper's latest abstract, and could not re-decide one. The
split sees pages only, so (3) is constant here; the SQL that picks a latest save
(``sql/lake/merge_*.sql``, the views ``paper_count_history`` and
``statement_reclassifications``, ``sql/explain/trend.sql``, ``history.sql`` and
``paper_list.sql``, ``titled`` in ``merge_paper_metadata.sql``) orders by all four.
Of several copies of the same bytes the latest copy (by ``observed_at``, then path)
is kept: a page saved again unchanged confirms it as of the later time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import chain, repeat

import polars as pl

from tasks.reading.frames import Frames, empty_frames, polars_schema
from tasks.reading.record import TALLY_CLASSES, Record, SourceFile, collapse_whitespace
from tasks.reading.sections import section_category

SAME_SAVE_MICROSECONDS = 2_000_000
"""The width of the windows of ``observed_at`` whose saves are ordered by content (see the module's doc)."""
_PAGE_COUNTS = ["cited_by", "statement_count"]
# "Latest" as a sort (ascending: the last row is the latest); the rows need _PAGE_COUNTS.
# Polars sorts nulls first (a missing count is smallest) and `//` floors, before 1970 too.
_LATEST_KEY = [
    pl.col("observed_at").dt.epoch("us") // SAME_SAVE_MICROSECONDS,
    *_PAGE_COUNTS,
    "source_sha256",
]
_STATEMENT_IDENTITY = ["statement_id", "doi", "text", "section", "section_category"]
_UNIT_SEPARATOR = "\x1f"
# The order in which the split builds a snapshot row.
_SNAPSHOT_ROW = [
    "doi", "observed_at", "source_sha256", "source_path", "title", "year",
    "cited_by", "statement_count", "reference_count", *TALLY_CLASSES,
    "citing_year_min", "citing_year_max", "statements_shown",
]  # fmt: skip


def statement_id(doi: str, text: str, section: str | None) -> str:
    """The identity of a citation statement: 32 hex digits, the same in every run, process and version.

    The BLAKE2b digest (16 bytes) of the UTF-8 bytes of
    ``doi + "\\x1f" + collapse_whitespace(text) + "\\x1f" + (section or "")``.
    ``doi`` is expected normalised (``tasks.reading.record.normalise_doi``), as records carry it.
    """
    return _digest(doi, collapse_whitespace(text), section)


def _digest(doi: str, collapsed_text: str, section: str | None) -> str:
    key = f"{doi}{_UNIT_SEPARATOR}{collapsed_text}{_UNIT_SEPARATOR}{section or ''}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def split_records(items: Sequence[tuple[SourceFile, Record]]) -> Frames:
    """The six frames of ``tasks/reading/frames.py`` for parsed records and the files they came from.

    Each record's ``observed_at`` is its source's ``mtime``. Rows are sorted by each
    frame's key, so equal inputs in any order give equal frames.
    """
    return _reduce(*page_frames(items))


def combine_frames(parts: Sequence[Frames]) -> Frames:
    """Merge the frames of several batches into what :func:`split_records` gives on all their records.

    The merge is associative and commutative (any grouping of batches gives the same
    frames) and drops pages seen in several batches (same ``source_sha256``).
    """
    if not parts:
        return empty_frames()

    def concat(table: str) -> pl.DataFrame:
        return pl.concat([getattr(part, table) for part in parts], how="vertical", rechunk=False)

    return _reduce(
        concat("paper_snapshots"),
        concat("statement_sightings"),
        concat("facets"),
        concat("abstracts"),
        concat("statements").select(_STATEMENT_IDENTITY),
    )


PageFrames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]
"""Per-page rows before the reduction: snapshots, sightings, facets, abstract
candidates and statement identities."""


def reduce_page_frames(parts: Sequence[PageFrames]) -> Frames:
    """The six frames of several parts' page rows, reduced at once: equal to
    :func:`split_records` on all their records, whichever parser read each part."""
    tables = [
        pl.concat([part[table].select(parts[0][table].columns) for part in parts], how="vertical", rechunk=False)
        for table in range(len(parts[0]))
    ]
    return _reduce(*tables)


def page_frames(items: Sequence[tuple[SourceFile, Record]]) -> PageFrames:
    """One pass over the records: the per-page frames and the abstract and statement candidates.

    Rows that repeat a page's keys (doi, sha256, observed_at) hold only the page's
    index while the loop runs; the keys are gathered from the snapshots afterwards,
    which spares converting a Python datetime per row.
    """
    snapshot_rows: list[tuple] = []
    sighting_rows: list[tuple] = []
    abstract_rows: list[tuple] = []
    # Facet blocks: one entry per block, their numbers all in one list; polars
    # expands the blocks to one row per number.
    block_pages: list[int] = []
    block_names: list[str] = []
    block_lengths: list[int] = []
    facet_values: list[int] = []
    identities: dict[str, tuple[str, str, str | None]] = {}

    for page, (source, record) in enumerate(items):
        doi = record["doi"]
        rows_on_page: dict[str, int] = {}  # statement_id -> its index in sighting_rows
        for statement in record["statements"]:
            text = collapse_whitespace(statement["text"])
            section = statement["section"]
            key = _digest(doi, text, section)
            row = rows_on_page.get(key)
            if row is not None:
                # Two entries of one page that normalise to the same statement are one
                # statement seen more often; the first keeps its position and class.
                *first, seen = sighting_rows[row]
                sighting_rows[row] = (*first, seen + statement["seen"])
                continue
            rows_on_page[key] = len(sighting_rows)
            sighting_rows.append(
                (page, key, len(rows_on_page) - 1, statement["type"], statement["confidence"], statement["seen"])
            )
            if key not in identities:
                identities[key] = (doi, text, section)

        tallies = record["tallies"] or {}
        citing_years = record["citing_years"]
        snapshot_rows.append(
            (
                doi, source.mtime, source.sha256, source.path, record["title"], record["year"],
                record["cited_by"], record["statement_count"], record["reference_count"],
                *[tallies.get(tally_class) for tally_class in TALLY_CLASSES],
                min(citing_years) if citing_years else None,
                max(citing_years) if citing_years else None,
                len(rows_on_page),
            )
        )  # fmt: skip

        facets = record["facets"]
        block_pages.extend(repeat(page, len(facets)))
        block_names.extend(facets)
        block_lengths.extend(map(len, facets.values()))
        facet_values.extend(chain.from_iterable(facets.values()))

        if record["abstract"] is not None:
            abstract_rows.append((page, record["abstract"], bool(record["abstract_truncated"])))

    snapshots = pl.DataFrame(snapshot_rows, schema=_schema_of("paper_snapshots", _SNAPSHOT_ROW), orient="row")
    page_keys = snapshots.select("doi", "source_sha256", "observed_at")

    def with_page_keys(pages: Sequence[int], columns: dict[str, Sequence], table: str) -> pl.DataFrame:
        """The rows' own columns and the keys of their pages, in the table's declared order."""
        values = pl.DataFrame(columns, schema=_schema_of(table, list(columns)))
        rows_page_keys = page_keys.select(pl.all().gather(pl.Series(pages, dtype=pl.UInt32)))
        return values.hstack(rows_page_keys).select(polars_schema(table).names())

    def transposed(rows: list[tuple], names: list[str]) -> tuple[Sequence[int], dict[str, Sequence]]:
        """Rows of (page, *values) as the pages column and the named value columns."""
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + 1)
        return columns[0], dict(zip(names, columns[1:], strict=True))

    sightings = with_page_keys(
        *transposed(sighting_rows, ["statement_id", "position", "type", "confidence", "seen"]), "statement_sightings"
    )
    blocks = pl.DataFrame(
        {"page": block_pages, "facet": block_names, "length": block_lengths},
        schema={"page": pl.UInt32, "facet": pl.Utf8, "length": pl.UInt32},
    )
    facet_rows = blocks.select(
        pl.col("page", "facet").repeat_by("length").explode(empty_as_null=False),
        position=pl.int_ranges("length", dtype=pl.Int32).explode(empty_as_null=False),
    )
    facets = with_page_keys(
        facet_rows["page"],
        {"facet": facet_rows["facet"], "position": facet_rows["position"], "value": facet_values},
        "facets",
    )
    abstracts = with_page_keys(*transposed(abstract_rows, ["abstract", "truncated"]), "abstracts")

    ids = list(identities)
    dois, texts, sections = zip(*identities.values()) if identities else ((), (), ())
    statements = pl.DataFrame(
        {
            "statement_id": ids,
            "doi": dois,
            "text": texts,
            "section": sections,
            "section_category": [section_category(section) for section in sections],
        },
        schema=_schema_of("statements", _STATEMENT_IDENTITY),
    )
    return snapshots, sightings, facets, abstracts, statements


def _schema_of(table: str, columns: Sequence[str]) -> dict[str, pl.DataType]:
    """The declared dtypes of some of a table's columns, in the order given."""
    schema = polars_schema(table)
    return {name: schema[name] for name in columns}


def _reduce(
    snapshots: pl.DataFrame,
    sightings: pl.DataFrame,
    facets: pl.DataFrame,
    abstract_candidates: pl.DataFrame,
    statement_identities: pl.DataFrame,
) -> Frames:
    """Drop duplicate pages and derive the per-paper and per-statement frames.

    Idempotent, and a union of reduced parts reduces to the reduction of the union:
    every step keeps a maximum (latest) or a minimum, or drops exact duplicates.
    The six results are computed in one lazy query, to share its scans and threads.
    """
    # Copies of the same bytes: keep the latest copy; its sightings are those rows
    # of the same (statement, page) with the latest observed_at.
    pages = (
        snapshots.lazy()
        .sort("source_sha256", "observed_at", "source_path")
        .unique("source_sha256", keep="last")
    )
    page_sightings = (
        sightings.lazy().sort("observed_at").unique(["statement_id", "source_sha256"], keep="last")
    )
    # Within a group polars keeps the frame's row order, so `last()` after a sort is the latest.
    page_counts = pages.select("source_sha256", *_PAGE_COUNTS)
    papers = (
        pages.sort(_LATEST_KEY)
        .group_by("doi")
        .agg(
            pl.all().exclude("observed_at", "source_path").last(),
            first_seen=pl.col("observed_at").min(),
            last_seen=pl.col("observed_at").max(),
        )
    )
    classifications = (
        page_sightings.join(page_counts, on="source_sha256", how="left")
        .sort(_LATEST_KEY)
        .group_by("statement_id")
        .agg(
            pl.col("type", "confidence").last(),
            first_seen=pl.col("observed_at").min(),
            last_seen=pl.col("observed_at").max(),
        )
    )
    queries = {
        "papers": (papers, ["doi"]),
        "paper_snapshots": (pages, ["doi", "observed_at", "source_sha256"]),
        "abstracts": (
            abstract_candidates.lazy()
            .join(page_counts, on="source_sha256", how="left")
            .sort(_LATEST_KEY)
            .unique("doi", keep="last"),
            ["doi"],
        ),
        "statements": (
            statement_identities.lazy()
            .unique("statement_id", keep="any")
            .join(classifications, on="statement_id", how="inner"),
            ["doi", "statement_id"],
        ),
        "statement_sightings": (page_sightings, ["source_sha256", "position"]),
        "facets": (
            facets.lazy().unique(["source_sha256", "facet", "position"], keep="any"),
            ["source_sha256", "facet", "position"],
        ),
    }
    declared = [
        query.select(polars_schema(table).names()).sort(order_by) for table, (query, order_by) in queries.items()
    ]
    return Frames(**dict(zip(queries, pl.collect_all(declared), strict=True)))
