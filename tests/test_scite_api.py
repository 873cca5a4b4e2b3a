"""Saved scite API responses as a second source of the lake (issue 12, docs/scite-api.md).

The samples in tests/fixtures/scite-api/ are the ``example`` objects of scite's
OpenAPI specification; each shape is ingested on its own and must land, value for
value, in the right tables.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tasks.lake import tables as registry
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import SQL_DIR
from tasks.lake.ingest import ingest
from tasks.lake.summary import IngestSummary
from tasks.reading.batch import parse_and_split
from tasks.reading.parse import load_report
from tasks.reading.record import DiscoveredFile
from tasks.reading.scite_api import read_api_file
from tasks.reading.sniff import is_json_file
from tasks.reading.staging import read_staged, stage_batch

FIXTURES = Path(__file__).parent / "fixtures" / "scite-api"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PAGE = EXAMPLES / "reports" / "15" / "10.1371_journal.pone.0000008.txt"
PAGE_DOI = "10.1371/journal.pone.0000008"
SAVED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
PAPER_DOI = "10.1016/j.biopsych.2005.08.012"


def sample(name: str) -> dict:
    return json.loads((FIXTURES / f"example_{name}.json").read_text(encoding="utf-8"))


def place(folder: Path, name: str, content: bytes | str | dict, saved: datetime = SAVED) -> Path:
    """Write a file into the source folder with its mtime set to ``saved``."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, indent=1)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.utime(path, (saved.timestamp(), saved.timestamp()))
    return path


def run(source: Path, lake: Path) -> IngestSummary:
    return ingest(source, LakeLocation(path=lake), workers=1)


