"""A ``prefect server start`` of the benchmarks' own: its own PREFECT_HOME in a temporary folder, on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flows.temporary_server import free_port, healthy


@dataclass
class PrefectServer:
    process: subprocess.Popen
    api_url: str
    home: Path
    log: Path


def start_server(timeout: float = 180) -> PrefectServer:
    """``prefect server start`` on a free port with its own PREFECT_HOME; returns once ``/api/health`` answers."""
    home = Path(tempfile.mkdtemp(prefix="citelake-bench-prefect-"))
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = home / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = PrefectServer(process, api_url, home, log)
    deadline = time.monotonic() + timeout
    while not healthy(api_url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(server, keep_home=True)
            raise SystemExit(f"the Prefect server did not come up; its log: {log}\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    return server


def stop_server(server: PrefectServer, *, keep_home: bool = False) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)  # lets uvicorn shut down cleanly
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    if not keep_home:
        shutil.rmtree(server.home, ignore_errors=True)


