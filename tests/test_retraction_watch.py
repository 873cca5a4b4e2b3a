"""The Retraction Watch export as a third source of the lake (issue 31): its CSV read, its records merged.

Rows are written in the live export's layout: the header with its trailing
comma, month-first dates, ``;``-separated lists with ``+`` before each reason,
``unavailable`` or ``0`` for a missing id, quoted fields holding commas and
line breaks, CRLF line ends.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tasks.lake.discover import discover_reports
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake
from tasks.lake.sql import read_sql
from tasks.reading.batch import parse_and_split
from tasks.reading.record import DiscoveredFile
from tasks.reading.retraction_watch import HEADER, is_retraction_watch_file, read_export_file
from tasks.reading.staging import read_staged, stage_batch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SAMPLE = EXAMPLES / "retraction-watch" / "sample.csv"
SAVED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)

FIELDS = HEADER.rstrip(",").split(",")


def record(record_id: int, **values: str) -> dict[str, str]:
    """One record of the export, every field as the export writes it (defaults: a plain retraction)."""
    row = {
        "Record ID": str(record_id),
        "Title": f"Paper {record_id}",
        "Subject": "(BLS) Biology - Cancer;",
        "Institution": "Department of Biology, University of Somewhere;",
        "Journal": "PLOS ONE",
        "Publisher": "Public Library of Science (PLoS)",
        "Country": "Sweden;",
        "Author": "Maria Lindqvist;Hiroshi Tanaka",
        "URLS": "",
        "ArticleType": "Research Article;",
        "RetractionDate": "3/14/2022 0:00",
        "RetractionDOI": f"10.1371/journal.pone.{900000 + record_id}",
        "RetractionPubMedID": "35290000",
        "OriginalPaperDate": "1/2/2007 0:00",
        "OriginalPaperDOI": f"10.1371/journal.pone.{record_id:07d}",
        "OriginalPaperPubMedID": "17183645",
        "RetractionNature": "Retraction",
        "Reason": "+Concerns/Issues About Data;",
        "Paywalled": "No",
        "Notes": "",
    }
    row.update(values)
    return row


def export_text(records: list[dict[str, str]]) -> str:
    """The records as the live export writes them: its header, CRLF line ends, and a trailing comma on every line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write(HEADER + "\r\n")
    for row in records:
        writer.writerow([row[name] for name in FIELDS] + [""])
    return out.getvalue()


def place(folder: Path, name: str, content: str | bytes, saved: datetime = SAVED) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.utime(path, (saved.timestamp(), saved.timestamp()))
    return path


def read_rows(path: Path) -> list[dict]:
    stat = path.stat()
    read = read_export_file(DiscoveredFile(path=str(path), size=stat.st_size, mtime=SAVED))
    assert not hasattr(read.rows, "reason"), read.rows
    return read.rows.to_dicts()


# --- the reader ---------------------------------------------------------------------------


def test_the_reader_takes_the_exports_layout(tmp_path: Path) -> None:
    tricky = record(
        7,
        Title='Tumour growth, "revisited", in mice',
        Institution="Dept A, Univ B, City;Dept C, Univ D;",
        RetractionDate="12/31/2021 0:00",
        OriginalPaperDate="2/3/2019 0:00",
        OriginalPaperDOI="https://doi.org/10.1371/JOURNAL.PONE.0000018",
        Reason="+Duplication of Image;+Error in Analyses;+Investigation by Journal/Publisher;",
        Notes="The notice reads:\r\n\"we retract, with regret, this article\"\nend",
    )
    missing = record(8, RetractionDOI="unavailable", RetractionPubMedID="0", OriginalPaperDOI="unavailable",
                     OriginalPaperPubMedID="0", RetractionNature="Expression of concern", Reason="")  # fmt: skip
    zero_doi = record(9, OriginalPaperDOI="0", RetractionDOI="Unavailable")
    path = place(tmp_path, "retraction_watch.csv", export_text([tricky, missing, zero_doi]))

    rows = {row["record_id"]: row for row in read_rows(path)}

    assert sorted(rows) == [7, 8, 9]  # the quoted line breaks cut no record
    first = rows[7]
    assert first["title"] == 'Tumour growth, "revisited", in mice'
    assert first["doi"] == "10.1371/journal.pone.0000018"  # the project's normaliser
    assert first["notice_doi"] == "10.1371/journal.pone.900007"
    assert first["retraction_date"] == date(2021, 12, 31)  # month first
    assert first["original_paper_date"] == date(2019, 2, 3)
    assert first["reasons"] == ["Duplication of Image", "Error in Analyses", "Investigation by Journal/Publisher"]
    assert first["nature"] == "Retraction"
    assert first["journal"] == "PLOS ONE" and first["publisher"] == "Public Library of Science (PLoS)"
    assert first["pubmed_id"] == 17183645 and first["notice_pubmed_id"] == 35290000
    assert first["source_sha256"] and first["source_path"] == str(path)
    second = rows[8]
    assert second["doi"] is None and second["notice_doi"] is None
    assert second["pubmed_id"] is None and second["notice_pubmed_id"] is None
    assert second["reasons"] == [] and second["nature"] == "Expression of concern"
    assert rows[9]["doi"] is None and rows[9]["notice_doi"] is None