def query(lake: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def rows(lake: Path, sql: str, parameters: list | None = None) -> list[dict]:
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        relation = con.execute(sql, parameters or [])
        names = [column[0] for column in relation.description]
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    finally:
        con.close()


def table_counts(lake: Path) -> dict[str, int]:
    names = (*registry.PAGE_FRAMES, *registry.API_ONLY_TABLES)
    return {table: query(lake, f"select count(*) from {table}")[0][0] for table in names}


def ingest_one(tmp_path: Path, name: str, content: dict | None = None) -> tuple[IngestSummary, Path]:
    source = tmp_path / "source"
    place(source, f"{name}.json", content if content is not None else sample(name))
    lake = tmp_path / "lake"
    summary = run(source, lake)
    assert summary.files["new"] == 1 and summary.files["rejected"] == 0, summary.rejected
    return summary, lake


# ---------------------------------------------------------------------------
# One test per shape: exactly the values in the sample, in the right tables
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_papers_response_gives_the_papers_bibliographic_columns(tmp_path: Path) -> None:
    expected = sample("papers_doi")
    _, lake = ingest_one(tmp_path, "papers_doi")
    assert table_counts(lake) == {
        "papers": 1, "paper_snapshots": 0, "statements": 0, "statement_sightings": 0, "facets": 0,
        "api_responses": 1, "api_papers": 1, "editorial_notices": 0, "abstracts": 0,
    }  # fmt: skip
    (paper,) = rows(lake, "select * from papers")
    assert paper["doi"] == expected["doi"] == PAPER_DOI
    assert paper["title"] == expected["title"]
    assert paper["year"] == expected["year"] == 2006
    assert paper["journal"] == expected["journal"] == "Biological Psychiatry"
    assert paper["publisher"] == expected["publisher"] == "Elsevier BV"
    assert paper["issns"] == expected["issns"] == ["0006-3223"]
    assert paper["type"] == expected["type"] == "journal-article"
    assert paper["retracted"] is expected["retracted"] is False
    assert [(a["family"], a["given"], a["name"], a["affiliation"], a["sequence"]) for a in paper["authors"]] == [
        (a["family"], a["given"], a["authorName"], a["affiliation"], a["authorSequenceNumber"]) for a in expected["authors"]
    ]
    assert [a["family"] for a in paper["authors"]] == ["Phan", "Fitzgerald", "Nathan", "Tancer"]  # in order
    # No counts: a /papers response is no tally.
    assert (paper["statement_count"], paper["cited_by"], paper["statements_shown"]) == (None, None, 0)
    assert paper["first_seen"] == paper["last_seen"] == SAVED
    (stored,) = rows(lake, "select * from api_papers")
    assert {key: stored[key] for key in ("doi", "title", "journal", "issns", "retracted")} == {
        "doi": PAPER_DOI, "title": expected["title"], "journal": "Biological Psychiatry", "issns": ["0006-3223"], "retracted": False,
    }  # fmt: skip
    assert query(lake, "select shape, papers, tallies, statements from api_responses") == [("paper", 1, 0, 0)]


@pytest.mark.slow
def test_a_tally_response_is_an_api_snapshot_with_the_mapped_counts(tmp_path: Path) -> None:
    expected = sample("tallies_doi")
    _, lake = ingest_one(tmp_path, "tallies_doi")
    assert table_counts(lake) | {"api_responses": 1} == {
        "papers": 1, "paper_snapshots": 1, "statements": 0, "statement_sightings": 0, "facets": 0,
        "api_responses": 1, "api_papers": 0, "editorial_notices": 0, "abstracts": 0,
    }  # fmt: skip
    (snapshot,) = rows(lake, "select * from paper_snapshots")
    assert snapshot["source"] == "api"
    assert snapshot["doi"] == expected["doi"]
    assert snapshot["statement_count"] == expected["total"] == 347
    assert snapshot["supporting"] == expected["supporting"] == 27
    assert snapshot["contrasting"] == expected["contradicting"] == 6
    assert snapshot["mentioning"] == expected["mentioning"] == 308
    assert snapshot["unclassified"] == expected["unclassified"] == 6
    assert snapshot["cited_by"] == expected["citingPublications"] == 436
    assert (snapshot["reference_count"], snapshot["title"], snapshot["statements_shown"]) == (None, None, 0)
    assert snapshot["observed_at"] == SAVED
    (paper,) = rows(lake, "select * from papers")
    assert (paper["statement_count"], paper["supporting"], paper["contrasting"], paper["cited_by"]) == (347, 27, 6, 436)
    assert paper["source_sha256"] == snapshot["source_sha256"]
    assert query(lake, "select shape, tallies from api_responses") == [("tally", 1)]


@pytest.mark.slow
def test_a_tally_without_citing_publications_has_a_null_cited_by(tmp_path: Path) -> None:
    tally = sample("tallies_doi")
    del tally["citingPublications"]
    _, lake = ingest_one(tmp_path, "tallies_doi", tally)
    assert query(lake, "select cited_by, statement_count from paper_snapshots") == [(None, 347)]


@pytest.mark.slow
def test_a_tally_batch_gives_one_snapshot_per_paper(tmp_path: Path) -> None:
    expected = sample("tallies_batch")["tallies"]
    summary, lake = ingest_one(tmp_path, "tallies_batch")
    assert not [f for f in summary.findings if f.is_key_check and f.offending_rows]
    got = {
        row["doi"]: row
        for row in rows(lake, "select * from paper_snapshots order by doi")
    }
    assert set(got) == set(expected) == {PAPER_DOI, "10.1093/brain/awn044"}
    for doi, tally in expected.items():
        row = got[doi]
        assert (row["statement_count"], row["supporting"], row["contrasting"], row["mentioning"], row["unclassified"], row["cited_by"]) == (
            tally["total"], tally["supporting"], tally["contradicting"], tally["mentioning"], tally["unclassified"], tally["citingPublications"]
        )
        assert row["source"] == "api"
    assert len({row["source_sha256"] for row in got.values()}) == 1  # one response, two papers
    assert query(lake, "select count(*) from papers") == [(2,)]


@pytest.mark.slow
def test_a_cited_by_sections_response_gives_facets(tmp_path: Path) -> None:
    expected = sample("tallies_cited_by_sections")
    _, lake = ingest_one(tmp_path, "tallies_cited_by_sections")
    facets = dict(query(lake, "select facet, value from facets where doi = ?", [PAPER_DOI]))
    assert facets == {f"api_sections.{key}": expected[key] for key in ("total", "introduction", "methods", "results", "discussion", "other")}
    assert table_counts(lake)["paper_snapshots"] == 0
    assert query(lake, "select shape from api_responses") == [("cited_by_sections",)]


@pytest.mark.slow
def test_a_citing_response_gives_statements_tallies_and_papers(tmp_path: Path) -> None:
    expected = sample("api_partner_citations_citing")
    _, lake = ingest_one(tmp_path, "api_partner_citations_citing")
    counts = table_counts(lake)
    assert counts["statements"] == counts["statement_sightings"] == len(expected["citations"]) == 9
    assert counts["paper_snapshots"] == len(expected["tallies"]) == 3
    assert counts["api_papers"] == len(expected["papers"]) == 3
    stored = rows(lake, "select * from statement_sightings join statements using (statement_id) order by position")
    type_of = {"supporting": "supporting", "mentioning": "mentioning", "contradicting": "contrasting"}
    for row, citation in zip(stored, expected["citations"], strict=True):
        assert row["doi"] == citation["target"]
        assert row["source_doi"] == citation["source"]
        assert row["section"] == citation["section"]
        assert row["type"] == type_of[citation["type"]]
        assert row["confidence"] == pytest.approx(citation["typeConfidence"])
        assert row["self_citation"] is bool(citation["selfCites"])
        assert row["statement_source"] == "api"
        assert row["text"] is None  # the partner API gives no snippet: kept, not invented
    assert sum(row["type"] == "contrasting" for row in stored) == sum(c["type"] == "contradicting" for c in expected["citations"]) > 0
    assert query(lake, "select statements, statements_without_text from api_responses") == [(9, 9)]
    # The response's tallies are snapshots with the papers' titles; the papers get their journal.
    for doi, tally in expected["tallies"].items():
        (row,) = rows(lake, "select * from paper_snapshots where doi = ?", [doi])
        assert (row["statement_count"], row["supporting"], row["contrasting"], row["title"]) == (
            tally["total"], tally["supporting"], tally["contradicting"], expected["papers"][doi]["title"]
        )
    for doi, paper in expected["papers"].items():
        (row,) = rows(lake, "select journal, issns, retracted, authors from papers where doi = ?", [doi])
        assert row["journal"] == paper["journal"] and row["issns"] == paper["issns"]
        assert row["retracted"] == paper.get("retracted")
        assert [a["family"] for a in row["authors"]] == [a["family"] for a in paper["authors"]]


@pytest.mark.slow
def test_a_cited_by_response_keeps_every_statement_even_repeated_ones(tmp_path: Path) -> None:
    expected = sample("api_partner_citations_cited_by")["citations"]
    _, lake = ingest_one(tmp_path, "api_partner_citations_cited_by")
    assert query(lake, "select count(*), count(distinct doi), count(text) from statements") == [
        (len(expected), len({c["target"] for c in expected}), 0)
    ]
    assert query(lake, "select distinct source_doi from statements") == [("10.1016/j.neuropsychologia.2017.03.016",)]
    assert query(lake, "select count(*) from statements where self_citation") == [(sum(bool(c["selfCites"]) for c in expected),)]
    assert table_counts(lake)["paper_snapshots"] == 0  # no tallies in this response


@pytest.mark.slow
def test_batch_and_single_forms_of_a_paper_give_the_same_rows(tmp_path: Path) -> None:
    paper = sample("papers_doi")
    _, single = ingest_one(tmp_path / "single", "papers_doi")
    _, batch = ingest_one(tmp_path / "batch", "papers_batch", {"papers": {paper["doi"]: paper}})
    compared = "select * exclude (source_sha256{extra}) from {table} order by all"
    for table, extra in (("papers", ""), ("api_papers", ", source_path"), ("editorial_notices", "")):
        sql = compared.format(table=table, extra=extra)
        assert query(single, sql) == query(batch, sql), table
    tally = sample("tallies_doi")
    _, single = ingest_one(tmp_path / "single-tally", "tallies_doi")
    _, batch = ingest_one(tmp_path / "batch-tally", "tallies_batch", {"tallies": {tally["doi"]: tally}})
    for table, extra in (("papers", ""), ("paper_snapshots", ", source_path")):
        sql = compared.format(table=table, extra=extra)
        assert query(single, sql) == query(batch, sql), table


@pytest.mark.slow
def test_editorial_notices_and_retracted_papers(tmp_path: Path) -> None:
    paper = sample("papers_doi") | {
        "retracted": True,
        "editorialNotices": [
            {"status": "Retraction", "date": "2020-05-01", "noticeDoi": "10.1016/J.BIOPSYCH.2020.01.001",
             "doi": PAPER_DOI, "urls": ["https://example.org/notice"]},
        ],
    }  # fmt: skip
    source = tmp_path / "source"
    place(source, "paper.json", paper)
    place(source, "tally.json", sample("tallies_doi"))
    lake = tmp_path / "lake"
    run(source, lake)
    (notice,) = rows(lake, "select * from editorial_notices")
    assert (notice["doi"], notice["status"], notice["date"], notice["notice_doi"], notice["urls"]) == (
        PAPER_DOI, "Retraction", "2020-05-01", "10.1016/j.biopsych.2020.01.001", ["https://example.org/notice"]
    )
    assert notice["observed_at"] == SAVED
    (retracted,) = rows(lake, "select * from retracted_papers")
    assert retracted["doi"] == PAPER_DOI and retracted["retracted"] is True and retracted["notice_count"] == 1
    assert retracted["notices"][0]["notice_doi"] == "10.1016/j.biopsych.2020.01.001"
    assert retracted["supporting"] == 27  # the tally: still supported


@pytest.mark.slow
def test_journal_citation_profile(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "paper.json", sample("papers_doi"))
    place(source, "tally.json", sample("tallies_doi"))
    lake = tmp_path / "lake"
    run(source, lake)
    (profile,) = rows(lake, "select * from journal_citation_profile")
    assert (profile["journal"], profile["year"], profile["papers"], profile["statements"]) == ("Biological Psychiatry", 2006, 1, 347)
    assert profile["supporting_share"] == pytest.approx(27 / (27 + 308 + 6))
    assert profile["contrasting_share"] == pytest.approx(6 / (27 + 308 + 6))


# ---------------------------------------------------------------------------
# A page and the API on the same paper
# ---------------------------------------------------------------------------


def page_tally(**counts: int) -> dict:
    return {"doi": PAGE_DOI, "total": 34, "supporting": 6, "contradicting": 1, "mentioning": 27, "unclassified": 0,
            "citingPublications": 200} | counts  # fmt: skip


@pytest.mark.slow
def test_page_and_api_tallies_on_two_dates_are_in_the_history_in_order(tmp_path: Path) -> None:
    record = load_report(PAGE)
    source = tmp_path / "source"
    place(source, "page.txt", PAGE.read_bytes(), datetime(2024, 1, 1, tzinfo=UTC))
    tally = page_tally(total=record["statement_count"] + 5, citingPublications=record["cited_by"] + 3)
    place(source, "tally.json", tally, datetime(2024, 2, 1, tzinfo=UTC))
    lake = tmp_path / "lake"
    summary = run(source, lake)
    history = query(
        lake,
        "select source, observed_at, cited_by, statement_count, statement_count_delta from paper_count_history "
        "where doi = ? order by observed_at",
        [PAGE_DOI],
    )
    assert history == [
        ("page", datetime(2024, 1, 1, tzinfo=UTC), record["cited_by"], record["statement_count"], None),
        ("api", datetime(2024, 2, 1, tzinfo=UTC), record["cited_by"] + 3, record["statement_count"] + 5, 5),
    ]
    # papers takes the latest of either source; the page's title stays.
    assert query(lake, "select title, statement_count from papers where doi = ?", [PAGE_DOI]) == [
        (record["title"], record["statement_count"] + 5)
    ]
    findings = {finding.check_name: finding.offending_rows for finding in summary.findings}
    assert findings["page_api_disagreements"] == 0  # two dates: drift, not a conflict


def place_page_and_a_flipped_citation(source: Path, day: datetime) -> tuple[dict, dict, str]:
    """The sample page saved on ``day``, and a citations response giving its first statement another type that evening."""
    record = load_report(PAGE)
    statement = record["statements"][0]
    flipped = "contradicting" if statement["type"] != "contrasting" else "supporting"
    place(source, "page.txt", PAGE.read_bytes(), day)
    citations = {"citations": [
        {"source": "10.9999/citing.1", "target": PAGE_DOI, "snippet": statement["text"], "section": statement["section"],
         "type": flipped, "typeConfidence": 0.8, "selfCites": []},
    ]}  # fmt: skip
    place(source, "citations.json", citations, day.replace(hour=18))
    return record, statement, flipped


@pytest.mark.slow
def test_a_page_and_the_api_disagreeing_on_one_date_are_reported(tmp_path: Path) -> None:
    day = datetime(2024, 1, 1, 9, tzinfo=UTC)
    source = tmp_path / "source"
    record, statement, flipped = place_page_and_a_flipped_citation(source, day)
    tally = page_tally(total=record["statement_count"], supporting=record["tallies"]["supporting"] + 1,
                       citingPublications=record["cited_by"])  # fmt: skip
    place(source, "tally.json", tally, day.replace(hour=17))
    lake = tmp_path / "lake"
    summary = run(source, lake)
    (finding,) = [finding for finding in summary.findings if finding.check_name == "page_api_disagreements"]
    assert finding.offending_rows == 2
    found = query(lake, "select check_name, offending_rows from check_findings where check_name = 'page_api_disagreements'")
    assert found == [("page_api_disagreements", 2)]
    whats = {row["what"]: (row["page_value"], row["api_value"]) for row in finding.sample}
    assert whats["supporting"] == (str(record["tallies"]["supporting"]), str(record["tallies"]["supporting"] + 1))
    (type_row,) = [value for what, value in whats.items() if what.startswith("type of statement")]
    assert type_row == (statement["type"], "contrasting" if flipped == "contradicting" else flipped)
    # Neither is overwritten: both statements and both snapshots are kept, with their source.
    assert query(lake, "select statement_source, count(*) from statements where text = ? group by all order by all",
                 [statement["text"]]) == [("api", 1), ("page", 1)]  # fmt: skip
    assert query(lake, "select source from paper_snapshots where doi = ? order by source", [PAGE_DOI]) == [("api",), ("page",)]


# ---------------------------------------------------------------------------
# Incremental, duplicates, the flow's staging
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_api_files_are_incremental_and_duplicates_are_found_by_content(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("papers_doi", "tallies_batch", "api_partner_citations_citing"):
        shutil.copy(FIXTURES / f"example_{name}.json", source / f"{name}.json")
    with gzip.open(source / "copy-of-tallies.json.gz", "wb") as compressed:
        compressed.write((FIXTURES / "example_tallies_doi.json").read_bytes())
    shutil.copy(FIXTURES / "example_tallies_doi.json", source / "tallies.json")
    shutil.copy(FIXTURES / "example_tallies_doi.json", source / "same-bytes.json")
    lake = tmp_path / "lake"
    first = run(source, lake)
    assert first.files["new"] == 5 and first.files["duplicate"] == 1 and first.files["rejected"] == 0
    before = table_counts(lake)
    second = run(source, lake)
    assert second.files["unchanged"] == 6 and second.files["new"] == 0
    assert table_counts(lake) == before
    assert second.rows_added["paper_snapshots"] == 0


def test_the_flow_staging_keeps_the_api_rows(tmp_path: Path) -> None:
    files = []
    for path in sorted(FIXTURES.glob("*.json")):
        status = path.stat()
        files.append(DiscoveredFile(path=str(path), size=status.st_size, mtime=datetime.fromtimestamp(status.st_mtime, UTC)))
    result = parse_and_split(files)
    staged = read_staged(stage_batch(result, tmp_path / "staging", 0))
    for (name, frame), (_, again) in zip(result.api.items(), staged.api.items(), strict=True):
        assert frame.equals(again), name
    assert result.api.api_responses.height == len(files)


# ---------------------------------------------------------------------------
# Never an exception: what is not a response is rejected with a reason
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_bad_json_files_are_rejected_with_a_reason_and_the_run_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "good.json", sample("tallies_doi"))
    place(source, "malformed.json", '{"total": 347, "supporting": 27,, }')
    place(source, "other-shape.json", {"name": "not scite", "values": [1, 2, 3]})
    place(source, "bare.json", "[1, 2, 3]")
    whole = gzip.compress(json.dumps(sample("api_partner_citations_cited_by")).encode())
    place(source, "truncated.json.gz", whole[: len(whole) // 2])
    place(source, "page-named-json.json", PAGE.read_bytes())  # the content decides: a page
    lake = tmp_path / "lake"
    summary = run(source, lake)
    reasons = {Path(path).name: reason for path, reason in summary.rejected}
    assert set(reasons) == {"malformed.json", "other-shape.json", "bare.json", "truncated.json.gz"}
    assert reasons["malformed.json"].startswith("malformed JSON near byte")
    assert reasons["other-shape.json"].startswith("JSON, but not a scite API response") and "name, values" in reasons["other-shape.json"]
    assert reasons["bare.json"].startswith("a JSON array at the top level")
    assert reasons["truncated.json.gz"].startswith("truncated gzip")
    assert all("\n" not in reason for reason in reasons.values())
    assert summary.files["new"] == 2
    assert query(lake, "select source from paper_snapshots order by source") == [("api",), ("page",)]
    assert query(lake, "select count(*) from report_files where status = 'rejected' and reason is not null") == [(4,)]


_MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys
    from tasks.reading.scite_api import read_api_file

    def status(key):
        with open("/proc/self/status") as lines:
            return next(int(line.split()[1]) for line in lines if line.startswith(key))

    before = status("VmRSS:")
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset the peak (VmHWM) to the current RSS
    except OSError:
        pass
    read = read_api_file(sys.argv[1])
    reason = getattr(read.response, "reason", None)
    print(json.dumps({"growth_kib": status("VmHWM:") - before, "sha256": read.sha256, "reason": reason,
                      "statements": len(getattr(read.response, "statements", []))}))
    """
)


def _probe(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path)], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_a_200_mb_json_array_is_rejected_with_bounded_memory_and_the_run_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    big = source / "all-citations.json"
    citation = json.dumps(sample("api_partner_citations_cited_by")["citations"][23])
    chunk = ("," .join([citation] * 2000)).encode()
    with big.open("wb") as out:
        out.write(b"[")
        written = 0
        while written < 200 * 1024 * 1024:
            out.write(chunk if written == 0 else b"," + chunk)
            written += len(chunk) + 1
        out.write(b"]")
    size = big.stat().st_size
    assert size >= 200 * 1024 * 1024 and is_json_file(big)
    probe = _probe(big)
    assert probe["reason"].startswith("a JSON array at the top level")
    assert probe["sha256"] is not None  # hashed as a stream: the file was read whole
    assert probe["growth_kib"] * 1024 < 150 * 1024 * 1024 < size
    place(source, "tally.json", sample("tallies_doi"))
    lake = tmp_path / "lake"
    summary = run(source, lake)
    assert summary.files["new"] == 1 and [Path(path).name for path, _ in summary.rejected] == ["all-citations.json"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_a_large_citations_response_is_read_as_a_stream(tmp_path: Path) -> None:
    # 100 MB of citations whose bulk (a long refLocation) the lake does not keep: read as a
    # stream, memory grows with the rows kept, not with the JSON text.
    citations = sample("api_partner_citations_cited_by")["citations"]
    big = tmp_path / "citations.json"
    filler = "p. 12, " * 300
    parts = [json.dumps(citation | {"refLocation": filler}) for citation in citations]
    repeats = 100 * 1024 * 1024 // len(",".join(parts)) + 1
    with big.open("w", encoding="utf-8") as out:
        out.write('{"metadata": {"totalCitationCount": 0}, "citations": [')
        for repeat in range(repeats):
            out.write(("," if repeat else "") + ",".join(parts))
        out.write("]}")
    size = big.stat().st_size
    probe = _probe(big)
    assert probe["reason"] is None and probe["statements"] == repeats * len(citations)
    assert probe["growth_kib"] * 1024 < size / 4, (probe, size)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
@pytest.mark.parametrize("content", [b"[" * 100_000, b'{"papers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
                         ids=["top-level", "inside-the-response"])  # fmt: skip
def test_deeply_nested_json_is_read_in_memory_bounded_by_its_size(tmp_path: Path, content: bytes) -> None:
    # 100 KB of nested arrays: every event of ijson.parse carries its whole path as
    # a prefix string, which took 10 GB and 30 s for this file before the reader
    # used basic_parse (no prefixes).
    path = tmp_path / "deep.json"
    path.write_bytes(content)
    probe = _probe(path)
    assert probe["reason"] is not None
    assert probe["growth_kib"] < 64 * 1024, probe


def test_reading_never_raises(tmp_path: Path) -> None:
    cases = {
        "empty.json": b"",
        "nul.json": b"{\x00}",
        "latin1.json": '{"doi": "10.1/\xe9", "title": "x"}'.encode("latin-1"),
        "deep.json": b"[" * 100_000,
        "string.json": b'"just a string"',
        "bad-doi.json": json.dumps({"doi": "not a doi", "title": "x"}).encode(),
        "bad-counts.json": json.dumps(page_tally(total=-3, supporting="many")).encode(),
        "bad-citation.json": json.dumps({"citations": [{"target": PAGE_DOI, "type": "weird"}, 3, {"target": PAGE_DOI,
                                         "type": "supporting", "typeConfidence": 7}]}).encode(),  # fmt: skip
    }
    outcomes = {}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        outcomes[name] = read_api_file(path).response
    assert all(hasattr(outcome, "reason") or hasattr(outcome, "shape") for outcome in outcomes.values())
    assert outcomes["bad-counts.json"].tallies[0].total is None and outcomes["bad-counts.json"].warnings
    (kept,) = outcomes["bad-citation.json"].statements
    assert kept.confidence is None and len(outcomes["bad-citation.json"].warnings) == 3
    assert hasattr(outcomes["bad-doi.json"], "reason")


@pytest.mark.slow
def test_page_only_lakes_read_the_new_columns_as_defaults(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "page.txt", PAGE.read_bytes())
    lake = tmp_path / "lake"
    run(source, lake)
    assert query(lake, "select distinct source from paper_snapshots") == [("page",)]
    assert query(lake, "select distinct statement_source, source_doi, self_citation from statements") == [("page", None, None)]
    assert query(lake, "select journal, authors, retracted from papers") == [(None, None, None)]
    assert table_counts(lake)["api_responses"] == 0


def test_lake_migrates_with_the_api_tables(lake: duckdb.DuckDBPyConnection) -> None:
    tables = {name for (name,) in lake.execute("select table_name from duckdb_tables() where database_name = 'lake'").fetchall()}
    assert {"api_responses", "api_papers", "editorial_notices"} <= tables


# ---------------------------------------------------------------------------
# Alerts for watched papers
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_watched_papers_alert_on_retraction_and_editorial_notice_once(tmp_path: Path) -> None:
    from tasks.alerts.detect import alert_message, detect_in_lake
    from tasks.alerts.watch import watch

    source, lake = tmp_path / "source", tmp_path / "lake"
    location = LakeLocation(path=lake)
    watch(location, [PAPER_DOI])
    place(source, "tally.json", sample("tallies_doi"), datetime(2024, 1, 1, tzinfo=UTC))
    run(source, lake)
    assert [alert.kind for alert in detect_in_lake(location).alerts] == ["first_seen"]
    notice = {"status": "Retraction", "date": "2024-02-01", "noticeDoi": "10.1016/j.biopsych.2024.02.001",
              "doi": PAPER_DOI, "urls": ["https://example.org/retraction"]}  # fmt: skip
    retracted = sample("papers_doi") | {"retracted": True, "editorialNotices": [notice]}
    place(source, "paper.json", retracted, datetime(2024, 2, 2, tzinfo=UTC))
    run(source, lake)
    alerts = {alert.kind: alert for alert in detect_in_lake(location).alerts}
    assert set(alerts) == {"retracted", "editorial_notice"}
    assert alerts["editorial_notice"].detail["notice_doi"] == "10.1016/j.biopsych.2024.02.001"
    assert "Retraction of 2024-02-01" in alert_message(alerts["editorial_notice"])
    assert "still 27 supporting of 347" in alert_message(alerts["retracted"])
    # A later save of the same notice is no new alert.
    place(source, "paper-again.json", retracted | {"slug": "saved-again"}, datetime(2024, 3, 1, tzinfo=UTC))
    run(source, lake)
    assert detect_in_lake(location).alerts == []
    assert query(lake, "select kind, count(*) from alerts group by kind order by kind") == [
        ("editorial_notice", 1), ("first_seen", 1), ("retracted", 1)
    ]


def test_citelake_parse_reads_a_saved_response_and_rejects_other_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    other = place(tmp_path, "other.json", {"hello": "world"})
    result = CliRunner().invoke(app, ["parse", "--json", str(FIXTURES / "example_tallies_batch.json"), str(other)])
    assert result.exit_code == 1
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("{")]
    parsed = json.loads(line)
    assert parsed["shape"] == "tallies" and {tally["doi"] for tally in parsed["tallies"]} == set(sample("tallies_batch")["tallies"])
    assert "other.json: rejected: JSON, but not a scite API response" in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_json_is_rejected_without_waiting_for_a_writer(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "tally.json", sample("tallies_doi"))
    os.mkfifo(source / "pipe.json")
    result = parse_and_split(
        [DiscoveredFile(path=str(source / name), size=0, mtime=SAVED) for name in ("pipe.json", "tally.json")]
    )
    assert result.outcomes["reason"].to_list()[0] == "cannot read the file: not a regular file"
    assert result.outcomes["status"].to_list() == ["rejected", "parsed"]


@pytest.mark.slow
def test_a_type_disagreement_without_an_api_tally_is_reported(tmp_path: Path) -> None:
    # page_api_disagreements runs only over a lake holding API-sourced rows
    # (run_checks' guard): a citations response gives statements but no tally
    # snapshot, and its disagreement with the page is still found.
    source = tmp_path / "source"
    place_page_and_a_flipped_citation(source, datetime(2024, 1, 1, 9, tzinfo=UTC))
    lake = tmp_path / "lake"
    summary = run(source, lake)
    assert query(lake, "select source from paper_snapshots where doi = ?", [PAGE_DOI]) == [("page",)]
    (finding,) = [finding for finding in summary.findings if finding.check_name == "page_api_disagreements"]
    assert finding.offending_rows == 1
    assert finding.sample[0]["what"].startswith("type of statement")


@pytest.mark.slow
def test_a_lake_of_pages_alone_skips_the_page_api_check_and_finds_what_it_would(tmp_path: Path) -> None:
    source = tmp_path / "source"
    place(source, "page.txt", PAGE.read_bytes(), datetime(2024, 1, 1, tzinfo=UTC))
    lake = tmp_path / "lake"
    summary = run(source, lake)
    (finding,) = [finding for finding in summary.findings if finding.check_name == "page_api_disagreements"]
    check = (SQL_DIR / "checks" / "page_api_disagreements.sql").read_text(encoding="utf-8")
    assert finding.offending_rows == query(lake, f"select count(*) from ({check})")[0][0] == 0
