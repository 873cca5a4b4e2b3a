"""The ingest against a shared PostgreSQL catalog: the same end-to-end run, and the advisory-lock guard."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from test_ingest import copy_corpus, generated, run_end_to_end  # noqa: F401 - `generated` is a fixture

from tasks.lake.errors import IngestCollision
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql


pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_end_to_end_with_a_postgres_catalog(generated, tmp_path: Path, catalog_database: str) -> None:  # noqa: F811
    source, corpus = copy_corpus(generated, tmp_path)
    run_end_to_end(source, corpus, LakeLocation(path=tmp_path / "lake", catalog=catalog_database))


def test_an_ingest_waits_for_the_advisory_lock_then_says_who_holds_it(tmp_path: Path, catalog_database: str) -> None:
    (tmp_path / "reports").mkdir()
    location = LakeLocation(path=tmp_path / "lake", catalog=catalog_database)
    with psycopg.connect(catalog_database, autocommit=True) as holder:
        assert holder.execute(read_sql("ingest/try_ingest_lock.sql")).fetchone()[0]
        with pytest.raises(IngestCollision, match=r"another ingest is running on .* since \d{4}-.*; nothing was written"):
            ingest(tmp_path / "reports", location, wait=0.5)
    # The lock goes with its session; the server ends the session a moment after the client closed it
    # (in a loaded CI run, not yet when the next ingest asked at once), so the next one may wait for it.
    summary = ingest(tmp_path / "reports", location, wait=30)
    assert summary.files["seen"] == 0
