"""A lake folder that cannot hold a lake, and a lake another ingest holds: one line saying what is wrong and what to do."""

from __future__ import annotations

import ctypes
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.corpus.generate import write_corpus

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

_PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore a folder's mode.
_FILE_PERMISSION_CAPABILITIES = (1, 2, 3)


def _obey_file_permissions() -> None:
    """In the child, before exec: root without the capabilities that bypass file modes.

    (Switching to user nobody is not possible here: the interpreter lives under
    /root, which nobody cannot enter.) Uid 0 stays, so the child can still read
    its interpreter and write its own Prefect home, but a 0555 folder refuses it.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _FILE_PERMISSION_CAPABILITIES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_ingest(source: Path, lake: Path, env: dict[str, str], *options: str, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(source), "--lake", str(lake), *options],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        **popen,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("citelake ingest:")]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    write_corpus(tmp_path / "corpus", 5, seed=3)
    return tmp_path / "corpus"


@pytest.mark.slow
def test_a_lake_that_is_a_file_says_so_in_one_line(tmp_path: Path, source: Path, cli_environment: dict[str, str]) -> None:
    lake = tmp_path / "lake.txt"
    lake.write_text("not a lake\n")

    result = run_ingest(source, lake, cli_environment)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr, result.stderr
    assert error_lines(result.stderr) == [
        f"citelake ingest: LAKE {lake} is a file, not a lake folder: choose a folder (--lake DIR)"
    ], result.stderr
    assert lake.read_text() == "not a lake\n"


def test_a_lake_folder_that_cannot_be_written_says_so_in_one_line(
    tmp_path: Path, source: Path, cli_environment: dict[str, str]
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    lake.chmod(0o555)
    try:
        result = run_ingest(source, lake, cli_environment, preexec_fn=_obey_file_permissions)
    finally:
        lake.chmod(0o755)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr, result.stderr
    assert error_lines(result.stderr) == [
        f"citelake ingest: cannot write to LAKE {lake} (permission denied): "
        "choose a folder you can write (--lake DIR), or run as a user who can"
    ], result.stderr
    assert list(lake.iterdir()) == []


@pytest.mark.slow
def test_waiting_for_the_lock_says_whom_it_waits_for(tmp_path: Path, source: Path, cli_environment: dict[str, str]) -> None:
    lake = tmp_path / "lake"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\n"
         "from pathlib import Path\n"
         "from tasks.lake.lock import ingest_guard\n"
         "from tasks.lake.location import LakeLocation\n"
         "with ingest_guard(LakeLocation(path=Path(sys.argv[1]))):\n"
         "    print('held', flush=True)\n"
         "    sys.stdin.read()\n",
         str(lake)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = run_ingest(source, lake, cli_environment, "--wait", "2")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()

    assert result.returncode == 1, result.stderr
    waiting = [line for line in result.stderr.splitlines() if line.startswith("waiting up to 2 s for the ingest started at ")]
    assert len(waiting) == 1, result.stderr
    assert waiting[0].endswith(f" by pid {holder.pid} on host {socket.gethostname()} to finish"), result.stderr
    assert "another ingest is running on" in error_lines(result.stderr)[0], result.stderr
    assert stat.S_ISDIR(lake.stat().st_mode)
