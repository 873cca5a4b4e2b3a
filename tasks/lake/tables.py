"""The lake's tables and vocabularies, declared once.

Like dbt's ``schema.yml``: every list of tables in Python and every per-table SQL
statement (the run's staging, the duplicate-key checks, the row counts, the run's
record, the export) is made from :data:`TABLES`, and ``docs/tables.md`` and the
lake's catalog are checked against it (``tests/test_tables.py``). Adding a table
means a row here, a migration in ``sql/schema/`` and a section in ``docs/tables.md``.

This module imports nothing heavy: the CLI's commands read it without DuckDB or polars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a run writes a table:
#   inserted: rows are only added (a page's or a response's own rows, by their key)
#   merged:   a row per key, updated in place by later pages (MERGE on the key)
#   recorded: the writer's own bookkeeping (one row per file, run or finding)
#   command:  written by a command (watch, alerts), not by an ingest
WriteMode = Literal["inserted", "merged", "recorded", "command"]
# Where a table's rows come from in a run: report pages, saved scite API responses,
# the Retraction Watch export (a CSV, tasks/reading/retraction_watch.py).
Source = Literal["pages", "api", "retraction_watch"]
SOURCES: tuple[Source, ...] = ("pages", "api", "retraction_watch")


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the lake.

    ``key``: the columns that identify a row (checked for duplicates after every
    run when ``key_checked``; DuckLake has no primary keys). ``sources``: who
    stages rows for it in a run. ``counted``: its rows added are reported per run
    (``runs.<name>_added``, the ingest's summary). ``exported``: written by
    ``citelake export``.
    """

    name: str
    key: tuple[str, ...]
    write: WriteMode
    sources: tuple[Source, ...] = ()
    key_checked: bool = False
    counted: bool = False
    exported: bool = True
    about: str = ""

    @property
    def staged_from_pages(self) -> bool:
        """A parse batch parks this table's frame as ``{name}.parquet`` (tasks.reading.frames)."""
        return "pages" in self.sources

    @property
    def staged_from_api(self) -> bool:
        return "api" in self.sources


# In the order a reader meets them (docs/tables.md, export, the summary's rows added).
TABLES: tuple[Table, ...] = (
    Table("papers", ("doi",), "merged", ("pages", "api"), key_checked=True, counted=True,
          about="one row per reported paper: its latest values"),
    Table("abstracts", ("doi",), "merged", ("pages",), counted=True,
          about="one row per paper with an abstract"),
    Table("statements", ("statement_id",), "merged", ("pages", "api"), key_checked=True, counted=True,
          about="one row per distinct citation statement"),
    Table("paper_snapshots", ("source_sha256", "doi"), "inserted", ("pages", "api"), key_checked=True, counted=True,
          about="one row per paper per saved page or API tally"),
    Table("statement_sightings", ("statement_id", "source_sha256"), "inserted", ("pages", "api"), counted=True,
          about="one row per statement per page that showed it"),
    Table("facets", ("source_sha256", "facet", "position"), "inserted", ("pages", "api"), counted=True,
          about="one row per number of a page's facet blocks"),
    Table("report_files", ("path",), "recorded", key_checked=True, counted=True,
          about="one row per file seen, with its latest state"),
    Table("runs", ("run_id",), "recorded", about="one row per committed run"),
    Table("check_findings", ("run_id", "check_name"), "recorded", about="one row per data-quality check per run"),
    Table("api_responses", ("source_sha256",), "inserted", ("api",),
          about="one row per stored scite API response file"),
    Table("api_papers", ("doi", "source_sha256"), "inserted", ("api",),
          about="one row per paper per API response that described it"),
    Table("editorial_notices", ("doi", "source_sha256", "notice_doi"), "inserted", ("api",),
          about="one row per editorial notice per API response"),
    Table("retractions", ("record_id",), "merged", ("retraction_watch",), key_checked=True,
          about="one row per record of the Retraction Watch export: its latest values"),
    Table("watchlist", ("doi",), "command", about="one row per DOI ever watched"),
    Table("alerts", ("alert_id",), "command", about="one row per event on a watched paper"),
    Table("alert_progress", ("snapshot_id",), "command", about="how far alert detection got"),
    # The lake's own bookkeeping: which migrations and view texts it holds.
    Table("schema_version", ("version",), "recorded", exported=False, about="the migrations applied"),
    Table("view_definitions", ("view_name",), "recorded", exported=False, about="the text of each view the lake holds"),
)

BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}


def table(name: str) -> Table:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the registry (tasks/lake/tables.py)") from None


def names(*, exported: bool | None = None, counted: bool | None = None, key_checked: bool | None = None) -> tuple[str, ...]:
    """The tables' names in registry order, filtered by the flags given."""
    return tuple(
        t.name
        for t in TABLES
        if (exported is None or t.exported == exported)
        and (counted is None or t.counted == counted)
        and (key_checked is None or t.key_checked == key_checked)
    )


# The tables users query and export (``citelake export`` writes each as Parquet).
EXPORTED_TABLES: tuple[str, ...] = names(exported=True)
# The tables whose rows added a run reports (runs.<table>_added).
COUNTED_TABLES: tuple[str, ...] = names(counted=True)
# The frames a parse batch parks as Parquet and the writer reads back (tasks.reading.frames.Frames).
PAGE_FRAMES: tuple[str, ...] = tuple(t.name for t in TABLES if t.staged_from_pages)
# The tables the writer merges by key through sql/lake/select_merged_keys.sql.
MERGED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.write == "merged")
# The API's own tables, staged as run_<table> (sql/lake/create_staging_table.sql).
API_ONLY_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.sources == ("api",))
# The Retraction Watch export's own tables, staged as run_<table> and merged by key.
RETRACTION_WATCH_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.sources == ("retraction_watch",))
# The tables both sources fill: the API's rows are staged as run_api_rows_<table>.
SHARED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.staged_from_pages)

KEY_CHECK_PREFIX = "duplicate_keys_"

# ---------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------

# A citation statement's classification (``disputing`` on older pages is contrasting).
STATEMENT_TYPES: tuple[str, ...] = ("supporting", "mentioning", "contrasting")
# The Citation Types block's four counts, in the page's order.
TALLY_CLASSES: tuple[str, ...] = (*STATEMENT_TYPES, "unclassified")
# Where in the citing paper a statement stands (tasks.reading.sections maps titles to these).
SECTION_CATEGORIES: tuple[str, ...] = ("introduction", "methods", "results", "discussion", "conclusion", "other", "unknown")
# What a run decided about a file (report_files.status).
REPORT_FILE_STATUSES: tuple[str, ...] = ("ingested", "unchanged", "duplicate", "rejected")
# A run's file tallies (runs.files_<count>).
FILE_COUNT_KEYS: tuple[str, ...] = ("seen", "new", "changed", "unchanged", "duplicate", "rejected")
# What an alert is about (alerts.kind).
ALERT_KINDS: tuple[str, ...] = (
    "first_seen", "contrasting_added", "supporting_added", "reclassified", "tally_changed", "retracted", "editorial_notice",
)
# Where a snapshot or statement came from (paper_snapshots.source, statements.statement_source).
ROW_SOURCES: tuple[str, ...] = ("page", "api")

# Files per parse batch: a batch is parsed, split and parked as one unit.
DEFAULT_BATCH_SIZE = 2000
