"""What the Prefect UI shows of a reference check: one Markdown artifact, the report ``citelake check -f markdown`` writes.

The artifact's key is fixed, ``citelake-check``, so the UI keeps every run's
report as a version of the one artifact; its description is the closing line
(``7 references: 1 retracted, …``), which the UI lists beside the key.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.check.references import STATUSES, CheckReport, check_file
from tasks.check.report import render_markdown
from tasks.lake.location import LakeLocation

ARTIFACT_KEY = "citelake-check"


def report_counts(report: CheckReport) -> dict[str, int]:
    """``references`` (how many) and the count of every status, zeros included, in the statuses' order."""
    counts = report.counts()
    return {"references": len(report.checks)} | {status: counts[status] for status in STATUSES}


def artifact_markdown(report: CheckReport, checked: str, location: LakeLocation) -> str:
    """The Markdown report, and a closing line naming what was checked against which lake."""
    return render_markdown(report) + f"\nChecked {checked} against the lake `{location.describe()}`.\n"


@task(cache_policy=NO_CACHE)
def check_references(location: LakeLocation, path: Path, contrasting_share: float) -> CheckReport:
    """The reference list at ``path`` checked against the lake (read-only), as ``citelake check`` checks it."""
    return check_file(location, path, contrasting_share=contrasting_share)


@task(cache_policy=NO_CACHE)
def publish_report(report: CheckReport, checked: str, location: LakeLocation) -> str:
    """Publish the report as the ``citelake-check`` Markdown artifact; returns its key."""
    create_markdown_artifact(
        artifact_markdown(report, checked, location),
        key=ARTIFACT_KEY,
        description=f"citelake check: {report.summary()}",
    )
    get_run_logger().info("%s; published as the artifact %s", report.summary(), ARTIFACT_KEY)
    return ARTIFACT_KEY
