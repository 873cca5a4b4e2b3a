"""The ingest flow under a real (temporary) Prefect server: what it commits and what the UI shows."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.client.schemas.objects import Artifact
from prefect.settings import PREFECT_API_URL

from flows.ingest import ingest_flow, lake_opened_ahead
from flows.ingest_tasks import BATCHES_PER_TASK, batches_of_tasks
from flows.temporary_server import TemporaryServerError
from tasks.corpus.generate import CorpusSummary, GeneratedReport, generate_corpus, write_corpus
from tasks.lake.errors import IngestCollision, LakeFolderError
from tasks.lake.summary import IngestSummary
from tasks.lake.lock import LOCK_HOLDER_FILE
from tasks.lake import tables
from tasks.lake.session import LakeOpening, open_lake
from tasks.lake.query import USER_TABLES
from tasks.lake.location import LakeLocation
from tasks.reading.record import Rejection
from flows.run_artifacts import CHANGED_PAPERS_KEY, PROGRESS_KEY, REJECTED_FILES_KEY, SUMMARY_KEY
from tasks.reading.staging import STAGING_DIR

CORPUS_FILES = 240
FIRST_PART = 150
SEED = 20240611
BATCH_SIZE = 40

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]  # every test runs a flow


def run_ingest(source: Path, lake: Path) -> tuple[IngestSummary, UUID]:
    """Run the flow with the default task runner; return its summary and flow run id."""
    state = ingest_flow(source=str(source), lake=str(lake), batch_size=BATCH_SIZE, return_state=True)
    return state.result(), state.state_details.flow_run_id


def artifacts_of(flow_run_id: UUID) -> dict[str, Artifact]:
    """The latest artifact per key that this flow run created, read back through the API."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                key=ArtifactFilterKey(any_=[PROGRESS_KEY, SUMMARY_KEY, REJECTED_FILES_KEY, CHANGED_PAPERS_KEY]),
            )
        )
    return {artifact.key: artifact for artifact in sorted(found, key=lambda artifact: artifact.updated)}


def table_rows(artifact: Artifact) -> list[dict]:
    return json.loads(artifact.data)


def lake_rows(lake: Path, query: str, parameters: dict | None = None) -> list[tuple]:
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        return con.execute(query, parameters).fetchall()
    finally:
        con.close()


def table_contents(lake: Path) -> dict[str, list[tuple]]:
    """Every row of every user table, except the per-run bookkeeping."""
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        return {
            table: con.execute(f"select * from {table} order by all").fetchall()
            for table in USER_TABLES
            if table not in ("runs", "check_findings")
        }
    finally:
        con.close()


def summarise(reports: list[GeneratedReport]) -> CorpusSummary:
    summary = CorpusSummary()
    for report in reports:
        summary.add(report)
    return summary


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path, list[GeneratedReport]]:
    """A generated corpus written to a holding folder (``pending``), and an empty ``source`` to move it into."""
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root / "pending", CORPUS_FILES, SEED)
    (root / "source").mkdir()
    return root / "pending", root / "source", list(generate_corpus(CORPUS_FILES, SEED))


def move_into_source(pending: Path, source: Path, reports: list[GeneratedReport]) -> None:
    """Move these generated files into the source folder (``rename`` keeps each page's mtime)."""
    for report in reports:
        target = source / report.name
        target.parent.mkdir(parents=True, exist_ok=True)
        (pending / report.name).rename(target)


