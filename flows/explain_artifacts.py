"""What the Prefect UI shows of an explanation: one Markdown artifact per paper.

Each artifact is keyed ``citelake-explain-<doi slug>`` (artifact keys are
lowercase letters, digits and dashes), so the UI keeps one version per run
under the same key. The charts are inlined as PNG data URIs: the Prefect UI
(3.9, the default UI) draws ``![…](data:image/png;base64,…)`` in a Markdown
artifact, checked in headless Chromium against a real server. Their numbers
follow as Markdown tables too, for a renderer that drops images, and the path
of the HTML page.
"""

from __future__ import annotations

import base64
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.explain.charts import balance_rows, chart_pngs, history_rows, section_rows
from tasks.explain.facts import Explanation
from tasks.explain.forms import render_markdown
from tasks.explain.run import SiteSummary, flow_dois, write_site
from tasks.explain.site import doi_slug, page_name
from tasks.lake.location import LakeLocation

KEY_PREFIX = "citelake-explain-"


def artifact_key(doi: str) -> str:
    """The artifact key of a paper's explanation: ``citelake-explain-`` and the DOI as a slug."""
    return KEY_PREFIX + doi_slug(doi)


def chart_tables(explanation: Explanation) -> str:
    """The charts' numbers as Markdown tables: the balance, the counts per saved page, the section mix."""
    by_type: dict[str, dict[str, float | None]] = {}
    for row in balance_rows(explanation):
        by_type.setdefault(row["type"], {})[row["paper"]] = row["percent"]
    lines = ["### Statement types (%)", "", "| type | this paper | lake median |", "|---|---:|---:|"]
    lines += [
        f"| {kind} | {_shown(shares.get('this paper'))} | {_shown(shares.get('lake median'))} |" for kind, shares in by_type.items()
    ]
    pages: dict[str, dict[str, int]] = {}
    for row in history_rows(explanation):
        pages.setdefault(row["saved"], {})[row["measure"]] = row["count"]
    lines += ["", "### Counts per saved page", "", "| saved | citing publications | citation statements |", "|---|---:|---:|"]
    lines += [
        f"| {saved} | {_shown(counts.get('citing publications'))} | {_shown(counts.get('citation statements'))} |"
        for saved, counts in pages.items()
    ]
    lines += ["", "### Sections of the citing papers", "", "| section | statements | share (%) |", "|---|---:|---:|"]
    lines += [f"| {row['section']} | {row['statements']:,} | {_shown(row['percent'])} |" for row in section_rows(explanation)]
    return "\n".join(lines) + "\n"


def _shown(value: float | int | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:.1f}"


def artifact_markdown(explanation: Explanation, html_page: Path) -> str:
    """The explanation as the UI shows it: the sentences, the charts' numbers, where the HTML page is."""
    images = {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for name, png in chart_pngs(explanation, scale=1).items()
    }
    return (
        render_markdown(explanation, images)
        + "\n## The charts' numbers\n\n"
        + chart_tables(explanation)
        + f"\nThe page with the charts drawn: `{html_page}`\n"
    )


@task(cache_policy=NO_CACHE)
def choose_papers(location: LakeLocation, dois: list[str] | None = None, *, watchlist: bool = False) -> list[str]:
    """The DOIs to explain: the given ones and, with ``watchlist``, the lake's watched ones (maybe none)."""
    return flow_dois(location, dois or (), watchlist=watchlist)


@task(cache_policy=NO_CACHE)
def publish_explanations(location: LakeLocation, out_dir: Path, dois: list[str]) -> SiteSummary:
    """Write the site (one HTML page per paper, ``index.html``) and publish each explanation as an artifact."""
    logger = get_run_logger()
    summary = write_site(location, out_dir, dois, keep=True)
    for explanation in summary.explanations:
        create_markdown_artifact(
            artifact_markdown(explanation, out_dir / page_name(explanation.doi)),
            key=artifact_key(explanation.doi),
            description=f"citelake explain {explanation.doi}",
        )
    for doi in summary.missing:
        logger.warning("%s is not in the lake; skipped", doi)
    logger.info("%d explanations published; site at %s", len(summary.explanations), summary.index)
    return summary
