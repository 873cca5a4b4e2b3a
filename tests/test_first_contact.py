"""A mistaken argument of ``citelake ingest`` or ``serve`` is one line at once: checked before Prefect starts.

Each command runs as a user runs it, a process of its own with no Prefect server
configured, under ``python -X importtime``: the list of what it imported shows
that neither Prefect nor the temporary server's module was, so no server was
launched. How long each took is printed (``pytest -s``), not asserted: speed is
measured in ``bench/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_ingest_lake_folder import _obey_file_permissions

from tasks.lake.location import LakeLocation
from tasks.lake.preflight import CATALOG_ANSWER_SECONDS

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Said:
    code: int
    lines: list[str]  # what the command wrote on stderr, without the import timings
    imported: set[str]


def run(tmp_path: Path, *args: str, **popen) -> Said:
    """``citelake ARGS`` with no Prefect server set; prints the time it took."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PREFECT_", "CITELAKE_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # made only if Prefect were imported
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flows.cli", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, **popen,
    )  # fmt: skip
    print(f"\n{time.monotonic() - started:.2f} s: citelake {' '.join(args)}")
    timings = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    lines = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    return Said(result.returncode, lines, {line.rsplit("|", 1)[1].strip() for line in timings})


def started_nothing(said: Said) -> bool:
    return not any(module.split(".")[0] == "prefect" or module == "flows.temporary_server" for module in said.imported)


