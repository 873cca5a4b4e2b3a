"""The HTML forms of explanations: one self-contained page per paper, and the index of a static site.

A page is one file: its CSS inline, its charts inline as SVG (from
``tasks.explain.charts``), the statements quoted; readable on a phone (viewport
meta, a single fluid column, charts scaled to the width) and printable (print
CSS: no colours behind text, charts kept whole on a page). The index lists the
papers with their balance and trend in a table sortable by clicking a column
header (a few lines of inline JS; without JS it stays a plain table); it takes the
window's whole width, never breaks a DOI, a number or a date, scrolls in its own
box when the window is narrower than the table, and on a phone shows each paper
as a block of labelled values under the headers, which still sort.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

from tasks.explain.facts import Explanation

CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #5f6368; --rule: #dadce0; --accent: #1565c0; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; line-height: 1.25; margin: .5rem 0; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; }
p.doi, p.note { color: var(--muted); font-size: .9rem; margin: 0; }
ul { padding-left: 1.2rem; }
li { margin: .3rem 0; }
blockquote { margin: .4rem 0 .8rem; padding: .4rem .8rem; border-left: 4px solid var(--accent); background: #f5f7fa; font-style: italic; }
code { font-size: .85em; word-break: break-all; }
figure.chart { margin: .8rem 0; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { padding: .35rem .5rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
.scroll { overflow-x: auto; }
a { color: var(--accent); }
/* The index takes the whole window; a DOI, a number or a date is never broken, titles wrap.
   Narrower than the table, it scrolls in its own box; on a phone each paper is a block. */
main.index { max-width: none; }
td.doi, td.num, td.date { white-space: nowrap; }
td.doi code { word-break: normal; }
td.title { min-width: 12rem; }
@media (max-width: 600px) { body { font-size: 15px; } main { padding: .6rem; } .wide { display: none; } }
@media screen and (max-width: 40rem) {
  table.sortable, table.sortable thead, table.sortable tbody, table.sortable tbody tr { display: block; }
  table.sortable thead tr { display: flex; flex-wrap: wrap; gap: .35rem; padding-bottom: .5rem; border-bottom: 1px solid var(--rule); }
  table.sortable th { border: 1px solid var(--rule); border-radius: 1rem; padding: .1rem .6rem; }
  table.sortable tbody tr { padding: .5rem 0; border-bottom: 1px solid var(--rule); }
  table.sortable td { display: inline-block; border: 0; padding: .05rem .9rem .05rem 0; text-align: left; }
  table.sortable td.doi, table.sortable td.title { display: block; min-width: 0; padding-right: 0; }
  table.sortable td.doi { overflow-x: auto; }
  table.sortable td:empty { display: none; }
  table.sortable td.num::before, table.sortable td.date::before { content: attr(data-label) " "; color: var(--muted); }
}
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  blockquote { background: none; }
  figure.chart, blockquote, li { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  th::after { content: none !important; }
}
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-sort"), y = b.cells[column].getAttribute("data-sort");
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

# Where each chart goes: after the sentences of this section.
CHART_PLACEMENT = {"balance": "balance", "trend": "history", "sections": "sections"}
CHART_LABELS = {
    "balance": "Bar chart: share of each statement type, this paper beside the lake's median paper",
    "history": "Line chart: citing publications and citation statements over the saved pages",
    "sections": "Bar chart: statements the lake holds per section of the citing paper",
}


def _head(title: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
    )


def _svg_for_inline(svg: str, name: str) -> str:
    # Inline SVG: drop an XML declaration if any, label it for screen readers.
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(CHART_LABELS[name])}" data-chart="{name}" ', 1)


def explanation_page(explanation: Explanation, svgs: dict[str, str], *, index_href: str | None = None) -> str:
    """One paper's explanation as a self-contained HTML page, charts inline as SVG."""
    title = explanation.title or explanation.doi
    parts = [_head(f"{title}: citation report explained"), "<body>\n<main>\n"]
    if index_href:
        parts.append(f'<p class="note"><a href="{escape(index_href)}">All papers</a></p>\n')
    parts.append(f"<h1>{escape(title)}</h1>\n<p class=\"doi\">DOI <code>{escape(explanation.doi)}</code></p>\n")
    sections: dict[str, list] = {}
    for sentence in explanation.sentences:
        sections.setdefault(sentence.section, []).append(sentence)
    from tasks.explain.sentences import HEADINGS

    for section, heading in HEADINGS.items():
        if section not in sections:
            continue
        parts.append(f'<section id="{section}">\n<h2>{escape(heading)}</h2>\n<ul>\n')
        for sentence in sections[section]:
            parts.append(f'<li data-sql="{escape(sentence.sql)}">{escape(sentence.text)}')
            if sentence.quote:
                parts.append(f"<blockquote>{escape(sentence.quote)}</blockquote>")
            parts.append("</li>\n")
        parts.append("</ul>\n")
        chart = CHART_PLACEMENT.get(section)
        if chart and chart in svgs:
            parts.append(f'<figure class="chart">{_svg_for_inline(svgs[chart], chart)}</figure>\n')
        parts.append("</section>\n")
    parts.append(
        f'<p class="note">Every number on this page comes from a query in <code>sql/explain/</code> '
        f"for doi = <code>{escape(explanation.doi)}</code>; the JSON form "
        f"(<code>citelake explain {escape(explanation.doi)} --format json</code>) names it per sentence.</p>\n"
    )
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def page_name(doi: str) -> str:
    """The file name of a paper's page in a site: its DOI slug plus ``.html``."""
    return f"{doi_slug(doi)}.html"


