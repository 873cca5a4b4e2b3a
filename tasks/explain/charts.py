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

import functools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

from tasks.explain.facts import Explanation
from tasks.lake.tables import SECTION_CATEGORIES, TALLY_CLASSES

CHART_NAMES: tuple[str, ...] = ("balance", "history", "sections")
WIDTH = 340
HEIGHT = 180
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
    for kind in TALLY_CLASSES:
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


def balance_chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """The balance chart of :func:`balance_rows`."""
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("type:N", sort=list(TALLY_CLASSES), title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("paper:N", sort=["this paper", "lake median"]),
            y=alt.Y("percent:Q", title="share of statements (%)"),
            color=alt.Color("paper:N", sort=["this paper", "lake median"], title=None,
                            scale=alt.Scale(range=["#1565c0", "#b0bec5"])),
            tooltip=["type:N", "paper:N", "percent:Q"],
        )
    )
    return _style(chart, "Statement types: this paper and the lake's median paper")


def history_chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """The history chart of :func:`history_rows`."""
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("saved:O", title="page saved", sort=None, axis=alt.Axis(labelAngle=0, labelOverlap=True)),
            y=alt.Y("count:Q", title="count"),
            color=alt.Color("measure:N", title=None, scale=alt.Scale(range=["#1565c0", "#ef6c00"])),
            tooltip=["saved:O", "measure:N", "count:Q"],
        )
    )
    return _style(chart, "Counts over the saved pages")


def sections_chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """The section chart of :func:`section_rows`."""
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color="#5e35b1")
        .encode(
            y=alt.Y("section:N", sort=list(SECTION_CATEGORIES), title=None),
            x=alt.X("statements:Q", title="statements the lake holds", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=["section:N", "statements:Q", "percent:Q"],
        )
    )
    return _style(chart, "Where the citing papers cite it")


# Per chart: its data from an explanation, and its Altair definition drawing those data.
CHARTS: dict[str, tuple[Callable[[Explanation], list[dict[str, Any]]], Callable[[list[dict[str, Any]]], alt.Chart]]] = {
    "balance": (balance_rows, balance_chart),
    "history": (history_rows, history_chart),
    "sections": (section_rows, sections_chart),
}


@functools.cache
def _template(name: str) -> str:
    # The chart's Vega-Lite spec without data, built (and validated) by Altair once per process.
    return json.dumps(CHARTS[name][1]([]).to_dict())


def chart_spec(explanation: Explanation, name: str) -> dict[str, Any]:
    """The Vega-Lite spec of one chart of ``explanation``: Altair's, with the paper's data in its ``values``.

    Building and validating an Altair chart per paper costs more than drawing it;
    the data are the only part of the spec that depends on the paper, so the
    spec is Altair's once, and each paper's rows are put in. It equals
    ``CHARTS[name][1](rows).to_dict()`` (checked by the tests).
    """
    spec = json.loads(_template(name))
    spec["data"] = {"values": CHARTS[name][0](explanation)}
    return spec


def chart_specs(explanation: Explanation) -> dict[str, dict[str, Any]]:
    """The three charts' Vega-Lite specs by name, in :data:`CHART_NAMES` order."""
    return {name: chart_spec(explanation, name) for name in CHART_NAMES}


def render_svgs(specs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Vega-Lite specs (name → spec) drawn as SVG text; a plain function, so a process pool can run it."""
    return {name: _draw_svg(json.dumps(spec)) for name, spec in specs.items()}


@functools.lru_cache(maxsize=2048)
def _draw_svg(spec: str) -> str:
    # Many papers share a chart (the section mix of a handful of quoted statements): draw each spec once.
    return vlc.vegalite_to_svg(spec)


def _exit_with(parent: int) -> None:
    """In a drawing process: end as soon as ``parent`` has (killed, it cannot tell its pool to stop)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def draw_many(explanations: Iterable[Explanation], *, workers: int = 0, window: int = 64) -> Iterator[tuple[Explanation, dict[str, str]]]:
    """``(explanation, svgs)`` for each explanation, in order: :func:`chart_svgs`, for many papers.

    Drawing (vl-convert) is most of the work of a page; with ``workers`` it is
    done in that many processes while this one reads the next explanations.
    At most ``window`` papers are on their way at a time, so memory stays bounded.
    """
    if workers <= 0:
        for explanation in explanations:
            yield explanation, chart_svgs(explanation)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: this process has DuckDB's threads running.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)) as pool:
        pending: deque = deque()
        for explanation in explanations:
            pending.append((explanation, pool.submit(render_svgs, chart_specs(explanation))))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def chart_svgs(explanation: Explanation) -> dict[str, str]:
    """Each chart as SVG text, for inlining in HTML."""
    return render_svgs(chart_specs(explanation))


def chart_pngs(explanation: Explanation, *, scale: float = 2) -> dict[str, bytes]:
    """Each chart as PNG bytes (``scale`` 2: sharp on high-density screens)."""
    return {name: vlc.vegalite_to_png(spec, scale=scale) for name, spec in chart_specs(explanation).items()}


def write_chart_pngs(explanation: Explanation, stem: Path) -> dict[str, str]:
    """Write ``<stem>-<chart>.png`` per chart; returns chart name → file name (relative to the stem's folder)."""
    written = {}
    for name, png in chart_pngs(explanation).items():
        path = stem.with_name(f"{stem.name}-{name}.png")
        path.write_bytes(png)
        written[name] = path.name
    return written