def test_a_gzipped_export_reads_the_same(tmp_path: Path) -> None:
    text = export_text([record(1), record(2, Notes="a, b\nc")])
    plain = read_rows(place(tmp_path, "plain.csv", text))
    packed = read_rows(place(tmp_path, "packed.csv.gz", gzip.compress(text.encode("utf-8"))))
    ignored = {"source_sha256", "source_path"}
    assert [{k: v for k, v in row.items() if k not in ignored} for row in packed] == [
        {k: v for k, v in row.items() if k not in ignored} for row in plain
    ]


def test_the_export_is_known_by_its_header_not_its_name(tmp_path: Path) -> None:
    text = export_text([record(1)])
    assert is_retraction_watch_file(place(tmp_path, "a.csv", text))
    assert is_retraction_watch_file(place(tmp_path, "b.csv", "\ufeff" + text))  # a byte-order mark
    assert is_retraction_watch_file(place(tmp_path, "c.csv.gz", gzip.compress(text.encode())))
    assert is_retraction_watch_file(place(tmp_path, "d.csv", text.replace("Notes,\r\n", "Notes\r\n", 1)))  # saved again
    assert not is_retraction_watch_file(place(tmp_path, "e.csv", "doi,title\r\n10.1/x,y\r\n"))


def test_discovery_takes_the_export_and_leaves_other_csv_files(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "rw/retraction_watch.csv", export_text([record(1)]))
    place(source, "rw/retraction_watch_old.csv.gz", gzip.compress(export_text([record(1)]).encode()))
    place(source, "tables/journals.csv", "issn,title\r\n1234-5678,A journal\r\n")
    found = sorted(Path(file.path).name for file in discover_reports(source))
    assert found == ["retraction_watch.csv", "retraction_watch_old.csv.gz"]


def test_a_batch_carries_the_exports_rows_through_its_staging(tmp_path: Path) -> None:
    path = place(tmp_path, "retraction_watch.csv", export_text([record(1), record(2)]))
    result = parse_and_split([DiscoveredFile(path=str(path), size=path.stat().st_size, mtime=SAVED)])
    assert result.outcomes["status"].to_list() == ["parsed"]
    assert result.outcomes["sha256"][0] == result.retractions["source_sha256"][0]
    assert sorted(result.retractions["record_id"].to_list()) == [1, 2]
    staged = stage_batch(result, tmp_path / "staging", 0)
    assert read_staged(staged).retractions.equals(result.retractions)


# --- the lake -----------------------------------------------------------------------------


def lake_rows(location: LakeLocation, sql: str) -> list[tuple]:
    con = open_lake(location)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_the_sample_export_lands_in_retractions(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SAMPLE.parent, source)
    location = LakeLocation(path=tmp_path / "lake")

    summary = ingest(source, location, workers=1)

    assert summary.files["new"] == 1 and summary.files["rejected"] == 0
    rows = lake_rows(location, "select record_id, doi, nature, retraction_date, reasons from retractions order by record_id")
    assert len(rows) == 10
    assert rows[0] == (
        61001, "10.1016/j.ijcard.2019.000001", "Retraction", date(2022, 3, 14),
        ["Concerns/Issues About Data", "Concerns/Issues About Image", "Investigation by Journal/Publisher"],
    )  # fmt: skip
    assert {row[2] for row in rows} == {"Retraction", "Correction", "Expression of concern", "Reinstatement"}
    (stored,) = lake_rows(location, "select count(distinct source_sha256) = 1 and min(source_sha256) = (select sha256 from report_files) from retractions")
    assert stored == (True,)


