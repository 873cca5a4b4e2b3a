"""The report generator: deterministic, streaming, covering every variation, and
round-tripping through the parser to the record it promises."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import random
import re
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flows.cli import app
from tasks.corpus.generate import GeneratedReport, NonReport, generate_corpus, generate_report, write_corpus
from tasks.corpus.oracle import parse_matches
from tasks.corpus.pages import EXPECT_WARNING_CP1252, EXPECT_WARNING_CUT_OFF, EXPECT_WARNING_NO_CONFIDENCE
from tasks.reading.parse import parse_report
from tasks.reading.parse_vectorized import PAGES_SCHEMA, canonical_text, parse_canonical
from tasks.reading.record import Record, Rejection, collapse_whitespace

CORPUS_SIZE = 400


def _plain(report: GeneratedReport) -> bytes:
    return gzip.decompress(report.data) if report.name.endswith(".gz") else report.data


def _text(report: GeneratedReport) -> str:
    plain = _plain(report)
    try:
        return plain.decode("utf-8-sig")
    except UnicodeDecodeError:
        return plain.decode("cp1252")


@pytest.fixture(scope="module")
def corpus() -> list[GeneratedReport]:
    return list(generate_corpus(CORPUS_SIZE, seed=3, reject_fraction=0.05))


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    def fingerprint(seed: int) -> list[tuple[str, bytes, object]]:
        return [(r.name, r.data, r.mtime) for r in generate_corpus(150, seed)]

    assert fingerprint(42) == fingerprint(42)
    assert fingerprint(42) != fingerprint(43)
    assert generate_report(random.Random(9)).data == generate_report(random.Random(9)).data


def test_the_corpus_streams() -> None:
    # A billion reports would not fit in memory: taking the first few must not build them all.
    first = list(itertools.islice(generate_corpus(10**9, seed=1), 5))
    assert [r.data for r in first] == [r.data for r in generate_corpus(5, seed=1)]


def test_the_real_sample_shape_is_followed(corpus: list[GeneratedReport]) -> None:
    """Lines the sample shows verbatim appear verbatim, in its order."""
    sample = (Path(__file__).parent / "fixtures" / "scd.2013.0023.txt").read_text(encoding="utf-8")
    fixed_lines = [
        "|View full text |Cite",
        "Sign up to set email alerts",
        "Help me understand this report",
        "Search citation statements",
        "Order By: Relevance",
        "Paper Sections",
        "Citation Types",
        "Publication Types",
        "Relationship",
        "Authors",
        "Journals",
        "citations",
        "references",
    ]
    report = next(r for r in corpus if isinstance(r.expected, dict) and not r.expected["warnings"])
    text = _text(report)
    for lines in (sample.splitlines(), text.splitlines()):
        positions = [lines.index(line) for line in fixed_lines]
        assert positions == sorted(positions)


# Each variation of report-format.md, recognised from the bytes (and the expected record).
VARIATIONS = {
    "year missing": lambda r, t: not re.match(r"\s*\d{4}\r?\n", t),
    "DOI with https://doi.org/": lambda r, t: "DOI: https://doi.org/" in t,
    "DOI in mixed case": lambda r, t: re.search(r"^DOI: .*[A-Z]", t, re.M) is not None,
    "title with a colon and unicode": lambda r, t: bool(re.search(r"[^\x00-\x7f]", r.expected["title"]))
    and ":" in r.expected["title"],
    "abstract missing": lambda r, t: "\nAbstract: " not in t,
    "abstract cut with … Show more": lambda r, t: "… Show more" in t,
    "abstract cut with ...Show more": lambda r, t: "...Show more" in t,
    "abstract not cut": lambda r, t: r.expected["abstract_truncated"] is False,
    "Select...": lambda r, t: "Select..." in t,
    "empty Authors": lambda r, t: re.search(r"Authors(\r?\n)+Journals", t) is not None,
    "Authors with numbers": lambda r, t: re.search(r"Authors(\r?\n)+(Select...\r?\n)?\d", t) is not None,
    "Citation Types with fewer than 4 numbers": lambda r, t: len(r.expected["facets"]["Citation Types"]) < 4,
    "thousands separator": lambda r, t: re.search(r"Cited by \d{1,3},\d{3} publications", t) is not None,
    "curly quotes": lambda r, t: "\n“…" in t,
    "straight quotes": lambda r, t: '\n"...' in t,
    "statement text over several lines": lambda r, t: _has_broken_statement(r, t),
    "inner ellipsis": lambda r, t: any("… " in s["text"] or "... " in s["text"] for s in r.expected["statements"]),
    "inner quotes": lambda r, t: any(" “" in s["text"] or ' "' in s["text"] for s in r.expected["statements"]),
    "brackets": lambda r, t: any(re.search(r"\([A-Za-z-]+\)", s["text"]) for s in r.expected["statements"]),
    "marker [n]": lambda r, t: re.search(r"\[\d+\]", t) is not None,
    "marker [n,m]": lambda r, t: re.search(r"\[\d+,\d+\]", t) is not None,
    "marker [n–m]": lambda r, t: re.search(r"\[\d+–\d+\]", t) is not None,
    "superscript marker": lambda r, t: any(re.search(r"\. \d+ [A-Z]", s["text"]) for s in r.expected["statements"]),
    "author–year marker": lambda r, t: re.search(r"\(\w+ et al\., \d{4}\)", t) is not None,
    "section glued to type": lambda r, t: re.search(r"^Section: .+[a-z.](mentioning|supporting)\r?$", t, re.M)
    is not None,
    "statement without section": lambda r, t: re.search(r"^(mentioning|supporting|contrasting)\r?$", t, re.M)
    is not None,
    "disputing": lambda r, t: re.search(r"disputing\r?$", t, re.M) is not None,
    "statement shown twice": lambda r, t: any(s["seen"] == 2 for s in r.expected["statements"]),
    "missing confidence": lambda r, t: EXPECT_WARNING_NO_CONFIDENCE in r.expected["warnings"],
    "CRLF": lambda r, t: "\r\n" in t,
    "byte-order mark": lambda r, t: _plain(r).startswith(b"\xef\xbb\xbf"),
    "Windows-1252": lambda r, t: EXPECT_WARNING_CP1252 in r.expected["warnings"] and _decodes_only_as_cp1252(_plain(r)),
    "runs of blank lines": lambda r, t: re.search(r"(\r?\n){4}", t) is not None,
    "gzipped": lambda r, t: r.name.endswith(".txt.gz"),
    "cut off inside a statement": lambda r, t: EXPECT_WARNING_CUT_OFF in r.expected["warnings"]
    and not re.search(r"(confidence: \d+%|mentioning|supporting|contrasting|disputing)\r?\n?$", t),
    "counts that do not add up": lambda r, t: sum(r.expected["facets"]["Citation Types"])
    != r.expected["statement_count"],
}


def _has_broken_statement(report: GeneratedReport, text: str) -> bool:
    """A complete statement whose text the page spread over more than one line."""
    if EXPECT_WARNING_CUT_OFF in report.expected["warnings"]:
        return False
    return any(
        line.startswith(("“…", '"...')) and not line.endswith(("…”", '..."'))
        for line in text.replace("\r\n", "\n").split("\n")
    )


def _decodes_only_as_cp1252(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data.decode("cp1252")
        return True
    return False


def test_every_variation_occurs(corpus: list[GeneratedReport]) -> None:
    found = {name: 0 for name in VARIATIONS}
    for report in corpus:
        if isinstance(report.expected, Rejection):
            continue
        text = _text(report)
        for name, occurs in VARIATIONS.items():
            found[name] += bool(occurs(report, text))
    assert [name for name, times in found.items() if not times] == []


def test_every_kind_of_non_report_occurs(corpus: list[GeneratedReport]) -> None:
    rejections = [r for r in corpus if isinstance(r.expected, Rejection)]
    kinds = {r.expected.reason for r in rejections}
    assert kinds == {kind.value for kind in NonReport}
    by_kind = {r.expected.reason: r for r in rejections}
    assert by_kind[NonReport.EMPTY.value].data == b""
    assert b"\x00" in by_kind[NonReport.BINARY.value].data
    assert b"<form" in by_kind[NonReport.LOGIN_PAGE.value].data
    corrupt = by_kind[NonReport.CORRUPT_GZIP.value]
    assert corrupt.name.endswith(".gz") and corrupt.data.startswith(b"\x1f\x8b")
    with pytest.raises((EOFError, OSError)):
        gzip.decompress(corrupt.data)


def test_resaved_pages_are_later_with_grown_counts_and_partly_the_same_statements(
    corpus: list[GeneratedReport],
) -> None:
    pages: dict[str, list[GeneratedReport]] = defaultdict(list)
    for report in corpus:
        if isinstance(report.expected, dict) and not report.duplicate:
            pages[report.expected["doi"]].append(report)
    resaved = {doi: saves for doi, saves in pages.items() if len(saves) > 1}
    assert len(resaved) >= 10
    kept = reclassified = added = 0
    for saves in resaved.values():
        for earlier, later in itertools.pairwise(saves):
            assert later.mtime > earlier.mtime
            assert later.data != earlier.data
            assert later.expected["reference_count"] == earlier.expected["reference_count"]
            before = {(s["text"], s["section"]): s["type"] for s in earlier.expected["statements"]}
            for statement in later.expected["statements"]:
                identity = (statement["text"], statement["section"])
                if identity not in before:
                    added += 1
                elif before[identity] == statement["type"]:
                    kept += 1
                else:
                    reclassified += 1
    assert kept and reclassified and added


def test_a_clean_corpus_adds_up_and_a_default_one_does_not() -> None:
    def add_up(record: Record) -> bool:
        shown = {t: sum(s["type"] == t for s in record["statements"]) for t in ("supporting", "contrasting")}
        tallies = record["tallies"]
        return sum(record["facets"]["Citation Types"]) == record["statement_count"] and (
            tallies is None or all(tallies[t] >= n for t, n in shown.items())
        )

    clean = [
        r.expected for r in generate_corpus(300, seed=8, clean=True) if isinstance(r.expected, dict) and not r.duplicate
    ]
    assert all(add_up(record) for record in clean)
    last_count: dict[str, tuple[int, int]] = {}
    for record in clean:
        counts = (record["statement_count"], record["cited_by"])
        if record["doi"] in last_count:
            earlier = last_count[record["doi"]]
            assert counts[0] > earlier[0] and counts[1] >= earlier[1]
        last_count[record["doi"]] = counts
    default = [r.expected for r in generate_corpus(300, seed=8) if isinstance(r.expected, dict)]
    assert not all(add_up(record) for record in default)


def test_a_canonical_corpus_is_read_whole_by_the_fast_path_and_a_default_one_is_not() -> None:
    """bench_ingest --canonical measures the issue's canonical pages: every one must take the fast path."""

    def fast_path_takes(reports: list[GeneratedReport]) -> list[bool]:
        texts = [(report, canonical_text(report.data)) for report in reports]
        decoded = [(report, text) for report, text in texts if text is not None]
        pages = pl.DataFrame(
            {
                "observed_at": [report.mtime for report, _ in decoded],
                "source_sha256": [hashlib.sha256(report.data).hexdigest() for report, _ in decoded],
                "source_path": [report.name for report, _ in decoded],
                "page_text": [text for _, text in decoded],
            },
            schema=PAGES_SCHEMA,
        )
        return parse_canonical(pages).accepted + [False] * (len(reports) - len(decoded))

    canonical = list(generate_corpus(600, seed=12, canonical=True))
    assert all(isinstance(report.expected, dict) and not report.expected["warnings"] for report in canonical)
    assert all(fast_path_takes(canonical))
    assert any(report.name.endswith(".gz") for report in canonical) and any(report.duplicate for report in canonical)
    assert not all(fast_path_takes(list(generate_corpus(600, seed=12))))


