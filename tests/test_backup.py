"""``citelake backup``: a consistent copy of a real lake that opens where it is, even taken during an ingest."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.backup import PARTIAL_MARK, backup_lake
from tasks.lake.session import open_lake
from tasks.lake.query import USER_TABLES
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.lake.extensions import connect, load_extensions
from tasks.lake.verify import catalog_files, latest_snapshot, verify_lake
from tasks.corpus.generate import write_corpus
from tasks.reading.split import split_records
from tests.lake_damage import copy_of, generated_lake

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory) -> LakeLocation:
    return generated_lake(tmp_path_factory.mktemp("built"))


@pytest.fixture
def lake_copy(built_lake, tmp_path) -> LakeLocation:
    return copy_of(built_lake, tmp_path / "lake")


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


def table_counts(location: LakeLocation, version: int | None = None) -> dict[str, int]:
    at = "" if version is None else f" at (version => {int(version)})"
    with open_lake(location, read_only=True) as con:
        return {table: con.execute(f"select count(*) from {table}{at}").fetchone()[0] for table in USER_TABLES}


def current_snapshot(location: LakeLocation) -> int:
    with open_lake(location, read_only=True) as con:
        return con.execute("select id from current_snapshot()").fetchone()[0]


@pytest.mark.slow
def test_a_backup_opens_where_it_is_verifies_and_keeps_time_travel(lake_copy, tmp_path, make_page, report_files_of, caplog):
    first = current_snapshot(lake_copy)
    page = make_page("10.1/later", datetime(2024, 5, 1, tzinfo=UTC), [("later", "Results", "contrasting", 0.9)])
    with open_lake(lake_copy) as con, LakeWriter(con, run_id="later") as writer:
        writer.add_batch(split_records([page]), report_files_of([page]))
        writer.finish({"seen": 1, "new": 1})
    before = _tree_digest(lake_copy.path)
    destination = tmp_path / "backup"

    result = CliRunner().invoke(app, ["backup", str(destination), "--lake", str(lake_copy.path)])

    assert result.exit_code == 0, result.output
    copy = LakeLocation(path=destination)
    latest = current_snapshot(lake_copy)
    assert result.output.startswith(f"backup {destination}: snapshot {latest}, ")
    assert _tree_digest(lake_copy.path) == before
    caplog.clear()
    checked = verify_lake(copy, deep=True)
    assert checked.sound, [problem.line() for problem in checked.problems]
    assert not [record for record in caplog.records if "moved or copied" in record.getMessage()]
    assert table_counts(copy) == table_counts(lake_copy)
    assert table_counts(copy, first) == table_counts(lake_copy, first) != table_counts(copy)
    assert CliRunner().invoke(app, ["verify", "--lake", str(destination)]).exit_code == 0


def test_a_destination_that_holds_files_or_lies_in_the_lake_is_refused(lake_copy, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    inside = lake_copy.path / "backups" / "today"

    refused = [CliRunner().invoke(app, ["backup", str(dest), "--lake", str(lake_copy.path)]) for dest in (taken, inside)]

    assert [result.exit_code for result in refused] == [1, 1]
    assert refused[0].output.strip() == f"citelake backup: DEST {taken} is not empty: name a missing or empty folder"
    assert refused[1].output.strip() == (
        f"citelake backup: DEST {inside} is inside the lake {lake_copy.path}: name a folder outside it"
    )
    assert [path.name for path in taken.iterdir()] == ["notes.txt"]
    assert not inside.exists()


def test_what_a_stopped_backup_left_is_replaced_but_a_stranger_folder_is_not(lake_copy, tmp_path):
    left = tmp_path / "backup.partial"
    left.mkdir()
    (left / PARTIAL_MARK).touch()
    (left / "catalog.sqlite").write_bytes(b"half")
    stranger = tmp_path / "other.partial"
    stranger.mkdir()

    summary = backup_lake(lake_copy, tmp_path / "backup")
    refused = CliRunner().invoke(app, ["backup", str(tmp_path / "other"), "--lake", str(lake_copy.path)])

    assert summary.files > 0 and not left.exists()
    assert verify_lake(LakeLocation(path=tmp_path / "backup")).sound
    assert refused.exit_code == 1
    assert refused.output.strip() == f"citelake backup: {stranger} exists and is not a backup in progress: move it away first"
    assert not (tmp_path / "other").exists()


# Ingests a folder into a lake, and waits at the commit (after the batches are staged,
# before the merges write the lake's files and the catalog) until the test says go.
INGEST_PAUSED_AT_COMMIT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tasks.lake.location import LakeLocation
    from tasks.lake.ingest import ingest

    source, lake, ready, go = map(Path, sys.argv[1:5])

    def progress(step):
        if step.stage == "committing":
            ready.touch()
            while not go.exists():
                time.sleep(0.02)

    ingest(source, LakeLocation(lake), workers=1, progress=progress)
    """
)


@pytest.mark.slow
def test_backups_taken_while_an_ingest_commits_each_hold_one_committed_snapshot(built_lake, tmp_path):
    lake = copy_of(built_lake, tmp_path / "lake")
    write_corpus(tmp_path / "more", 300, 8)
    before = current_snapshot(lake)
    ready, go = tmp_path / "ready", tmp_path / "go"
    process = subprocess.Popen(
        [sys.executable, "-c", INGEST_PAUSED_AT_COMMIT, str(tmp_path / "more"), str(lake.path), str(ready), str(go)],
        cwd=REPOSITORY,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready.exists():
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
        go.touch()
        backups = []
        # At least one backup starts while the run merges and commits; more follow until one holds its snapshot
        # (not until the process ends: its exit added a dozen backups of the new snapshot, 0.8 s of checks each).
        while not backups or (backups[-1][1].snapshot_id == before and process.poll() is None):
            destination = tmp_path / f"backup-{len(backups)}"
            backups.append((destination, backup_lake(lake, destination)))
        assert process.wait(timeout=600) == 0, process.communicate()[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after = current_snapshot(lake)
    assert after == before + 1

    counts_at = {snapshot: table_counts(lake, snapshot) for snapshot in (before, after)}
    for destination, summary in backups:
        copy = LakeLocation(path=destination)
        checked = verify_lake(copy, deep=True)
        assert checked.sound, [problem.line() for problem in checked.problems]
        assert summary.snapshot_id in counts_at
        assert table_counts(copy) == counts_at[summary.snapshot_id]
        # Only the files its catalog references: none the ingest had written but not yet committed.
        with connect() as con:
            load_extensions(con, "sqlite")
            con.execute(f"attach '{destination / 'catalog.sqlite'}' as copied (type sqlite, read_only)")
            assert latest_snapshot(con, "copied") == summary.snapshot_id
            referenced = {file.path for file in catalog_files(con, "copied", copy.data_path)}
        assert set(copy.data_path.rglob("*.parquet")) == referenced


def test_a_destination_that_cannot_be_written_is_one_line_and_leaves_nothing(lake_copy, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    result = CliRunner().invoke(app, ["backup", str(blocker / "backup"), "--lake", str(lake_copy.path)])

    assert result.exit_code == 1
    assert result.output.strip() == (
        f"citelake backup: cannot write the backup {blocker / 'backup'}: Not a directory "
        f"({blocker / 'backup.partial'}); nothing was kept"
    )
    assert blocker.read_text() == "not a folder"
