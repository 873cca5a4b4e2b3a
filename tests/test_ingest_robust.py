"""Ingest keeps its promises on odd inputs: files that could not be read, odd names, odd folders, re-saved pages."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from tasks.reading.batch import parse_and_split
from tasks.lake.discover import discover_reports
from tasks.lake.commit import commit_batches
from tasks.lake.ingest import ingest
from tasks.lake.plan import plan_run
from tasks.lake.session import open_lake
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.reading.frames import empty_frames
from tasks.reading.record import DiscoveredFile, path_bytes, path_text

from tests.test_ingest import SHA_A, T0, report_files

SAMPLE_PATH = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"


def lake_rows(location: LakeLocation, query: str) -> list[tuple]:
    con = open_lake(location, read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


# --- item: a read failure is retried ----------------------------------------------------------------


def test_plan_reads_again_a_path_that_could_not_be_read_even_with_the_same_size_and_mtime(
    lake: duckdb.DuckDBPyConnection,
) -> None:
    with LakeWriter(lake, run_id="earlier") as writer:
        writer.add_batch(
            empty_frames(),
            report_files(
                [
                    ("/r/vanished.txt", 10, T0, None, "rejected", "cannot read the file: No such file or directory"),
                    ("/r/empty.txt", 10, T0, SHA_A, "rejected", "empty file"),
                ]
            ),
        )
        writer.finish({"seen": 2, "rejected": 2})

    plan = plan_run(lake, iter([DiscoveredFile("/r/empty.txt", 10, T0), DiscoveredFile("/r/vanished.txt", 10, T0)]))

    assert plan.unchanged == 1
    assert plan.to_read["path"].to_list() == ["/r/vanished.txt"]


@pytest.mark.slow
def test_a_file_that_vanished_before_it_was_read_is_ingested_when_it_is_back(tmp_path: Path) -> None:
    source = tmp_path / "reports"
    source.mkdir()
    page = source / "page.txt"
    shutil.copy(SAMPLE_PATH, page)
    stat = page.stat()
    location = LakeLocation(path=tmp_path / "lake")
    con = open_lake(location)
    try:
        plan = plan_run(con, discover_reports(source))
        page.unlink()  # gone between discovery and read: the read fails
        result = parse_and_split(list(plan.files_to_read()))
        first = commit_batches(
            con, location, run_id="first", source=source, plan=plan, batches=[(plan.to_read, result)], started=time.monotonic()
        )
    finally:
        con.close()
    assert first.rejected == [(str(page.resolve()), "cannot read the file: No such file or directory")]
    shutil.copy(SAMPLE_PATH, page)  # back, with the same size and modification time
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    second = ingest(source, location, workers=1)

    assert (second.files["unchanged"], second.files["changed"], second.files["rejected"]) == (0, 1, 0)
    assert lake_rows(location, "select status, reason from report_files") == [("ingested", None)]
    assert lake_rows(location, "select doi from papers") == [("10.1089/scd.2013.0023",)]
    third = ingest(source, location, workers=1)
    assert third.files["unchanged"] == 1


# --- item: a folder that cannot be read is counted and named -----------------------------------------


_UNREADABLE_FOLDER_RUN = """
import json, sys
from pathlib import Path
from tasks.lake.location import LakeLocation
from tasks.lake.discover import discover_reports
from tasks.lake.ingest import ingest
from tasks.lake.summary import format_summary
from flows.run_artifacts import summary_markdown
source, lake = Path(sys.argv[1]), Path(sys.argv[2])
skipped = []
found = [file.path for file in discover_reports(source, skipped_folders=skipped)]
summary = ingest(source, LakeLocation(path=lake), workers=1)
print(json.dumps({"found": found, "skipped": skipped, "new": summary.files["new"],
                  "summary_skipped": summary.skipped_folders, "text": format_summary(summary),
                  "markdown": summary_markdown(summary, changed_papers=0)}))