def test_forced_variations_are_honoured() -> None:
    crlf = generate_report(random.Random(1), crlf=True, gzipped=False, encoding="utf-8")
    assert crlf.data.count(b"\r\n") == crlf.data.count(b"\n")
    bom = generate_report(random.Random(1), encoding="utf-8-sig", gzipped=False)
    assert bom.data.startswith(b"\xef\xbb\xbf")
    zipped = generate_report(random.Random(1), gzipped=True)
    assert zipped.name.endswith(".txt.gz") and b"\nDOI: " in gzip.decompress(zipped.data)
    cut = generate_report(random.Random(1), cut_off=True)
    assert EXPECT_WARNING_CUT_OFF in cut.expected["warnings"]
    assert isinstance(generate_report(random.Random(1), non_report=NonReport.ERROR_PAGE).expected, Rejection)


def test_the_summary_matches_what_is_on_disk(tmp_path: Path) -> None:
    summary = write_corpus(tmp_path, 300, 11, reject_fraction=0.05, duplicate_fraction=0.03)
    on_disk = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert summary.files == len(on_disk) == 300
    assert summary.total_bytes == sum(path.stat().st_size for path in on_disk)

    # Recount from the files' bytes and the expected records, independently of the generator's bookkeeping.
    reports = {report.name: report for report in generate_corpus(300, 11, reject_fraction=0.05, duplicate_fraction=0.03)}
    contents: set[str] = set()
    dois: set[str] = set()
    statements: set[tuple[str, str, str | None]] = set()
    records = 0
    for path in on_disk:
        report = reports[path.relative_to(tmp_path).as_posix()]
        assert path.read_bytes() == report.data
        assert path.stat().st_mtime == report.mtime.timestamp()
        if isinstance(report.expected, Rejection):
            continue
        records += 1
        contents.add(hashlib.sha256(report.data).hexdigest())
        dois.add(report.expected["doi"])
        statements.update(
            (report.expected["doi"], collapse_whitespace(s["text"]), s["section"]) for s in report.expected["statements"]
        )
    assert summary.report_files == records
    assert summary.rejected_files == 300 - records
    assert summary.snapshots == len(contents) < records  # the corpus holds byte-identical copies
    assert summary.distinct_dois == len(dois)
    assert summary.distinct_statements == len(statements)


