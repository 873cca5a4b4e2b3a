"""Scale-out: the ingest flow on a Dask cluster gives the lake the default runner gives."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

import pytest
from distributed import LocalCluster

from flows.ingest import ingest_flow, task_runner
from tasks.corpus.generate import write_corpus
from tasks.lake import tables
from tasks.lake.session import open_lake
from tasks.lake.query import USER_TABLES
from tasks.lake.location import LakeLocation

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]  # every test runs a flow

# Columns that name the run that wrote a row, not what the row holds.
RUN_COLUMNS = {"report_files": "run_id"}


def lake_content(lake: Path | LakeLocation) -> dict[str, list[tuple]]:
    """Every table's rows (the run's id left out), to compare two lakes of the same files."""
    con = open_lake(lake if isinstance(lake, LakeLocation) else LakeLocation(path=lake), read_only=True)
    try:
        return {
            table: con.execute(
                f"select * exclude ({RUN_COLUMNS[table]}) from {table} order by all"
                if table in RUN_COLUMNS
                else f"select * from {table} order by all"
            ).fetchall()
            for table in USER_TABLES
            if table not in ("runs", "check_findings")
        }
    finally:
        con.close()


def parse_tasks(run_id: str) -> int:
    """How many parse tasks flow run ``run_id`` ran (the server records task runs from the run's events: polled until
    two readings half a second apart agree)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    counted = -1
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
            count = sum(run.name.startswith("parse_batches") for run in runs)
            if count and count == counted:
                break
            counted = count
            time.sleep(0.5)
    return counted


@pytest.mark.slow
def test_a_dask_run_gives_the_same_lake_as_the_default_runner(tmp_path):
    source = tmp_path / "source"
    write_corpus(source, 200, seed=5)
    ingest_flow(source=str(source), lake=str(tmp_path / "default"), batch_size=30)

    # Two in-process workers: a real scheduler and workers the flow reaches by
    # address, as it would reach a cluster on other machines.
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        on_dask = ingest_flow.with_options(task_runner=task_runner("dask", dask_address=cluster.scheduler_address))
        summary = on_dask(source=str(source), lake=str(tmp_path / "dask"), batch_size=30)

    assert summary.files["new"] > 0
    # On Dask the parse tasks are what runs side by side: one batch each (200 files in batches of 30: 7).
    assert parse_tasks(summary.run_id) == 7
    content = lake_content(tmp_path / "dask")
    assert all(content[table] for table in tables.PAGE_FRAMES)  # the tables every run of pages fills
    assert content == lake_content(tmp_path / "default")