@pytest.mark.slow
def test_a_newer_export_updates_and_adds_records_and_never_repeats_one(tmp_path: Path) -> None:
    source = tmp_path / "source"
    location = LakeLocation(path=tmp_path / "lake")
    place(source, "retraction_watch.csv", export_text([record(1), record(2), record(3)]), SAVED)
    ingest(source, location, workers=1)
    (first_hash,) = lake_rows(location, "select sha256 from report_files")[0]

    # The dataset a month later: record 2 became an expression of concern with a second reason, record 4 is new.
    newer = [
        record(1),
        record(2, RetractionNature="Expression of concern", Reason="+Concerns/Issues About Data;+Error in Image;"),
        record(3),
        record(4, OriginalPaperDOI="10.1089/SCD.2003.000012"),
    ]
    place(source, "retraction_watch.csv", export_text(newer), LATER)
    summary = ingest(source, location, workers=1)

    assert summary.files["changed"] == 1
    rows = lake_rows(location, "select record_id, nature, reasons, doi, source_sha256 from retractions order by record_id")
    assert [row[0] for row in rows] == [1, 2, 3, 4]
    assert rows[1][1:3] == ("Expression of concern", ["Concerns/Issues About Data", "Error in Image"])
    assert rows[3][3] == "10.1089/scd.2003.000012"
    # Records whose values did not change keep the export they came from; changed and new ones take the newer.
    assert rows[0][4] == first_hash and rows[2][4] == first_hash
    assert rows[1][4] != first_hash and rows[3][4] == rows[1][4]

    # The older export read again, from another folder, takes nothing back.
    place(tmp_path / "old", "retraction_watch.csv", export_text([record(1), record(2), record(3)]), SAVED)
    ingest(tmp_path / "old", location, workers=1)
    assert lake_rows(location, "select nature from retractions where record_id = 2") == [("Expression of concern",)]
    assert lake_rows(location, "select count(*), count(distinct record_id) from retractions") == [(4, 4)]


@pytest.mark.slow
def test_a_csv_with_the_header_but_broken_rows_is_rejected_with_its_reason(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "retraction_watch.csv", HEADER + '\r\n1,"an unclosed quote,x\r\n')
    location = LakeLocation(path=tmp_path / "lake")
    summary = ingest(source, location, workers=1)
    assert summary.files["rejected"] == 1
    ((_, reason),) = summary.rejected
    assert reason.startswith("not a readable Retraction Watch export: ")
    assert lake_rows(location, "select count(*) from retractions") == [(0,)]



# --- one editorial status -----------------------------------------------------------------

API_RETRACTED = "10.1089/scd.2003.000012"  # retracted by the example API responses (2021-06-15)
WATCH_RETRACTED = "10.1016/j.ijcard.2019.000001"  # retracted in the sample export (3/14/2022)
WATCH_CONCERN = "10.1089/scd.2012.000020"  # an expression of concern in the sample export


@pytest.fixture(scope="module")
def example_lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLocation:
    """The example reports, API responses and sample export in one lake (made once: the pages take a while)."""
    folder = tmp_path_factory.mktemp("examples")
    source = folder / "source"
    for name in ("reports", "api", "retraction-watch"):
        shutil.copytree(EXAMPLES / name, source / name)
    location = LakeLocation(path=folder / "lake")
    ingest(source, location, workers=1)
    return location


def copy_of(location: LakeLocation, tmp_path: Path) -> LakeLocation:
    shutil.copytree(location.path, tmp_path / "lake")
    return LakeLocation(path=tmp_path / "lake")


def retracted(location: LakeLocation) -> dict[str, list[str]]:
    return dict(lake_rows(location, "select doi, retracted_by from retracted_papers"))


def test_a_paper_is_retracted_when_either_source_says_so(example_lake: LakeLocation) -> None:
    status = retracted(example_lake)
    assert status[API_RETRACTED] == ["scite_api"]
    assert status[WATCH_RETRACTED] == ["retraction_watch"]
    assert WATCH_CONCERN not in status  # an expression of concern is a notice, not a retraction
    ((records,),) = lake_rows(example_lake, f"select retraction_watch from retracted_papers where doi = '{WATCH_RETRACTED}'")
    assert [(r["record_id"], r["nature"]) for r in records] == [(61002, "Expression of concern"), (61001, "Retraction")]