def test_the_generate_command_writes_and_summarises(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "out"), "--count", "40", "--seed", "5", "--clean"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)  # stderr says what was written, in words
    assert printed["files"] == 40 == sum(1 for path in (tmp_path / "out").rglob("*") if path.is_file())
    assert printed["inconsistent_snapshots"] == 0


# The round trip: the parser, written from the same contract, must give each expected record.

OPTIONS = st.fixed_dictionaries(
    {
        "encoding": st.sampled_from([None, "utf-8", "utf-8-sig", "cp1252"]),
        "crlf": st.sampled_from([None, True, False]),
        "gzipped": st.sampled_from([None, True, False]),
        "cut_off": st.sampled_from([None, True, False]),
        "consistent": st.sampled_from([None, False]),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), options=OPTIONS)
def test_round_trip_of_a_report(seed: int, options: dict[str, object]) -> None:
    report = generate_report(random.Random(seed), **options)  # type: ignore[arg-type]
    assert parse_matches(report, parse_report(report.data)) == []


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(list(NonReport)))
def test_round_trip_of_a_non_report(seed: int, kind: NonReport) -> None:
    report = generate_report(random.Random(seed), non_report=kind)
    assert isinstance(parse_report(report.data), Rejection)
    assert parse_matches(report, parse_report(report.data)) == []


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_round_trip_of_a_corpus_with_resaves(seed: int) -> None:
    for report in generate_corpus(25, seed, resave_fraction=0.4, reject_fraction=0.1, duplicate_fraction=0.05):
        assert parse_matches(report, parse_report(report.data)) == []


def test_generate_into_an_existing_file_is_one_line_and_a_failure(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    target = tmp_path / "taken"
    target.write_text("not a folder\n")
    result = CliRunner().invoke(app, ["generate", str(target), "--count", "3", "--seed", "1"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == f"citelake generate: {target}: exists and is not a folder\n"
    assert target.read_text() == "not a folder\n"