def doi_slug(doi: str) -> str:
    """A DOI as lowercase letters, digits and dashes (``10.1089/scd.2013.0023`` → ``10-1089-scd-2013-0023``)."""
    return re.sub(r"[^a-z0-9]+", "-", doi.lower()).strip("-")


def _cell(value: Any, label: str, css: str, *, text: str | None = None) -> str:
    # data-label names the value where a phone shows the row as a block, without the header above it.
    shown = "" if value is None else (text if text is not None else (f"{value:,}" if isinstance(value, int) else str(value)))
    sort_key = "" if value is None else str(value)
    return (
        f'<td class="{css}" data-label="{escape(label)}" data-sort="{escape(sort_key)}">'
        f"{escape(shown) if text is None else text}</td>"
    )


NUMERIC_CLASS = ' class="num"'
INDEX_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("doi", "DOI", False),
    ("title", "title", False),
    ("cited_by", "cited by", True),
    ("statement_count", "statements", True),
    ("supporting_pct", "supporting %", True),
    ("contrasting_pct", "contrasting %", True),
    ("pages", "saved pages", True),
    ("cited_by_growth", "cited-by growth", True),
    ("last_saved_on", "last saved", False),
)


def index_page(rows: Sequence[dict[str, Any]], *, title: str = "citelake: citation reports explained") -> str:
    """The site's index: one row per explained paper (``sql/explain/paper_list.sql``), sortable by column."""
    head = "".join(
        f'<th scope="col"{NUMERIC_CLASS if numeric else ""}>{escape(label)}</th>' for _, label, numeric in INDEX_COLUMNS
    )
    body = []
    for row in rows:
        cells = []
        for name, label, numeric in INDEX_COLUMNS:
            value = row.get(name)
            if name == "doi":
                link = f'<a href="{escape(page_name(value))}"><code>{escape(value)}</code></a>'
                cells.append(_cell(value, label, "doi", text=link))
            elif name == "last_saved_on":
                cells.append(_cell(None if value is None else value.isoformat(), label, "date"))
            else:
                cells.append(_cell(value, label, "num" if numeric else name))
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        _head(title)
        + '<body>\n<main class="index">\n'
        + f"<h1>{escape(title)}</h1>\n<p class=\"note\">{len(rows):,} papers. Click a column header to sort.</p>\n"
        + f'<div class="scroll"><table class="sortable">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table></div>\n</main>\n"
        + f"<script>{SORT_JS}</script>\n</body>\n</html>\n"
    )
