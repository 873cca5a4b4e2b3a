"""citelake explain: plain sentences about a paper's report, every number re-checkable with the SQL it cites."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alert_pages import write_page
from flows.cli import app
from tasks.explain.facts import explain
from tasks.explain.sentences import MIN_PEERS
from tasks.explain.forms import explanation_dict
from tasks.explain.site import doi_slug
from tasks.corpus.generate import write_corpus
from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql
from tasks.reading.split import split_records

SAMPLE = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"
SAMPLE_DOI = "10.1089/scd.2013.0023"


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory) -> LakeLocation:
    """The real sample page, ingested by the real ingest."""
    folder = tmp_path_factory.mktemp("sample")
    shutil.copy2(SAMPLE, folder / SAMPLE.name)
    location = LakeLocation(path=folder / "lake")
    ingest(folder, location, workers=1)
    return location


@pytest.fixture(scope="module")
def generated_lake(tmp_path_factory) -> LakeLocation:
    """A generated corpus with re-saved pages, ingested."""
    folder = tmp_path_factory.mktemp("generated")
    write_corpus(folder / "reports", 120, 11)
    location = LakeLocation(path=folder / "lake")
    ingest(folder / "reports", location, workers=1)
    return location


def _explain_json(location: LakeLocation, doi: str) -> dict:
    result = CliRunner().invoke(app, ["explain", doi, "--lake", str(location.path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _numbers(document: dict) -> dict[str, object]:
    merged: dict[str, object] = {}
    for sentence in document["sentences"]:
        merged.update(sentence["numbers"])
    return merged


@pytest.mark.slow
def test_the_sample_paper_is_explained_with_its_real_counts(sample_lake):
    document = _explain_json(sample_lake, "https://doi.org/10.1089/SCD.2013.0023")
    assert document["doi"] == SAMPLE_DOI
    numbers = _numbers(document)
    assert numbers["cited_by"] == 204
    assert numbers["statement_count"] == 191
    assert (numbers["supporting"], numbers["mentioning"], numbers["contrasting"], numbers["unclassified"]) == (8, 181, 1, 1)
    assert numbers["abstract_truncated"] is True
    texts = [sentence["text"] for sentence in document["sentences"]]
    assert any("204 publications cite this paper" in text and "191 citation statements" in text for text in texts)
    assert any("8 supports" not in text and "8 support" in text and "181 merely mention" in text
               and "1 contrasts" in text and "1 is unclassified" in text for text in texts)
    assert any("cut the abstract short" in text for text in texts)
    # The page tallies 1 contrasting statement but quotes none: the explanation says so instead of quoting.
    evidence = [sentence for sentence in document["sentences"] if sentence["section"] == "evidence"]
    contrasting = [sentence for sentence in evidence if "contrasting" in sentence["text"]]
    assert contrasting and contrasting[0]["quote"] is None
    assert contrasting[0]["text"] == (
        "No saved page quotes a contrasting statement: the lake holds 0 of them, although the tallies count 1."
    )
    plain = CliRunner().invoke(app, ["explain", SAMPLE_DOI, "--lake", str(sample_lake.path)])
    assert plain.exit_code == 0
    assert "204 publications" in plain.stdout and "holds only 4 of its 191 statements word for word" in plain.stdout


def _same(expected: object, stated: object) -> bool:
    if isinstance(expected, date | datetime):
        expected = expected.isoformat()
    if isinstance(expected, float) and isinstance(stated, int | float):
        return math.isclose(expected, stated)
    return expected == stated


def _check_every_number(con, doi: str) -> dict:
    """Check each number of each sentence of ``doi``'s explanation against the SQL the sentence cites; the document."""
    document = explanation_dict(explain(con, doi))
    assert document["sentences"]
    for sentence in document["sentences"]:
        sql = read_sql(sentence["sql"].removeprefix("sql/"))
        result = con.execute(sql, sentence["parameters"])
        columns = [column[0] for column in result.description]
        rows = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
        assert len(rows) == 1, sentence["sql"]
        for name, stated in sentence["numbers"].items():
            assert _same(rows[0][name], stated), (doi, sentence["sql"], name, rows[0][name], stated)
            # The number also appears in the sentence as the reader sees it.
            if isinstance(stated, int) and not isinstance(stated, bool):
                if stated == 0:  # nothing may read as a word: "No other paper", "did not change"
                    assert any(word in sentence["text"] for word in ("0", "No ", "none", "did not change")), (name, sentence["text"])
                    continue
                shown = str(stated) if "year" in name else f"{abs(stated):,}"
                assert shown in sentence["text"], (name, stated, sentence["text"])
            elif isinstance(stated, float):
                assert f"{stated:.1f}" in sentence["text"], (name, stated, sentence["text"])
            elif isinstance(stated, str) and isinstance(rows[0][name], date):
                assert stated in sentence["text"], (name, stated, sentence["text"])
    return document