@pytest.mark.slow
def test_runs_commit_each_file_once_and_the_ui_shows_what_happened(corpus, tmp_path):
    pending, source, reports = corpus
    lake = tmp_path / "lake"
    first, second = reports[:FIRST_PART], reports[FIRST_PART:]

    # Run 1: the first part of the corpus.
    move_into_source(pending, source, first)
    summary, flow_run_id = run_ingest(source, lake)
    expected = summarise(first)
    assert summary.files == {
        "seen": expected.files,
        "new": expected.snapshots,
        "changed": 0,
        "unchanged": 0,
        "duplicate": expected.duplicate_files,
        "rejected": expected.rejected_files,
    }
    stored = dict(lake_rows(lake, "select status, count(*) from report_files group by status"))
    assert set(stored) <= {"ingested", "duplicate", "rejected"}
    assert {status: stored.get(status, 0) for status in ("ingested", "duplicate", "rejected")} == {
        "ingested": summary.files["new"],
        "duplicate": summary.files["duplicate"],
        "rejected": summary.files["rejected"],
    }
    assert not (lake / STAGING_DIR).exists(), "the committed run left its staged batches"

    artifacts = artifacts_of(flow_run_id)
    assert set(artifacts) == {PROGRESS_KEY, SUMMARY_KEY, REJECTED_FILES_KEY, CHANGED_PAPERS_KEY}
    assert float(artifacts[PROGRESS_KEY].data) == 100.0
    markdown = artifacts[SUMMARY_KEY].data
    for status, count in summary.files.items():
        assert f"| {status} | {count:,} |" in markdown
    assert f"| paper_snapshots | {expected.snapshots:,} |" in markdown
    rejected_in_lake = lake_rows(lake, "select path, reason from report_files where status = 'rejected' order by path")
    assert sorted((row["path"], row["reason"]) for row in table_rows(artifacts[REJECTED_FILES_KEY])) == rejected_in_lake
    assert len(rejected_in_lake) == expected.rejected_files
    assert all(reason for _, reason in rejected_in_lake)

    # Run 2: the rest arrives, re-saved pages of papers from run 1 among it.
    move_into_source(pending, source, second)
    summary, flow_run_id = run_ingest(source, lake)
    expected = summarise(second)
    assert summary.files["unchanged"] == len(first)
    assert summary.files["new"] == expected.snapshots
    assert summary.files["rejected"] == expected.rejected_files
    changed = table_rows(artifacts_of(flow_run_id)[CHANGED_PAPERS_KEY])
    resaved, moved = resaved_dois(first, second)
    assert moved, "the corpus holds no re-saved page whose citation count moved"
    assert moved <= {row["doi"] for row in changed} <= resaved
    contrasting_gains = [row["contrasting_delta"] for row in changed if row["contrasting_delta"] is not None]
    assert contrasting_gains == sorted(contrasting_gains, reverse=True)

    # Run 3: nothing new; a repeated run adds no rows.
    before = table_contents(lake)
    summary, _ = run_ingest(source, lake)
    assert summary.files["unchanged"] == len(reports)
    assert all(added == 0 for added in summary.rows_added.values())
    assert table_contents(lake) == before


def resaved_dois(first: list[GeneratedReport], second: list[GeneratedReport]) -> tuple[set[str], set[str]]:
    """Papers with a page in ``second`` and an earlier page: all of them, and those whose citation count moved."""
    last_cited_by: dict[str, int | None] = {}
    resaved: set[str] = set()
    moved: set[str] = set()
    for position, report in enumerate(first + second):
        if isinstance(report.expected, Rejection) or report.duplicate:
            continue
        doi, cited_by = report.expected["doi"], report.expected["cited_by"]
        if position >= len(first) and doi in last_cited_by:
            resaved.add(doi)
            if None not in (cited_by, last_cited_by[doi]) and cited_by != last_cited_by[doi]:
                moved.add(doi)
        last_cited_by[doi] = cited_by
    return resaved, moved