"""


@pytest.mark.slow
def test_a_folder_that_cannot_be_read_is_counted_named_and_the_run_goes_on(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from tests.test_ingest_lake_folder import REPO, _obey_file_permissions

    source = tmp_path / "reports"
    source.mkdir()
    shutil.copy(SAMPLE_PATH, source / "page.txt")
    closed = source / "closed"
    closed.mkdir()
    shutil.copy(SAMPLE_PATH, closed / "hidden.txt")
    closed.chmod(0)
    try:
        # Root reads any folder: the run is a process without the capabilities that allow it.
        run = subprocess.run(
            [sys.executable, "-c", _UNREADABLE_FOLDER_RUN, str(source), str(tmp_path / "lake")],
            cwd=REPO, capture_output=True, text=True, timeout=120, preexec_fn=_obey_file_permissions,
        )
    finally:
        closed.chmod(0o755)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)

    folder = str(closed.resolve())
    assert result["found"] == [str(source.resolve() / "page.txt")]
    assert result["skipped"] == [[folder, "Permission denied"]]
    assert result["new"] == 1
    assert result["summary_skipped"] == result["skipped"]
    assert f"folders   1 skipped, cannot read them\n  skipped   {folder}: Permission denied" in result["text"]
    assert "## Folders skipped" in result["markdown"] and f"| `{folder}` | Permission denied |" in result["markdown"]


# --- item: a file name that is not UTF-8 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"/r/plain.txt", "/r/plain.txt"),
        ("/r/é “quoted”.txt".encode(), "/r/é “quoted”.txt"),
        (b"/r/b_\xff\xfe.txt", "/r/b_\\xff\\xfe.txt"),
        (b"/r/back\\slash.txt", "/r/back\\\\slash.txt"),
        (b"/r/literal \\xff.txt", "/r/literal \\\\xff.txt"),
        (b"/r/cut \xe2\x80.txt", "/r/cut \\xe2\\x80.txt"),
    ],
    ids=["ascii", "utf-8", "undecodable", "backslash", "literal escape", "cut utf-8"],
)
def test_a_path_is_stored_as_escaped_text_and_leads_back_to_its_bytes(raw: bytes, text: str) -> None:
    assert path_text(os.fsdecode(raw)) == path_text(raw) == text
    assert path_bytes(text) == raw


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_ingested_and_then_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "reports"
    source.mkdir()
    odd = os.path.join(os.fsencode(source), b"b_\xff\xfe.txt")
    shutil.copy(SAMPLE_PATH, odd)
    location = LakeLocation(path=tmp_path / "lake")

    first = ingest(source, location, workers=1)

    assert (first.files["new"], first.rejected) == (1, [])
    stored = str(source.resolve()) + "/b_\\xff\\xfe.txt"
    assert lake_rows(location, "select path, status from report_files") == [(stored, "ingested")]
    assert lake_rows(location, "select source_path from paper_snapshots") == [(stored,)]
    assert path_bytes(stored) == os.path.join(os.fsencode(source.resolve()), b"b_\xff\xfe.txt")
    second = ingest(source, location, workers=1)
    assert second.files["unchanged"] == second.files["seen"] == 1


# --- item: a checkout that makes a re-saved page a few µs older --------------------------------------


@pytest.mark.slow
def test_a_resaved_page_a_few_microseconds_older_than_the_original_still_wins(tmp_path: Path) -> None:
    """git gives files checkout times, a few µs apart in any order: within 2 s the larger counts are the later page."""
    import json
    import subprocess
    import sys

    source = tmp_path / "reports"
    shutil.copytree(Path(__file__).parent.parent / "examples" / "reports", source)
    resaves = sorted(source.rglob("* (2).txt"))
    assert resaves
    for resave in resaves:
        original = resave.with_name(resave.name.replace(" (2).txt", ".txt"))
        mtime = original.stat().st_mtime_ns
        os.utime(resave, ns=(mtime, mtime - 5_000))
    originals = [resave.with_name(resave.name.replace(" (2).txt", ".txt")) for resave in resaves]
    parsed = subprocess.run(
        [sys.executable, "-c", "from flows.cli import app; app()", "parse", "--json", *map(str, resaves + originals)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
    ).stdout.splitlines()  # fmt: skip
    records = [json.loads(line) for line in parsed]
    expected = {record["doi"]: (record["cited_by"], record["statement_count"]) for record in records[: len(resaves)]}
    first_cited_by = {record["doi"]: record["cited_by"] for record in records[len(resaves) :]}
    location = LakeLocation(path=tmp_path / "lake")

    ingest(source, location, workers=1)

    dois = ", ".join(f"'{doi}'" for doi in expected)
    papers = lake_rows(location, f"select doi, cited_by, statement_count, source_sha256 from papers where doi in ({dois})")
    assert {doi: (cited_by, count) for doi, cited_by, count, _ in papers} == expected
    abstracts = dict(lake_rows(location, f"select doi, source_sha256 from abstracts where doi in ({dois})"))
    assert abstracts == {doi: sha for doi, _, _, sha in papers if doi in abstracts}  # the same page as papers
    history = lake_rows(
        location,
        f"select doi, cited_by_delta from paper_count_history where doi in ({dois}) and cited_by_delta is not null",
    )
    # The re-save came second: the history steps from the first page's count up to the re-save's.
    assert sorted(history) == sorted((doi, cited_by - first_cited_by[doi]) for doi, (cited_by, _) in expected.items())
    assert all(delta > 0 for _, delta in history)
