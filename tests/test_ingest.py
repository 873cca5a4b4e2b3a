"""Incremental ingest: discovery, the plan and classification rules, and whole runs on a generated corpus."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tasks.reading.frames import FILE_STATES, empty_frames
from tasks.corpus.generate import CorpusSummary, write_corpus
import tasks.lake.ingest as ingest_module
from tasks.lake.errors import IngestCollision, SourceError
from tasks.lake.discover import discover_reports
from tasks.lake.head_start import HeadStart, adopt_head_start
from tasks.lake.ingest import IngestSteps, ingest, run_ingest
from tasks.lake.plan import PLAN_FILE, ParkedPlan, classify_outcomes, pages_to_store, plan_run
from tasks.lake.lock import ingest_guard
from tasks.lake import tables
from tasks.lake.session import lake_kept_open, open_lake, release_kept_instance
from tasks.lake.run_record import row_counts_sql
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.reading.parse import load_report
from tasks.reading.record import DiscoveredFile, Rejection
from tasks.reading.split import split_records

TEST_SQL = Path(__file__).parent / "sql"
DATA_TABLES = tables.PAGE_FRAMES


def test_sql(name: str) -> str:
    return (TEST_SQL / name).read_text(encoding="utf-8")


test_sql.__test__ = False  # a helper, not a test


def row_counts(location: LakeLocation) -> dict[str, int]:
    """Rows per lake table, read through a read-only connection."""
    con = open_lake(location, read_only=True)
    try:
        return dict(con.execute(row_counts_sql()).fetchall())
    finally:
        con.close()


def status_counts(location: LakeLocation) -> dict[str, tuple[int, int]]:
    """Files per report_files status, with how many of them have no reason."""
    con = open_lake(location, read_only=True)
    try:
        return {status: (files, no_reason) for status, files, no_reason in con.execute(test_sql("report_files_by_status.sql")).fetchall()}
    finally:
        con.close()


def assert_lake_holds_corpus(location: LakeLocation, corpus: CorpusSummary) -> None:
    """Every count in the lake is what the generator says it wrote."""
    counts = row_counts(location)
    assert counts["papers"] == corpus.distinct_dois
    assert counts["paper_snapshots"] == corpus.snapshots
    assert counts["statements"] == corpus.distinct_statements
    assert counts["report_files"] == corpus.files
    statuses = status_counts(location)
    assert statuses["ingested"] == (corpus.snapshots, corpus.snapshots)
    assert statuses["duplicate"][0] == corpus.duplicate_files
    rejected, rejected_without_reason = statuses["rejected"]
    assert rejected == corpus.rejected_files
    assert rejected_without_reason == 0


def set_mtime(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


# ---------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------


def test_discovery_recurses_and_takes_report_suffixes_in_any_case(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    for name in ["b.txt", "a.TXT", "c.txt.gz", "d.Txt.GZ", "e.gz", "f.md", "g.txt.bak", "sub/h.txt", "sub/deeper/i.txt"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)

    found = list(discover_reports(root))

    real_root = root.resolve()
    assert [file.path for file in found] == [
        str(real_root / name) for name in ["a.TXT", "b.txt", "c.txt.gz", "d.Txt.GZ", "sub/deeper/i.txt", "sub/h.txt"]
    ]
    assert [file.size for file in found] == [Path(file.path).stat().st_size for file in found]
    first = root / "a.TXT"
    assert found[0].mtime == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=first.stat().st_mtime_ns // 1000)


def test_discovery_paths_are_absolute_and_stable_however_the_root_is_named(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "reports"
    (root / "x").mkdir(parents=True)
    (root / "x" / "one.txt").write_text("1")
    monkeypatch.chdir(tmp_path)

    assert list(discover_reports("reports")) == list(discover_reports(root)) == list(discover_reports(root / "x" / ".."))
    assert [file.path for file in discover_reports("reports")] == [str(root.resolve() / "x" / "one.txt")]


def test_discovery_follows_no_symlink_out_of_the_root_and_survives_loops(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside")
    root = tmp_path / "reports"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "page.txt").write_text("inside")
    (root / "to-outside-file.txt").symlink_to(outside / "secret.txt")
    (root / "to-outside-dir").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "sub" / "self-loop.txt").symlink_to(root / "sub" / "self-loop.txt")
    (root / "inside-link.txt").symlink_to(root / "sub" / "page.txt")

    paths = [file.path for file in discover_reports(root)]

    real_root = root.resolve()
    # The link to itself cannot be opened: it is found, for the reader to reject with its reason (a row, not silence).
    assert paths == [
        str(real_root / "inside-link.txt"),
        str(real_root / "sub" / "page.txt"),
        str(real_root / "sub" / "self-loop.txt"),
    ]
    assert load_report(real_root / "sub" / "self-loop.txt") == Rejection("cannot read the file: Too many levels of symbolic links")


def test_discovery_of_a_missing_or_wrong_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        discover_reports(tmp_path / "missing")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(SourceError, match="not a folder"):
        discover_reports(a_file)


# ---------------------------------------------------------------------------
# The plan and classification rules
# ---------------------------------------------------------------------------

T0 = datetime(2024, 3, 1, tzinfo=UTC)
SHA_A, SHA_B, SHA_C, SHA_D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


def report_files(rows: list[tuple[str, int, datetime, str | None, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(*row, []) for row in rows],
        schema=FILE_STATES,
        orient="row",
    )


def test_plan_reads_only_paths_whose_size_or_mtime_differ_from_the_manifest(lake: duckdb.DuckDBPyConnection) -> None:
    with LakeWriter(lake, run_id="earlier") as writer:
        writer.add_batch(
            empty_frames(),
            report_files(
                [
                    ("/r/same.txt", 10, T0, SHA_A, "ingested", None),
                    ("/r/touched.txt", 10, T0, SHA_B, "ingested", None),
                    ("/r/grown.txt", 10, T0, SHA_C, "rejected", "empty file"),
                ]
            ),
        )
        writer.finish({"seen": 3, "new": 2, "rejected": 1})
    discovered = [
        DiscoveredFile("/r/grown.txt", 11, T0),
        DiscoveredFile("/r/new.txt", 5, T0),
        DiscoveredFile("/r/same.txt", 10, T0),
        DiscoveredFile("/r/touched.txt", 10, T0 + timedelta(microseconds=1)),
    ]

    plan = plan_run(lake, iter(discovered))

    assert (plan.files_seen, plan.unchanged) == (4, 1)
    assert plan.bytes_to_read == 26
    assert plan.to_read.select("path", "previous_sha256", "previous_status").rows() == [
        ("/r/grown.txt", SHA_C, "rejected"),
        ("/r/new.txt", None, None),
        ("/r/touched.txt", SHA_B, "ingested"),
    ]
    assert list(plan.files_to_read()) == [discovered[0], discovered[1], discovered[3]]


def test_a_parked_plan_gives_back_each_batch_as_the_frame_held_it_and_every_file_in_order(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "path": [f"/r/{number}.txt" for number in range(5)],
            "size": [10, 11, 12, 13, 14],
            "mtime": [T0 + timedelta(microseconds=number) for number in range(5)],
            "previous_sha256": [SHA_A, None, SHA_B, None, SHA_C],
            "previous_status": ["ingested", None, "rejected", None, "ingested"],
        },
        schema_overrides={"mtime": pl.Datetime("us", "UTC")},
    )

    parked = ParkedPlan(frame, tmp_path / "run", batch_size=2)

    assert parked.path == tmp_path / "run" / PLAN_FILE and parked.path.is_file()
    assert len(parked) == 3
    for number in range(3):
        assert_frame_equal(parked.batch(number), frame.slice(2 * number, 2))
    assert list(parked.files()) == [DiscoveredFile(f"/r/{number}.txt", 10 + number, T0 + timedelta(microseconds=number)) for number in range(5)]


def test_a_parked_plan_of_nothing_to_read_has_no_batches(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        schema={"path": pl.Utf8, "size": pl.Int64, "mtime": pl.Datetime("us", "UTC"), "previous_sha256": pl.Utf8}
    )

    parked = ParkedPlan(frame, tmp_path / "run", batch_size=2)

    assert len(parked) == 0
    assert list(parked.files()) == []


def outcomes(rows: list[tuple[str, str | None, str, str | None]]) -> pl.DataFrame:
    """Batch outcome rows (path, sha256, status, reason), as tasks.reading.batch gives them."""
    return report_files([(path, 1, T0, sha256, status, reason) for path, sha256, status, reason in rows])


def previous(rows: list[tuple[str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["path", "previous_sha256", "previous_status"], orient="row")


def pages(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["source_sha256", "source_path"], orient="row")


def test_classification_rules() -> None:
    classified = classify_outcomes(
        outcomes(
            [
                ("/r/touched.txt", SHA_A, "parsed", None),  # the bytes it had
                ("/r/touched-reject.txt", SHA_D, "rejected", "empty file"),  # the bytes it had, a reject
                ("/r/login.txt", "e" * 64, "rejected", "not a report"),
                ("/r/unreadable.txt", None, "rejected", "cannot read the file"),
                ("/r/copy-of-stored.txt", SHA_B, "parsed", None),
                ("/r/copy.txt", SHA_C, "parsed", None),  # the split kept the other copy
                ("/r/original.txt", SHA_C, "parsed", None),
                ("/r/rewritten.txt", "f" * 64, "parsed", None),
                ("/r/brand-new.txt", "9" * 64, "parsed", None),
            ]
        ),
        previous(
            [
                ("/r/touched.txt", SHA_A, "ingested"),
                ("/r/touched-reject.txt", SHA_D, "rejected"),
                ("/r/unreadable.txt", None, "rejected"),
                ("/r/rewritten.txt", SHA_A, "duplicate"),
            ]
        ),
        pages([(SHA_A, "/r/touched.txt"), (SHA_B, "/r/copy-of-stored.txt"), (SHA_C, "/r/original.txt"), ("f" * 64, "/r/rewritten.txt"), ("9" * 64, "/r/brand-new.txt")]),
        stored_hashes={SHA_A, SHA_B},
    )

    assert classified.select("path", "outcome", "status").rows() == [
        ("/r/touched.txt", "unchanged", "ingested"),
        ("/r/touched-reject.txt", "unchanged", "rejected"),
        ("/r/login.txt", "rejected", "rejected"),
        ("/r/unreadable.txt", "rejected", "rejected"),
        ("/r/copy-of-stored.txt", "duplicate", "duplicate"),
        ("/r/copy.txt", "duplicate", "duplicate"),
        ("/r/original.txt", "new", "ingested"),
        ("/r/rewritten.txt", "changed", "ingested"),
        ("/r/brand-new.txt", "new", "ingested"),
    ]
    assert classified.drop("outcome").columns == outcomes([]).columns


def test_pages_left_out_do_not_move_a_papers_latest_values_or_a_statements_sightings(make_page) -> None:
    older = make_page("10.1/x", T0, [("Older text.", "Methods", "mentioning", 0.9)], cited_by=10)
    newer = make_page("10.1/x", T0 + timedelta(days=30), [("Newer text.", "Results", "supporting", 0.8)], cited_by=12)
    frames = split_records([older, newer])
    assert frames.papers["source_sha256"].to_list() == [newer[0].sha256]

    kept = pages_to_store(frames, [older[0].sha256])

    assert kept.paper_snapshots["source_sha256"].to_list() == [older[0].sha256]
    assert kept.papers.select("cited_by", "source_sha256", "first_seen", "last_seen").rows() == [
        (10, older[0].sha256, T0, T0)
    ]
    assert kept.statements["text"].to_list() == ["Older text."]
    assert kept.statement_sightings["source_sha256"].unique().to_list() == [older[0].sha256]
    assert set(kept.facets["source_sha256"]) == {older[0].sha256}
    assert pages_to_store(frames, [older[0].sha256, newer[0].sha256]) is frames


def test_a_held_lake_is_refused_with_a_clear_message(lake_location: LakeLocation, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    with ingest_guard(lake_location), pytest.raises(IngestCollision, match=r"another ingest is running on .* since .*; nothing was written"):
        ingest(tmp_path / "reports", lake_location, wait=0.3)


# ---------------------------------------------------------------------------
# Whole runs on a generated corpus
# ---------------------------------------------------------------------------

CORPUS_FILES = 300
CORPUS_SEED = 11


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, CorpusSummary]:
    """A generated corpus with rejects, re-saved pages and byte-identical copies (copied per test)."""
    folder = tmp_path_factory.mktemp("generated") / "corpus"
    summary = write_corpus(folder, CORPUS_FILES, CORPUS_SEED)
    assert summary.rejected_files and summary.duplicate_files and summary.snapshots > summary.distinct_dois
    return folder, summary


def copy_corpus(generated: tuple[Path, CorpusSummary], tmp_path: Path) -> tuple[Path, CorpusSummary]:
    source = tmp_path / "corpus"
    shutil.copytree(generated[0], source)  # copytree keeps the mtimes
    return source, generated[1]


def run_end_to_end(source: Path, corpus: CorpusSummary, location: LakeLocation, *, third_batch_size: int = 100) -> None:
    """First run, a re-run, then a re-saved page, a page rewritten in place, a copy and a touched file.

    The third run reads those four files in batches of ``third_batch_size``.
    """
    first = ingest(source, location, batch_size=100, workers=2)

    assert first.files == {
        "seen": corpus.files,
        "new": corpus.snapshots,
        "changed": 0,
        "unchanged": 0,
        "duplicate": corpus.duplicate_files,
        "rejected": corpus.rejected_files,
    }
    assert len(first.rejected) == corpus.rejected_files and all(reason for _, reason in first.rejected)
    assert_lake_holds_corpus(location, corpus)
    assert {finding.check_name: finding.offending_rows for finding in first.findings if finding.is_key_check} == {
        finding.check_name: 0 for finding in first.findings if finding.is_key_check
    }

    second = ingest(source, location, batch_size=100, workers=2)

    assert second.files["unchanged"] == second.files["seen"] == corpus.files
    assert all(second.rows_added[table] == 0 for table in (*DATA_TABLES, "report_files"))
    assert_lake_holds_corpus(location, corpus)

    plain_pages = sorted(path for path in source.rglob("*.txt") if b"Cited by " in path.read_bytes())
    resaved_from, rewritten, copied, touched = plain_pages[:4]
    resaved = resaved_from.with_name("re-saved later.txt")
    grown = re.sub(rb"Cited by ([\d,]+) publications", rb"Cited by 99,999 publications", resaved_from.read_bytes())
    resaved.write_bytes(grown)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    set_mtime(resaved, later)
    rewritten.write_bytes(re.sub(rb"Cited by ([\d,]+) publications", rb"Cited by 77,777 publications", rewritten.read_bytes()))
    copy = source / "elsewhere" / "copy.txt"
    copy.parent.mkdir()
    shutil.copy2(copied, copy)
    set_mtime(touched, later)
    doi = load_report(resaved)["doi"]
    statements_shown = len(load_report(resaved)["statements"])
    before = row_counts(location)

    third = ingest(source, location, batch_size=third_batch_size, workers=2)

    assert third.files == {
        "seen": corpus.files + 2,
        "new": 1,
        "changed": 1,
        "unchanged": corpus.files - 1,
        "duplicate": 1,
        "rejected": 0,
    }
    after = row_counts(location)
    assert after["paper_snapshots"] == before["paper_snapshots"] + 2
    assert after["papers"] == before["papers"]
    assert after["statements"] == before["statements"]
    assert after["report_files"] == before["report_files"] + 2
    con = open_lake(location, read_only=True)
    try:
        (paper,) = con.execute(test_sql("paper.sql"), {"doi": doi}).fetchall()
        assert paper[1] == 99_999
        assert paper[2] == hashlib.sha256(resaved.read_bytes()).hexdigest()
        assert paper[4] == later
        assert con.execute(test_sql("report_file.sql"), {"path": str(copy.resolve())}).fetchone()[4] == "duplicate"
        touched_row = con.execute(test_sql("report_file.sql"), {"path": str(touched.resolve())}).fetchone()
        assert (touched_row[2], touched_row[4]) == (later, "ingested")
    finally:
        con.close()
    assert third.rows_added["statement_sightings"] == statements_shown + len(load_report(rewritten)["statements"])


@pytest.mark.slow
def test_end_to_end_on_a_generated_corpus(generated, tmp_path: Path) -> None:
    source, corpus = copy_corpus(generated, tmp_path)
    run_end_to_end(source, corpus, LakeLocation(path=tmp_path / "lake"))


@pytest.mark.slow
def test_end_to_end_committing_on_a_fresh_connection_after_the_plan(generated, tmp_path: Path, monkeypatch) -> None:
    # A run of 100,000 files or more whose plan was set against the manifest, with more than a batch
    # to read, commits on another DuckDB instance than its plan's; here every such run does. The
    # first run has no manifest to join and keeps its instance; the third reads its four files in
    # two batches, and is the one that commits on a fresh instance.
    monkeypatch.setattr(ingest_module, "FRESH_CONNECTION_AFTER_PLAN", 1)
    released = []

    def release_and_count(location: LakeLocation) -> None:
        released.append(location)
        release_kept_instance(location)

    monkeypatch.setattr(ingest_module, "release_kept_instance", release_and_count)
    source, corpus = copy_corpus(generated, tmp_path)
    location = LakeLocation(path=tmp_path / "lake")
    run_end_to_end(source, corpus, location, third_batch_size=2)
    assert released == [location]


@pytest.mark.slow
def test_a_new_page_beside_a_touched_newer_one_leaves_papers_and_abstracts_on_the_same_page(generated, tmp_path: Path) -> None:
    """A new page and, in the same batch, a stored page of its DOI saved again later (touched).

    Filtering the touched page out of the batch used to derive the paper from the
    new page while dropping the abstract with the touched one, so the lake showed
    one page's counts beside another page's abstract.
    """
    plain = next(path for path in sorted(generated[0].rglob("*.txt")) if re.search(rb"\nAbstract: .+\n", path.read_bytes()))
    source = tmp_path / "corpus"
    source.mkdir()
    stored = source / "stored.txt"
    shutil.copy(plain, stored)
    set_mtime(stored, T0)
    location = LakeLocation(path=tmp_path / "lake")
    ingest(source, location, workers=1)
    added = source / "added.txt"
    added.write_bytes(re.sub(rb"\nAbstract: [^\n]+", b"\nAbstract: The abstract of the page saved in between.", plain.read_bytes()))
    set_mtime(added, T0 + timedelta(days=10))
    set_mtime(stored, T0 + timedelta(days=20))

    summary = ingest(source, location, workers=1)

    assert (summary.files["new"], summary.files["unchanged"]) == (1, 1)
    con = open_lake(location, read_only=True)
    try:
        papers = con.execute("select doi, source_sha256, last_seen from papers").fetchall()
        abstracts = con.execute("select doi, source_sha256, observed_at from abstracts").fetchall()
        pages = con.execute("select source_sha256 from paper_snapshots order by observed_at").fetchall()
    finally:
        con.close()
    assert abstracts == papers
    assert pages == [(hashlib.sha256(stored.read_bytes()).hexdigest(),), (hashlib.sha256(added.read_bytes()).hexdigest(),)]


@pytest.mark.slow
def test_a_run_with_nothing_to_read_starts_no_parser_process(generated, tmp_path: Path) -> None:
    """A no-op re-run stats the files and commits; it must not spawn parser processes (1.5 s of CPU each).

    Child processes that ran and were reaped show in this process's children's CPU time.
    """
    source, _ = copy_corpus(generated, tmp_path)
    location = LakeLocation(path=tmp_path / "lake")
    ingest(source, location, batch_size=10, workers=2)
    before = os.times()

    again = ingest(source, location, batch_size=10, workers=2)

    after = os.times()
    assert again.files["new"] == again.files["changed"] == 0
    children_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    assert children_cpu == 0, f"parser processes ran for {children_cpu:.2f} s of CPU in a run with nothing to read"


# ---------------------------------------------------------------------------
# A head start: discovery, plan and parse begun before the run (tasks.lake.head_start)
# ---------------------------------------------------------------------------


def test_a_head_start_is_adopted_by_its_run_and_gives_the_lake_a_run_without_one_gives(generated, tmp_path: Path) -> None:
    source, corpus = copy_corpus(generated, tmp_path)
    location = LakeLocation(path=tmp_path / "ahead")
    head = HeadStart(str(source), location, batch_size=100, workers=2)
    try:
        adopted = adopt_head_start(str(source), location, 100, 2)
        assert adopted is head and len(head.parked) == 3
        with pytest.raises(IngestCollision):  # it holds the lake's lock from its plan on, as the run would
            ingest(source, location)
        deadline = time.monotonic() + 60
        while not (head.staging / "batch-000000").is_dir() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (head.staging / "batch-000000").is_dir(), "the parse began before the run"
        with lake_kept_open(location):
            summary = run_ingest(
                str(source), location, IngestSteps(), run_id="ahead", batch_size=100, workers=2, ahead=adopted
            )
    finally:
        head.close(abandon=False)
    assert_lake_holds_corpus(location, corpus)
    plain = ingest(source, LakeLocation(path=tmp_path / "plain"), batch_size=100, workers=2)
    assert (summary.files, summary.rows_added) == (plain.files, plain.rows_added)
    assert not (location.path / "_staging").exists()
    assert ingest(source, location).files["unchanged"] == corpus.files, "the lock was let go"


def test_a_head_start_that_finds_the_lake_held_lets_go_and_leaves_the_run_to_say_so(generated, tmp_path: Path) -> None:
    source, corpus = copy_corpus(generated, tmp_path)
    location = LakeLocation(path=tmp_path / "lake")
    with ingest_guard(location):
        head = HeadStart(str(source), location, batch_size=100, workers=2)
        assert adopt_head_start(str(source), location, 100, 2) is None
        assert isinstance(head.error, IngestCollision)
        head.close(abandon=True)
    assert not (location.path / "_staging").exists()
    assert ingest(source, location).files["new"] > 0


def test_a_head_start_its_run_never_adopts_stops_its_batches_and_leaves_nothing(generated, tmp_path: Path) -> None:
    """As when the Prefect server cannot be reached: the run never starts."""
    source, corpus = copy_corpus(generated, tmp_path)
    location = LakeLocation(path=tmp_path / "lake")
    head = HeadStart(str(source), location, batch_size=100, workers=2)
    assert head.wait_ready()
    head.close(abandon=True)
    assert not (location.path / "_staging").exists()
    assert adopt_head_start(str(source), location, 100, 2) is None
    assert ingest(source, location).files["new"] > 0, "the lock was let go"
    assert_lake_holds_corpus(location, corpus)
