"""Alerts from committed runs: real report files, the real ingest flow, a real lake."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

from alert_pages import write_page
from flows.ingest import ingest_flow
from flows.alert_tasks import ALERTS_KEY
from tasks.alerts.detect import alert_message, detect_in_lake
from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.alerts.watch import unwatch, watch

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]  # every test runs a flow

REPO = Path(__file__).resolve().parent.parent
OLD, NEW = datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 3, 20, tzinfo=UTC)

A, B, C = "10.5555/watched.a", "10.5555/watched.b", "10.5555/unwatched.c"
A_SUPPORTING = "Our cohort confirms the safety profile reported for umbilical cord cells."
A_MENTIONING = "Umbilical cord cells have been given to patients with arthritis before."
A_CONTRASTING = "In contrast to the earlier trial, we saw no lasting improvement of the joint scores."
B_RECLASSIFIED = "The trial of umbilical cord cells in arthritis was small and short."
B_SUPPORTING = "As in the earlier trial, regulatory T cells increased after the infusion."


def old_pages(folder: Path) -> None:
    for doi, name in ((A, "a"), (C, "c")):
        write_page(folder, f"{name}-old", OLD, doi, f"Paper {name.upper()}", 10,
                   [(A_SUPPORTING, "Discussion", "supporting"), (A_MENTIONING, "Introduction", "mentioning")])  # fmt: skip
    write_page(folder, "b-old", OLD, B, "Paper B", 20,
               [(B_RECLASSIFIED, "Introduction", "mentioning"), (B_SUPPORTING, "Results", "supporting")])  # fmt: skip


def new_pages(folder: Path) -> None:
    """A and C gain a contrasting statement and citations; in B a statement turns contrasting and citations grow."""
    for doi, name in ((A, "a"), (C, "c")):
        write_page(folder, f"{name}-new", NEW, doi, f"Paper {name.upper()}", 12,
                   [(A_SUPPORTING, "Discussion", "supporting"), (A_MENTIONING, "Introduction", "mentioning"),
                    (A_CONTRASTING, "Results", "contrasting")])  # fmt: skip
    write_page(folder, "b-new", NEW, B, "Paper B", 25,
               [(B_RECLASSIFIED, "Introduction", "contrasting"), (B_SUPPORTING, "Results", "supporting")])  # fmt: skip


def run_flow(source: Path, lake: Path):
    state = ingest_flow(source=str(source), lake=str(lake), batch_size=2, return_state=True)
    return state.result(), state.state_details.flow_run_id


def alert_rows(lake: Path) -> list[tuple]:
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        return con.execute(
            "select doi, kind, run_id, observed_at, statement_id, detail from alerts order by doi, kind"
        ).fetchall()
    finally:
        con.close()


def essentials(rows: list[tuple]) -> list[tuple]:
    """(doi, kind, what the alert says) per alert."""
    found = []
    for doi, kind, _, _, _, detail in rows:
        detail = json.loads(detail)
        if kind in ("contrasting_added", "supporting_added"):
            said = detail["text"]
        elif kind == "reclassified":
            said = (detail["text"], detail["from"], detail["to"])
        elif kind == "tally_changed":
            said = tuple((field, detail["before"][field], detail["after"][field])
                         for field in detail["after"] if detail["before"][field] != detail["after"][field])  # fmt: skip
        else:
            said = (detail["title"], detail["cited_by"])
        found.append((doi, kind, said))
    return found


def artifact_rows(flow_run_id) -> list[dict]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[ALERTS_KEY])
            )
        )
    assert len(artifacts) == 1
    return json.loads(artifacts[0].data)


@pytest.mark.slow
def test_a_run_alerts_exactly_what_it_changed_about_watched_papers(tmp_path) -> None:
    source, lake = tmp_path / "reports", tmp_path / "lake"
    location = LakeLocation(path=lake)
    watch(location, [A, B])

    old_pages(source / "old")
    first, first_run = run_flow(source, lake)
    assert essentials(alert_rows(lake)) == [
        (A, "first_seen", ("Paper A", 10)),
        (B, "first_seen", ("Paper B", 20)),
    ]
    assert {row["doi"] for row in artifact_rows(first_run)} == {A, B}

    new_pages(source / "new")
    second, second_run = run_flow(source, lake)
    rows = alert_rows(lake)
    assert essentials(rows) == [
        (A, "contrasting_added", A_CONTRASTING),
        (A, "first_seen", ("Paper A", 10)),
        (A, "tally_changed", (("cited_by", 10, 12), ("statement_count", 2, 3), ("contrasting", 0, 1))),
        (B, "first_seen", ("Paper B", 20)),
        (B, "reclassified", (B_RECLASSIFIED, "mentioning", "contrasting")),
        (B, "tally_changed", (("cited_by", 20, 25), ("mentioning", 1, 0), ("contrasting", 0, 1))),
    ]
    # Each alert names the run that committed the page, and the page's date.
    assert {(row[1], row[2]) for row in rows if row[1] != "first_seen"} == {
        ("contrasting_added", second.run_id), ("tally_changed", second.run_id), ("reclassified", second.run_id)
    }
    assert {row[3] for row in rows if row[1] == "tally_changed"} == {NEW}
    assert all(row[4] for row in rows if row[1] in ("contrasting_added", "reclassified"))
    # The run's artifact: the watched papers it changed, the statement quoted.
    published = artifact_rows(second_run)
    assert sorted((row["doi"], row["kind"]) for row in published) == [
        (A, "contrasting_added"), (A, "tally_changed"), (B, "reclassified"), (B, "tally_changed")
    ]
    assert [row["statement"] for row in published if row["kind"] == "contrasting_added"] == [A_CONTRASTING]

    # A re-run of the same files (and a touched file: same bytes) adds no alert.
    (source / "new" / "a-new.txt").touch()
    run_flow(source, lake)
    assert alert_rows(lake) == rows


@pytest.mark.slow
def test_a_crash_between_commit_and_detection_is_caught_up_by_the_next_run(tmp_path) -> None:
    source, lake = tmp_path / "reports", tmp_path / "lake"
    location = LakeLocation(path=lake)
    watch(location, [A])
    old_pages(source / "old")
    run_flow(source, lake)
    # The run without Prefect commits exactly as the flow does, and detects nothing: a crash after the commit.
    new_pages(source / "new")
    ingest(source, location)
    assert [kind for _, kind, *_ in alert_rows(lake)] == ["first_seen"]

    caught_up, _ = run_flow(source, lake)  # nothing new to ingest
    assert caught_up.files["new"] == 0
    assert [(doi, kind) for doi, kind, *_ in alert_rows(lake)] == [
        (A, "contrasting_added"), (A, "first_seen"), (A, "tally_changed")
    ]
    # The committed run's id, not the catching-up run's.
    con = open_lake(location, read_only=True)
    try:
        (ingest_run,) = con.execute("select run_id from runs order by finished_at limit 1 offset 1").fetchone()
    finally:
        con.close()
    assert {run_id for _, kind, run_id, *_ in alert_rows(lake) if kind != "first_seen"} == {ingest_run}
    assert detect_in_lake(location).alerts == []


@pytest.mark.slow
def test_unwatched_papers_raise_no_alert_and_nothing_watched_writes_nothing(tmp_path) -> None:
    source, lake = tmp_path / "reports", tmp_path / "lake"
    location = LakeLocation(path=lake)
    old_pages(source / "old")
    run_flow(source, lake)
    watch(location, [C])
    unwatch(location, [C])
    watch(location, [A])  # watched after its first page: no first_seen for a page already in the lake
    new_pages(source / "new")
    run_flow(source, lake)
    assert [(doi, kind) for doi, kind, *_ in alert_rows(lake)] == [(A, "contrasting_added"), (A, "tally_changed")]

    unwatch(location, [A])
    con = open_lake(location, read_only=True)
    try:
        (snapshots_before,) = con.execute("select count(*) from lake.snapshots()").fetchone()
    finally:
        con.close()
    detection = detect_in_lake(location)
    assert detection.alerts == []
    con = open_lake(location, read_only=True)
    try:
        assert con.execute("select count(*) from lake.snapshots()").fetchone() == (snapshots_before,)
    finally:
        con.close()


@pytest.mark.slow
def test_citelake_alerts_lists_newest_first_with_filters_and_without_prefect(tmp_path) -> None:
    source, lake = tmp_path / "reports", tmp_path / "lake"
    watch(LakeLocation(path=lake), [A, B])
    old_pages(source / "old")
    run_flow(source, lake)
    new_pages(source / "new")
    run_flow(source, lake)

    script = (
        "import sys, json\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        "result = CliRunner().invoke(app, sys.argv[1:])\n"
        "print(json.dumps({'output': result.output, 'code': result.exit_code, 'prefect': 'prefect' in sys.modules}))\n"
    )

    def alerts(*args: str) -> tuple[list[dict], int]:
        done = subprocess.run([sys.executable, "-c", script, "alerts", "--lake", str(lake), *args],
                              cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["prefect"] is False, "citelake alerts imported Prefect"
        lines = answer["output"].splitlines()
        return ([json.loads(line) for line in lines] if "--format" in args and answer["code"] == 0 else lines), answer["code"]

    listed, code = alerts("--format", "json")
    assert code == 0
    assert len(listed) == 6
    assert [row["observed_at"][:10] for row in listed] == sorted((row["observed_at"][:10] for row in listed), reverse=True)
    assert {row["kind"] for row in listed[:4]} == {"contrasting_added", "reclassified", "tally_changed"}

    listed, _ = alerts("--format", "json", "--kind", "contrasting_added")
    assert [(row["doi"], json.loads(row["detail"])["text"]) for row in listed] == [(A, A_CONTRASTING)]
    listed, _ = alerts("--format", "json", "--doi", "HTTPS://DOI.ORG/10.5555/WATCHED.B", "--since", "2024-02-01")
    assert sorted(row["kind"] for row in listed) == ["reclassified", "tally_changed"]
    lines, code = alerts("--kind", "contrasting_added")  # the table, for a person
    table = "\n".join(lines)
    assert code == 0 and "contrasting_added" in table and "a new contrasting statement in Results" in table
    assert "In contrast to the earlier trial" in table and "tally_changed" not in table
    lines, code = alerts("--kind", "nonsense")
    assert code == 1 and lines == [
        "citelake alerts: unknown alert kind 'nonsense'; choose one of first_seen, contrasting_added, "
        "supporting_added, reclassified, tally_changed, retracted, editorial_notice"
    ]


@pytest.mark.slow
def test_the_message_of_an_alert_names_the_paper_and_quotes_the_statement(tmp_path) -> None:
    source, lake = tmp_path / "reports", tmp_path / "lake"
    location = LakeLocation(path=lake)
    watch(location, [A])
    old_pages(source / "old")
    ingest(source, location)
    detect_in_lake(location)
    new_pages(source / "new")
    ingest(source, location)
    (contrasting,) = [alert for alert in detect_in_lake(location).alerts if alert.kind == "contrasting_added"]
    assert alert_message(contrasting).splitlines() == [
        "Paper A",
        f"https://doi.org/{A}",
        "",
        "a new contrasting statement in Results (page of 2024-03-20); now 1 contrasting, 1 supporting",
        "",
        f"“{A_CONTRASTING}”",
    ]


def test_a_failing_detection_warns_and_leaves_the_run_committed(tmp_path, caplog) -> None:
    from prefect import flow

    from flows.alert_tasks import detect_alerts
    from tasks.lake.summary import IngestSummary

    not_a_lake = tmp_path / "not-a-lake"
    not_a_lake.write_text("a file where the lake folder should be")
    summary = IngestSummary(run_id="r", source="s", lake="l", files={}, rejected=[], rows_added={}, findings=[], seconds=0.0)

    @flow
    def after_a_commit() -> list:
        return detect_alerts(LakeLocation(path=not_a_lake), summary)

    with caplog.at_level("WARNING", logger="prefect.task_runs"):
        state = after_a_commit(return_state=True)
    assert state.is_completed()
    assert state.result() == []
    (warning,) = [record for record in caplog.records if "alert detection failed" in record.getMessage()]
    assert "the run stays committed and the next run catches up" in warning.getMessage()