@pytest.mark.slow
def test_a_reinstatement_after_a_retraction_clears_it_whichever_source_retracted(
    example_lake: LakeLocation, tmp_path: Path
) -> None:
    location = copy_of(example_lake, tmp_path)
    reinstated = [
        # after the API's retraction notice of 2021-06-15
        record(70001, OriginalPaperDOI=API_RETRACTED, RetractionNature="Reinstatement", RetractionDate="1/10/2023 0:00"),
        # after the export's own retraction of 3/14/2022
        record(70002, OriginalPaperDOI=WATCH_RETRACTED, RetractionNature="Reinstatement", RetractionDate="5/1/2024 0:00"),
    ]
    place(tmp_path / "later", "retraction_watch.csv", export_text(reinstated), LATER)
    ingest(tmp_path / "later", location, workers=1)
    status = retracted(location)
    assert API_RETRACTED not in status and WATCH_RETRACTED not in status

    # A retraction after the reinstatement retracts the paper again.
    again = [record(70003, OriginalPaperDOI=WATCH_RETRACTED, RetractionDate="6/1/2025 0:00")]
    place(tmp_path / "again", "retraction_watch.csv", export_text(again), LATER)
    ingest(tmp_path / "again", location, workers=1)
    assert retracted(location)[WATCH_RETRACTED] == ["retraction_watch"]


def test_the_check_lists_the_notices_of_both_sources(example_lake: LakeLocation) -> None:
    con = open_lake(example_lake)
    try:
        result = con.execute(read_sql("check/notices.sql"), {"dois": [API_RETRACTED, WATCH_RETRACTED, WATCH_CONCERN]})
        notices = result.fetchall()
    finally:
        con.close()
    by_source = sorted((doi, source, nature, day) for doi, source, nature, day, *_ in notices)
    assert by_source == [
        (WATCH_RETRACTED, "retraction_watch", "Expression of concern", "2021-04-20"),
        (WATCH_RETRACTED, "retraction_watch", "Retraction", "2022-03-14"),
        (API_RETRACTED, "scite_api", "Retraction", "2021-06-15"),
        (WATCH_CONCERN, "retraction_watch", "Expression of concern", "2023-06-06"),
    ]
    reasons = {nature: reasons for doi, _, nature, _, reasons, *_ in notices if doi == WATCH_RETRACTED}
    assert reasons["Retraction"][0] == "Concerns/Issues About Data"


# --- alerts ------------------------------------------------------------------------------


@pytest.mark.slow
def test_watched_papers_alert_on_the_exports_retraction_and_notices_once(tmp_path: Path) -> None:
    from tasks.alerts.detect import alert_message, detect_in_lake
    from tasks.alerts.watch import watch

    location = LakeLocation(path=tmp_path / "lake")
    watch(location, [WATCH_RETRACTED])
    (page,) = EXAMPLES.glob("reports/*/10.1016_j.ijcard.2019.000001.txt")
    place(tmp_path / "pages", page.name, page.read_bytes(), SAVED)
    ingest(tmp_path / "pages", location, workers=1)
    assert [alert.kind for alert in detect_in_lake(location).alerts] == ["first_seen"]

    shutil.copytree(SAMPLE.parent, tmp_path / "export")
    ingest(tmp_path / "export", location, workers=1)
    alerts = sorted(detect_in_lake(location).alerts, key=lambda alert: (alert.kind, alert.detail.get("date") or ""))
    assert [(alert.kind, alert.detail.get("status")) for alert in alerts] == [
        ("editorial_notice", "Expression of concern"), ("editorial_notice", "Retraction"), ("retracted", None),
    ]  # fmt: skip
    assert "marked retracted by Retraction Watch" in alert_message(alerts[2])
    assert "Retraction of 2022-03-14 10.1016/j.ijcard.2022.03.001; Concerns/Issues About Data" in alert_message(alerts[1])

    # A newer export: the same records again, and a new correction of the paper.
    newer = (tmp_path / "export" / "sample.csv").read_text(encoding="utf-8") + export_text(
        [record(61011, OriginalPaperDOI=WATCH_RETRACTED, RetractionNature="Correction", RetractionDate="1/9/2025 0:00")]
    ).split("\r\n", 1)[1]
    place(tmp_path / "export", "sample.csv", newer, LATER)
    ingest(tmp_path / "export", location, workers=1)
    assert [(alert.kind, alert.detail["status"]) for alert in detect_in_lake(location).alerts] == [
        ("editorial_notice", "Correction")
    ]


