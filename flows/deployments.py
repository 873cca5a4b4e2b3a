"""citelake's deployments, defined once: served from one process (``citelake serve``) or
offered to a work pool (``prefect.yaml``, written from :data:`DEPLOYMENTS` by
``python -m flows.deployments > prefect.yaml``; ``tests/test_deployments.py`` fails
when the file and this module disagree).

- ``citelake-ingest/scheduled``: ingest the source folder, hourly by default. Its
  concurrency limit is 1, so a run that is still going when the next one is due
  makes the next one wait instead of racing it for the lake;
- ``citelake-maintain/scheduled``: delete unneeded files, merge small files and
  expire old snapshots, daily by default (at a quiet minute, off the hour the
  ingest starts on);
- ``citelake-explain/on-demand``: explain papers as Markdown artifacts, run from
  the UI with DOIs, and by a trigger after each completed ingest run for the
  watched papers;
- ``citelake-check/on-demand``: check a manuscript's reference list (a path, or
  the text of one) and publish the report as a Markdown artifact, run from the UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger

from flows.check import check_flow
from flows.explain import default_site, explain_flow
from flows.ingest import ingest_flow
from flows.maintain import maintain_flow
from tasks.lake.location import resolve_location
from tasks.lake.object_storage import is_object_url

DEPLOYMENT_NAME = "scheduled"
ON_DEMAND_NAME = "on-demand"
DEFAULT_INGEST_CRON = "0 * * * *"
DEFAULT_MAINTAIN_CRON = "30 3 * * *"
WORK_POOL = "citelake"
TAGS = ["citelake"]
# The event that starts the explain deployment: any citelake-ingest flow run that completes.
AFTER_INGEST_EVENT = "prefect.flow-run.Completed"


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment: which flow, its name and entrypoint, its schedule and limits."""

    flow: Flow
    name: str
    entrypoint: str
    description: str
    cron: str | None = None
    concurrency_limit: int | None = None
    takes_source: bool = False
    after_ingest: bool = False  # started by a trigger after each completed ingest run, for the watchlist
    parameters: dict[str, Any] = field(default_factory=dict)


DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(
        ingest_flow, DEPLOYMENT_NAME, "flows/ingest.py:ingest_flow",
        "Ingest new and changed report files into the lake, as one snapshot per run.",
        cron=DEFAULT_INGEST_CRON, concurrency_limit=1, takes_source=True,
    ),
    Deployment(
        maintain_flow, DEPLOYMENT_NAME, "flows/maintain.py:maintain_flow",
        "Delete files no snapshot needs, merge small files, expire old snapshots.",
        cron=DEFAULT_MAINTAIN_CRON, concurrency_limit=1,
    ),
    # No schedule: run it from the UI with DOIs (or watchlist=true), and after each ingest for the watchlist.
    Deployment(
        explain_flow, ON_DEMAND_NAME, "flows/explain.py:explain_flow",
        "Explain papers as Markdown artifacts (after each completed ingest: the watched papers).",
        after_ingest=True, parameters={"watchlist": False},
    ),
    # No schedule: run it from the UI with a reference list's path or text.
    Deployment(
        check_flow, ON_DEMAND_NAME, "flows/check.py:check_flow",
        "Check a reference list (a path, or the text of a BibTeX, RIS or DOI list) and publish the report as a Markdown artifact.",
    ),
)  # fmt: skip


def after_ingest_trigger(parameters: dict[str, Any]) -> DeploymentEventTrigger:
    """Run the explain deployment for the watchlist whenever a ``citelake-ingest`` flow run completes.

    The server emits ``prefect.flow-run.Completed`` for every flow run that
    completes, related to its flow by name; the trigger becomes an automation
    named after the deployment, whose action runs it with these parameters.
    """
    return DeploymentEventTrigger(**_trigger_fields(parameters))


def _trigger_fields(parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{explain_flow.name}-after-ingest",
        "description": "Explain the watched papers after each completed ingest run",
        "expect": {AFTER_INGEST_EVENT},
        "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": ingest_flow.name},
        "parameters": {**parameters, "dois": None, "watchlist": True},
    }


