"""The lake: opening and migrating it, the writer's merges, checks, views and isolation."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tasks.reading.frames import Frames
from tasks.lake import tables
from tasks.lake.session import lake_kept_open, open_lake
from tasks.lake.writer import LakeWriter, file_manifest
from tasks.lake.migrations import migrations
from tasks.lake.errors import KeyCheckFailed, LakeError
from tasks.reading.split import split_records

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


def write_run(con, run_id, pages, report_files_of, **file_counts):
    """Commit one run holding ``pages`` as one batch; its summary."""
    with LakeWriter(con, run_id=run_id, source="/reports") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        return writer.finish(file_counts or {"seen": len(pages), "new": len(pages)})


def snapshot_ids(con):
    return [row[0] for row in con.execute("select snapshot_id from lake.snapshots() order by snapshot_id").fetchall()]


def test_a_run_s_snapshot_is_named_for_it(lake, make_page, report_files_of):
    # lake.snapshots() lists the schema's snapshots too: a run's is found by its message, not by counting.
    write_run(lake, "run-7", [make_page("10.1/a", JAN)], report_files_of)

    author, message, run_id = lake.execute(
        "select author, commit_message, commit_extra_info::json->>'run_id' from lake.snapshots() order by snapshot_id desc limit 1"
    ).fetchone()
    assert (author, message, run_id) == ("citelake", "ingest run run-7", "run-7")


def table_counts(con):
    return {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in (*tables.COUNTED_TABLES, "runs")}


def test_fresh_lake_is_migrated_and_recorded(lake):
    versions = lake.execute("select version from schema_version order by version").fetchall()
    assert [v for (v,) in versions] == [m.version for m in migrations()]
    views = {name for (name,) in lake.execute("select view_name from duckdb_views() where database_name = 'lake'").fetchall()}
    assert {"paper_citation_profile", "contrasting_statements", "paper_section_mix", "paper_count_history", "statement_reclassifications"} <= views


def test_reopen_applies_nothing_and_creates_no_snapshot(lake_location):
    con = open_lake(lake_location)
    before = snapshot_ids(con)
    con.close()
    con = open_lake(lake_location)
    assert snapshot_ids(con) == before
    assert con.execute("select count(*) from schema_version").fetchone()[0] == len(migrations())
    con.close()


def test_a_reader_of_a_lake_an_older_citelake_wrote_is_told_to_update_it_once(lake, lake_location):
    """A view this code changed (as after an upgrade): a reader says so in one line and writes nothing; maintain updates it."""
    from tasks.lake.maintenance import maintain_lake
    from tasks.lake.sql import read_sql

    lake.execute(read_sql("lake/record_view.sql"), {"view_name": "retracted_papers", "sha256": "an older text"})
    lake.close()
    with pytest.raises(LakeError, match=r"^the lake at .* was written by an older citelake: run `citelake maintain` once"):
        open_lake(lake_location, read_only=True)
    maintain_lake(lake_location)
    open_lake(lake_location, read_only=True).close()


def test_read_only_open_of_missing_lake_is_a_clear_error(lake_location):
    with pytest.raises(LakeError, match="no lake at"):
        open_lake(lake_location, read_only=True)
    assert not lake_location.path.exists()


def test_read_only_open_refuses_writes(lake, lake_location):
    reader = open_lake(lake_location, read_only=True)
    with pytest.raises(duckdb.Error):
        reader.execute("insert into runs (run_id) values ('x')")
    reader.close()


def test_a_kept_lake_hands_out_cursors_of_one_instance_that_see_each_others_commits(lake_location, make_page, report_files_of):
    with lake_kept_open(lake_location):
        with pytest.raises(LakeError, match="no lake at"):
            open_lake(lake_location, read_only=True)  # nothing kept before a writable open: read-only as ever
        writer = open_lake(lake_location)  # creates and migrates the lake, and keeps it
        writer.execute("create table memory.main.probe as select 1 as one")  # in the instance's own database
        reader = open_lake(lake_location, read_only=True)
        assert reader.execute("select one from memory.main.probe").fetchall() == [(1,)], "the same instance"
        assert reader.execute("select current_database()").fetchone() == ("lake",)
        write_run(writer, "r1", [make_page("10.1/kept", JAN)], report_files_of)
        writer.close()  # a cursor: the instance stays open
        assert reader.execute("select doi from papers").fetchall() == [("10.1/kept",)], "sees the other's commit"
        reader.close()
        assert open_lake(lake_location).execute("select count(*) from runs").fetchone() == (1,)
    fresh = open_lake(lake_location)  # after the block: an instance of its own again
    with pytest.raises(duckdb.CatalogException):
        fresh.execute("select one from memory.main.probe")
    assert fresh.execute("select count(*) from runs").fetchone() == (1,)
    fresh.close()


def test_two_threads_keep_the_same_lake_open_each_with_its_own_instance(lake_location):
    """Two runs in two threads of one process: neither uses (nor closes) the other's instance."""
    first_open, second_done = threading.Event(), threading.Event()
    seen = {}

    def first():
        with lake_kept_open(lake_location):
            open_lake(lake_location).execute("create table memory.main.probe as select 1 as one")
            first_open.set()
            second_done.wait(30)
            seen["first still open"] = open_lake(lake_location).execute("select one from memory.main.probe").fetchall()

    def second():
        first_open.wait(30)
        try:
            with lake_kept_open(lake_location):
                con = open_lake(lake_location)
                seen["second sees the probe"] = bool(con.execute(
                    "select count(*) from duckdb_tables() where database_name = 'memory' and table_name = 'probe'"
                ).fetchone()[0])  # fmt: skip
        finally:
            second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seen == {"second sees the probe": False, "first still open": [(1,)]}


