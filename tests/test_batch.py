"""Parsing and splitting batches of files on disk, in one process and on a pool."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from tasks.reading.batch import OUTCOME_SCHEMA, parse_and_split, parse_in_parallel
from tasks.reading.frames import validate_frames
from tasks.reading.generate import write_corpus
from tasks.reading.record import DiscoveredFile
from tasks.reading.split import combine_frames

SAMPLE = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"


def discovered(path: Path) -> DiscoveredFile:
    status = path.stat()
    return DiscoveredFile(path=str(path), size=status.st_size, mtime=datetime.fromtimestamp(status.st_mtime, tz=UTC))


def test_parse_and_split_reads_reports_and_sets_aside_what_it_cannot_read(tmp_path: Path) -> None:
    page = tmp_path / "scd.txt"
    shutil.copyfile(SAMPLE, page)
    gzipped = tmp_path / "scd.txt.gz"
    gzipped.write_bytes(gzip.compress(SAMPLE.read_bytes(), mtime=0))
    login = tmp_path / "login.txt"
    login.write_text("<html><body>Please sign in</body></html>")
    vanished = tmp_path / "vanished.txt"
    vanished.write_text("soon gone")
    folder = tmp_path / "a-folder.txt"
    folder.mkdir()
    files = [discovered(path) for path in (page, gzipped, login, vanished, folder)]
    vanished.unlink()

    result = parse_and_split(files)

    outcomes = result.outcomes
    assert outcomes.schema == OUTCOME_SCHEMA
    assert outcomes["path"].to_list() == [file.path for file in files]
    assert outcomes["status"].to_list() == ["parsed", "parsed", "rejected", "rejected", "rejected"]
    assert outcomes["sha256"].to_list()[:3] == [
        hashlib.sha256(path.read_bytes()).hexdigest() for path in (page, gzipped, login)
    ]
    assert outcomes["sha256"].to_list()[3:] == [None, None]
    reasons = outcomes["reason"].to_list()
    assert reasons[:2] == [None, None]
    assert all(reasons[2:]), reasons
    assert "No such file or directory" in reasons[3]
    assert "not a regular file" in reasons[4]  # a folder named like a report (tasks.reading.parse.read_report_file)
    assert outcomes["warnings"].to_list()[:2] == [[], []]

    frames = validate_frames(result.frames)
    # The page and its gzipped copy differ in bytes: two snapshots of one paper.
    assert sorted(frames.paper_snapshots["source_sha256"]) == sorted(outcomes["sha256"].to_list()[:2])
    assert frames.papers.height == 1
    assert frames.statements.height == 4
    assert frames.statement_sightings.height == 8


def _corpus_files(folder: Path) -> list[DiscoveredFile]:
    return [discovered(path) for path in sorted(folder.rglob("*")) if path.is_file()]


def test_parse_in_parallel_gives_what_one_batch_gives(tmp_path: Path) -> None:
    summary = write_corpus(tmp_path, count=120, seed=7)
    files = _corpus_files(tmp_path)
    assert len(files) == summary.files

    results = list(parse_in_parallel(files, batch_size=9, workers=2))

    whole = parse_and_split(files)
    outcomes = pl.concat([result.outcomes for result in results]).sort("path")
    assert_frame_equal(outcomes, whole.outcomes.sort("path"))
    assert outcomes.filter(status="rejected").height == summary.rejected_files
    combined = validate_frames(combine_frames([result.frames for result in results]))
    for (_, frame), (_, expected) in zip(combined.items(), whole.frames.items(), strict=True):
        assert_frame_equal(frame, expected)
    assert combined.paper_snapshots.height == summary.snapshots
    assert combined.statements.height == summary.distinct_statements


def test_parse_in_parallel_draws_files_only_as_batches_are_submitted(tmp_path: Path) -> None:
    write_corpus(tmp_path, count=60, seed=3)
    files = _corpus_files(tmp_path)
    drawn = 0

    def counted() -> Iterator[DiscoveredFile]:
        nonlocal drawn
        for file in files:
            drawn += 1
            yield file

    batches = parse_in_parallel(counted(), batch_size=2, workers=1)
    next(batches)
    # One worker: two batches in flight, and the next batch drawn while waiting for them.
    assert drawn <= 3 * 2 + 1
    rest = list(batches)
    assert drawn == len(files)
    assert 1 + len(rest) == -(-len(files) // 2)
