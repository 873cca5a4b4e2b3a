"""The frames the split produces and the lake stores, declared once.

Each model is a pandera schema for a polars frame. The lake's tables (``sql/``)
have the same columns; ``validate_frames`` is the check the tests and the
ingest run before a commit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pandera.polars as pa
import polars as pl

from tasks.lake.tables import PAGE_FRAMES, SECTION_CATEGORIES, STATEMENT_TYPES

UTC_TIME = pl.Datetime(time_unit="us", time_zone="UTC")


# The state of report files: what parsing found (status parsed or rejected) and,
# with the run's verdict as status, what the lake's report_files table records.
FILE_STATES = pl.Schema(
    {
        "path": pl.Utf8,
        "size": pl.Int64,
        "mtime": UTC_TIME,
        "sha256": pl.Utf8,
        "status": pl.Utf8,
        "reason": pl.Utf8,
        "warnings": pl.List(pl.Utf8),
    }
)

# A bucket object's ETag (report_files.etag; null for a local file): beside FILE_STATES in the
# outcomes a batch gives, optional in what the writer takes, so a frame of FILE_STATES alone is whole.
FILE_ETAG = "etag"


class _Counts(pa.DataFrameModel):
    """The counts a page shows, shared by ``papers`` and ``paper_snapshots``."""

    title: pl.Utf8 = pa.Field(nullable=True)
    year: pl.Int32 = pa.Field(nullable=True)
    cited_by: pl.Int64 = pa.Field(nullable=True, ge=0)
    statement_count: pl.Int64 = pa.Field(nullable=True, ge=0)
    reference_count: pl.Int64 = pa.Field(nullable=True, ge=0)
    supporting: pl.Int64 = pa.Field(nullable=True, ge=0)
    mentioning: pl.Int64 = pa.Field(nullable=True, ge=0)
    contrasting: pl.Int64 = pa.Field(nullable=True, ge=0)
    unclassified: pl.Int64 = pa.Field(nullable=True, ge=0)
    citing_year_min: pl.Int32 = pa.Field(nullable=True)
    citing_year_max: pl.Int32 = pa.Field(nullable=True)
    statements_shown: pl.Int32 = pa.Field(ge=0)


class PaperSnapshots(_Counts):
    """One row per saved page (parsed record) of a paper."""

    doi: pl.Utf8
    observed_at: UTC_TIME
    source_sha256: pl.Utf8 = pa.Field(unique=True, str_length={"min_value": 64, "max_value": 64})
    source_path: pl.Utf8

    class Config:
        strict = True


class Papers(_Counts):
    """One row per paper: the values of its latest page (by ``observed_at``)."""

    doi: pl.Utf8 = pa.Field(unique=True)
    first_seen: UTC_TIME
    last_seen: UTC_TIME
    source_sha256: pl.Utf8

    class Config:
        strict = True


class Abstracts(pa.DataFrameModel):
    """One row per paper with an abstract: the latest page's abstract."""

    doi: pl.Utf8 = pa.Field(unique=True)
    abstract: pl.Utf8
    truncated: pl.Boolean
    observed_at: UTC_TIME
    source_sha256: pl.Utf8

    class Config:
        strict = True


class Statements(pa.DataFrameModel):
    """One row per distinct statement (paper + normalised text + section).

    ``type`` and ``confidence`` are those of the latest page that showed it.
    """

    statement_id: pl.Utf8 = pa.Field(unique=True, str_length={"min_value": 32, "max_value": 32})
    doi: pl.Utf8
    text: pl.Utf8
    section: pl.Utf8 = pa.Field(nullable=True)
    section_category: pl.Utf8 = pa.Field(isin=list(SECTION_CATEGORIES))
    type: pl.Utf8 = pa.Field(isin=list(STATEMENT_TYPES))
    confidence: pl.Float64 = pa.Field(nullable=True, ge=0.0, le=1.0)
    first_seen: UTC_TIME
    last_seen: UTC_TIME

    class Config:
        strict = True


class StatementSightings(pa.DataFrameModel):
    """One row per statement per page that showed it: the history of its classification."""

    statement_id: pl.Utf8
    doi: pl.Utf8
    source_sha256: pl.Utf8
    observed_at: UTC_TIME
    position: pl.Int32 = pa.Field(ge=0)
    type: pl.Utf8 = pa.Field(isin=list(STATEMENT_TYPES))
    confidence: pl.Float64 = pa.Field(nullable=True, ge=0.0, le=1.0)
    seen: pl.Int32 = pa.Field(ge=1)

    class Config:
        strict = True
        unique = ["statement_id", "source_sha256"]


class Facets(pa.DataFrameModel):
    """One row per number of a facet block, as the page showed it."""

    doi: pl.Utf8
    source_sha256: pl.Utf8
    facet: pl.Utf8
    position: pl.Int32 = pa.Field(ge=0)
    value: pl.Int64

    class Config:
        strict = True
        unique = ["source_sha256", "facet", "position"]


@dataclass(slots=True)
class Frames:
    """What the split hands to the lake: one frame per table, in the registry's order (tasks/lake/tables.py)."""

    papers: pl.DataFrame
    abstracts: pl.DataFrame
    statements: pl.DataFrame
    paper_snapshots: pl.DataFrame
    statement_sightings: pl.DataFrame
    facets: pl.DataFrame

    def items(self) -> list[tuple[str, pl.DataFrame]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


def _model_of(table: str) -> type[pa.DataFrameModel]:
    """The model of a page table, named for it: ``paper_snapshots`` → :class:`PaperSnapshots`."""
    return globals()["".join(word.capitalize() for word in table.split("_"))]


# Each table the registry stages from pages, with its model (tests/test_tables.py holds them equal to Frames).
SCHEMAS: dict[str, type[pa.DataFrameModel]] = {table: _model_of(table) for table in PAGE_FRAMES}


def polars_schema(table: str) -> pl.Schema:
    """The polars schema of a frame, from its pandera model (for empty frames and casts)."""
    columns = SCHEMAS[table].to_schema().columns
    return pl.Schema({name: column.dtype.type for name, column in columns.items()})


def empty_frames() -> Frames:
    return Frames(**{name: pl.DataFrame(schema=polars_schema(name)) for name in SCHEMAS})


def validate_frames(frames: Frames) -> Frames:
    """Check every frame against its model; raises ``pandera.errors.SchemaError`` naming the column."""
    return Frames(**{name: SCHEMAS[name].validate(frame) for name, frame in frames.items()})


# Parked frames live for one run, on local disk: lz4 writes them in half the time
# zstd (polars' default) takes, for files half again as large.
STAGING_COMPRESSION = "lz4"


def write_frames(frames: Frames, folder: Path) -> None:
    """Park the frames in ``folder`` as one ``{table}.parquet`` each (what ``LakeWriter.add_staged`` reads)."""
    for table, frame in frames.items():
        frame.write_parquet(folder / f"{table}.parquet", compression=STAGING_COMPRESSION)
