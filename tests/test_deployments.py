"""The deployments are defined once (flows/deployments.py): prefect.yaml is written from them."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint

from flows.check import check_flow
from flows.deployments import DEFAULT_INGEST_CRON, DEFAULT_MAINTAIN_CRON, DEPLOYMENT_NAME, DEPLOYMENTS, prefect_yaml
from flows.explain import explain_flow
from flows.ingest import ingest_flow
from flows.maintain import maintain_flow

REPO = Path(__file__).resolve().parent.parent


def test_prefect_yaml_is_written_from_the_deployments() -> None:
    assert (REPO / "prefect.yaml").read_text(encoding="utf-8") == prefect_yaml(), (
        "prefect.yaml is stale: run `python3 -m uv run python -m flows.deployments > prefect.yaml`"
    )


def test_prefect_yaml_offers_the_served_deployments_to_a_work_pool() -> None:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deployments = {
        load_flow_from_entrypoint(str(REPO / deployment["entrypoint"])).name: deployment
        for deployment in config["deployments"]
    }
    assert set(deployments) == {d.flow.name for d in DEPLOYMENTS} == {
        ingest_flow.name, maintain_flow.name, explain_flow.name, check_flow.name
    }
    assert deployments[ingest_flow.name]["schedules"] == [{"cron": DEFAULT_INGEST_CRON}]
    assert deployments[maintain_flow.name]["schedules"] == [{"cron": DEFAULT_MAINTAIN_CRON}]
    assert deployments[ingest_flow.name]["parameters"] == {"source": "{{ $CITELAKE_SOURCE }}"}
    for flow in (ingest_flow, maintain_flow):
        assert deployments[flow.name]["name"] == DEPLOYMENT_NAME
        assert deployments[flow.name]["concurrency_limit"] == 1
    assert all(deployment["work_pool"]["name"] == "citelake" for deployment in deployments.values())
    (trigger,) = deployments[explain_flow.name]["triggers"]
    assert trigger["match_related"]["prefect.resource.name"] == ingest_flow.name
    assert trigger["parameters"]["watchlist"] is True
    # The check runs on demand only: no schedule, no trigger; the UI asks for the references.
    check = deployments[check_flow.name]
    assert (check["name"], check["parameters"]) == ("on-demand", {})
    assert "schedules" not in check and "triggers" not in check


def test_served_deployments_keep_a_bucket_lake_and_source_as_urls() -> None:
    """The runs resolve the lake again in a process of their own: an s3:// lake must reach them as its URL, not its cache."""
    from flows.deployments import scheduled_deployments

    served = scheduled_deployments("s3://reports/set/", lake="s3://lakes/one", catalog="postgresql://postgres@127.0.0.1/x")
    parameters = [deployment.parameters for deployment in served]
    assert {values["lake"] for values in parameters} == {"s3://lakes/one"}
    assert [values["source"] for values in parameters if "source" in values] == ["s3://reports/set/"]
