"""Discovery of a source of any depth, and report-named entries that are not files: each gets a row with its reason."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.discover import discover_reports
from tasks.lake.ingest import ingest
from tasks.lake.summary import format_summary

SAMPLE = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"
LEVEL = "ddd"  # 1,200 levels of "ddd/" are 4,800 bytes: the bottom lies beyond PATH_MAX (4,096)
DEPTH = 1200
MIDDLE = 900  # 3,600 bytes down: still within PATH_MAX


def _write_at(root: Path, levels: dict[int, str]) -> None:
    """Make DEPTH nested folders below ``root`` and a copy of the sample page at each ``level: name``.

    Made with descriptors relative to the folder above: the full path of the
    deepest folders is longer than the OS takes.
    """
    page = SAMPLE.read_bytes()
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth in range(DEPTH + 1):
            if depth in levels:
                handle = os.open(levels[depth], os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
                os.write(handle, page)
                os.close(handle)
            if depth < DEPTH:
                os.mkdir(LEVEL, dir_fd=descriptor)
                inner = os.open(LEVEL, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
                os.close(descriptor)
                descriptor = inner
    finally:
        os.close(descriptor)


def _remove_levels(root: Path) -> None:
    """Remove the nested folders one level at a time from the top (rmtree recurses, and ends in RecursionError)."""
    while (top := root / LEVEL).is_dir():
        if (top / LEVEL).is_dir():
            (top / LEVEL).rename(root / "next")
        for entry in top.iterdir():
            entry.unlink()
        top.rmdir()
        if (root / "next").is_dir():
            (root / "next").rename(top)


def _at(root: Path, depth: int, name: str) -> str:
    return os.path.join(str(root), *[LEVEL] * depth, name)


@pytest.fixture
def deep_source(tmp_path: Path) -> Iterator[Path]:
    source = tmp_path / "source"
    source.mkdir()
    _write_at(source, {0: "top.txt", MIDDLE: "middle.txt", DEPTH: "bottom.txt"})
    os.mkfifo(source / "pipe.txt")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(source / "socket.txt"))
    listening.close()  # the socket file stays
    yield source.resolve()
    _remove_levels(source)


def test_a_tree_1200_levels_deep_is_walked_and_what_cannot_be_read_is_a_rejected_row(deep_source: Path, tmp_path: Path) -> None:
    assert len(os.fsencode(_at(deep_source, DEPTH, "bottom.txt"))) > 4096
    assert stat.S_ISFIFO(os.lstat(deep_source / "pipe.txt").st_mode)
    assert stat.S_ISSOCK(os.lstat(deep_source / "socket.txt").st_mode)
    skipped: list[tuple[str, str]] = []

    found = [file.path for file in discover_reports(deep_source, skipped)]

    assert found == [
        _at(deep_source, DEPTH, "bottom.txt"),
        _at(deep_source, MIDDLE, "middle.txt"),
        str(deep_source / "pipe.txt"),
        str(deep_source / "socket.txt"),
        str(deep_source / "top.txt"),
    ]
    assert skipped == []

    location = LakeLocation(path=tmp_path / "lake")
    summary = ingest(deep_source, location, workers=1)

    assert summary.files == {"seen": 5, "new": 1, "changed": 0, "unchanged": 0, "duplicate": 1, "rejected": 3}
    con = open_lake(location, read_only=True)
    try:
        rows = dict(con.execute("select path, status || coalesce(': ' || reason, '') from report_files").fetchall())
    finally:
        con.close()
    assert rows[str(deep_source / "top.txt")] in ("ingested", "duplicate")
    assert rows[_at(deep_source, MIDDLE, "middle.txt")] in ("ingested", "duplicate")
    assert rows[_at(deep_source, DEPTH, "bottom.txt")] == "rejected: cannot read the file: File name too long"
    assert rows[str(deep_source / "pipe.txt")] == "rejected: cannot read the file: not a regular file"
    assert rows[str(deep_source / "socket.txt")] == "rejected: cannot read the file: not a regular file"
    assert "rejected  " + str(deep_source / "pipe.txt") + ": cannot read the file: not a regular file" in format_summary(summary)
