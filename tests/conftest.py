"""Shared fixtures: a lake in a temporary folder, and hand-made report pages."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from tasks.lake.session import open_lake
from tasks.lake.writer import REPORT_FILES_SCHEMA
from tasks.lake.location import LakeLocation
from tasks.lake.sql import quote_identifier
from tasks.reading.record import Record, SourceFile, Statement
from tests.object_store import ObjectStore, start_seaweedfs

MakePage = Callable[..., tuple[SourceFile, Record]]


@pytest.fixture
def lake_location(tmp_path) -> LakeLocation:
    """A lake folder (not created yet) with the embedded SQLite catalog."""
    return LakeLocation(path=tmp_path / "lake")


@pytest.fixture(scope="session")
def empty_lake_template(tmp_path_factory) -> Path:
    """A freshly created, empty lake, made once per test process (its migrations take a second)."""
    folder = tmp_path_factory.mktemp("template") / "lake"
    open_lake(LakeLocation(path=folder)).close()
    return folder


@pytest.fixture
def lake(lake_location, empty_lake_template) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection to a freshly created lake: a copy of the template (a copied lake opens where it is)."""
    shutil.copytree(empty_lake_template, lake_location.path)
    con = open_lake(lake_location)
    yield con
    con.close()


@pytest.fixture
def two_paper_lake(lake, lake_location, make_page, report_files_of) -> LakeLocation:
    """A lake of one run: 10.1234/a ("First", a contrasting statement in Results) and 10.1234/b ("Second", a supporting one)."""
    from tasks.lake.writer import LakeWriter
    from tasks.reading.split import split_records

    pages = [
        make_page("10.1234/a", datetime(2024, 1, 1, tzinfo=UTC), [("a", "Results", "contrasting", 0.9)], title="First"),
        make_page("10.1234/b", datetime(2024, 2, 1, tzinfo=UTC), [("b", None, "supporting", 0.8)], title="Second"),
    ]
    with LakeWriter(lake, run_id="run-1") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.finish({"seen": 2, "new": 2})
    return lake_location


@pytest.fixture
def make_page() -> MakePage:
    """Build one parsed page as the parser would: ``make_page(doi, saved_at, statements=[...])``.

    ``statements`` are ``(text, section, type, confidence)`` tuples. The tallies
    count the statements by type; ``statement_count`` is their sum unless given.
    The page's hash is derived from everything it shows, so equal pages hash alike.
    """

    def build(
        doi: str,
        saved_at: datetime,
        statements: list[tuple[str, str | None, str, float | None]] = (),
        *,
        title: str = "A paper",
        cited_by: int = 10,
        statement_count: int | None = None,
        abstract: str | None = "An abstract.",
    ) -> tuple[SourceFile, Record]:
        shown: list[Statement] = [
            {"text": text, "section": section, "type": kind, "confidence": confidence, "seen": 1}
            for text, section, kind, confidence in statements
        ]
        tallies = {kind: sum(s["type"] == kind for s in shown) for kind in ("supporting", "mentioning", "contrasting")}
        tallies["unclassified"] = 0
        record: Record = {
            "doi": doi,
            "title": title,
            "year": 2013,
            "abstract": abstract,
            "abstract_truncated": False if abstract else None,
            "cited_by": cited_by,
            "statement_count": sum(tallies.values()) if statement_count is None else statement_count,
            "reference_count": 40,
            "tallies": tallies,
            "citing_years": [2014, 2024],
            "facets": {"Citation Types": list(tallies.values())},
            "statements": shown,
            "warnings": [],
        }
        sha256 = hashlib.sha256(repr((doi, saved_at, record)).encode()).hexdigest()
        source = SourceFile(path=f"/reports/{doi.replace('/', '_')}-{sha256[:8]}.txt", size=1000, mtime=saved_at, sha256=sha256)
        return source, record

    return build


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database, started once for the whole test session.

    Flows run in tests report to it, and tests read their artifacts back from it.
    Prefect is imported here, not at the top, so test files without flows do not
    pay for importing it.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def cli_environment(prefect_harness: None) -> dict[str, str]:
    """The environment of a ``citelake`` subprocess: it reports to the session's Prefect server.

    Without a server configured, every ``citelake ingest`` would start a temporary
    one of its own, seconds per command.
    """
    from prefect.settings import PREFECT_API_URL

    return os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()}


@pytest.fixture
def report_files_of() -> Callable[..., pl.DataFrame]:
    """The ``report_files`` frame the writer takes, for pages from ``make_page``: ``report_files_of(pages, status=...)``."""

    def build(pages: list[tuple[SourceFile, Record]], status: str = "ingested") -> pl.DataFrame:
        return pl.DataFrame(
            {
                "path": [source.path for source, _ in pages],
                "size": [source.size for source, _ in pages],
                "mtime": [source.mtime for source, _ in pages],
                "sha256": [source.sha256 for source, _ in pages],
                "status": [status] * len(pages),
                "reason": [None] * len(pages),
                "warnings": [[] for _ in pages],
            },
            schema=REPORT_FILES_SCHEMA,
        )

    return build


POSTGRES = "postgresql://postgres@127.0.0.1:5432"
TEST_SQL = Path(__file__).parent / "sql"


@pytest.fixture
def catalog_database() -> Iterator[str]:
    """A PostgreSQL database made for one test (a catalog holds one lake), dropped after it.

    Without a server at 127.0.0.1:5432 the test is skipped, with the reason; where
    ``CITELAKE_TEST_POSTGRES=required`` (``.ci/run``) it fails instead.
    """
    import psycopg

    name = quote_identifier(f"citelake_test_{uuid.uuid4().hex[:12]}")
    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL is not reachable at {POSTGRES}: {str(error).strip()}"
        if os.environ.get("CITELAKE_TEST_POSTGRES") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    with admin:
        admin.execute((TEST_SQL / "create_database.sql").read_text().format(name=name))
        try:
            yield f"{POSTGRES}/{name.strip(chr(34))}"
        finally:
            admin.execute((TEST_SQL / "drop_database.sql").read_text().format(name=name))


@pytest.fixture(scope="session")
def object_store(tmp_path_factory) -> Iterator[ObjectStore]:
    """A SeaweedFS S3 server for this test process (its own free ports), stopped at the end of the session."""
    store = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def bucket(object_store, monkeypatch) -> str:
    """A new empty bucket, with the ``AWS_*`` variables of this process pointing at its server."""
    for name, value in object_store.environment().items():
        monkeypatch.setenv(name, value)
    return object_store.new_bucket()