@pytest.mark.slow
def test_a_run_started_while_another_holds_the_lake_writes_nothing_and_says_why(tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_corpus(source, 120, SEED + 1)
    # The first run, in a process of its own, is frozen (SIGSTOP) as soon as it
    # holds the lake's lock, so the second run is certain to start while the
    # first one is mid-run; then it is let go and must commit normally.
    first = subprocess.Popen(
        [sys.executable, "-m", "flows.ingest", str(source), str(lake)],
        env=os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: (lake / LOCK_HOLDER_FILE).exists(), first)
        first.send_signal(signal.SIGSTOP)
        second = ingest_flow(source=str(source), lake=str(lake), batch_size=BATCH_SIZE, return_state=True)
        first.send_signal(signal.SIGCONT)
        output, _ = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0, output.decode()
    assert second.is_failed()
    with pytest.raises(IngestCollision, match=r"another ingest is running on .* since .*; nothing was written"):
        second.result()
    assert lake_rows(lake, "select count(*) from runs") == [(1,)]
    for table in tables.names(key_checked=True):
        key = ", ".join(tables.table(table).key)
        assert lake_rows(lake, f"select (select count(*) from {table}) - count(*) from (select distinct {key} from {table})") == [(0,)], table


def test_the_parse_tasks_take_the_batches_in_the_plan_s_order():
    assert batches_of_tasks(7, 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches_of_tasks(2, 5) == [[0, 1]]
    assert batches_of_tasks(3, 1) == [[0], [1], [2]]
    assert batches_of_tasks(0, 5) == []


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    """Poll ``condition`` until it holds; fail at once if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the first run exited early: {process.stdout.read().decode()}")
        if time.monotonic() > deadline:
            pytest.fail("the first run never took the lake's lock")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_command_line_run_delivers_its_task_runs_before_the_process_ends(tmp_path):
    """``citelake ingest`` skips the interpreter's teardown; the run's last events must have reached the server first."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    source, lake = tmp_path / "source", tmp_path / "lake"
    write_corpus(source, 60, SEED + 2)
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(source), "--lake", str(lake), "--batch-size", "20"],
        env=os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "rows added" in result.stdout, "the summary reached the pipe whole"
    [(run_id,)] = lake_rows(lake, "select run_id from runs")

    # The server records task runs from the events the command sent; give its recorder time to catch up.
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 60
        while True:
            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
            states = {run.name.rsplit("-", 1)[0]: run.state_type.value for run in task_runs}
            done = [run for run in task_runs if run.state_type and run.state_type.value == "COMPLETED"]
            if (len(done) == len(task_runs) and "publish_run_report" in states) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    # plan, the parse tasks of three batches, commit, alerts, index, report
    assert len(task_runs) == 1 + math.ceil(3 / BATCHES_PER_TASK) + 4, states
    assert all(run.state_type.value == "COMPLETED" for run in task_runs), states


@pytest.mark.slow
def test_a_run_in_a_lake_opened_ahead_commits_as_any_run(tmp_path):
    """``citelake ingest`` opens a fresh lake while it imports Prefect; the run then commits into it."""
    source, location = tmp_path / "source", LakeLocation(path=tmp_path / "lake")
    write_corpus(source, 30, SEED + 3)
    with lake_opened_ahead(LakeOpening(location)):
        assert location.catalog_file.is_file(), "the lake was not made ahead of the run"
        summary, flow_run_id = run_ingest(source, location.path)
    assert lake_rows(location.path, "select run_id from runs") == [(str(flow_run_id),)]
    assert summary.files["seen"] == 30
    assert not (location.path / STAGING_DIR).exists()
    open_lake(location).close()  # the block's instance is closed: another one opens the lake for writing


def test_a_run_that_never_started_leaves_no_folder_the_open_ahead_made(tmp_path):
    fresh = LakeLocation(path=tmp_path / "new" / "lake")
    with pytest.raises(TemporaryServerError):
        with lake_opened_ahead(LakeOpening(fresh)):
            assert fresh.catalog_file.is_file()
            raise TemporaryServerError("the temporary Prefect server did not start")
    assert not (tmp_path / "new").exists(), "a run that never started wrote a lake"

    existing = LakeLocation(path=tmp_path / "lake")
    open_lake(existing).close()
    with pytest.raises(TemporaryServerError):
        with lake_opened_ahead(LakeOpening(existing)):
            raise TemporaryServerError("the temporary Prefect server did not start")
    assert existing.catalog_file.is_file(), "an existing lake was removed"


def test_a_lake_that_does_not_open_ahead_is_left_to_the_run_which_says_why(tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_corpus(source, 5, SEED + 4)
    lake.write_text("not a lake folder")
    with lake_opened_ahead(LakeOpening(LakeLocation(path=lake))):
        state = ingest_flow(source=str(source), lake=str(lake), batch_size=BATCH_SIZE, return_state=True)
    assert state.is_failed()
    with pytest.raises(LakeFolderError, match="is a file, not a lake folder"):
        state.result()
    assert lake.read_text() == "not a lake folder"
