"""`citelake maintain`: the orphans of a commit that failed on a full disk, the grace, the lock, the output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.lake.session import open_lake
from tasks.lake.query import USER_TABLES
from tasks.lake.location import LakeLocation
from tasks.lake.ingest import ingest
from tasks.lake.lock import ingest_guard
from tasks.corpus.generate import write_corpus

REPO = Path(__file__).resolve().parents[1]


def citelake(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def contents(location: LakeLocation) -> dict[str, list[tuple]]:
    """Every row of every table: reading them all needs every data file the lake names."""
    con = open_lake(location, read_only=True)
    try:
        return {table: con.execute(f"select * from {table} order by all").fetchall() for table in USER_TABLES}
    finally:
        con.close()


def parquet_files(location: LakeLocation) -> set[Path]:
    return set(location.data_path.rglob("*.parquet"))


@pytest.fixture
def small_data_disk(tmp_path) -> LakeLocation:
    """A lake whose data folder is a 512 KB tmpfs: a few hundred reports fill it."""
    location = LakeLocation(path=tmp_path / "lake")
    location.data_path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(location.data_path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield location
    finally:
        subprocess.run(["umount", "--lazy", str(location.data_path)], check=False)


@pytest.mark.slow
def test_maintain_removes_the_orphans_of_a_commit_that_failed_on_a_full_disk(small_data_disk, tmp_path):
    location, source = small_data_disk, tmp_path / "source"
    write_corpus(source / "first", 20, seed=1)
    ingest(source, location, workers=1)
    before = contents(location)
    files_before = parquet_files(location)

    write_corpus(source / "second", 600, seed=2)
    with pytest.raises(Exception, match="No space left on device"):
        ingest(source, location, workers=1)
    orphans = parquet_files(location) - files_before
    assert orphans, "the failed commit left no file: nothing to test"

    # Just written: younger than the default grace (an hour), so a writer's files are safe.
    kept = citelake("maintain", "--lake", str(location.path))
    assert kept.returncode == 0, kept.stderr
    assert "orphans removed:  0 files" in kept.stdout
    assert orphans <= parquet_files(location)

    # An hour and more later the orphans go; one written since (a copy) is kept.
    young = next(iter(orphans)).with_name("ducklake-young-orphan.parquet")
    young.write_bytes(next(iter(orphans)).read_bytes())
    two_hours_ago = time.time() - 2 * 3600
    for orphan in orphans:
        os.utime(orphan, (two_hours_ago, two_hours_ago))
    size = sum(orphan.stat().st_size for orphan in orphans)
    removed = citelake("maintain", "--lake", str(location.path))
    assert removed.returncode == 0, removed.stderr
    assert f"orphans removed:  {len(orphans)} files, {size / 1e6:,.1f} MB" in removed.stdout
    assert not any(orphan.exists() for orphan in orphans)
    assert young.is_file()
    assert contents(location) == before


@pytest.mark.slow
def test_maintain_prints_what_it_merged_expired_and_deleted(tmp_path):
    location, source = LakeLocation(path=tmp_path / "lake"), tmp_path / "source"
    for run in range(2):
        write_corpus(source / f"part-{run}", 10, seed=run)
        ingest(source, location, workers=1)
    before = contents(location)

    first = citelake("maintain", "--lake", str(location.path), "--retention", "7d", "--grace", "1h")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == f"maintained {location.path}"
    merged = re.search(r"merged: +(\d+) small files into (\d+)", first.stdout)
    assert merged and int(merged.group(1)) > int(merged.group(2)) > 0
    assert re.search(r"expired: +no snapshots; the oldest version kept is 0", first.stdout)
    assert "deleted:          0 files scheduled for deletion, 0.0 MB" in first.stdout

    second = citelake("maintain", "--lake", str(location.path), "--retention", "0s", "--grace", "0s")
    assert second.returncode == 0, second.stderr
    expired = re.search(r"expired: +snapshots 0-(\d+); the oldest version kept is (\d+)", second.stdout)
    assert expired and int(expired.group(2)) == int(expired.group(1)) + 1
    assert re.search(rf"deleted: +{merged.group(1)} files scheduled for deletion", second.stdout)
    assert contents(location) == before


@pytest.mark.slow
def test_maintain_says_when_it_waits_for_the_lock_and_gives_up_in_one_line(tmp_path):
    location, source = LakeLocation(path=tmp_path / "lake"), tmp_path / "source"
    write_corpus(source, 5, seed=1)
    ingest(source, location, workers=1)
    with ingest_guard(location):
        waited = citelake("maintain", "--lake", str(location.path), "--wait", "1")
    assert waited.returncode == 1
    lines = waited.stderr.strip().splitlines()
    assert len(lines) == 2, waited.stderr
    assert lines[0].startswith("citelake maintain: waiting up to 1 s for the ingest started at ")
    assert lines[1].startswith(f"citelake maintain: another ingest is running on {location.path} since ")


def test_maintain_refuses_a_bad_duration_and_a_missing_lake_in_one_line(tmp_path):
    bad = citelake("maintain", "--lake", str(tmp_path), "--retention", "7 weeks")
    assert (bad.returncode, bad.stderr) == (
        2,
        "citelake maintain: '7 weeks' is not a duration: give a number and a unit, as in 7d, 36h, 90m or 30s\n",
    )
    missing = citelake("maintain", "--lake", str(tmp_path / "none"))
    assert missing.returncode == 1
    assert missing.stderr == (
        f"citelake maintain: no lake at {tmp_path / 'none'}: {tmp_path / 'none' / 'catalog.sqlite'} "
        "does not exist (run an ingest first)\n"
    )
    assert not (tmp_path / "none").exists()
