"""The explain flow: explanations of papers' reports, as Markdown artifacts in the Prefect UI and a static site.

    choose_papers (the DOIs given and/or the watchlist's; none watched: the run ends there)
          │
    publish_explanations
    (explain each paper from the lake, write its HTML page and the site's index,
     publish one artifact per paper, keyed citelake-explain-<doi slug>)

The served deployment runs it on demand (DOIs from the UI) and, by a trigger,
after each completed ingest run for the watched papers (``flows/deployments.py``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows.explain_artifacts import artifact_key, choose_papers, publish_explanations
from tasks.explain.run import ExplainError
from tasks.lake.location import resolve_location

SITE_DIR = "explain"


def default_site(lake: str | None = None, catalog: str | None = None) -> Path:
    """Where the flow writes its site unless told: ``explain/`` beside the lake folder (inside a bucket lake's cache)."""
    location = resolve_location(lake, catalog)
    return location.path / SITE_DIR if location.on_object_storage else location.path.parent / SITE_DIR


@flow(name="citelake-explain")
def explain_flow(
    dois: list[str] | None = None,
    watchlist: bool = False,
    lake: str | None = None,
    catalog: str | None = None,
    out_dir: str | None = None,
) -> list[str]:
    """Explain the papers of ``dois`` and/or of the lake's watchlist; returns the artifact keys published."""
    if not dois and not watchlist:
        raise ExplainError("give DOIs, or watchlist=true to explain the lake's watchlist")
    location = resolve_location(lake, catalog)
    site = Path(out_dir).expanduser().resolve() if out_dir else default_site(lake, catalog)
    chosen = choose_papers(location, dois, watchlist=watchlist)
    if not chosen:
        get_run_logger().info("nothing watched: the lake's watchlist is empty, so there is nothing to explain")
        return []
    summary = publish_explanations(location, site, chosen)
    return [artifact_key(explanation.doi) for explanation in summary.explanations]


if __name__ == "__main__":
    import sys

    explain_flow(dois=sys.argv[1:])  # python -m flows.explain DOI...
