"""Readers and the writer at the same time: an idle reader never stops an ingest.

The readers here are other processes, as a notebook or a BI tool would be:
plain DuckDB sessions that attached the lake read-only and ran a query.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from tasks.corpus.generate import write_corpus
from tasks.lake.errors import IngestCollision
from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake

HOLD_READER = textwrap.dedent(
    """
    import sys, time
    from tasks.lake.session import open_lake
    from tasks.lake.location import LakeLocation
    from pathlib import Path
    con = open_lake(LakeLocation(path=Path(sys.argv[1])), read_only=True)
    con.execute("select count(*) from papers").fetchone()
    print("reading", flush=True)
    time.sleep(120)
    """
)

HOLD_PLAIN_DUCKDB_READER = textwrap.dedent(
    """
    import sys, time, duckdb
    from tasks.lake.extensions import connect, load_extensions
    con = connect()
    load_extensions(con, "ducklake", "sqlite")
    con.execute(f"attach 'ducklake:sqlite:{sys.argv[1]}/catalog.sqlite' as lake (read_only)")
    con.execute("select count(*) from lake.papers").fetchone()
    print("reading", flush=True)
    time.sleep(120)
    """
)

HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sys, time, sqlite3
    con = sqlite3.connect(sys.argv[1] + "/catalog.sqlite", isolation_level=None)
    con.execute("begin immediate")
    print("locked", flush=True)
    time.sleep(120)
    """
)


def _hold(script: str, lake_path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", script, str(lake_path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() in ("reading", "locked")
    return process


@pytest.fixture
def corpora(tmp_path):
    folders = []
    for seed in (1, 2, 3):
        folder = tmp_path / f"corpus{seed}"
        write_corpus(folder, 30, seed, clean=True)
        folders.append(folder)
    return folders


def test_a_new_lake_keeps_its_catalog_in_wal_mode(lake_location):
    open_lake(lake_location).close()
    with sqlite3.connect(lake_location.catalog_file) as catalog:
        assert catalog.execute("pragma journal_mode").fetchone() == ("wal",)


def test_an_existing_lake_in_rollback_journal_mode_is_switched_on_open(lake_location):
    open_lake(lake_location).close()
    with sqlite3.connect(lake_location.catalog_file) as catalog:
        catalog.execute("pragma journal_mode=delete")
    open_lake(lake_location).close()
    with sqlite3.connect(lake_location.catalog_file) as catalog:
        assert catalog.execute("pragma journal_mode").fetchone() == ("wal",)


@pytest.mark.slow
@pytest.mark.parametrize("reader", [HOLD_READER, HOLD_PLAIN_DUCKDB_READER], ids=["open_lake", "plain_duckdb"])
def test_ingests_commit_while_an_idle_reader_holds_the_lake_open(lake_location, corpora, reader):
    first, second, third = corpora
    ingest(first, lake_location, workers=1)
    held = _hold(reader, lake_location.path)
    try:
        added_second = ingest(second, lake_location, workers=1).rows_added["paper_snapshots"]
        added_third = ingest(third, lake_location, workers=1).rows_added["paper_snapshots"]
    finally:
        held.kill()
        held.wait()
    assert added_second > 0 and added_third > 0
    con = open_lake(lake_location, read_only=True)
    try:
        assert con.execute("select count(*) from runs").fetchone() == (3,)
    finally:
        con.close()


@pytest.mark.slow
def test_a_locked_catalog_is_named_as_such_with_the_process_holding_it(lake_location, corpora):
    first, second, _ = corpora
    ingest(first, lake_location, workers=1)
    held = _hold(HOLD_WRITE_LOCK, lake_location.path)
    try:
        with pytest.raises(IngestCollision) as refused:
            ingest(second, lake_location, workers=1)
    finally:
        held.kill()
        held.wait()
    message = str(refused.value)
    assert "another writer" not in message
    assert "locked" in message and f"pid {held.pid}" in message and "nothing was written" in message