@pytest.mark.slow
def test_resaved_page_updates_paper_and_adds_snapshot(lake, make_page, report_files_of):
    first = make_page("10.1/a", JAN, [("text one", "Introduction", "mentioning", 0.9)], cited_by=10)
    second = make_page("10.1/a", FEB, [("text one", "Introduction", "mentioning", 0.9)], cited_by=15)
    write_run(lake, "run-1", [first], report_files_of)
    summary = write_run(lake, "run-2", [second], report_files_of)

    assert summary.rows_added["papers"] == 0
    assert summary.rows_added["paper_snapshots"] == 1
    assert lake.execute("select cited_by, first_seen, last_seen, source_sha256 from papers").fetchall() == [
        (15, JAN, FEB, second[0].sha256)
    ]
    history = lake.execute("select cited_by, cited_by_delta from paper_count_history order by observed_at").fetchall()
    assert history == [(10, None), (15, 5)]


@pytest.mark.slow
def test_older_page_arriving_later_does_not_overwrite_the_paper(lake, make_page, report_files_of):
    newer = make_page("10.1/a", FEB, cited_by=15)
    older = make_page("10.1/a", JAN, cited_by=10)
    write_run(lake, "run-1", [newer], report_files_of)
    write_run(lake, "run-2", [older], report_files_of)
    assert lake.execute("select cited_by, first_seen, last_seen from papers").fetchall() == [(15, JAN, FEB)]


@pytest.mark.slow
def test_reclassification_is_kept_visible(lake, make_page, report_files_of):
    write_run(lake, "run-1", [make_page("10.1/a", JAN, [("text one", "Results", "supporting", 0.8)])], report_files_of)
    write_run(lake, "run-2", [make_page("10.1/a", FEB, [("text one", "Results", "contrasting", 0.6)])], report_files_of)

    assert lake.execute("select type, confidence, first_seen, last_seen from statements").fetchall() == [
        ("contrasting", 0.6, JAN, FEB)
    ]
    assert lake.execute("select old_type, new_type, changed_at from statement_reclassifications").fetchall() == [
        ("supporting", "contrasting", FEB)
    ]
    assert lake.execute("select count(*) from contrasting_statements").fetchone()[0] == 1


