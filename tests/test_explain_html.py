"""The HTML explanation opens in a real headless Chromium: charts drawn, no console errors, readable on a phone."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.writer import LakeWriter
from tasks.reading.split import split_records

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None and not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture
def two_page_lake(lake, lake_location, make_page, report_files_of):
    """A paper saved twice (counts grew, a contrasting statement appeared), and a second paper."""
    first = [("It works as shown [1].", "Introduction", "supporting", 0.91), ("It was used [2].", "Methods", "mentioning", 0.8)]
    later = first + [("We could not reproduce it [3].", "Discussion", "contrasting", 0.87)]
    pages = [
        make_page("10.5/x", datetime(2024, 1, 1, tzinfo=UTC), first, title="A paper worth a look", cited_by=10),
        make_page("10.5/x", datetime(2024, 6, 1, tzinfo=UTC), later, title="A paper worth a look", cited_by=14),
        make_page("10.5/y", datetime(2024, 6, 1, tzinfo=UTC), first[:1], title="Another paper"),
    ]
    with LakeWriter(lake, run_id="run-1") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.finish({"seen": 3, "new": 3})
    return lake_location


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _open(browser, path: Path, **context):
    page = browser.new_context(**context).new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: problems.append(f"request {request.url}") if not request.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


@pytest.mark.slow
def test_the_page_draws_its_charts_in_chromium(two_page_lake, tmp_path, browser):
    out = tmp_path / "x.html"
    result = CliRunner().invoke(app, ["explain", "10.5/x", "--lake", str(two_page_lake.path), "-f", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media print" in html and "<script" not in html

    page, problems = _open(browser, out, viewport={"width": 1000, "height": 900})
    charts = page.eval_on_selector_all(
        "svg[data-chart]",
        "nodes => nodes.map(n => ({name: n.dataset.chart, w: n.getBoundingClientRect().width,"
        " h: n.getBoundingClientRect().height, attrW: +n.getAttribute('width'), attrH: +n.getAttribute('height'),"
        " marks: n.querySelectorAll('path, rect, line, text').length}))",
    )
    assert [chart["name"] for chart in charts] == ["balance", "history", "sections"]
    for chart in charts:
        # Drawn at the size the chart was rendered at (340×180 plot plus axes, title and legend), with marks in it.
        assert 340 < chart["attrW"] < 700 and 180 < chart["attrH"] < 400, chart
        assert chart["w"] == pytest.approx(chart["attrW"], abs=1) and chart["h"] == pytest.approx(chart["attrH"], abs=1), chart
        assert chart["marks"] > 10, chart
    # The history chart has one point per saved page of each measure: 2 pages × 2 measures.
    points = page.eval_on_selector_all('svg[data-chart="history"] g.mark-symbol.role-mark path', "n => n.length")
    assert points == 4
    body = page.inner_text("main")
    assert "We could not reproduce it [3]." in body and "It works as shown [1]." in body
    assert re.search(r"grew by 4 \(from 10 to 14\)", body)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "explain-page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert problems == []

    # On a phone the page fits the screen: no sideways scrolling, charts scaled down.
    phone, phone_problems = _open(browser, out, viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    widths = phone.eval_on_selector_all("svg[data-chart]", "nodes => nodes.map(n => n.getBoundingClientRect().width)")
    assert all(0 < width <= 375 for width in widths)
    phone.screenshot(path=str(ARTIFACTS / "explain-page-phone.png"), full_page=True)
    assert phone_problems == []
    # Printable: the print stylesheet applies and the page prints to PDF.
    phone.emulate_media(media="print")
    assert phone.evaluate("getComputedStyle(document.querySelector('blockquote')).backgroundColor") in ("rgba(0, 0, 0, 0)", "transparent")
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")


@pytest.mark.slow
def test_the_index_sorts_by_a_clicked_column(two_page_lake, tmp_path, browser):
    site = tmp_path / "site"
    result = CliRunner().invoke(app, ["explain", "--all", "--out", str(site), "--lake", str(two_page_lake.path)])
    assert result.exit_code == 0, result.output
    page, problems = _open(browser, site / "index.html", viewport={"width": 1000, "height": 700})

    def first_column() -> list[str]:
        return page.eval_on_selector_all("tbody tr td:first-child", "cells => cells.map(c => c.innerText)")

    assert first_column() == ["10.5/x", "10.5/y"]
    page.click("th:has-text('cited by')")  # ascending: y (10) before x (14)
    assert first_column() == ["10.5/y", "10.5/x"]
    page.click("th:has-text('cited by')")  # descending
    assert first_column() == ["10.5/x", "10.5/y"]
    page.click("a:has-text('10.5/y')")
    page.wait_for_load_state("load")
    assert page.url.endswith("10-5-y.html")
    assert page.locator("svg[data-chart]").count() == 3
    assert problems == []


LONG_DOIS = ["10.1371/journal.pone.0000021", "10.1016/j.ijcard.2019.000001", "10.1089/scd.2013.0023"]
LONG_TITLE = (
    "Induced Pluripotent Stem Cell–Derived Cardiomyocytes in Heart Failure with Reduced Ejection Fraction: "
    "Results from the Ørsted Cohort, with a Subtitle Long Enough to Wrap"
)


@pytest.fixture
def long_doi_lake(lake, lake_location, make_page, report_files_of):
    """Papers with DOIs and titles as long as real ones, one of them saved twice."""
    statements = [("It works as shown [1].", "Introduction", "supporting", 0.91)]
    pages = [make_page(doi, datetime(2024, 1, 1, tzinfo=UTC), statements, title=LONG_TITLE, cited_by=2349) for doi in LONG_DOIS]
    pages.append(make_page(LONG_DOIS[0], datetime(2024, 6, 1, tzinfo=UTC), statements, title=LONG_TITLE, cited_by=2400))
    with LakeWriter(lake, run_id="run-1") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.finish({"seen": 4, "new": 4})
    return lake_location


# Where the page scrolls sideways, how many lines each DOI takes, and which headers lie outside the table's box.
FIT = """() => {
  const box = document.querySelector('.scroll').getBoundingClientRect();
  return {
    page: document.documentElement.scrollWidth,
    main: document.querySelector('main').getBoundingClientRect().width,
    boxScrolls: document.querySelector('.scroll').scrollWidth > document.querySelector('.scroll').clientWidth,
    doiLines: Array.from(document.querySelectorAll('tbody td.doi code')).map(code => code.getClientRects().length),
    hidden: Array.from(document.querySelectorAll('thead th')).filter(th => {
      const r = th.getBoundingClientRect();
      return r.width === 0 || r.left < box.left - 1 || r.right > box.right + 1;
    }).map(th => th.innerText),
  };
}"""


def test_the_index_uses_the_windows_width_and_never_breaks_a_doi(long_doi_lake, tmp_path, browser):
    site = tmp_path / "site"
    result = CliRunner().invoke(app, ["explain", "--all", "--out", str(site), "--lake", str(long_doi_lake.path)])
    assert result.exit_code == 0, result.output
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 1920):
        page, problems = _open(browser, site / "index.html", viewport={"width": width, "height": 800})
        fit = page.evaluate(FIT)
        # No sideways scroll of the page or of the table; every column in view; each DOI on one line.
        assert fit["page"] <= page.evaluate("innerWidth") and not fit["boxScrolls"], fit
        assert fit["hidden"] == [] and fit["doiLines"] == [1, 1, 1], fit
        assert fit["main"] > 0.9 * width, fit  # not a 46rem column in the middle
        page.screenshot(path=str(ARTIFACTS / f"explain-index-{width}.png"), full_page=True)
        assert problems == []

    # On a phone each paper is a block (a DOI, a title, labelled numbers); the page does not scroll sideways.
    phone, problems = _open(browser, site / "index.html", viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    fit = phone.evaluate(FIT)
    assert fit["page"] <= 390 and fit["doiLines"] == [1, 1, 1], fit
    labels = phone.eval_on_selector(
        "tbody tr:first-child td.num", "cell => getComputedStyle(cell, '::before').content"
    )
    assert labels == '"cited by "'
    phone.screenshot(path=str(ARTIFACTS / "explain-index-phone.png"), full_page=True)
    # Sorting still works: the headers are buttons above the blocks.
    phone.click("th:has-text('cited by')")
    cells = phone.eval_on_selector_all("tbody td.doi", "cells => cells.map(c => c.innerText)")
    assert cells[-1] == LONG_DOIS[0]  # cited by 2,400: last in ascending order
    assert problems == []
