"""A non-editable install works: the wheel, installed into a fresh virtualenv, ingests and answers SQL.

This is how a Docker image or a Prefect work pool's worker gets citelake
(``pip install .``): only what the wheel holds is there, no repository beside
it. The wheel is built the way ``uv build`` builds it, from the sdist, so the
sdist is checked too. The dependencies come from ``uv.lock`` (as constraints)
and uv's cache, so with a warm cache this takes seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "examples" / "reports"
# What the README's quick start prints for examples/reports.
EXAMPLE_PAPERS = 18


def uv_binary() -> str:
    """The uv that runs this session (``uv run`` sets ``UV``), else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is needed to build and install the wheel: run the tests with `python3 -m uv run pytest`"
    return found


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, **kwargs)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_wheel_in_a_fresh_venv_ingests_and_queries_from_outside_the_repository(
    tmp_path: Path, cli_environment: dict[str, str]
) -> None:
    uv = uv_binary()
    started = time.monotonic()
    dist = tmp_path / "dist"
    # Both distributions, the wheel built from the sdist (uv build's default).
    run([uv, "build", "--sdist", "--wheel", "--out-dir", str(dist), str(REPOSITORY)], cwd=tmp_path)
    (wheel,) = dist.glob("citelake-*.whl")
    (sdist,) = dist.glob("citelake-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
    # Every SQL file of the repository, at its place under tasks/sql.
    wanted = {f"tasks/{path.relative_to(REPOSITORY).as_posix()}" for path in (REPOSITORY / "sql").rglob("*.sql")}
    assert "tasks/sql/schema/001_tables.sql" in wanted
    assert not wanted - packaged, f"{wheel.name} lacks {sorted(wanted - packaged)}"

    constraints = tmp_path / "constraints.txt"
    run(
        [uv, "export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-project", "--output-file", str(constraints)],
        cwd=REPOSITORY,
    )
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run([uv, "pip", "install", "--python", str(python), "--constraints", str(constraints), str(wheel)])
    installed = time.monotonic() - started

    # Nothing of the repository may leak in: not the working directory, not PYTHONPATH, not its .venv.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {k: v for k, v in cli_environment.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    where = run([str(python), "-c", "import tasks.lake.sql as m; print(m.__file__); print(m.SQL_DIR)"], cwd=elsewhere, env=environment)
    module_file, sql_dir = where.stdout.split()
    site_packages = venv.resolve() / "lib"
    assert Path(module_file).resolve().is_relative_to(site_packages), module_file
    assert Path(sql_dir).is_relative_to(site_packages), sql_dir

    citelake = str(venv / "bin" / "citelake")
    lake = tmp_path / "lake"
    ingested = run([citelake, "ingest", str(EXAMPLES), "--lake", str(lake)], cwd=elsewhere, env=environment)
    answered = run(
        [citelake, "sql", "select count(*) as papers from papers", "--lake", str(lake), "--format", "json"],
        cwd=elsewhere,
        env=environment,
    )
    elapsed = time.monotonic() - started

    rows = [json.loads(line) for line in answered.stdout.splitlines() if line.strip()]
    assert rows == [{"papers": EXAMPLE_PAPERS}], (answered.stdout, ingested.stdout, ingested.stderr)
    print(f"built {sdist.name} and {wheel.name}, installed in {installed:.1f} s, ingested and queried in {elapsed:.1f} s in all")