@pytest.mark.slow
def test_a_new_statement_takes_its_latest_sighting_whether_staged_once_or_twice(lake, make_page, report_files_of):
    """finish inserts a statement new to the lake and staged once, and merges one staged twice: same row either way.

    "text one" is on two pages of one batch (staged once, two sightings: the
    insert path); "text two" on two pages in two batches (the MERGE path).
    """
    once = [
        make_page("10.1/a", JAN, [("text one", "Results", "supporting", 0.8)]),
        make_page("10.1/a", FEB, [("text one", "Results", "contrasting", 0.6)], cited_by=11),
    ]
    twice = [
        make_page("10.1/b", JAN, [("text two", "Results", "supporting", 0.8)]),
        make_page("10.1/b", FEB, [("text two", "Results", "contrasting", 0.6)], cited_by=11),
    ]
    with LakeWriter(lake, run_id="run-1", source="/reports") as writer:
        writer.add_batch(split_records(once), report_files_of(once))
        writer.add_batch(split_records(twice[:1]), report_files_of(twice[:1]))
        writer.add_batch(split_records(twice[1:]), report_files_of(twice[1:]))
        summary = writer.finish({"seen": 4, "new": 4})

    assert summary.rows_added["statements"] == 2
    assert lake.execute(
        "select doi, text, type, confidence, first_seen, last_seen, statement_source from statements order by doi"
    ).fetchall() == [
        ("10.1/a", "text one", "contrasting", 0.6, JAN, FEB, "page"),
        ("10.1/b", "text two", "contrasting", 0.6, JAN, FEB, "page"),
    ]


@pytest.mark.slow
def test_a_new_paper_takes_its_latest_page_whether_staged_once_or_twice(lake, make_page, report_files_of):
    """finish inserts a paper, an abstract and a file state new to the lake and staged once, and merges
    those staged twice: the same rows either way (10.1/a's pages in one batch, 10.1/b's in two)."""
    once = [
        make_page("10.1/a", JAN, abstract="The first abstract."),
        make_page("10.1/a", FEB, cited_by=11, abstract="The later abstract."),
    ]
    twice = [
        make_page("10.1/b", JAN, abstract="The first abstract."),
        make_page("10.1/b", FEB, cited_by=11, abstract="The later abstract."),
    ]
    with LakeWriter(lake, run_id="run-1", source="/reports") as writer:
        writer.add_batch(split_records(once), report_files_of(once))
        writer.add_batch(split_records(twice[:1]), report_files_of(twice[:1]))
        writer.add_batch(split_records(twice[1:]), report_files_of(twice[1:]))
        summary = writer.finish({"seen": 4, "new": 4})

    assert (summary.rows_added["papers"], summary.rows_added["abstracts"], summary.rows_added["report_files"]) == (2, 2, 4)
    assert lake.execute(
        "select doi, cited_by, first_seen, last_seen, source_sha256 from papers order by doi"
    ).fetchall() == [("10.1/a", 11, JAN, FEB, once[1][0].sha256), ("10.1/b", 11, JAN, FEB, twice[1][0].sha256)]
    assert lake.execute("select doi, abstract, observed_at from abstracts order by doi").fetchall() == [
        ("10.1/a", "The later abstract.", FEB),
        ("10.1/b", "The later abstract.", FEB),
    ]
    assert lake.execute("select path, sha256, status, run_id from report_files order by path").fetchall() == sorted(
        (source.path, source.sha256, "ingested", "run-1") for source, _ in once + twice
    )


@pytest.mark.slow
def test_adding_the_same_batch_twice_adds_nothing(lake, make_page, report_files_of):
    pages = [
        make_page("10.1/a", JAN, [("a", "Methods", "mentioning", 0.9), ("b", None, "supporting", 0.7)]),
        make_page("10.1/b", FEB, [("c", "Discussion", "contrasting", 0.5)], abstract=None),
    ]
    write_run(lake, "run-1", pages, report_files_of)
    counts = table_counts(lake)
    with LakeWriter(lake, run_id="run-2") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.add_batch(split_records(pages), report_files_of(pages))
        summary = writer.finish({"seen": 2, "unchanged": 2})

    assert set(summary.rows_added.values()) == {0}
    assert table_counts(lake) == {**counts, "runs": counts["runs"] + 1}
    assert lake.execute("select files_unchanged, papers_added from runs where run_id = 'run-2'").fetchone() == (2, 0)