@pytest.mark.slow
def test_every_number_of_every_sentence_equals_the_sql_it_cites(generated_lake):
    con = open_lake(generated_lake, read_only=True)
    try:
        resaved = [doi for (doi,) in con.execute(
            "select doi from paper_snapshots group by doi having count(*) > 1 order by doi"
        ).fetchall()]
        (everyone,) = con.execute("select count(*) from papers").fetchone()
        assert len(resaved) >= 3, "the generated corpus should re-save some pages"
        checked = set()
        for doi in resaved[:8] + [doi for (doi,) in con.execute("select doi from papers order by doi limit 4").fetchall()]:
            document = _check_every_number(con, doi)
            checked |= {sentence["sql"] for sentence in document["sentences"] if sentence["numbers"]}
            trend = [s for s in document["sentences"] if s["sql"] == "sql/explain/trend.sql"]
            if doi in resaved:
                assert any("grew" in s["text"] or "fell" in s["text"] or "did not change" in s["text"] for s in trend)
        assert {f"sql/explain/{name}.sql" for name in ("counts", "balance", "standing", "trend", "changes", "sections",
                                                      "evidence", "caveats")} <= checked
        assert everyone > MIN_PEERS
    finally:
        con.close()


# ---------------------------------------------------------------------------
# A lake mixing saved pages and saved API tallies: the sentences say what each is
# ---------------------------------------------------------------------------

MIXED = "10.5555/mixed.1"  # an API tally, a page quoting 4, a page quoting those 4 and 1 more, an API tally
TALLIES = "10.5555/tallies.2"  # two API tallies, no page
ONE_TALLY = "10.5555/tally.3"  # one API tally
QUOTED = [("s1 supports it", "Discussion", "supporting"), ("s2 mentions it", "Introduction", "mentioning"),
          ("s3 contrasts it", "Results", "contrasting"), ("s4 mentions it too", "Methods", "mentioning")]  # fmt: skip


