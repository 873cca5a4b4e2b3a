"""What the benchmarks share: a generated corpus on disk, reused between runs, and peak memory."""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from tasks.generate import write_corpus

MB = 1_000_000


def add_corpus_arguments(parser: argparse.ArgumentParser, default_folder: str) -> None:
    """``--count``, ``--seed`` and ``--corpus`` (default ``default_folder`` with COUNT and SEED filled in)."""
    parser.add_argument("--count", type=int, default=100_000, help="files to generate (default 100000)")
    parser.add_argument("--seed", type=int, default=2024, help="generator seed (default 2024)")
    parser.add_argument(
        "--corpus",
        type=Path,
        help=f"corpus folder: reused if it holds files, else generated there (default {default_folder})",
    )


def ensure_corpus(folder: Path, count: int, seed: int, *, clean: bool = False) -> Path:
    """``folder`` holding ``write_corpus(count, seed)``: reused if it holds files, else generated (and timed) there."""
    if clean:
        shutil.rmtree(folder, ignore_errors=True)
    if not (folder.is_dir() and any(folder.iterdir())):
        started = time.perf_counter()
        generated = write_corpus(folder, count, seed)
        print(f"Generated {generated.files:,} files ({generated.total_bytes / MB:,.1f} MB) in {folder} "
              f"in {time.perf_counter() - started:.1f} s (not counted below)")  # fmt: skip
    return folder


def peak_rss_mb(who: int) -> float:
    """Peak resident set size in MB (``ru_maxrss`` is in KiB on Linux); for children, the largest one."""
    return resource.getrusage(who).ru_maxrss * 1024 / MB
