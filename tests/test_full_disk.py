"""A full disk in the run's staging, in its commit and in the search index: one line naming the lake, the file and the cause.

Each test puts one part of a lake on a real, small tmpfs (mounted here, as root)
through a symlink, and fills it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.errors import IngestError
from tasks.lake.ingest import ingest
from tasks.corpus.generate import write_corpus
from tasks.search.index import update_index

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs, which needs root")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``small_disk(size)``: a tmpfs of that size (mount's -o size=), unmounted after the test."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


def _rows(location: LakeLocation, query: str) -> list[tuple]:
    con = open_lake(location, read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_full_disk_while_staging_is_one_line_and_the_lake_keeps_what_it_had(tmp_path: Path, small_disk) -> None:
    write_corpus(tmp_path / "first", 5, seed=1)
    write_corpus(tmp_path / "second", 300, seed=2)
    location = LakeLocation(path=tmp_path / "lake")
    ingest(tmp_path / "first", location, workers=1)
    before = _rows(location, "select count(*) from paper_snapshots")
    (location.path / "_staging").symlink_to(small_disk("64k"))

    with pytest.raises(IngestError) as failed:
        ingest(tmp_path / "second", location, workers=1)

    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"{location.path}: cannot write the run's staged batch {location.path}/_staging/")
    assert message.endswith("(No space left on device); nothing was written")
    assert _rows(location, "select count(*) from paper_snapshots") == before


def test_a_full_disk_in_the_commit_is_one_line_naming_the_file(tmp_path: Path, small_disk) -> None:
    write_corpus(tmp_path / "corpus", 300, seed=2)
    location = LakeLocation(path=tmp_path / "lake")
    location.path.mkdir()
    (location.path / "data").symlink_to(small_disk("256k"))

    with pytest.raises(IngestError) as failed:
        ingest(tmp_path / "corpus", location, workers=1)

    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"{location.path}: the run could not be written: Could not write file \"{location.path}/data/")
    assert message.endswith(": No space left on device; nothing was written")
    assert _rows(location, "select count(*) from runs") == [(0,)]


@pytest.mark.slow
def test_search_answers_from_the_last_index_when_the_disk_is_full(tmp_path: Path, small_disk) -> None:
    write_corpus(tmp_path / "first", 10, seed=1)
    write_corpus(tmp_path / "second", 200, seed=2)
    location = LakeLocation(path=tmp_path / "lake")
    location.path.mkdir()
    disk = small_disk("4m")
    (location.path / "_search").symlink_to(disk)
    ingest(tmp_path / "first", location, workers=1)
    built = update_index(location)
    ingest(tmp_path / "second", location, workers=1)
    _fill(disk)

    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "search", "the", "--lake", str(location.path), "--format", "json", "--limit", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"citelake search: cannot write the search index in {location.path}/_search: No space left on device "
        f"(0 bytes free); answering from the index of snapshot {built.snapshot_id}"
    ]
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.slow
def test_a_committed_run_whose_index_update_failed_says_so_and_exits_0(
    tmp_path: Path, small_disk, cli_environment: dict[str, str]
) -> None:
    write_corpus(tmp_path / "first", 10, seed=1)
    write_corpus(tmp_path / "second", 200, seed=2)
    location = LakeLocation(path=tmp_path / "lake")
    location.path.mkdir()
    disk = small_disk("4m")
    (location.path / "_search").symlink_to(disk)
    ingest(tmp_path / "first", location, workers=1)
    update_index(location)
    _fill(disk)

    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "second"), "--lake", str(location.path)],
        cwd=REPO, env=cli_environment, capture_output=True, text=True, timeout=180,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[:-1]  # the last line gives the run's times
    assert lines[-2] == (
        f"search    index not updated: cannot write the search index in {location.path}/_search: "
        "No space left on device (0 bytes free)"
    ), result.stdout
    assert "the run is committed" in lines[-1]
    assert _rows(location, "select count(*) from runs") == [(2,)]


@pytest.mark.slow
def test_ingest_on_a_full_staging_disk_exits_1_with_one_line(tmp_path: Path, small_disk, cli_environment: dict[str, str]) -> None:
    write_corpus(tmp_path / "corpus", 300, seed=2)
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "_staging").symlink_to(small_disk("64k"))

    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "corpus"), "--lake", str(lake)],
        cwd=REPO, env=cli_environment, capture_output=True, text=True, timeout=180,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("citelake ingest:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"citelake ingest: {lake}: cannot write the run's staged batch {lake}/_staging/"), result.stderr
    assert errors[0].endswith("(No space left on device); nothing was written")