def _save_tally(folder: Path, name: str, saved: datetime, doi: str, **counts: int) -> None:
    """A saved scite ``/tallies/{doi}`` response, its modification time the day it was saved."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"doi": doi, **counts}), encoding="utf-8")
    os.utime(path, (saved.timestamp(), saved.timestamp()))


@pytest.fixture(scope="module")
def mixed_lake(tmp_path_factory) -> LakeLocation:
    folder = tmp_path_factory.mktemp("mixed")
    reports = folder / "reports"
    reports.mkdir()
    day = {month: datetime(2024, month, 1, tzinfo=UTC) for month in range(1, 5)}
    _save_tally(reports, "mixed-jan", day[1], MIXED, total=10, supporting=2, contradicting=1, mentioning=7,
                unclassified=0, citingPublications=12)  # fmt: skip
    write_page(reports, "mixed-feb", day[2], MIXED, "Mixed paper", 12, QUOTED, unclassified=6)
    write_page(reports, "mixed-mar", day[3], MIXED, "Mixed paper", 14,
               QUOTED + [("s5 supports it anew", "Discussion", "supporting")], unclassified=6)  # fmt: skip
    _save_tally(reports, "mixed-apr", day[4], MIXED, total=12, supporting=3, contradicting=1, mentioning=8,
                unclassified=0, citingPublications=15)  # fmt: skip
    for month in (1, 4):
        _save_tally(reports, f"tallies-{month}", day[month], TALLIES, total=20 + month, supporting=5, contradicting=2,
                    mentioning=13 + month, unclassified=0, citingPublications=30)  # fmt: skip
    _save_tally(reports, "tally", day[2], ONE_TALLY, total=7, supporting=1, contradicting=0, mentioning=6,
                unclassified=0, citingPublications=9)  # fmt: skip
    location = LakeLocation(path=folder / "lake")
    ingest(reports, location, workers=1)
    return location


@pytest.fixture(scope="module")
def mixed(mixed_lake) -> dict[str, dict[str, list[str]]]:
    """Per paper of the mixed lake, its sentences by section, each number checked against its SQL first."""
    con = open_lake(mixed_lake, read_only=True)
    try:
        documents = {doi: _check_every_number(con, doi) for doi in (MIXED, TALLIES, ONE_TALLY)}
    finally:
        con.close()
    said: dict[str, dict[str, list[str]]] = {}
    for doi, document in documents.items():
        for sentence in document["sentences"]:
            said.setdefault(doi, {}).setdefault(sentence["sql"].removeprefix("sql/explain/").removesuffix(".sql"), []).append(
                sentence["text"]
            )
    return said


@pytest.mark.slow
def test_mixed_counts_name_the_latest_page_that_quotes_not_the_latest_tally(mixed):
    # The latest count is an API tally, which quotes none: the quotes are from the page of March.
    assert mixed[MIXED]["counts"][1] == (
        "The lake holds 5 of these statements word for word (a saved page quotes only a few); "
        "the latest page to quote any, of 2024-03-01, quoted 5."
    )
    assert mixed[TALLIES]["counts"][1].endswith("word for word (a saved page quotes only a few); none of its pages quoted any.")


@pytest.mark.slow
def test_mixed_trend_tells_saved_pages_from_api_tallies(mixed):
    assert mixed[MIXED]["trend"][:2] == [
        "The lake holds 4 counts of this report, 2 saved pages and 2 API tallies, from 2024-01-01 to 2024-04-01 "
        "(91 days apart).",
        "Between the first and the latest of them, the number of citing publications grew by 3 (from 12 to 15) and "
        "the number of citation statements grew by 2 (from 10 to 12).",
    ]
    assert mixed[TALLIES]["trend"][0] == "The lake holds 2 API tallies of this report, from 2024-01-01 to 2024-04-01 (91 days apart)."
    assert mixed[ONE_TALLY]["trend"] == [
        "The lake holds 1 API tally of this report, from 2024-02-01, so there is no trend yet."
    ]


@pytest.mark.slow
def test_mixed_new_statements_are_counted_from_the_first_page_that_quotes_any(mixed):
    # Five statements were first seen after the API tally of January; one after the first page quoting statements.
    assert mixed[MIXED]["changes"][0] == (
        "1 quoted statement appeared after the first page that quoted any (of 2024-02-01), "
        "and 0 statements changed type from one page to the next."
    )
    assert mixed[TALLIES]["changes"] == [
        "None of them quotes a statement, so the lake cannot tell which statements are new; "
        "0 statements changed type from one page to the next."
    ]


@pytest.mark.slow
def test_mixed_caveats_count_the_statements_held_and_name_the_latest_tally(mixed):
    assert mixed[MIXED]["caveats"][0] == (
        "The lake holds only 5 of its 12 statements word for word: the quotes and the section mix rest on those, "
        "not on all of them."
    )
    assert mixed[MIXED]["caveats"][1].startswith("The latest API tally was saved on 2024-04-01, ")
    assert mixed[ONE_TALLY]["caveats"][0].startswith("The lake holds only 0 of its 7 statements word for word")


@pytest.mark.slow
def test_mixed_balance_sections_and_evidence_rest_on_what_the_lake_holds(mixed):
    # The balance is the latest count's (the April tally); the sections and quotes are every statement held.
    assert mixed[MIXED]["balance"][0].startswith("Of the 12 statements the type tallies count, 3 support the paper's findings")
    assert mixed[MIXED]["sections"] == [
        "Of the 5 statements the lake holds, by the section of the citing paper: discussion 2 (40.0%), "
        "introduction 1 (20.0%), methods 1 (20.0%), results 1 (20.0%)."
    ]
    assert mixed[MIXED]["evidence"][0].startswith("The strongest supporting statement the lake holds (2 supporting statements in all)")
    assert mixed[TALLIES]["sections"] == ["The lake holds none of its statements, so it cannot say where it is cited."]
    assert mixed[TALLIES]["evidence"][0] == (
        "No saved page quotes a supporting statement: the lake holds 0 of them, although the tallies count 5."
    )
    # The standing compares the latest counts, a tally's or a page's: the tallies-only paper is a peer.
    assert mixed[MIXED]["standing"][0].startswith("Among the 1 other paper in the lake with at least as many citation statements")


@pytest.fixture
def hand_built_lake(lake, lake_location, make_page, report_files_of):
    """Five papers whose shares are known: the percentiles of 10.1/a can be worked out by hand."""
    saved = datetime(2024, 3, 1, tzinfo=UTC)

    def statements(prefix: str, **counts: int) -> list[tuple[str, str | None, str, float]]:
        return [
            (f"{prefix} {kind} {i}", "Discussion", kind, 0.5 + i / 100)
            for kind, count in counts.items()
            for i in range(count)
        ]

    pages = [
        # a: 4 statements, contrasting 1/4, supporting 0.
        make_page("10.1/a", saved, statements("a", contrasting=1, mentioning=3)),
        # b: 4 statements, contrasting 0, supporting 2/4.
        make_page("10.1/b", saved, statements("b", supporting=2, mentioning=2)),
        # c: 5 statements, contrasting 2/5, supporting 3/5.
        make_page("10.1/c", saved, statements("c", contrasting=2, supporting=3)),
        # d: 8 statements, contrasting 1/8, supporting 1/8.
        make_page("10.1/d", saved, statements("d", contrasting=1, supporting=1, mentioning=6)),
        # e: 2 statements, fewer than a's: not a peer of a.
        make_page("10.1/e", saved, statements("e", contrasting=2)),
    ]
    with LakeWriter(lake, run_id="run-1") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.finish({"seen": len(pages), "new": len(pages)})
    return lake_location


@pytest.mark.slow
def test_percentiles_against_a_lake_whose_answer_is_known(hand_built_lake):
    con = open_lake(hand_built_lake, read_only=True)
    try:
        explanation = explain(con, "10.1/a")
    finally:
        con.close()
    standing = explanation.facts["standing"]
    # Peers of a: b, c, d (at least 4 statements). Lower contrasting share than 1/4: b (0) and d (1/8).
    assert standing["peer_papers"] == 3
    assert standing["peers_lower_contrasting"] == 2
    assert standing["contrasting_percentile"] == 66.7
    # Lower supporting share than a's 0: none.
    assert standing["peers_lower_supporting"] == 0
    assert standing["supporting_percentile"] == 0.0
    # Median over all five papers of the contrasting share: 0, 1/8, 1/4, 2/5, 1 → 1/4.
    assert standing["median_contrasting_pct"] == 25.0
    texts = [sentence.text for sentence in explanation.sentences if sentence.section == "standing"]
    assert any("3 other papers" in text and "higher than that of 2 (percentile 66.7)" in text for text in texts)
    assert any("only 3 papers" in text and "too few" in text for text in texts)
    # The strongest contrasting statement is quoted with its section, confidence and id.
    evidence = [sentence for sentence in explanation.sentences if sentence.quote]
    assert [sentence.quote for sentence in evidence] == ["a contrasting 0"]
    assert "Discussion" in evidence[0].text and "50.0% confidence" in evidence[0].text
    assert evidence[0].numbers["contrasting_statement_id"] in evidence[0].text


@pytest.mark.slow
def test_an_unknown_doi_exits_1_naming_the_nearest_dois(hand_built_lake):
    result = CliRunner().invoke(app, ["explain", "10.1/zz", "--lake", str(hand_built_lake.path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "10.1/zz is not in the lake" in result.stderr
    assert "nearest by prefix: 10.1/a, 10.1/b, 10.1/c" in result.stderr
    assert "Traceback" not in result.output
    nothing = CliRunner().invoke(app, ["explain", "--lake", str(hand_built_lake.path)])
    assert nothing.exit_code == 2 and "give a DOI" in nothing.stderr
    elsewhere = CliRunner().invoke(app, ["explain", "10.9999/x", "--lake", str(hand_built_lake.path)])
    assert elsewhere.exit_code == 1
    assert elsewhere.stderr == "citelake explain: 10.9999/x is not in the lake; no DOI in the lake shares its prefix\n"


def test_a_text_that_is_not_a_doi_is_told_so_not_that_the_lake_lacks_it(hand_built_lake):
    result = CliRunner().invoke(app, ["explain", "hello", "--lake", str(hand_built_lake.path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "citelake explain: 'hello' is not a DOI: expected 10.NNNN/suffix (e.g. 10.1089/scd.2013.0023)\n"
    )


@pytest.mark.slow
def test_markdown_to_a_file_writes_its_charts_as_png_beside_it(hand_built_lake, tmp_path):
    out = tmp_path / "explained" / "a.md"
    result = CliRunner().invoke(app, ["explain", "10.1/a", "--lake", str(hand_built_lake.path), "-f", "markdown", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for chart in ("balance", "history", "sections"):
        png = out.with_name(f"a-{chart}.png")
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 2000
        assert f"](a-{chart}.png)" in text
    assert text.startswith("# A paper\n")


@pytest.mark.slow
def test_a_site_of_every_paper_of_a_doi_file_and_of_the_watchlist(hand_built_lake, tmp_path):
    lake = ["--lake", str(hand_built_lake.path)]
    site = tmp_path / "site"
    every = CliRunner().invoke(app, ["explain", "--all", "--out", str(site), *lake])
    assert every.exit_code == 0, every.output
    pages = sorted(path.name for path in site.glob("*.html"))
    assert pages == ["10-1-a.html", "10-1-b.html", "10-1-c.html", "10-1-d.html", "10-1-e.html", "index.html"]
    index = (site / "index.html").read_text()
    assert index.count("<tr><td") == 5 and 'href="10-1-c.html"' in index and "table.sortable" in index
    # Many papers are explained from an in-memory copy of the lake: the pages say what a single explanation says.
    single = CliRunner().invoke(app, ["explain", "10.1/c", "-f", "html", *lake])
    assert single.exit_code == 0
    in_site = (site / "10-1-c.html").read_text()
    assert in_site.replace('<p class="note"><a href="index.html">All papers</a></p>\n', "") == single.stdout
    listed = tmp_path / "dois.txt"
    listed.write_text("# mine\nhttps://doi.org/10.1/B\n\n10.1/nope\n")
    chosen = CliRunner().invoke(app, ["explain", "--doi-file", str(listed), "--out", str(tmp_path / "mine"), *lake])
    assert chosen.exit_code == 0, chosen.output
    assert sorted(path.name for path in (tmp_path / "mine").iterdir()) == ["10-1-b.html", "index.html"]
    assert "10.1/nope is not in the lake; skipped" in chosen.stderr
    no_watchlist = CliRunner().invoke(app, ["explain", "--watchlist", "--out", str(tmp_path / "w"), *lake])
    assert no_watchlist.exit_code == 1
    assert "watchlist is empty" in no_watchlist.stderr
    # Once the lake has a watchlist table, --watchlist explains its papers.
    con = open_lake(hand_built_lake)
    try:
        # The lake's own watchlist table (sql/schema/002_watch_alerts.sql); a removed DOI is not explained.
        con.execute(
            "insert into watchlist (doi, added_at, removed_at) values "
            "('10.1/D', now(), null), ('10.1/e', now(), null), ('10.1/b', now(), now())"
        )
    finally:
        con.close()
    watched = CliRunner().invoke(app, ["explain", "--watchlist", "--out", str(tmp_path / "w"), *lake])
    assert watched.exit_code == 0, watched.output
    assert sorted(path.name for path in (tmp_path / "w").iterdir()) == ["10-1-d.html", "10-1-e.html", "index.html"]
    needs_folder = CliRunner().invoke(app, ["explain", "--all", *lake])
    assert needs_folder.exit_code == 2 and "--out DIR" in needs_folder.stderr


@pytest.mark.slow
def test_explain_does_not_import_prefect(hand_built_lake):
    script = (
        "import sys\nfrom typer.testing import CliRunner\nfrom flows.cli import app\n"
        f"result = CliRunner().invoke(app, ['explain', '10.1/a', '--lake', {str(hand_built_lake.path)!r}, '-f', 'html'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'prefect'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_flow_publishes_each_explanation_as_a_markdown_artifact(hand_built_lake, tmp_path, prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.deployments import scheduled_deployments
    from flows.explain import explain_flow

    site = tmp_path / "site"
    state = explain_flow(dois=["10.1/A", "10.1/c", "10.1/missing"], lake=str(hand_built_lake.path), out_dir=str(site),
                         return_state=True)
    assert state.result() == ["citelake-explain-10-1-a", "citelake-explain-10-1-c"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    artifacts = {artifact.key: artifact for artifact in found}
    assert set(artifacts) == {"citelake-explain-10-1-a", "citelake-explain-10-1-c"}
    markdown = artifacts["citelake-explain-10-1-a"].data
    assert artifacts["citelake-explain-10-1-a"].type == "markdown"
    assert "higher than that of 2 (percentile 66.7)" in markdown
    assert "| contrasting | 25.0 | 25.0 |" in markdown
    assert "| discussion | 4 | 100.0 |" in markdown
    assert f"`{site / '10-1-a.html'}`" in markdown
    # The charts inline as PNG data URIs (the Prefect UI draws them), one per chart.
    import base64
    import re as regex

    images = regex.findall(r"!\[(\w+) chart\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert [name for name, _ in images] == ["balance", "history", "sections"]
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for _, data in images)
    assert (site / "10-1-a.html").is_file() and (site / "index.html").is_file()
    names = [deployment.name for deployment in scheduled_deployments("reports", lake=str(hand_built_lake.path))]
    assert names == ["scheduled", "scheduled", "on-demand", "on-demand"]


@pytest.mark.slow
def test_the_flow_with_an_empty_watchlist_ends_saying_nothing_is_watched(hand_built_lake, tmp_path, prefect_harness, caplog):
    from flows.explain import explain_flow

    # The run after each ingest asks for the watchlist; this lake watches nothing yet.
    state = explain_flow(watchlist=True, lake=str(hand_built_lake.path), out_dir=str(tmp_path / "site"), return_state=True)
    assert state.is_completed(), state
    assert state.result() == []
    assert "nothing watched" in caplog.text
    assert not (tmp_path / "site").exists()


def test_a_lake_without_a_watchlist_table_watches_nothing_unless_the_watchlist_is_required():
    import duckdb

    from tasks.explain.run import ExplainError, watchlist_dois

    con = duckdb.connect()
    try:
        assert watchlist_dois(con, required=False) == []
        with pytest.raises(ExplainError, match="no watchlist table"):
            watchlist_dois(con)
    finally:
        con.close()


@pytest.mark.slow
def test_many_papers_at_once_are_explained_as_each_one_alone(generated_lake):
    from tasks.explain.facts import explain_each

    con = open_lake(generated_lake, read_only=True)
    try:
        dois = [doi for (doi,) in con.execute("select doi from papers order by doi").fetchall()]
        # 40 of the lake's ~100 papers (each compared with its explanation alone, 0.2-0.5 s a paper),
        # in chunks of 7: the lake-wide facts (percentiles, medians) of a chunk must not depend on the chunk.
        asked = dois[:20] + ["10.9999/not-in-the-lake"] + dois[20:40]
        together = list(explain_each(con, asked, chunk=7))
        assert [doi for doi, _ in together] == asked
        assert dict(together)["10.9999/not-in-the-lake"] is None
        for doi, explanation in together:
            if explanation is not None:
                alone = explain(con, doi)
                assert explanation_dict(explanation) == explanation_dict(alone), doi
                assert explanation.history == alone.history
                assert explanation.facts == alone.facts
        assert any(len(explanation.history) > 1 for _, explanation in together if explanation)
    finally:
        con.close()


@pytest.mark.slow
def test_a_chart_spec_is_altairs_chart_of_the_papers_data(generated_lake):
    from tasks.explain.charts import CHARTS, chart_spec

    con = open_lake(generated_lake, read_only=True)
    try:
        dois = [doi for (doi,) in con.execute(
            "select doi from paper_snapshots group by doi order by count(*) desc, doi limit 6"
        ).fetchall()]
        for doi in dois:
            explanation = explain(con, doi)
            for name, (rows, chart) in CHARTS.items():
                assert chart_spec(explanation, name) == chart(rows(explanation)).to_dict(), (doi, name)
    finally:
        con.close()


@pytest.mark.slow
def test_a_site_drawn_in_worker_processes_has_the_single_explanations_pages(generated_lake, tmp_path):
    from tasks.explain.run import render, write_site

    con = open_lake(generated_lake, read_only=True)
    try:
        dois = [doi for (doi,) in con.execute("select doi from papers order by doi limit 20").fetchall()]
        alone = {doi: render(explain(con, doi), "html") for doi in dois}
    finally:
        con.close()
    progress = []
    summary = write_site(generated_lake, tmp_path / "site", dois, workers=2,
                         progress=lambda done, total, doi: progress.append((done, total)))
    assert [page.name for page in summary.pages] == [f"{doi_slug(doi)}.html" for doi in dois]
    for doi, page in zip(dois, summary.pages, strict=True):
        assert page.read_text().replace('<p class="note"><a href="index.html">All papers</a></p>\n', "") == alone[doi]
    assert progress == [(done, 20) for done in range(1, 21)]


@pytest.mark.slow
def test_the_drawing_processes_end_with_a_killed_site_run(hand_built_lake, tmp_path):
    import os
    import signal
    import time

    # A site run that draws in two processes and stops after its first page, until it is killed.
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom tasks.explain.run import write_site\n"
        "from tasks.lake.location import LakeLocation\n"
        "def stop(done, total, doi):\n    print('page', flush=True)\n    time.sleep(600)\n"
        f"write_site(LakeLocation(path=Path({str(hand_built_lake.path)!r})), Path({str(tmp_path / 'site')!r}), "
        "every_paper=True, workers=2, progress=stop)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline() == "page\n"
        children = [int(pid) for pid in Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()]
        assert len(children) >= 2  # the drawing processes (and multiprocessing's resource tracker)
        run.send_signal(signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 60
        alive = children
        while alive and time.monotonic() < deadline:
            time.sleep(0.5)
            alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
    finally:
        run.kill()
        run.wait()
    leftover = [pid for pid in alive if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()] if alive else []
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    assert leftover == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
