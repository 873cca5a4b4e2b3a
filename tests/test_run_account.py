"""An ingest says which step took what: the time to commit, each step after it, and the rest of the command.

The search index's update reports its progress in statements, so a terminal is
never left silent while it runs (issue 29).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tasks.corpus.generate import write_corpus
from tasks.lake.commit import commit_batches
from tasks.lake.discover import discover_reports
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.plan import plan_run
from tasks.lake.session import open_lake
from tasks.reading.batch import parse_and_split
from tasks.lake.summary import IngestSummary, format_summary, time_line
from tasks.search import index as search_index


def summary(seconds: float, after_commit: dict[str, float], began: float | None = None) -> IngestSummary:
    return IngestSummary(
        run_id="r1", source="/reports", lake="/lake", files={"seen": 0} | dict.fromkeys(
            ("new", "changed", "unchanged", "duplicate", "rejected"), 0
        ),
        rejected=[], rows_added={}, findings=[], seconds=seconds, after_commit=after_commit, began=began,
    )


def test_the_time_line_accounts_for_the_whole_command():
    # The work began 0.6 s after the command: the other 3.6 s of the rest came after the last step.
    run = summary(19.2, {"alerts": 0.2, "search index": 25.3, "run report": 0.4}, began=1000.6)

    line = time_line(run, wall_seconds=49.3, command_began=1000.0)

    assert line == (
        "time      committed in 19.2 s; then alerts 0.2 s, search index 25.3 s, run report 0.4 s; "
        "start-up 0.6 s, closing 3.6 s; 49.3 s in all"
    )


def test_the_run_s_seconds_are_counted_on_the_monotonic_clock(tmp_path: Path):
    """A step of the wall clock during a run moves none of its seconds: one did on this machine, where a
    million-page run said 'committed in 230.2 s' at 226.2 s after its command started."""
    write_corpus(tmp_path / "reports", 3, seed=5)
    location = LakeLocation(path=tmp_path / "lake")
    con = open_lake(location)
    try:
        plan = plan_run(con, discover_reports(tmp_path / "reports"))
        result = parse_and_split(list(plan.files_to_read()))
        started = time.monotonic() - 5.0  # as if the run's work had begun 5 s ago
        run = commit_batches(
            con, location, run_id="r1", source=tmp_path / "reports", plan=plan, batches=[(plan.to_read, result)], started=started
        )
        elapsed = time.monotonic() - started
    finally:
        con.close()

    assert run.began == started
    assert 5.0 <= run.seconds <= elapsed


def test_without_the_command_s_start_the_rest_is_one_figure():
    line = time_line(summary(19.2, {"search index": 25.3}, began=1000.6), wall_seconds=49.3)

    assert line == "time      committed in 19.2 s; then search index 25.3 s; start-up and closing 4.8 s; 49.3 s in all"


def test_start_up_is_never_more_than_the_rest_nor_less_than_nothing():
    """Whatever the two starts say, the two parts add up to the rest of the command's time."""
    late = time_line(summary(10.0, {}, began=1009.0), wall_seconds=12.0, command_began=1000.0)
    early = time_line(summary(10.0, {}, began=999.0), wall_seconds=12.0, command_began=1000.0)

    assert late == "time      committed in 10.0 s; start-up 2.0 s, closing 0.0 s; 12.0 s in all"
    assert early == "time      committed in 10.0 s; start-up 0.0 s, closing 2.0 s; 12.0 s in all"


def test_without_the_command_s_time_the_line_gives_the_run_s_parts_only():
    assert time_line(summary(1.25, {})) == "time      committed in 1.2 s"
    assert format_summary(summary(1.25, {"search index": 0.5})).splitlines()[-1] == (
        "time      committed in 1.2 s; then search index 0.5 s"
    )


@pytest.mark.slow
def test_the_index_reports_statements_indexed_of_all_to_index(tmp_path: Path):
    write_corpus(tmp_path / "reports", 60, seed=11)
    location = LakeLocation(path=tmp_path / "lake")
    ingest(tmp_path / "reports", location, workers=1)
    con = open_lake(location, read_only=True)
    try:
        (statements,) = con.execute("select count(*) from statements").fetchone()
    finally:
        con.close()
    heard: list[tuple[int, int]] = []

    update = search_index.update_index(location, progress=lambda done, total: heard.append((done, total)))

    assert statements > 0 and update.documents == statements
    assert heard[0] == (0, statements) and heard[-1] == (statements, statements)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