def scheduled_deployments(
    source: str,
    *,
    lake: str | None = None,
    catalog: str | None = None,
    ingest_cron: str | None = None,
    maintain_cron: str | None = None,
) -> list[RunnerDeployment]:
    """The deployments for one source folder and lake, to serve (crons default to hourly and daily).

    Paths are made absolute here: a scheduled run starts in a process of its own,
    whose working directory need not be the one ``citelake serve`` was started in.
    A catalog given here is stored in the deployment's parameters, visible in the
    UI; leave it out and set ``CITELAKE_CATALOG`` where the runs execute to keep
    a password out of sight.
    """
    location = resolve_location(lake, catalog)
    lake_parameters = {"lake": location.lake_option, "catalog": catalog}
    crons = {ingest_flow.name: ingest_cron, maintain_flow.name: maintain_cron}
    served = []
    for deployment in DEPLOYMENTS:
        parameters = {**lake_parameters, **deployment.parameters}
        if deployment.takes_source:
            parameters["source"] = source if is_object_url(source) else str(Path(source).expanduser().resolve())
        if deployment.after_ingest:
            parameters["out_dir"] = str(default_site(location.lake_option, catalog))
        served.append(
            deployment.flow.to_deployment(
                name=deployment.name,
                cron=(crons.get(deployment.flow.name) or deployment.cron) if deployment.cron else None,
                concurrency_limit=deployment.concurrency_limit,
                parameters=parameters,
                triggers=[after_ingest_trigger({k: v for k, v in parameters.items() if k != "watchlist"})]
                if deployment.after_ingest
                else None,
                description=f"{deployment.description} Lake: {location.describe()}",
                tags=TAGS,
            )
        )
    return served


def serve_scheduled(
    source: str,
    *,
    lake: str | None = None,
    catalog: str | None = None,
    ingest_cron: str | None = None,
    maintain_cron: str | None = None,
) -> None:
    """Register the deployments and run their scheduled, triggered and on-demand runs until interrupted."""
    serve(*scheduled_deployments(source, lake=lake, catalog=catalog, ingest_cron=ingest_cron, maintain_cron=maintain_cron))


def prefect_yaml() -> str:
    """``prefect.yaml``: the same deployments for a Prefect work pool, run by workers instead of ``citelake serve``.

    The lake is chosen where the runs execute (``CITELAKE_LAKE``, ``CITELAKE_CATALOG``,
    else ``./lake`` of the run's working directory); the source is read from
    ``CITELAKE_SOURCE`` when deploying. JSON is YAML: each value is written as JSON.
    """
    lines = [
        "# Written by `python -m flows.deployments > prefect.yaml` from flows/deployments.py; edit that, not this.",
        "#",
        f"#   prefect work-pool create {WORK_POOL} --type process",
        "#   CITELAKE_SOURCE=/data/reports prefect deploy --all      # from this folder",
        f"#   prefect worker start --pool {WORK_POOL}                    # where the folders are reachable",
        "",
        "name: citelake",
        "prefect-version: 3.9.1",
        "",
        "deployments:",
    ]
    for deployment in DEPLOYMENTS:
        parameters = dict(deployment.parameters)
        if deployment.takes_source:
            parameters["source"] = "{{ $CITELAKE_SOURCE }}"
        lines += [
            f"  - name: {json.dumps(deployment.name)}",
            f"    description: {json.dumps(deployment.description)}",
            f"    entrypoint: {json.dumps(deployment.entrypoint)}",
            f"    tags: {json.dumps(TAGS)}",
            f"    parameters: {json.dumps(parameters)}",
        ]
        if deployment.cron:
            lines.append(f"    schedules: {json.dumps([{'cron': deployment.cron}])}")
        if deployment.concurrency_limit:
            lines.append(f"    concurrency_limit: {deployment.concurrency_limit}")
        if deployment.after_ingest:
            trigger = _trigger_fields({})
            trigger = {
                "type": "event", "enabled": True, **trigger,
                "expect": sorted(trigger["expect"]), "match_related": trigger["match_related"],
            }  # fmt: skip
            lines.append(f"    triggers: {json.dumps([trigger])}")
        lines.append(f"    work_pool: {json.dumps({'name': WORK_POOL})}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(prefect_yaml(), end="")
