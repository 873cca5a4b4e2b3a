"""The scheduled deployments of citelake, served from one process (``citelake serve``).

Three deployments; the first two are the ones ``prefect.yaml`` offers to a work pool:

- ``citelake-ingest/scheduled``: ingest the source folder, hourly by default. Its
  concurrency limit is 1, so a run that is still going when the next one is due
  makes the next one wait instead of racing it for the lake;
- ``citelake-maintain/scheduled``: delete unneeded files, merge small files and
  expire old snapshots, daily by default (at a quiet minute, off the hour the
  ingest starts on);
- ``citelake-explain/on-demand``: explain papers as Markdown artifacts, run from
  the UI with DOIs, and by a trigger after each completed ingest run for the
  watched papers.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger

from flows.explain import default_site, explain_flow
from flows.ingest import ingest_flow
from flows.maintain import maintain_flow
from tasks.lake.connection import resolve_location

DEPLOYMENT_NAME = "scheduled"
EXPLAIN_DEPLOYMENT_NAME = "on-demand"
DEFAULT_INGEST_CRON = "0 * * * *"
DEFAULT_MAINTAIN_CRON = "30 3 * * *"


def scheduled_deployments(
    source: str,
    *,
    lake: str | None = None,
    catalog: str | None = None,
    ingest_cron: str | None = None,
    maintain_cron: str | None = None,
) -> list[RunnerDeployment]:
    """The ingest and maintenance deployments for one source folder and lake (crons default to hourly and daily).

    Paths are made absolute here: a scheduled run starts in a process of its own,
    whose working directory need not be the one ``citelake serve`` was started in.
    A catalog given here is stored in the deployment's parameters, visible in the
    UI; leave it out and set ``CITELAKE_CATALOG`` where the runs execute to keep
    a password out of sight.
    """
    location = resolve_location(lake, catalog)
    lake_parameters = {"lake": str(location.path), "catalog": catalog}
    explain_parameters = {**lake_parameters, "out_dir": str(default_site(str(location.path), catalog))}
    return [
        ingest_flow.to_deployment(
            name=DEPLOYMENT_NAME,
            cron=ingest_cron or DEFAULT_INGEST_CRON,
            concurrency_limit=1,
            parameters={"source": str(Path(source).expanduser().resolve()), **lake_parameters},
            description=f"Ingest {source} into the lake at {location.describe()}",
            tags=["citelake"],
        ),
        maintain_flow.to_deployment(
            name=DEPLOYMENT_NAME,
            cron=maintain_cron or DEFAULT_MAINTAIN_CRON,
            concurrency_limit=1,
            parameters=lake_parameters,
            description=f"Compact and clean the lake at {location.describe()}",
            tags=["citelake"],
        ),
        # No schedule: run it from the UI with DOIs (or watchlist=true), and after each ingest for the watchlist.
        explain_flow.to_deployment(
            name=EXPLAIN_DEPLOYMENT_NAME,
            parameters={**explain_parameters, "watchlist": False},
            triggers=[after_ingest_trigger(explain_parameters)],
            description=f"Explain papers of the lake at {location.describe()} as Markdown artifacts "
            "(after each completed ingest: the watched papers)",
            tags=["citelake"],
        ),
    ]


def after_ingest_trigger(explain_parameters: dict[str, str | None]) -> DeploymentEventTrigger:
    """Run the explain deployment for the watchlist whenever a ``citelake-ingest`` flow run completes.

    The server emits ``prefect.flow-run.Completed`` for every flow run that
    completes, related to its flow by name; the trigger becomes an automation
    named after the deployment, whose action runs it with these parameters.
    """
    return DeploymentEventTrigger(
        name=f"{explain_flow.name}-after-ingest",
        description="Explain the watched papers after each completed ingest run",
        expect={"prefect.flow-run.Completed"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": ingest_flow.name},
        parameters={**explain_parameters, "dois": None, "watchlist": True},
    )


def serve_scheduled(
    source: str,
    *,
    lake: str | None = None,
    catalog: str | None = None,
    ingest_cron: str | None = None,
    maintain_cron: str | None = None,
) -> None:
    """Register the three deployments and run their scheduled, triggered and on-demand runs until interrupted."""
    serve(
        *scheduled_deployments(
            source, lake=lake, catalog=catalog, ingest_cron=ingest_cron, maintain_cron=maintain_cron
        )
    )
