"""Ctrl-C and cancellation: a stopped ingest or served run leaves no staging and a whole lake.

The signal goes to the command's process group, as a terminal sends it: the
command, its parser processes and any flow-run process all get it.
"""

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

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.corpus.generate import write_corpus
from tasks.reading.staging import STAGING_DIR

REPO = Path(__file__).resolve().parent.parent
CITELAKE = [sys.executable, "-m", "flows.cli"]
HANG_GUARD_SECONDS = 30  # not a timing contract: a command that does not end by then ignored the signal
LEFTOVER_GUARD_SECONDS = 10  # after the command exited: what it started must be gone by then


def own_prefect(tmp_path: Path) -> dict[str, str]:
    """An environment without this session's Prefect settings: `citelake ingest` starts its temporary server."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def interrupt_ingest_at(tmp_path: Path, corpus: Path, stage: str) -> tuple[subprocess.CompletedProcess, float, list[str]]:
    """Run `citelake ingest`, SIGINT its process group when stderr shows ``stage``; the result and seconds to exit."""
    lake = tmp_path / "lake"
    process = subprocess.Popen(
        [*CITELAKE, "ingest", str(corpus), "--lake", str(lake), "--batch-size", "250"],
        cwd=REPO, env=own_prefect(tmp_path) | {"PYTHONFAULTHANDLER": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(f"{stage}:"):
            break
    else:
        process.wait()
        pytest.fail(f"the ingest ended (exit {process.returncode}) before {stage!r}:\n{''.join(seen)}")
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=HANG_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGABRT)  # PYTHONFAULTHANDLER: where each thread stood
        time.sleep(1)
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the ingest did not end {HANG_GUARD_SECONDS} s after SIGINT:\n{err[-6000:]}")
    answered = time.monotonic() - sent
    try:
        # Its output ends when nothing it started holds the terminal any more.
        out, err = process.communicate(timeout=LEFTOVER_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        left = processes_in_group(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"the ingest exited ({process.returncode}) but left processes holding its output: {left}")
    print(f"SIGINT at {stage!r}: exit {process.returncode} after {answered:.2f} s; stderr: {err!r}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), answered, seen


def processes_in_group(group: int) -> list[str]:
    """The command lines of the processes still in a process group (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == group:
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip())
            except (OSError, ProcessLookupError):
                continue
    return found


def no_staging_left(lake: Path) -> bool:
    staging = lake / STAGING_DIR
    return not staging.exists() or not any(staging.iterdir())


def lake_state(lake: Path) -> tuple[int, int, int]:
    """(latest snapshot, runs, papers) of the lake."""
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        (snapshot,) = con.execute("select id from lake.current_snapshot()").fetchone()
        (runs,) = con.execute("select count(*) from runs").fetchone()
        (papers,) = con.execute("select count(*) from papers").fetchone()
    finally:
        con.close()
    return snapshot, runs, papers


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    # Big enough that parsing takes seconds after its first batch is reported, and so does the merge.
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 5000, seed=5)
    return folder


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ctrl_c_mid_parse_stops_everything_and_writes_nothing(tmp_path, corpus):
    result, _, _ = interrupt_ingest_at(tmp_path, corpus, "parsed")

    assert result.returncode == 130
    assert result.stderr.strip().splitlines()[-1] == "citelake ingest: interrupted: nothing was written"
    assert "Traceback" not in result.stderr and "ConnectError" not in result.stderr
    lake = tmp_path / "lake"
    assert no_staging_left(lake)
    _, runs, papers = lake_state(lake)
    assert (runs, papers) == (0, 0)
    # The parser processes and the temporary server went with the command (none is left holding the lake).
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "prefect-home")], capture_output=True).stdout == b""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ctrl_c_in_the_commit_leaves_the_lake_at_one_snapshot_or_the_other_and_says_which(tmp_path, corpus):
    result, _, seen = interrupt_ingest_at(tmp_path, corpus, "committing")

    assert result.returncode == 130, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    lake = tmp_path / "lake"
    assert no_staging_left(lake)
    snapshot, runs, papers = lake_state(lake)
    if last == "citelake ingest: interrupted: nothing was written":
        assert (runs, papers) == (0, 0)
    else:
        assert last == f"citelake ingest: interrupted after the commit: snapshot {snapshot} holds the run"
        assert runs == 1 and papers > 0


