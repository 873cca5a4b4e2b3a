"""Many machines that share nothing but a bucket and a PostgreSQL catalog: the ingest flow on a Dask cluster.

A real scheduler and two workers, started as processes of their own in empty
folders of their own, parse a run into a lake on SeaweedFS: the run's plan
slices and staged batches travel through the lake's bucket (``tasks.reading.shipping``),
and the lake ends the same as the default runner's on local disk.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import obstore
import pytest

from tasks.lake.ingest import ingest
from test_flow_dask import lake_content
from tasks.corpus.generate import write_corpus
from tasks.lake import tables
from tasks.lake.location import LakeLocation, resolve_location
from tasks.lake.object_storage import ObjectUrl, bucket_store

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow, pytest.mark.timeout(300)]

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dask(tmp_path: Path, environment: dict[str, str]):
    """A Dask scheduler and two single-threaded workers, each a process in an empty folder of its own."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = []
    for name, command in [
        ("scheduler", [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]),
        *[
            (f"worker-{number}", [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--local-directory", "."])
            for number in (1, 2)
        ],
    ]:
        folder = tmp_path / name
        folder.mkdir()
        log = (tmp_path / f"{name}.log").open("wb")
        processes.append(subprocess.Popen(command, cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT))
        if name == "scheduler":
            deadline = time.monotonic() + 60
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
                time.sleep(0.2)
    return address, processes


def test_the_readmes_three_lines_run_on_a_dask_cluster_that_shares_only_the_bucket(
    bucket, catalog_database, cli_environment, tmp_path
) -> None:
    """The README's scale-out lines, as a user runs them: the source and the lake in the bucket, the catalog in PostgreSQL."""
    source = tmp_path / "source"
    write_corpus(source, 60, seed=5)
    reports = bucket_store(ObjectUrl(bucket, "reports/set"))
    for path in sorted(source.rglob("*")):
        if path.is_file():
            obstore.put(reports, path.relative_to(source).as_posix(), path)
    # The same objects (their times are their uploads'), read here without Prefect, into a local lake.
    local = LakeLocation(path=tmp_path / "local")
    ingest(f"s3://{bucket}/reports/set/", local, batch_size=20)

    # The workers get the credentials (set by the bucket fixture) and the Prefect API, nothing of this process's folders.
    with_api = os.environ | {"PREFECT_API_URL": cli_environment["PREFECT_API_URL"]}
    workers_environment = with_api | {"CITELAKE_CACHE": str(tmp_path / "worker-cache")}
    address, processes = _dask(tmp_path, workers_environment)
    lake = f"s3://{bucket}/lake"
    environment = with_api | {
        "CITELAKE_LAKE": lake,
        "CITELAKE_CATALOG": catalog_database,
        "CITELAKE_CACHE": str(tmp_path / "client-cache"),
        "PYTHONPATH": os.getcwd(),
    }
    command = [sys.executable, "-m", "flows.cli", "ingest", f"s3://{bucket}/reports/set/", "--runner", "dask",
               "--dask-address", address, "--batch-size", "20"]
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=240)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    assert done.returncode == 0, done.stderr

    logs = "".join((tmp_path / f"worker-{number}.log").read_text() for number in (1, 2))
    assert logs.count("Task run 'parse_shipped_batch") > 0 and "Task run 'parse_batch" not in logs
    content = lake_content(resolve_location(lake, catalog_database))
    assert all(content[table] for table in tables.PAGE_FRAMES)
    assert content == lake_content(local)
    shipped = [item["path"] for batch in obstore.list(bucket_store(ObjectUrl(bucket, "lake/_staging"))) for item in batch]
    assert shipped == [], "the run removes what it shipped through the bucket"
    assert not list((tmp_path / "client-cache").rglob("batch-*")), "no staged batch is left in the client's cache"
