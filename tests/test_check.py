"""``citelake check``: a reference list checked against a real lake, its forms, its closing line and its exit status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.check.references import (
    BadReferenceFile,
    ReferenceCheck,
    UnknownFlag,
    parse_fail_on,
    read_references,
    summary_line,
    _flags,
)
from tasks.check.report import ROW_SCHEMA, render_markdown
from tasks.lake.location import LakeLocation
from tasks.lake.session import open_lake

REPO = Path(__file__).resolve().parent.parent
# As in tests/docs_lake.py: the example API responses' save time, after every generated page.
API_SAVED_AT = 1_749_988_800

BIBTEX = r"""
@article{first,
  title = {A {DNA} paper},
  doi = {https://doi.org/10.1089/SCD.2013.0023}
}
@book{nodoi, title = {A book}, year = {1999}}
@article{broken, title = {never closed}

@misc{first, title = {The same key again}, doi = {10.1371/journal.pone.0000006}}
@misc{garbage, doi = {see the publisher}}
"""


# ---------------------------------------------------------------------------
# The pure parts
# ---------------------------------------------------------------------------


def test_a_bibtex_file_gives_one_reference_per_entry_in_its_order(tmp_path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(BIBTEX)
    file_format, references = read_references(path)
    assert file_format == "bibtex"
    assert [(r.position, r.key, r.doi, r.status) for r in references] == [
        (1, "first", "10.1089/scd.2013.0023", None),
        (2, "nodoi", None, "no_doi"),
        (3, None, None, "no_doi"),  # the unreadable block, where it stands
        (4, "first", "10.1371/journal.pone.0000006", None),  # a key used twice is still a reference
        (5, "garbage", None, "invalid_doi"),
    ]
    assert references[0].title == "A DNA paper"
    assert references[2].name == "unparsable BibTeX at line 7"
    assert references[4].problem.startswith("'see the publisher' is not a DOI")


def test_ris_and_plain_lists_give_their_keys_and_lines(tmp_path) -> None:
    ris = tmp_path / "refs.ris"
    ris.write_text("TY  - JOUR\nID  - ref7\nTI  - An article\nDO  - 10.1016/J.CELL.2006.07.024\nER  - \n\n"
                   "TY  - BOOK\nTI  - A book\nER  - \n")
    assert [(r.key, r.name, r.doi, r.status) for r in read_references(ris)[1]] == [
        ("ref7", "JOUR 'An article'", "10.1016/j.cell.2006.07.024", None),
        (None, "BOOK 'A book'", None, "no_doi"),
    ]
    plain = tmp_path / "dois.txt"
    plain.write_text("# my references\ndoi:10.1089/SCD.2013.0023\n\nnot a doi\n10.1089/scd.2013.0023\n")
    file_format, references = read_references(plain)
    assert file_format == "list"
    assert [(r.position, r.doi, r.status) for r in references] == [
        (1, "10.1089/scd.2013.0023", None), (2, None, "invalid_doi"), (3, "10.1089/scd.2013.0023", None),
    ]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("missing.bib", None, "cannot read it (No such file or directory)"),
        ("paper.pdf", b"%PDF-1.7\n\x00\x01binary", "binary content, not a BibTeX, RIS or DOI-list file"),
        ("empty.txt", b"# nothing yet\n\n", "no references in it (read as a list of DOIs, one a line)"),
        ("list.bib", b"10.1089/scd.2013.0023\n", "no references in it (read as BibTeX)"),
        ("cut.bib", b"@article{cut, title = {no end}\n", "no BibTeX entry in it could be read (unparsable BibTeX at line 1)"),
        ("open.ris", b"TY  - JOUR\nTI  - never ended\n", "no references in it (read as RIS)"),
    ],
)
def test_a_file_that_is_no_reference_list_is_named_with_why(tmp_path, name, content, why) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadReferenceFile) as raised:
        read_references(path)
    assert str(raised.value).startswith(f"{path}: {why}")
    assert "\n" not in str(raised.value)


def test_fail_on_names_flags_or_none() -> None:
    assert parse_fail_on("retracted") == ("retracted",)
    assert parse_fail_on(" Contrasting, retracted ,notice") == ("retracted", "notice", "contrasting")
    assert parse_fail_on("none") == () and parse_fail_on("") == ()
    with pytest.raises(UnknownFlag, match="unknown --fail-on corrected; use a comma-separated list of retracted, notice, contrasting, or none"):
        parse_fail_on("retracted,corrected")


def _check(status: str, **values) -> ReferenceCheck:
    given = {"position": 1, "key": None, "reference": "r", "doi": None, "flags": [], "in_lake": True,
             "retracted": None, "title": None, "year": None} | values
    return ReferenceCheck(status=status, **given)


def test_the_closing_line_counts_each_status_but_ok() -> None:
    statuses = ["retracted", "retracted", "notice", "contrasting", "not_in_lake", "no_doi", "ok"]
    assert summary_line([_check(status) for status in statuses]) == (
        "7 references: 2 retracted, 1 with a notice, 1 with contrasting evidence, 1 not in the lake, 1 without a DOI"
    )
    assert summary_line([_check("ok")]) == "1 reference: none flagged"
    assert summary_line([_check("ok"), _check("invalid_doi")]) == "2 references: none flagged, 1 with an invalid DOI"


def test_contrasting_evidence_is_a_share_of_at_least_the_threshold() -> None:
    assert _flags(_check("ok", contrasting=5, contrasting_share=0.05), 0.05) == ["contrasting"]
    assert _flags(_check("ok", contrasting=4, contrasting_share=0.049), 0.05) == []
    assert _flags(_check("ok", contrasting=1, contrasting_share=0.001), 0.0) == ["contrasting"]
    assert _flags(_check("ok", contrasting=0, contrasting_share=0.0), 0.0) == []  # no contrasting statement, no flag
    retracted = _check("ok", retracted=True, notices=[{"nature": "Retraction"}], contrasting=3, contrasting_share=0.2)
    assert _flags(retracted, 0.05) == ["retracted", "notice", "contrasting"]


def test_the_json_form_has_the_fields_of_a_reference_check() -> None:
    assert ROW_SCHEMA.names == [item.name for item in fields(ReferenceCheck)]


# ---------------------------------------------------------------------------
# On a real lake: generated pages and the example API responses
# ---------------------------------------------------------------------------

# A /papers response, saved after the examples', giving a paper a correction (a notice, not a retraction).
CORRECTION = {
    "doi": "10.1089/scd.2016.000011",
    "title": "Statin Therapy in Mice: A Randomized Controlled Trial",
    "year": 2016,
    "retracted": False,
    "editorialNotices": [
        {"status": "Correction", "date": "2018-03-01", "noticeDoi": "10.1089/SCD.2016.000011.CORRECTION",
         "doi": "10.1089/scd.2016.000011", "urls": []}
    ],
}


@pytest.fixture(scope="module")
def example_lake(tmp_path_factory) -> LakeLocation:
    """The example lake (examples/README.md): its generated pages, the real sample page, examples/api, and a correction."""
    from tasks.corpus.generate import write_corpus
    from tasks.lake.ingest import ingest

    root = tmp_path_factory.mktemp("check")
    reports, responses = root / "reports", root / "api"
    write_corpus(reports, 24, 3546)
    shutil.copy(REPO / "examples" / "reports" / "scd.2013.0023.txt", reports)
    shutil.copytree(REPO / "examples" / "api", responses)
    (responses / "correction_10.1089_scd.2016.000011.json").write_text(json.dumps(CORRECTION))
    for response in responses.iterdir():
        saved_at = API_SAVED_AT + (86_400 if response.name.startswith("correction") else 0)
        os.utime(response, (saved_at, saved_at))
    location = LakeLocation(path=root / "lake")
    ingest(reports, location)
    ingest(responses, location)
    return location


def citelake(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_example_references_get_their_flags_as_json(example_lake) -> None:
    code, out, err = citelake("check", str(REPO / "examples" / "refs.bib"), "--lake", str(example_lake.path), "-f", "json")
    assert code == 3, err
    entries = [json.loads(line) for line in out.splitlines()]
    assert [(e["key"], e["doi"], e["status"], e["in_lake"], e["retracted"]) for e in entries] == [
        ("lindqvist2013", "10.1089/scd.2013.0023", "ok", True, False),
        ("haddad2003", "10.1089/scd.2003.000012", "retracted", True, True),
        ("lindqvist2004", "10.1371/journal.pone.0000018", "contrasting", True, False),
        ("tanaka2019", "10.1016/j.ijcard.2019.000001", "ok", True, False),
        ("takahashi2006", "10.1016/j.cell.2006.07.024", "not_in_lake", False, None),
        ("alberts2014", None, "no_doi", False, None),
        ("tanaka2016", None, "invalid_doi", False, None),
    ]
    assert err.splitlines()[-1] == (
        "7 references: 1 retracted, 1 with contrasting evidence, 1 not in the lake, 1 without a DOI, 1 with an invalid DOI"
    )
    sample, retracted, contrasting, api_only = entries[:4]
    assert retracted["flags"] == ["retracted", "notice"]
    assert retracted["notices"] == [{"nature": "Retraction", "date": "2021-06-15", "source": "scite_api", "reasons": None,
                                     "notice_doi": "10.1089/scd.2003.000012.retraction"}]
    # The latest of its saves is the API tally (examples/api/tally_…), which has the citing publications.
    assert (retracted["cited_by"], retracted["statement_count"], retracted["contrasting"]) == (288, 269, 1)
    assert (retracted["tally_source"], retracted["tally_date"]) == ("api", "2025-06-15")
    # Its one contrasting statement came from the API, without a snippet: the citing paper and its year are known.
    assert [(s["text"], s["section"], s["citing_doi"], s["citing_year"]) for s in retracted["contrasting_statements"]] == [
        (None, "Results and Discussion", "10.1089/scd.2016.000011", 2016)
    ]
    assert contrasting["contrasting_share"] == pytest.approx(3 / 43)
    assert 0 < contrasting["contrasting_percentile"] <= 100 and contrasting["tally_source"] == "page"
    quoted = contrasting["contrasting_statements"]
    assert 1 <= len(quoted) <= 3 and all(statement["text"] for statement in quoted)
    assert api_only["cited_by"] is None and api_only["statement_count"] == 87  # the tally had no citingPublications
    assert sample["problem"] is None and entries[6]["problem"].startswith("'SCD.2016.000011' is not a DOI")


def test_the_percentile_places_the_share_among_the_lakes_papers(example_lake) -> None:
    code, out, _ = citelake("check", str(REPO / "examples" / "refs.bib"), "--lake", str(example_lake.path), "-f", "json")
    contrasting = json.loads(out.splitlines()[2])
    con = open_lake(example_lake, read_only=True)
    try:
        shares = [row[0] for row in con.execute(
            "select contrasting_share from paper_citation_profile where contrasting_share is not null").fetchall()]
    finally:
        con.close()
    lower = sum(share < contrasting["contrasting_share"] for share in shares)
    assert contrasting["contrasting_percentile"] == round(100 * lower / (len(shares) - 1), 1)


@pytest.mark.slow
def test_exit_status_follows_the_flags_fail_on_names(example_lake, tmp_path) -> None:
    lake = ["--lake", str(example_lake.path)]
    corrected = tmp_path / "corrected.txt"
    corrected.write_text("10.1089/scd.2016.000011\n10.1089/scd.2013.0023\n")
    code, out, err = citelake("check", str(corrected), *lake)
    assert code == 0, err
    assert out.splitlines()[-1] == "2 references: 1 with a notice"  # the table's closing line follows it on stdout
    assert err == ""
    assert citelake("check", str(corrected), *lake, "--fail-on", "notice")[0] == 3
    assert citelake("check", str(corrected), *lake, "--fail-on", "retracted")[0] == 0

    code, out, err = citelake("check", str(corrected), *lake, "-f", "json")
    corrected_paper = json.loads(out.splitlines()[0])
    # Its status is its most serious flag; 3 contrasting statements of its 24 are over 5%: a flag too.
    assert (corrected_paper["status"], corrected_paper["flags"]) == ("notice", ["notice", "contrasting"])
    assert citelake("check", str(corrected), *lake, "--fail-on", "contrasting")[0] == 3
    assert corrected_paper["notices"] == [{"nature": "Correction", "date": "2018-03-01", "source": "scite_api", "reasons": None,
                       "notice_doi": "10.1089/scd.2016.000011.correction"}]
    # At a 0 threshold any contrasting statement is evidence: the sample paper has one of 190.
    code, out, _ = citelake("check", str(corrected), *lake, "-f", "json", "--contrasting-share", "0", "--fail-on", "contrasting")
    assert code == 3 and json.loads(out.splitlines()[1])["flags"] == ["contrasting"]

    bib = str(REPO / "examples" / "refs.bib")
    assert citelake("check", bib, *lake, "--fail-on", "none")[0] == 0
    code, out, err = citelake("check", str(tmp_path / "absent.bib"), *lake)
    assert (code, out) == (1, "")
    assert err == f"citelake check: {tmp_path / 'absent.bib'}: cannot read it (No such file or directory)\n"
    (tmp_path / "paper.docx").write_bytes(b"PK\x03\x04\x00\x00binary")
    code, _, err = citelake("check", str(tmp_path / "paper.docx"), *lake)
    assert (code, err) == (1, f"citelake check: {tmp_path / 'paper.docx'}: binary content, not a BibTeX, RIS or DOI-list file\n")
    code, _, err = citelake("check", bib, "--lake", str(tmp_path / "no-lake"))
    assert code == 1 and err.startswith("citelake check: ") and len(err.splitlines()) == 1

    code, _, err = citelake("check", bib, *lake, "-f", "pdf")
    assert (code, err) == (2, "citelake check: unknown --format 'pdf'; use table, json, csv, markdown, html\n")
    code, _, err = citelake("check", bib, *lake, "--fail-on", "corrected")
    assert code == 2 and err.startswith("citelake check: unknown --fail-on corrected")
    assert citelake("check", bib, *lake, "--contrasting-share", "2")[0] == 2


@pytest.mark.slow
def test_a_reference_only_the_export_retracts_is_flagged_though_the_lake_has_no_page_of_it(tmp_path) -> None:
    from test_retraction_watch import LATER, export_text, place, record

    from tasks.check.references import check_file
    from tasks.lake.ingest import ingest

    only_exported = "10.1016/j.cell.2006.07.024"
    records = [
        record(90001, OriginalPaperDOI=only_exported, RetractionNature="Expression of concern", RetractionDate="2/1/2020 0:00"),
        record(90002, OriginalPaperDOI=only_exported, RetractionDate="3/14/2022 0:00"),
        record(90003, OriginalPaperDOI="10.1016/j.cell.2010.01.001", RetractionNature="Correction"),
    ]
    place(tmp_path / "export", "retraction_watch.csv", export_text(records), LATER)
    location = LakeLocation(path=tmp_path / "lake")
    ingest(tmp_path / "export", location, workers=1)
    refs = tmp_path / "refs.txt"
    refs.write_text(f"{only_exported}\n10.1016/j.cell.2010.01.001\n10.1089/scd.2099.000001\n")

    report = check_file(location, refs)
    retracted, corrected, unknown = report.checks

    assert (retracted.status, retracted.flags, retracted.in_lake, retracted.retracted) == (
        "retracted", ["retracted", "notice"], False, True)  # fmt: skip
    assert [(n["nature"], n["date"], n["source"]) for n in retracted.notices] == [
        ("Expression of concern", "2020-02-01", "retraction_watch"), ("Retraction", "2022-03-14", "retraction_watch")
    ]
    assert retracted.notices[1]["reasons"] == ["Concerns/Issues About Data"]
    assert (corrected.status, corrected.flags, corrected.in_lake) == ("notice", ["notice"], False)
    assert (unknown.status, unknown.flags, unknown.in_lake, unknown.retracted) == ("not_in_lake", [], False, None)
    assert "no report page or API response of it: only the Retraction Watch export's records" in render_markdown(report)


def test_out_writes_the_report_and_says_so(example_lake, tmp_path) -> None:
    bib = str(REPO / "examples" / "refs.bib")
    lake = ["--lake", str(example_lake.path), "--fail-on", "none"]
    for output_format in ("csv", "markdown", "html", "table"):
        out = tmp_path / f"report.{output_format}"
        code, stdout, err = citelake("check", bib, *lake, "-f", output_format, "--out", str(out))
        assert (code, stdout) == (0, ""), err
        first, closing = err.splitlines()
        assert first.startswith(f"citelake check: wrote {out} ({output_format}, ")
        assert closing.startswith("7 references: 1 retracted")
    rows = (tmp_path / "report.csv").read_text().splitlines()
    assert rows[0].startswith('"position","key","reference","doi","status","flags"') and len(rows) == 8
    markdown = (tmp_path / "report.markdown").read_text()
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == ["## Retracted (1)", "## With contrasting evidence (1)", "## Nothing flagged (2)",
                        "## Not in the lake (1)", "## Without a DOI (1)", "## With an invalid DOI (1)"]
    assert "- Editorial notice: Retraction of 2021-06-15, from the scite API; notice DOI 10.1089/scd.2003.000012.retraction." in markdown
    assert (tmp_path / "report.table").read_text().rstrip().endswith("1 with an invalid DOI")


def test_watch_adds_the_references_with_a_doi(example_lake, tmp_path) -> None:
    bib = str(REPO / "examples" / "refs.bib")
    code, _, err = citelake("check", bib, "--lake", str(example_lake.path), "-f", "json", "--watch")
    assert code == 3
    assert err.splitlines()[-1] == "citelake check: watching the 5 DOIs of the references (5 newly watched)"
    con = open_lake(example_lake, read_only=True)
    try:
        watched = {row[0] for row in con.execute("select doi from watchlist where removed_at is null").fetchall()}
    finally:
        con.close()
    assert watched == {"10.1089/scd.2013.0023", "10.1089/scd.2003.000012", "10.1371/journal.pone.0000018",
                       "10.1016/j.ijcard.2019.000001", "10.1016/j.cell.2006.07.024"}


def test_the_markdown_keeps_a_titles_markup_as_text() -> None:
    from tasks.check.references import CheckReport

    check = _check("not_in_lake", title="The *p* value [revisited]")
    check.key, check.doi = "k", "10.1/x_y"
    markdown = render_markdown(CheckReport(path=Path("refs.bib"), file_format="bibtex", checks=[check]))
    assert "### 1. k: The \\*p\\* value \\[revisited\\]" in markdown


def test_the_check_command_does_not_import_prefect(example_lake) -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        f"result = CliRunner().invoke(app, ['check', {str(REPO / 'examples' / 'refs.bib')!r}, '--lake', {str(example_lake.path)!r}])\n"
        "assert result.exit_code == 3, result.output\n"
        "print('prefect' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# The HTML page in a real browser
# ---------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None and not Path(CHROMIUM).exists(),
                    reason="needs Debian's chromium (.ci/run installs it)")
def test_the_html_page_lists_flagged_references_first_in_chromium(example_lake, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    from test_explain_html import CHROMIUM_ARGS

    refs = tmp_path / "refs.txt"
    # File order: clean, not in the lake, contrasting, a notice, retracted, invalid.
    refs.write_text("10.1089/scd.2013.0023\n10.1016/j.cell.2006.07.024\n10.1371/journal.pone.0000018\n"
                    "10.1089/scd.2016.000011\n10.1089/scd.2003.000012\nscd.2016.000011\n")
    out = tmp_path / "refs.html"
    code, _, err = citelake("check", str(refs), "--lake", str(example_lake.path), "-f", "html", "--out", str(out))
    assert code == 3, err
    html = out.read_text()
    assert "<script" not in html and "@media print" in html and "<link" not in html

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
            page.on("request", lambda request: problems.append(request.url) if not request.url.startswith(("file:", "data:")) else None)
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            shown = page.eval_on_selector_all(
                "article.ref", "nodes => nodes.map(n => [n.dataset.status, +n.dataset.position])"
            )
            assert shown == [["retracted", 5], ["notice", 4], ["contrasting", 3], ["ok", 1], ["not_in_lake", 2], ["invalid_doi", 6]]
            assert page.inner_text("p.summary") == (
                "6 references: 1 retracted, 1 with a notice, 1 with contrasting evidence, 1 not in the lake, 1 with an invalid DOI"
            )
            first = page.inner_text("article.ref >> nth=0")
            assert "Editorial notice: Retraction of 2021-06-15, from the scite API" in first
            assert "(the API gave no snippet)" in first and "cited in 2016" in first
            # On a phone: no sideways scrolling. In print: no colour behind the quotes, and it prints.
            phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
            phone.goto(out.as_uri())
            assert phone.evaluate("document.documentElement.scrollWidth") <= 375
            phone.emulate_media(media="print")
            assert phone.evaluate("getComputedStyle(document.querySelector('blockquote')).backgroundColor") in (
                "rgba(0, 0, 0, 0)", "transparent")
            assert page.pdf().startswith(b"%PDF")
            assert problems == []
        finally:
            browser.close()