@pytest.mark.slow
def test_a_check_names_the_papers_whose_retraction_the_sources_tell_differently(
    example_lake: LakeLocation, tmp_path: Path
) -> None:
    location = copy_of(example_lake, tmp_path)
    # The sample export retracts a paper whose saved /papers response does not say so.
    ((before, sample),) = lake_rows(
        location, "select offending_rows, sample from check_findings where check_name = 'retraction_sources_disagree'"
    )
    assert before == 1 and WATCH_RETRACTED in sample
    # And now the export reinstates the paper the scite API still marks retracted.
    reinstated = [record(70001, OriginalPaperDOI=API_RETRACTED, RetractionNature="Reinstatement", RetractionDate="1/10/2023 0:00")]
    place(tmp_path / "later", "retraction_watch.csv", export_text(reinstated), LATER)

    summary = ingest(tmp_path / "later", location, workers=1)

    (finding,) = [finding for finding in summary.findings if finding.check_name == "retraction_sources_disagree"]
    assert finding.offending_rows == 2
    assert {row["doi"] for row in finding.sample} == {API_RETRACTED, WATCH_RETRACTED}


# --- papers.retracted: both sources, in any order -----------------------------------------


def papers_retracted(location: LakeLocation) -> dict[str, bool | None]:
    return dict(lake_rows(location, "select doi, retracted from papers"))


def test_papers_retracted_is_the_status_of_both_sources(example_lake: LakeLocation) -> None:
    stored = papers_retracted(example_lake)
    assert stored[API_RETRACTED] is True and stored[WATCH_RETRACTED] is True
    assert stored[WATCH_CONCERN] is not True
    # The table and the view tell the same papers.
    assert sorted(doi for doi, flag in stored.items() if flag) == sorted(retracted(example_lake))


def page_and_response(folder: Path, saved: datetime) -> None:
    """The page of WATCH_RETRACTED and a /papers response of it that does not mark it retracted."""
    (page,) = EXAMPLES.glob("reports/*/10.1016_j.ijcard.2019.000001.txt")
    place(folder, page.name, page.read_bytes(), saved)
    paper = {"doi": WATCH_RETRACTED, "title": "A paper", "year": 2019, "journal": "International Journal of Cardiology",
             "retracted": False, "editorialNotices": []}  # fmt: skip
    place(folder, "papers.json", json.dumps({"papers": {WATCH_RETRACTED: paper}}), saved)


RETRACTS = [record(80001, OriginalPaperDOI=WATCH_RETRACTED, RetractionDate="3/14/2022 0:00")]
REINSTATES = [*RETRACTS, record(80002, OriginalPaperDOI=WATCH_RETRACTED, RetractionNature="Reinstatement",
                                RetractionDate="5/1/2024 0:00")]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("export_first", [False, True], ids=["page-then-export", "export-then-page"])
def test_papers_retracted_follows_the_export_whichever_arrives_first(tmp_path: Path, export_first: bool) -> None:
    location = LakeLocation(path=tmp_path / "lake")
    export = tmp_path / "export"
    if export_first:
        place(export, "retraction_watch.csv", export_text(RETRACTS), SAVED)
        ingest(export, location, workers=1)
        page_and_response(tmp_path / "pages", LATER)
        ingest(tmp_path / "pages", location, workers=1)
    else:
        page_and_response(tmp_path / "pages", SAVED)
        ingest(tmp_path / "pages", location, workers=1)
        assert papers_retracted(location)[WATCH_RETRACTED] is False  # what the response says
        place(export, "retraction_watch.csv", export_text(RETRACTS), LATER)
        ingest(export, location, workers=1)
    assert papers_retracted(location)[WATCH_RETRACTED] is True

    # A newer export reinstates the paper: the retraction is cleared.
    place(export, "retraction_watch.csv", export_text(REINSTATES), LATER + timedelta(days=30))
    ingest(export, location, workers=1)
    assert papers_retracted(location)[WATCH_RETRACTED] is False
    assert WATCH_RETRACTED not in retracted(location)

    # A newer page of the paper rewrites its row, and keeps the status.
    page_and_response(tmp_path / "newer", LATER + timedelta(days=60))
    page = next((tmp_path / "newer").glob("*.txt"))
    place(tmp_path / "newer", page.name, page.read_text(encoding="utf-8").replace("\n", "\n\n", 1), LATER + timedelta(days=60))
    ingest(tmp_path / "newer", location, workers=1)
    assert papers_retracted(location)[WATCH_RETRACTED] is False
