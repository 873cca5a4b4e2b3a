"""The charts of an explanation, drawn with Vega-Altair and rendered offline by vl-convert.

Three charts, each from the facts an :class:`~tasks.explain.facts.Explanation`
already holds (so a chart shows exactly the numbers its sentences state):

- ``balance``: the paper's share of each statement type beside the lake's median paper;
- ``history``: citing publications and citation statements over the saved pages;
- ``sections``: the statements the lake holds per section category of the citing paper.

:func:`chart_svgs` gives SVG text (inlined in the HTML page), :func:`write_chart_pngs`
PNG files (beside a Markdown file). Nothing is fetched: vl-convert bundles Vega.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

from tasks.explain.facts import SECTION_CATEGORIES, STATEMENT_TYPES, Explanation

CHART_NAMES: tuple[str, ...] = ("balance", "history", "sections")
WIDTH = 340
HEIGHT = 180
TYPE_COLOURS = {"supporting": "#2e7d32", "mentioning": "#607d8b", "contrasting": "#c62828", "unclassified": "#bdbdbd"}
FONT = "DejaVu Sans"


def _style(chart: alt.Chart, title: str) -> alt.Chart:
    return (
        chart.properties(width=WIDTH, height=HEIGHT, title=title)
        .configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelFont=FONT, titleFont=FONT)
        .configure_legend(labelFont=FONT, titleFont=FONT, orient="bottom")
        .configure_title(font=FONT, anchor="start", fontSize=13)
    )


def balance_rows(explanation: Explanation) -> list[dict[str, Any]]:
    """The balance chart's data: per type, this paper's share and the lake median's (percent)."""
    balance, standing = explanation.facts["balance"], explanation.facts["standing"]
    rows = []
    for kind in STATEMENT_TYPES:
        rows.append({"type": kind, "paper": "this paper", "percent": balance.get(f"{kind}_pct")})
        rows.append({"type": kind, "paper": "lake median", "percent": standing.get(f"median_{kind}_pct")})
    return [row for row in rows if row["percent"] is not None]


def history_rows(explanation: Explanation) -> list[dict[str, Any]]:
    """The history chart's data: per saved page, the citing publications and citation statements."""
    rows = []
    days = [page["saved_on"] for page in explanation.history]
    for page in explanation.history:
        # The date, and the time too where one day has several pages: labels of an ordinal axis, oldest first.
        saved = page["saved_on"].isoformat()
        if days.count(page["saved_on"]) > 1:
            saved += page["observed_at"].strftime(" %H:%M:%S")
        for measure, label in (("cited_by", "citing publications"), ("statement_count", "citation statements")):
            if page[measure] is not None:
                rows.append({"saved": saved, "measure": label, "count": page[measure]})
    return rows


def section_rows(explanation: Explanation) -> list[dict[str, Any]]:
    """The section chart's data: per section category, the statements the lake holds and their share."""
    sections = explanation.facts["sections"]
    return [
        {"section": category, "statements": sections[f"{category}_statements"], "percent": sections[f"{category}_pct"]}
        for category in SECTION_CATEGORIES
        if sections.get(f"{category}_statements")
    ]


def balance_chart(explanation: Explanation) -> alt.Chart:
    data = alt.Data(values=balance_rows(explanation))
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("type:N", sort=list(STATEMENT_TYPES), title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("paper:N", sort=["this paper", "lake median"]),
            y=alt.Y("percent:Q", title="share of statements (%)"),
            color=alt.Color("paper:N", sort=["this paper", "lake median"], title=None,
                            scale=alt.Scale(range=["#1565c0", "#b0bec5"])),
            tooltip=["type:N", "paper:N", "percent:Q"],
        )
    )
    return _style(chart, "Statement types: this paper and the lake's median paper")


def history_chart(explanation: Explanation) -> alt.Chart:
    data = alt.Data(values=history_rows(explanation))
    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("saved:O", title="page saved", sort=None, axis=alt.Axis(labelAngle=0, labelOverlap=True)),
            y=alt.Y("count:Q", title="count"),
            color=alt.Color("measure:N", title=None, scale=alt.Scale(range=["#1565c0", "#ef6c00"])),
            tooltip=["saved:O", "measure:N", "count:Q"],
        )
    )
    return _style(chart, "Counts over the saved pages")


def sections_chart(explanation: Explanation) -> alt.Chart:
    data = alt.Data(values=section_rows(explanation))
    chart = (
        alt.Chart(data)
        .mark_bar(color="#5e35b1")
        .encode(
            y=alt.Y("section:N", sort=list(SECTION_CATEGORIES), title=None),
            x=alt.X("statements:Q", title="statements the lake holds", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=["section:N", "statements:Q", "percent:Q"],
        )
    )
    return _style(chart, "Where the citing papers cite it")


def charts(explanation: Explanation) -> dict[str, alt.Chart]:
    """The three charts by name, in :data:`CHART_NAMES` order."""
    return {
        "balance": balance_chart(explanation),
        "history": history_chart(explanation),
        "sections": sections_chart(explanation),
    }


def chart_svgs(explanation: Explanation) -> dict[str, str]:
    """Each chart as SVG text, for inlining in HTML."""
    return {name: vlc.vegalite_to_svg(chart.to_json()) for name, chart in charts(explanation).items()}


def chart_pngs(explanation: Explanation, *, scale: float = 2) -> dict[str, bytes]:
    """Each chart as PNG bytes (``scale`` 2: sharp on high-density screens)."""
    return {name: vlc.vegalite_to_png(chart.to_json(), scale=scale) for name, chart in charts(explanation).items()}


def write_chart_pngs(explanation: Explanation, stem: Path) -> dict[str, str]:
    """Write ``<stem>-<chart>.png`` per chart; returns chart name → file name (relative to the stem's folder)."""
    written = {}
    for name, png in chart_pngs(explanation).items():
        path = stem.with_name(f"{stem.name}-{name}.png")
        path.write_bytes(png)
        written[name] = path.name
    return written
