"""The vectorised fast path of ``parse_and_split`` against the reference path, its oracle.

``parse_and_split(files)`` parses canonical pages in polars (``tasks.reading.parse_vectorized``)
and the rest with ``parse_report``; ``parse_and_split(files, vectorized=False)`` parses
every file with ``parse_report`` and splits with ``split_records``. Both must give the
same frames and outcomes, on generated corpora and on pages mutated to sit just off
the canonical grammar.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tasks.reading.batch import BatchResult, parse_and_split
from tasks.reading.frames import validate_frames
from tasks.corpus.generate import generate_corpus, write_corpus
from tasks.reading.parse_vectorized import PAGES_SCHEMA, canonical_text, parse_canonical
from tasks.lake import tables
from tasks.reading.record import DiscoveredFile

SAMPLE = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"
# Each frame's key, to compare frames whatever their row order.
KEYS = {name: list(tables.table(name).key) for name in tables.PAGE_FRAMES}


def discovered(path: Path) -> DiscoveredFile:
    status = path.stat()
    return DiscoveredFile(path=str(path), size=status.st_size, mtime=datetime.fromtimestamp(status.st_mtime, tz=UTC))


def assert_same_result(result: BatchResult, expected: BatchResult) -> None:
    assert_frame_equal(result.outcomes, expected.outcomes)
    for (table, frame), (_, expected_frame) in zip(result.frames.items(), expected.frames.items(), strict=True):
        try:
            assert_frame_equal(frame.sort(KEYS[table]), expected_frame.sort(KEYS[table]))
        except AssertionError as difference:
            raise AssertionError(f"{table}: {difference}") from None


def fast_path_share(files: list[DiscoveredFile]) -> tuple[int, int]:
    """How many of the files the fast path parses, and how many are reports (parsed at all)."""
    rows = []
    for file in files:
        data = Path(file.path).read_bytes()
        text = canonical_text(data)
        if text is not None:
            rows.append((file.mtime, hashlib.sha256(data).hexdigest(), file.path, text))
    return sum(parse_canonical(pl.DataFrame(rows, schema=PAGES_SCHEMA, orient="row")).accepted), len(rows)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_path_gives_what_the_reference_path_gives(tmp_path: Path, seed: int) -> None:
    summary = write_corpus(tmp_path, count=1200, seed=seed)
    shutil.copyfile(SAMPLE, tmp_path / "scd.txt")
    (tmp_path / "scd.txt.gz").write_bytes(gzip.compress(SAMPLE.read_bytes(), mtime=0))
    files = [discovered(path) for path in sorted(tmp_path.rglob("*")) if path.is_file()]

    result = parse_and_split(files)

    assert_same_result(result, parse_and_split(files, vectorized=False))
    validate_frames(result.frames)
    reports = summary.report_files + 2
    assert result.outcomes.filter(status="parsed").height == reports
    fast, decoded = fast_path_share(files)
    print(f"seed {seed}: fast path parsed {fast} of {reports} report files ({fast / reports:.0%})")
    # Every variation of the generator occurs; the canonical ones are most pages.
    assert fast / reports > 0.8


def test_the_real_sample_takes_the_fast_path(tmp_path: Path) -> None:
    page = tmp_path / "scd.txt"
    shutil.copyfile(SAMPLE, page)
    crlf = tmp_path / "scd-crlf.txt"
    crlf.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes().replace(b"\n", b"\r\n"))
    files = [discovered(page), discovered(crlf)]

    assert fast_path_share(files) == (2, 2)
    assert_same_result(parse_and_split(files), parse_and_split(files, vectorized=False))


# Small edits that move a page off (or along) the canonical grammar: the fast path must
# either read the edited page as the reference parser does or leave it to the reference.
EDITS = [
    "\n", "\n\n", " ", "  ", "\t", "\r", "\u00a0", "\u2028", "\x1c", "\x00", "“", "”", '"', "…", "...", "|",
    "mentioning", "disputing", "Section: Results", "\nSection: Methodsmentioning\n", "\nconfidence: 95%\n",
    "confidence: 101%", "Select...", "\nSelect...\n", "1,204", "12", "\n7\n", "Abstract: x", "… Show more",
    "\nOrder By: Relevance\n", "\nCitation Types\n", "\nreferences\n", "\nAuthors\n", "DOI: 10.1/X",
    "https://doi.org/", "citations", "(3 citation statements)", "Cited by 9 publications",
]  # fmt: skip


def _base_pages() -> list[bytes]:
    pages = [SAMPLE.read_bytes()]
    for report in generate_corpus(40, seed=5, reject_fraction=0, duplicate_fraction=0, gzip_fraction=0):
        pages.append(report.data)
    return pages


BASE_PAGES = _base_pages()


@st.composite
def mutated_page(draw: st.DrawFn) -> bytes:
    page = BASE_PAGES[draw(st.integers(0, len(BASE_PAGES) - 1))]
    text = page.decode("utf-8", errors="surrogateescape")
    for _ in range(draw(st.integers(1, 3))):
        # Edit near the line structure most of the time: at a line start or end.
        line_ends = [index for index, character in enumerate(text) if character == "\n"]
        if line_ends and draw(st.booleans()):
            at = draw(st.sampled_from(line_ends)) + draw(st.sampled_from([0, 1]))
        else:
            at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        cut = draw(st.integers(1, 12)) if action != "insert" else 0
        insert = draw(st.sampled_from(EDITS)) if action != "delete" else ""
        text = text[:at] + insert + text[at + cut :]
    return text.encode("utf-8", errors="surrogateescape")


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(mutated_page(), min_size=1, max_size=4))
def test_mutated_pages_give_what_the_reference_path_gives(pages: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, data in enumerate(pages):
            path = Path(folder) / f"page-{index}.txt"
            path.write_bytes(data)
            paths.append(path)
        files = [discovered(path) for path in paths]
        assert_same_result(parse_and_split(files), parse_and_split(files, vectorized=False))


def test_random_single_edits_of_every_base_page_give_what_the_reference_path_gives(tmp_path: Path) -> None:
    """Many mutations in few batches: each batch mixes edited pages, as real batches mix pages."""
    rng = random.Random(17)
    for batch in range(4):
        folder = tmp_path / str(batch)
        folder.mkdir()
        for index in range(300):
            text = rng.choice(BASE_PAGES).decode("utf-8", errors="surrogateescape")
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(EDITS) + text[at + rng.choice([0, 0, 1, 3]) :]
            (folder / f"{index}.txt").write_bytes(text.encode("utf-8", errors="surrogateescape"))
        files = [discovered(path) for path in sorted(folder.iterdir())]
        assert_same_result(parse_and_split(files), parse_and_split(files, vectorized=False))
