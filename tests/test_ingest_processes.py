"""``citelake ingest`` with no Prefect server configured: its temporary server dies with it, it says what it does
from the first moment, a server that does not start is one line, and a killed run's staging folder does not stay."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.corpus.generate import write_corpus
from tasks.reading.staging import STAGING_DIR

REPO = Path(__file__).resolve().parent.parent
STARTING_PREFECT = "starting Prefect…"
STARTING_SERVER = "starting a temporary Prefect server… (set PREFECT_API_URL to use a running one)"
DISCOVERING = "discovering files…"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def own_server_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No PREFECT_API_URL: the command starts a temporary server of its own (with a Prefect home of its own)."""
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    return env | {"PREFECT_HOME": str(tmp_path / "prefect-home")} | extra


def ingest_command(source: Path, lake: Path, *options: str, python_flags: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *python_flags, "-m", "flows.cli", "ingest", str(source), "--lake", str(lake), *options]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            pass  # the thread ended
    return found


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def is_alive(pid: int) -> bool:
    """Running (not gone, and not a zombie waiting for a parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_a_killed_ingest_takes_its_temporary_server_with_it(tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    write_corpus(source, 5, seed=5)
    process = subprocess.Popen(
        ingest_command(source, tmp_path / "lake"),
        cwd=REPO,
        env=own_server_environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = None
    try:
        deadline = time.monotonic() + 120
        while server is None and process.poll() is None and time.monotonic() < deadline:
            server = next((child for child in children(process.pid) if "uvicorn" in command_line(child)), None)
            time.sleep(0.05)
        assert server is not None, "citelake ingest started no temporary server"

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while is_alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)

        assert not is_alive(server), f"the temporary server (pid {server}) outlived the killed command"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if server is not None and is_alive(server):
            os.kill(server, signal.SIGKILL)  # the server this test's command started


@pytest.mark.slow
def test_the_next_run_removes_the_staging_folder_of_a_killed_run(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    source = tmp_path / "corpus"
    lake = tmp_path / "lake"
    write_corpus(source, 150, seed=6)
    process = subprocess.Popen(
        ingest_command(source, lake, "--batch-size", "25", "--workers", "1"),
        cwd=REPO,
        env=cli_environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill reaches every process of the run
    )
    printed = []
    try:
        for line in process.stderr:
            printed.append(line)
            if line.startswith("parsed:"):
                os.killpg(process.pid, signal.SIGKILL)
                break
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "".join(printed)
    assert list((lake / STAGING_DIR).iterdir()), "the killed run had parked no batch"

    rerun = subprocess.run(ingest_command(source, lake), cwd=REPO, env=cli_environment, capture_output=True, text=True, timeout=180)

    assert rerun.returncode == 0, rerun.stderr
    leftovers = sorted(path.name for path in (lake / STAGING_DIR).iterdir()) if (lake / STAGING_DIR).exists() else []
    assert leftovers == []


def test_a_temporary_server_that_does_not_start_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    write_corpus(source, 5, seed=7)
    (tmp_path / "a-file").touch()

    result = subprocess.run(
        ingest_command(source, tmp_path / "lake"),
        cwd=REPO,
        # A database under a file never opens, so the server never answers: with no time to wait
        # the command gives up at once. (A timeout of 0 alone raced a server that was up by the first look.)
        env=own_server_environment(
            tmp_path,
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0",
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp_path}/a-file/prefect.db",
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("citelake ingest:")]
    assert len(errors) == 1, result.stderr
    assert "prefect server start" in errors[0] and "PREFECT_API_URL=http://127.0.0.1:4200/api" in errors[0], result.stderr
    assert result.stderr.splitlines()[-1] == errors[0]
    assert not (tmp_path / "lake").exists(), "nothing is written when the run never started"


def test_the_first_line_comes_before_prefect_is_imported_and_says_what_happens(tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    write_corpus(source, 5, seed=8)

    # -X importtime: Python reports each finished import on stderr, in order with what the command prints.
    result = subprocess.run(
        ingest_command(source, tmp_path / "lake", python_flags=("-X", "importtime")),
        cwd=REPO,
        env=own_server_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    first_prefect_import = next(i for i, line in enumerate(lines) if re.match(r"import time:.*\|\s+prefect(\.|$)", line))
    assert STARTING_PREFECT in lines and lines.index(STARTING_PREFECT) < first_prefect_import
    said = [line for line in lines if not line.startswith("import time:")]
    assert said[0] == STARTING_PREFECT, said[:5]
    steps = [line for line in said if line in (STARTING_PREFECT, STARTING_SERVER, DISCOVERING) or line.startswith("planned:")]
    assert [step.split(":")[0] if step.startswith("planned:") else step for step in steps] == [
        STARTING_PREFECT, STARTING_SERVER, DISCOVERING, "planned"
    ], said


def test_flow_runs_on_the_temporary_server_send_no_heartbeats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats tell a server a run is alive; this server ends with the run, and the heartbeat
    thread (sleeping in 1 s steps) held the end of every flow run for up to a second."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    from flows.ingest import prefect_api
    from flows.temporary_server import TemporaryServer

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))  # the server's own database
    server = TemporaryServer().launch()
    assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is not None, "Prefect sends heartbeats by default"
    with prefect_api(server):
        assert PREFECT_API_URL.value() == server.api_url
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
    assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is not None, "only the temporary server's runs go without"
    assert server.process is None, "the server ends with the block"