@pytest.mark.slow
def test_exception_inside_the_writer_leaves_the_previous_snapshot(lake, make_page, report_files_of):
    write_run(lake, "run-1", [make_page("10.1/a", JAN)], report_files_of)
    snapshots, counts = snapshot_ids(lake), table_counts(lake)

    with pytest.raises(RuntimeError, match="boom"):
        with LakeWriter(lake, run_id="run-2") as writer:
            writer.add_batch(split_records([make_page("10.1/b", FEB)]), report_files_of([make_page("10.1/b", FEB)]))
            raise RuntimeError("boom")

    assert snapshot_ids(lake) == snapshots
    assert table_counts(lake) == counts


def run_staging_left(con) -> list[str]:
    """The run staging's temporary tables and views still in the connection (create_run_staging.sql, run_view.sql)."""
    rows = con.execute(
        "select table_name from duckdb_tables() where temporary and table_name like 'run%' "
        "union all select view_name from duckdb_views() where temporary and view_name like 'run%'"
    ).fetchall()
    return sorted(name for (name,) in rows)


def test_the_writer_drops_its_staging_after_a_commit_and_after_a_rollback(lake, make_page, report_files_of):
    write_run(lake, "run-1", [make_page("10.1/a", JAN)], report_files_of)
    assert run_staging_left(lake) == []
    assert lake.execute("select count(*) from runs").fetchone() == (1,)  # the connection is usable after the drops

    with pytest.raises(RuntimeError, match="boom"):
        with LakeWriter(lake, run_id="run-2") as writer:
            writer.add_batch(split_records([make_page("10.1/b", FEB)]), report_files_of([make_page("10.1/b", FEB)]))
            assert "run_page_hashes" in run_staging_left(lake)
            raise RuntimeError("boom")
    assert run_staging_left(lake) == []


def test_leaving_without_finish_commits_nothing(lake, make_page, report_files_of):
    snapshots = snapshot_ids(lake)
    with pytest.raises(LakeError, match="without finish"):
        with LakeWriter(lake, run_id="run-1") as writer:
            writer.add_batch(split_records([make_page("10.1/a", JAN)]), report_files_of([make_page("10.1/a", JAN)]))
    assert snapshot_ids(lake) == snapshots


@pytest.mark.slow
def test_key_check_violation_stops_the_commit(lake, make_page, report_files_of):
    page = make_page("10.1/a", JAN)
    frames = split_records([page])
    # A batch that breaks its own contract (one page twice) is stored as given; the check catches it.
    broken = Frames(**{**dict(frames.items()), "paper_snapshots": frames.paper_snapshots.vstack(frames.paper_snapshots)})
    snapshots = snapshot_ids(lake)

    with pytest.raises(KeyCheckFailed, match="duplicate_keys_paper_snapshots"):
        with LakeWriter(lake, run_id="run-1") as writer:
            writer.add_batch(broken, report_files_of([page]))
            writer.finish({"seen": 1})

    assert snapshot_ids(lake) == snapshots
    assert lake.execute("select count(*) from paper_snapshots").fetchone()[0] == 0


@pytest.mark.slow
def test_other_checks_are_recorded_and_the_run_commits(lake, make_page, report_files_of):
    page = make_page("10.1/a", JAN, [("a", None, "mentioning", 0.9), ("b", None, "mentioning", 0.9)], statement_count=7)
    summary = write_run(lake, "run-1", [page], report_files_of)

    found = {finding.check_name: finding.offending_rows for finding in summary.findings}
    assert found["tallies_do_not_add_up"] == 1
    assert found["duplicate_keys_papers"] == 0
    recorded = dict(lake.execute("select check_name, offending_rows from check_findings where run_id = 'run-1'").fetchall())
    assert recorded == found
    assert lake.execute("select count(*) from papers").fetchone()[0] == 1