def tree(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.txt").write_text("not read\n")
    return tmp_path / "reports"


def assert_one_line(tmp_path: Path, args: list[str], code: int, line: str, **popen) -> None:
    before = tree(tmp_path)
    said = run(tmp_path, *args, **popen)
    assert (said.code, said.lines) == (code, [line])
    assert started_nothing(said), sorted(module for module in said.imported if "prefect" in module)
    assert tree(tmp_path) == before  # no lake folder, no Prefect home, nothing


def test_a_missing_source(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert_one_line(
        tmp_path, ["ingest", str(missing), "--lake", str(tmp_path / "lake")], 1,
        f"citelake ingest: {missing}: no such folder (No such file or directory)",
    )  # fmt: skip


def test_a_source_that_is_a_file(tmp_path: Path, source: Path) -> None:
    file = source / "a.txt"
    assert_one_line(
        tmp_path, ["ingest", str(file), "--lake", str(tmp_path / "lake")], 1, f"citelake ingest: {file}: not a folder"
    )


def test_a_source_that_cannot_be_read(tmp_path: Path, source: Path) -> None:
    source.chmod(0)
    try:
        assert_one_line(
            tmp_path, ["ingest", str(source), "--lake", str(tmp_path / "lake")], 1,
            f"citelake ingest: {source}: cannot read the folder (permission denied)",
            preexec_fn=_obey_file_permissions,
        )  # fmt: skip
    finally:
        source.chmod(0o755)


def test_a_lake_that_is_a_file(tmp_path: Path, source: Path) -> None:
    lake = tmp_path / "lake.txt"
    lake.write_text("not a lake\n")
    assert_one_line(
        tmp_path, ["ingest", str(source), "--lake", str(lake)], 1,
        f"citelake ingest: LAKE {lake} is a file, not a lake folder: choose a folder (--lake DIR)",
    )  # fmt: skip
    assert_one_line(
        tmp_path, ["ingest", str(source), "--lake", str(lake / "lake")], 1,
        f"citelake ingest: LAKE {lake / 'lake'}: {lake} is a file, not a lake folder: choose a folder (--lake DIR)",
    )  # fmt: skip


def test_a_lake_folder_that_cannot_be_written(tmp_path: Path, source: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    lake.chmod(0o555)
    try:
        assert_one_line(
            tmp_path, ["ingest", str(source), "--lake", str(lake / "new")], 1,
            f"citelake ingest: cannot write to LAKE {lake / 'new'} (permission denied): "
            "choose a folder you can write (--lake DIR), or run as a user who can",
            preexec_fn=_obey_file_permissions,
        )  # fmt: skip
    finally:
        lake.chmod(0o755)


def test_a_lake_folder_of_other_files(tmp_path: Path, source: Path) -> None:
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "notes.txt").write_text("mine\n")
    assert_one_line(
        tmp_path, ["ingest", str(source), "--lake", str(documents)], 1,
        f"citelake ingest: --lake names a folder that holds other files: {documents} (notes.txt); "
        "choose an empty or new folder",
    )  # fmt: skip


def test_a_catalog_that_is_not_a_connection_string(tmp_path: Path, source: Path) -> None:
    lake = tmp_path / "lake"
    assert_one_line(
        tmp_path, ["ingest", str(source), "--lake", str(lake), "--catalog", "lake.sqlite"], 1,
        'citelake ingest: the catalog is not a PostgreSQL connection string (postgresql://user@host/db): '
        'missing "=" after "lake.sqlite" in connection info string',
    )  # fmt: skip


def test_a_catalog_server_that_refuses(tmp_path: Path, source: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    catalog = f"postgresql://citelake@127.0.0.1:{port}/lake"
    lake = tmp_path / "lake"
    assert_one_line(
        tmp_path, ["ingest", str(source), "--lake", str(lake), "--catalog", catalog], 1,
        f"citelake ingest: cannot reach the catalog of {lake} (catalog {catalog}): "
        f'connection failed: connection to server at "127.0.0.1", port {port} failed: Connection refused',
    )  # fmt: skip


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a server that hangs, or a firewall's black hole)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_a_catalog_server_that_does_not_answer(tmp_path: Path, source: Path, silent_server: int) -> None:
    catalog = f"postgresql://citelake@127.0.0.1:{silent_server}/lake"
    lake = tmp_path / "lake"
    assert_one_line(
        tmp_path, ["ingest", str(source), "--lake", str(lake), "--catalog", catalog], 1,
        f"citelake ingest: cannot reach the catalog of {lake} (catalog {catalog}): "
        f"no answer within {CATALOG_ANSWER_SECONDS} s",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--runner", "celery"], "unknown runner 'celery'; choose one of threads, processes, dask"),
        (["--dask-address", "tcp://127.0.0.1:8786"], "--dask-address needs --runner dask"),
        (
            ["--runner", "dask", "--dask-address", "tcp://127.0.0.1:8786", "--workers", "4"],
            "--workers sizes a local Dask cluster; the one at --dask-address has its own",
        ),
    ],
)
def test_runner_options_that_do_not_go_together(tmp_path: Path, source: Path, options: list[str], line: str) -> None:
    lake = tmp_path / "lake"
    assert_one_line(tmp_path, ["ingest", str(source), "--lake", str(lake), *options], 2, f"citelake ingest: {line}")


def test_serve_checks_its_source_and_lake_the_same_way(tmp_path: Path, source: Path) -> None:
    missing = tmp_path / "missing"
    assert_one_line(
        tmp_path, ["serve", str(missing), "--lake", str(tmp_path / "lake")], 1,
        f"citelake serve: {missing}: no such folder (No such file or directory)",
    )  # fmt: skip
    lake = tmp_path / "lake.txt"
    lake.write_text("not a lake\n")
    assert_one_line(
        tmp_path, ["serve", str(source), "--lake", str(lake)], 1,
        f"citelake serve: LAKE {lake} is a file, not a lake folder: choose a folder (--lake DIR)",
    )  # fmt: skip


def test_serve_first_says_where_the_prefect_ui_is(tmp_path: Path, source: Path) -> None:
    with socket.socket() as probe:  # no server needs to answer: the line comes before serve talks to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PREFECT_", "CITELAKE_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    served = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", str(source), "--lake", str(tmp_path / "lake")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = served.stderr.readline()
    finally:
        served.kill()
        served.wait(timeout=30)
        served.stderr.close()
    assert first == f"Prefect UI: http://127.0.0.1:{port} (Prefect API http://127.0.0.1:{port}/api)\n"


def test_the_prefect_ui_is_prefect_ui_url_else_the_api_without_api() -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    from flows.cli.serve import prefect_ui_line

    with temporary_settings({PREFECT_API_URL: "http://lab:4300/api"}, restore_defaults={PREFECT_UI_URL}):
        assert prefect_ui_line() == "Prefect UI: http://lab:4300 (Prefect API http://lab:4300/api)"
    # A UI behind a proxy, say, at an address of its own.
    with temporary_settings({PREFECT_API_URL: "http://lab:4300/api", PREFECT_UI_URL: "https://prefect.lab.example"}):
        assert prefect_ui_line() == "Prefect UI: https://prefect.lab.example (Prefect API http://lab:4300/api)"
    with temporary_settings(restore_defaults={PREFECT_API_URL, PREFECT_UI_URL}):
        assert prefect_ui_line().startswith("Prefect UI: none: without PREFECT_API_URL, Prefect serves on a temporary server")


@pytest.mark.parametrize(
    ("catalog", "shown"),
    [
        ("postgresql://citelake:s3cret@db.example:5432/lake", "postgresql://citelake:***@db.example:5432/lake"),
        ("postgres://citelake@db.example/lake", "postgres://citelake@db.example/lake"),
        ("host=db.example user=citelake password=s3cret dbname=lake", "host=db.example user=citelake password=*** dbname=lake"),
        ("host=db.example password='s3 cret' dbname=lake", "host=db.example password=*** dbname=lake"),
    ],
)
def test_a_lake_s_description_never_shows_the_catalog_s_password(catalog: str, shown: str) -> None:
    # describe() names the lake in every message, log line and artifact.
    assert LakeLocation(path=Path("/lakes/one"), catalog=catalog).describe() == f"/lakes/one (catalog {shown})"


@pytest.mark.slow  # it imports Prefect and starts a flow: 10 s in the inner loop
def test_a_prefect_server_that_refuses(tmp_path: Path, source: Path) -> None:
    """PREFECT_API_URL names a server that is down: one line, not Prefect's traceback, and no lake made.

    Prefect is imported here (only it knows where the API is), so the line comes after its start,
    and after the files were discovered meanwhile (tasks.lake.head_start)."""
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = f"http://127.0.0.1:{port}/api"
    lake = tmp_path / "lake"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PREFECT_", "CITELAKE_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api}
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(source), "--lake", str(lake)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (result.returncode, result.stderr.splitlines()) == (
        1,
        [
            "starting Prefect…",
            "discovering files…",
            f"citelake ingest: cannot reach the Prefect server at {api} (PREFECT_API_URL): Connection refused; "
            "nothing was written",
        ],
    ), result.stderr[-2000:]
    assert not lake.exists()
