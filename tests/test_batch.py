"""Parsing and splitting batches of files on disk, in one process and on a pool."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tasks.allocator import ALLOCATOR_SETTINGS, ALLOCATOR_SETTINGS_VARIABLE
from tasks.reading.batch import (
    OUTCOME_SCHEMA,
    ParserProcessesStopped,
    begin_calls,
    collect_begun,
    forget_begun,
    parse_and_split,
    parse_in_parallel,
    parser_processes,
    run_in_parser_process,
    terminate_parser_processes,
)
from tasks.reading.frames import validate_frames
from tasks.corpus.generate import write_corpus
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
    assert "not a regular file" in reasons[4]  # a folder named like a report (tasks.reading.page_text.read_report_file)
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


def test_parser_processes_start_with_polars_threads_and_allocator_settings(monkeypatch) -> None:
    # Each spawned worker reads them from its environment when it imports polars.
    monkeypatch.delenv(ALLOCATOR_SETTINGS_VARIABLE, raising=False)
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    with parser_processes(2):
        allocator, threads = run_in_parser_process(_environment, [ALLOCATOR_SETTINGS_VARIABLE, "POLARS_MAX_THREADS"])
    # polars puts its own defaults first when imported; a later setting overrides an earlier one.
    assert allocator.endswith(ALLOCATOR_SETTINGS)
    assert threads == str(max(1, (os.cpu_count() or 1) // 2))
    assert ALLOCATOR_SETTINGS_VARIABLE not in os.environ  # set for the workers' start only


def test_settings_the_user_chose_are_kept_for_the_parser_processes(monkeypatch) -> None:
    monkeypatch.setenv(ALLOCATOR_SETTINGS_VARIABLE, "dirty_decay_ms:0")
    with parser_processes(2):
        (allocator,) = run_in_parser_process(_environment, [ALLOCATOR_SETTINGS_VARIABLE])
    assert allocator.endswith("dirty_decay_ms:0") and ALLOCATOR_SETTINGS not in allocator


def test_the_command_sets_the_allocator_settings_before_polars_is_imported() -> None:
    # jemalloc reads them once, at polars' import: a finder records the environment at that moment.
    probe = (
        "import os, sys\n"
        "class Probe:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'polars' and 'seen' not in globals():\n"
        "            globals()['seen'] = os.environ.get(%r)\n"
        "sys.meta_path.insert(0, Probe())\n"
        "import flows.cli\n"
        "from flows.cli import app\n"
        "import polars\n"
        "print(seen)\n"
    ) % ALLOCATOR_SETTINGS_VARIABLE
    environment = {name: value for name, value in os.environ.items() if name != ALLOCATOR_SETTINGS_VARIABLE}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True,
                            cwd=Path(__file__).parent.parent)  # fmt: skip
    assert result.stdout.strip() == ALLOCATOR_SETTINGS


def _environment(names: list[str]) -> list[str | None]:
    return [os.environ.get(name) for name in names]


def test_stopped_parser_processes_do_not_start_again_for_work_that_comes_late() -> None:
    """A stopped run's parse task that reaches the processes after the stop gets an error, not a new pool
    (whose process would write a batch into the staging the stop had removed: CI saw one left)."""
    with pytest.raises(ParserProcessesStopped):
        with parser_processes(2) as processes:
            assert run_in_parser_process(os.getpid) != os.getpid()
            terminate_parser_processes(timeout=1.0)
            run_in_parser_process(os.getpid)
    assert processes._pool is None


def test_a_call_begun_ahead_is_collected_once_and_not_run_again() -> None:
    """A head start begins the parse of its batches before the run's tasks ask for them (tasks.lake.head_start)."""
    calls: list[int] = []

    def square(number: int) -> int:
        calls.append(number)
        return number * number

    registered: list[int] = []
    begin_calls(square, [(2,), (3,)], registered=lambda: registered.append(len(calls)))
    assert registered == [0], "every call is registered before any of them runs"
    assert run_in_parser_process(square, 3) == 9
    assert calls == [2, 3], "the begun call was collected, not run again"
    assert run_in_parser_process(square, 3) == 9 and calls == [2, 3, 3], "a second ask runs it: a call is collected once"
    assert collect_begun(square, 2).result() == 4
    assert collect_begun(square, 2) is None

    def failing(number: int) -> int:
        raise OSError(5, "Input/output error")

    begin_calls(failing, [(1,)])
    with pytest.raises(OSError, match="Input/output"):
        run_in_parser_process(failing, 1)


def test_calls_begun_on_parser_processes_are_collected_there_and_forgotten_when_no_one_asks() -> None:
    with parser_processes(2):
        begin_calls(os.getpid, [()])
        begun = collect_begun(os.getpid)
        assert begun is not None and begun.result() != os.getpid(), "it ran on a parser process"
        begin_calls(os.getpid, [()])
        forget_begun()
        assert collect_begun(os.getpid) is None