# --- citelake serve -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for(condition, what: str, processes: list[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args} exited with {process.returncode} before {what}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def batches_parked(lake: Path) -> bool:
    return any((lake / STAGING_DIR).glob("*/batch-*"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ctrl_c_stops_serve_and_its_cancelled_run_leaves_no_staging(tmp_path, corpus):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    lake = tmp_path / "lake"
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = own_prefect(tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    served = None
    try:
        wait_for(lambda: healthy(api_url), "the server is healthy", [server])
        served = subprocess.Popen(
            [*CITELAKE, "serve", str(corpus), "--lake", str(lake)],
            cwd=REPO, env=env | {"PREFECT_API_URL": api_url}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        with temporary_settings({PREFECT_API_URL: api_url}):

            def deployed() -> bool:
                with get_client(sync_client=True) as client:
                    return any(d.name == "scheduled" for d in client.read_deployments())

            wait_for(deployed, "the deployments", [server, served])
            run = run_deployment("citelake-ingest/scheduled", timeout=0)
            wait_for(lambda: batches_parked(lake), "the run parks a batch", [server, served])

            sent = time.monotonic()
            os.killpg(served.pid, signal.SIGINT)  # as a terminal's Ctrl-C: serve and its flow-run process
            try:
                served.wait(timeout=HANG_GUARD_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"serve did not stop {HANG_GUARD_SECONDS} s after Ctrl-C")
            print(f"serve stopped {time.monotonic() - sent:.2f} s after Ctrl-C (exit {served.returncode})")
            output = served.stdout.read()
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(run.id).state
        assert state.is_cancelled(), (state, output)
        assert "unexpected keyword argument" not in output
        # The hooks ran by the runner and in the run's process are done once serve is gone.
        assert no_staging_left(lake), sorted(p.name for p in (lake / STAGING_DIR).rglob("*"))
    finally:
        for process in (served, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.mark.slow
def test_ctrl_c_before_the_run_starts_leaves_no_lake_folder(tmp_path, corpus):
    """The lake is opened ahead while Prefect starts; a Ctrl-C before the run removes the folder that made."""
    lake = tmp_path / "new" / "lake"
    process = subprocess.Popen(
        [*CITELAKE, "ingest", str(corpus), "--lake", str(lake)],
        cwd=REPO, env=own_prefect(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not (lake / "catalog.sqlite").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (lake / "catalog.sqlite").exists(), "the lake was not opened ahead"
    os.killpg(process.pid, signal.SIGINT)  # the temporary server takes seconds more to answer: no run yet
    out, err = process.communicate(timeout=HANG_GUARD_SECONDS)
    assert (process.returncode, err.splitlines()[-1]) == (130, "citelake ingest: interrupted: nothing was written"), err
    assert not (tmp_path / "new").exists(), "a run that never started left a lake folder"


def test_a_task_that_meets_a_stopped_run_is_not_retried() -> None:
    """After a stop, parsing or parking a batch fails at once, and would fail the same way on every retry.

    Retrying it only kept a stopped run's task runs alive for the retry delays."""
    from prefect.states import Failed

    from flows.ingest_tasks import worth_retrying
    from tasks.reading.batch import ParserProcessesStopped
    from tasks.reading.staging import StagingStopped

    for stopped in (ParserProcessesStopped("the parser processes were stopped"), StagingStopped("the run was stopped")):
        assert not worth_retrying(None, None, Failed(data=stopped)), type(stopped).__name__
    assert worth_retrying(None, None, Failed(data=OSError(5, "Input/output error"))), "what the outside did is retried"


@pytest.mark.slow
def test_ctrl_c_while_the_head_start_parses_leaves_the_lake_as_it_was(tmp_path, corpus):
    """Before the run starts its batches are already being parsed (tasks.lake.head_start): a Ctrl-C then leaves no staging."""
    from tasks.lake.ingest import ingest

    lake = tmp_path / "lake"
    first = tmp_path / "first"
    write_corpus(first, 20, seed=3)
    ingest(first, LakeLocation(path=lake), workers=1)
    before = lake_state(lake)
    process = subprocess.Popen(
        [*CITELAKE, "ingest", str(corpus), "--lake", str(lake), "--batch-size", "250"],
        cwd=REPO, env=own_prefect(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not list(lake.glob(f"{STAGING_DIR}/*/batch-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(lake.glob(f"{STAGING_DIR}/*/batch-*")), "no batch was parsed ahead"
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=HANG_GUARD_SECONDS)
    assert (process.returncode, err.splitlines()[-1]) == (130, "citelake ingest: interrupted: nothing was written"), err
    assert no_staging_left(lake)
    assert lake_state(lake) == before
