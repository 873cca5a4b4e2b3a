"""Deployments: ``citelake serve`` against a real ``prefect server``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, DeploymentFilter, DeploymentFilterId
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.deployments import DEFAULT_INGEST_CRON
from flows.explain_artifacts import artifact_key
from tasks.alerts.watch import watch
from tasks.corpus.generate import generate_corpus, write_corpus
from tasks.reading.record import Rejection
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation

REPO = Path(__file__).resolve().parent.parent



def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what: str, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    """Poll ``condition`` until it holds; fail with the processes' output if one of them exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args} exited with {process.returncode} before {what}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def deployments_exist(names: list[str]) -> bool:
    with get_client(sync_client=True) as client:
        try:
            for name in names:
                client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # lets `serve` pause its schedules and the server shut down cleanly
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def explain_runs(deployment_id) -> list:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def finished(runs: list) -> bool:
    return bool(runs) and all(run.state is not None and run.state.is_final() for run in runs)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_serve_registers_the_deployments_runs_an_ingest_and_then_explains_the_watched_papers(tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_corpus(source, 60, seed=3)
    # Watch one paper of the corpus before its first ingest (the lake is created for the watchlist).
    watched = next(report.expected["doi"] for report in generate_corpus(60, 3) if not isinstance(report.expected, Rejection))
    watch(LakeLocation(path=lake), [watched])
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    # A Prefect of their own: no setting of this session (the test harness's API URL) leaks in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    served = None
    try:
        wait_until(lambda: healthy(api_url), "the server is healthy", [server])
        served = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", str(source), "--lake", str(lake), "--maintain-cron", "15 4 * * *"],
            cwd=REPO, env=env | {"PREFECT_API_URL": api_url}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        with temporary_settings({PREFECT_API_URL: api_url}):
            names = ["citelake-ingest/scheduled", "citelake-maintain/scheduled", "citelake-explain/on-demand"]
            wait_until(lambda: deployments_exist(names), "the three deployments exist", [server, served])
            with get_client(sync_client=True) as client:
                ingest = client.read_deployment_by_name("citelake-ingest/scheduled")
                maintain = client.read_deployment_by_name("citelake-maintain/scheduled")
                explain = client.read_deployment_by_name("citelake-explain/on-demand")
            assert explain.schedules == []
            assert explain.parameters["watchlist"] is False  # on demand: DOIs from the UI
            assert [schedule.schedule.cron for schedule in ingest.schedules] == [DEFAULT_INGEST_CRON]
            assert [schedule.schedule.cron for schedule in maintain.schedules] == ["15 4 * * *"]
            assert ingest.global_concurrency_limit is not None and ingest.global_concurrency_limit.limit == 1
            assert ingest.parameters == {"source": str(source.resolve()), "lake": str(lake.resolve()), "catalog": None}

            assert explain_runs(explain.id) == []
            run = run_deployment("citelake-ingest/scheduled", timeout=300)
            assert run.state.is_completed(), run.state
            # The completed ingest run's event fires the explain deployment's trigger; `serve` picks the run
            # up at its next poll (every 10 s) and runs it in a process of its own. Measured on two busy cores:
            # 33 s from the ingest run's completion to the explain run's end; 300 s leave room for a slower machine.
            completed_at = time.monotonic()
            wait_until(lambda: finished(explain_runs(explain.id)), "the explain run after the ingest", [server, served],
                       timeout=300)
            print(f"explain run finished {time.monotonic() - completed_at:.1f} s after the ingest run completed")
            (explained,) = explain_runs(explain.id)
            assert explained.state.is_completed(), explained.state
            assert explained.parameters["watchlist"] is True and explained.parameters["dois"] is None
            with get_client(sync_client=True) as client:
                artifacts = client.read_artifacts(
                    artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[explained.id]))
                )
            assert [artifact.key for artifact in artifacts] == [artifact_key(watched)]
            assert f"DOI `{watched}`" in artifacts[0].data
            assert (lake.parent / "explain" / "index.html").is_file()
    finally:
        for process in (served, server):
            if process is not None:
                stop(process)

    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        (runs,) = con.execute("select count(*) from runs where run_id = ?", [str(run.id)]).fetchone()
        (files,) = con.execute("select count(*) from report_files").fetchone()
    finally:
        con.close()
    assert runs == 1
    assert files == 60