@pytest.mark.slow
def test_a_run_that_stages_nothing_records_the_latest_runs_findings(lake, make_page, report_files_of):
    page = make_page("10.1/a", JAN, [("a", None, "mentioning", 0.9)], statement_count=7)
    first = write_run(lake, "run-1", [page], report_files_of)
    with LakeWriter(lake, run_id="run-2") as writer:
        second = writer.finish({"seen": 1, "unchanged": 1})

    def recorded(run_id):
        return lake.execute(
            "select check_name, offending_rows, sample from check_findings where run_id = ? order by check_name", [run_id]
        ).fetchall()

    assert [(f.check_name, f.offending_rows) for f in second.findings] == [(f.check_name, f.offending_rows) for f in first.findings]
    assert dict((f.check_name, f.offending_rows) for f in second.findings)["tallies_do_not_add_up"] == 1
    assert recorded("run-2") == recorded("run-1")
    assert set(second.rows_added.values()) == {0} and "papers" in second.rows_added
    assert lake.execute("select files_unchanged from runs where run_id = 'run-2'").fetchone() == (1,)


def test_a_first_run_that_stages_nothing_runs_the_checks(lake):
    with LakeWriter(lake, run_id="run-1") as writer:
        summary = writer.finish({"seen": 0})

    assert summary.findings and {finding.offending_rows for finding in summary.findings} == {0}
    assert lake.execute("select count(*) from check_findings where run_id = 'run-1'").fetchone()[0] == len(summary.findings)


@pytest.mark.slow
def test_report_files_keep_one_row_per_path_with_its_latest_state(lake, make_page, report_files_of):
    page = make_page("10.1/a", JAN)
    write_run(lake, "run-1", [page], report_files_of)
    with LakeWriter(lake, run_id="run-2") as writer:
        writer.add_batch(split_records([]), report_files_of([page], status="unchanged"))
        writer.finish({"seen": 1, "unchanged": 1})

    assert lake.execute("select status, run_id from report_files").fetchall() == [("unchanged", "run-2")]
    manifest = file_manifest(lake, [page[0].path, "/elsewhere.txt"])
    assert manifest.select("path", "sha256", "status").rows() == [(page[0].path, page[0].sha256, "unchanged")]
    assert file_manifest(lake).height == 1


@pytest.mark.slow
def test_stored_hashes_are_the_lakes_pages_and_the_runs_staged_ones(lake, make_page, report_files_of):
    stored, staged = make_page("10.1/a", JAN), make_page("10.1/b", JAN)
    write_run(lake, "run-1", [stored], report_files_of)
    with LakeWriter(lake, run_id="run-2") as writer:
        writer.add_batch(split_records([staged]), report_files_of([staged]))
        hashes = [stored[0].sha256, staged[0].sha256, "f" * 64]
        assert writer.stored_hashes(hashes) == {stored[0].sha256, staged[0].sha256}
        writer.finish({"seen": 1, "new": 1})


def test_views_answer(lake, make_page, report_files_of):
    write_run(
        lake,
        "run-1",
        [make_page("10.1/a", JAN, [("a", "Introduction", "supporting", 0.9), ("b", "Methods", "contrasting", 0.9), ("c", "Methods", "mentioning", 0.9)])],
        report_files_of,
    )
    profile = lake.execute("select supporting, contrasting, contrasting_share from paper_citation_profile").fetchone()
    assert profile == (1, 1, pytest.approx(1 / 3))
    mix = dict(lake.execute("select section_category, share from paper_section_mix").fetchall())
    assert mix == {"introduction": pytest.approx(1 / 3), "methods": pytest.approx(2 / 3)}


READER = """
import sys
from pathlib import Path
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
con = open_lake(LakeLocation(Path(sys.argv[1])), read_only=True)
print(con.execute("select count(*) from papers").fetchone()[0])
"""


@pytest.mark.slow
def test_reader_in_another_process_sees_the_previous_snapshot_during_a_write(lake, lake_location, make_page, report_files_of):
    write_run(lake, "run-1", [make_page("10.1/a", JAN)], report_files_of)
    pages = [make_page("10.1/b", JAN), make_page("10.1/c", JAN)]
    with LakeWriter(lake, run_id="run-2") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        seen = subprocess.run(
            [sys.executable, "-c", READER, str(lake_location.path)], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent
        )
        assert seen.returncode == 0, seen.stderr
        assert seen.stdout.strip() == "1"
        writer.finish({"seen": 2, "new": 2})
    assert lake.execute("select count(*) from papers").fetchone()[0] == 3
