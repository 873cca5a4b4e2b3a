"""The split: records and their source files in, the six validated frames out."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tasks.reading.frames import Frames, validate_frames
from tasks.reading.parse import parse_report
from tasks.reading.record import Record, SourceFile, Statement
from tasks.reading.split import combine_frames, split_records, statement_id

SAMPLE = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"
MAY_1 = datetime(2024, 5, 1, tzinfo=timezone.utc)


def make_statement(text: str, section: str | None = "Introduction", **fields) -> Statement:
    return {"text": text, "section": section, "type": "mentioning", "confidence": 0.9, "seen": 1} | fields


def make_record(doi: str = "10.1/x", statements: list[Statement] | None = None, **fields) -> Record:
    record: Record = {
        "doi": doi,
        "title": "A Paper",
        "year": 2020,
        "abstract": "We did things.",
        "abstract_truncated": False,
        "cited_by": 10,
        "statement_count": 8,
        "reference_count": 30,
        "tallies": {"supporting": 1, "mentioning": 6, "contrasting": 1, "unclassified": 0},
        "citing_years": [2021, 2024],
        "facets": {"Citation Types": [1, 6, 1, 0], "Year Published": [2021, 2021, 2024, 2024]},
        "statements": statements if statements is not None else [make_statement("It was cited [1].")],
        "warnings": [],
    }
    return record | fields


def source_of(record: Record, mtime: datetime, path: str | None = None) -> SourceFile:
    """A source whose sha256 stands for the page's bytes: equal records, equal hash."""
    sha256 = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    return SourceFile(path=path or f"/reports/{sha256[:8]}.txt", size=1000, mtime=mtime, sha256=sha256)


def frames_equal(left: Frames, right: Frames) -> None:
    for (table, left_frame), (_, right_frame) in zip(left.items(), right.items(), strict=True):
        try:
            assert_frame_equal(left_frame, right_frame)
        except AssertionError as difference:
            raise AssertionError(f"{table}: {difference}") from None


def test_statement_id_is_blake2b_of_doi_text_and_section() -> None:
    key = "10.1089/scd.2013.0023\x1fIn a previous study, we demonstrated.\x1fDiscussion".encode()
    expected = hashlib.blake2b(key, digest_size=16).hexdigest()

    assert statement_id("10.1089/scd.2013.0023", "In a previous study, we demonstrated.", "Discussion") == expected
    # Pinned: the identity of stored statements must never change with a library upgrade.
    assert expected == "b953ecfc43299fe8d07bfa8b1415d7da"


def test_statement_id_collapses_white_space_and_reads_no_section_as_empty() -> None:
    collapsed = statement_id("10.1/x", "one two three", None)

    assert statement_id("10.1/x", " one  two\r\n three ", None) == collapsed
    assert statement_id("10.1/x", "one two three", "") == collapsed
    assert statement_id("10.1/x", "one two three", "Introduction") != collapsed
    assert statement_id("10.1/y", "one two three", None) != collapsed


def test_split_of_the_sample_report() -> None:
    record = parse_report(SAMPLE.read_bytes())
    assert isinstance(record, dict), record
    source = SourceFile(path=str(SAMPLE), size=SAMPLE.stat().st_size, mtime=MAY_1, sha256="a" * 64)

    frames = validate_frames(split_records([(source, record)]))

    assert frames.paper_snapshots.height == 1
    assert frames.papers.height == 1
    paper = frames.papers.row(0, named=True)
    assert paper["doi"] == "10.1089/scd.2013.0023"
    assert paper["year"] == 2013
    assert (paper["cited_by"], paper["statement_count"], paper["reference_count"]) == (204, 191, 40)
    assert {name: paper[name] for name in record["tallies"]} == record["tallies"]
    assert (paper["citing_year_min"], paper["citing_year_max"]) == (2014, 2024)
    assert paper["first_seen"] == paper["last_seen"] == MAY_1
    # Five statements shown, the first of them twice: four distinct statements.
    assert paper["statements_shown"] == 4
    assert frames.statements.height == 4
    sightings = frames.statement_sightings
    assert sightings["position"].to_list() == [0, 1, 2, 3]
    assert sightings["seen"].to_list() == [2, 1, 1, 1]
    assert sightings["confidence"].to_list() == [0.95, 0.97, 0.99, 0.99]
    categories = dict(frames.statements.select("section", "section_category").iter_rows())
    assert categories["Discussion"] == "discussion"
    assert categories["Introduction"] == "introduction"
    assert categories["Mesenchymal Stromal Cells"] == "other"
    assert frames.facets.height == sum(len(values) for values in record["facets"].values()) == 15
    assert frames.facets.filter(facet="Citation Types")["value"].to_list() == [8, 181, 1, 1]
    abstract = frames.abstracts.row(0, named=True)
    assert abstract["truncated"] is True
    assert abstract["abstract"].endswith("Adverse ev")


def test_a_resaved_page_updates_the_paper_and_reclassifies_its_statement() -> None:
    kept = make_statement("Kept across pages [3].", section="Results And Discussion")
    first = make_record(statements=[kept], cited_by=10)
    later = make_record(
        statements=[make_statement("New on the later page.", section=None), kept | {"type": "contrasting"}],
        cited_by=12,
        statement_count=9,
        tallies={"supporting": 1, "mentioning": 6, "contrasting": 2, "unclassified": 0},
        abstract=None,
    )
    june = MAY_1 + timedelta(days=31)
    items = [(source_of(later, june), later), (source_of(first, MAY_1), first)]

    frames = validate_frames(split_records(items))

    assert frames.paper_snapshots.height == 2
    paper = frames.papers.row(0, named=True)
    assert (paper["cited_by"], paper["statement_count"], paper["contrasting"]) == (12, 9, 2)
    assert (paper["first_seen"], paper["last_seen"]) == (MAY_1, june)
    assert paper["source_sha256"] == source_of(later, june).sha256
    # The later page shows no abstract: the latest page that has one gives it.
    assert frames.abstracts.row(0, named=True)["observed_at"] == MAY_1

    kept_id = statement_id("10.1/x", kept["text"], kept["section"])
    row = frames.statements.filter(statement_id=kept_id).row(0, named=True)
    assert frames.statements.height == 2
    assert (row["type"], row["first_seen"], row["last_seen"]) == ("contrasting", MAY_1, june)
    assert row["section_category"] == "results"
    history = frames.statement_sightings.filter(statement_id=kept_id).sort("observed_at")
    assert history.select("type", "position").rows() == [("mentioning", 0), ("contrasting", 1)]
    frames_equal(frames, split_records(items[::-1]))


def test_pages_saved_at_the_same_time_are_ordered_by_sha256() -> None:
    one, other = make_record(cited_by=1), make_record(cited_by=2)
    latest = max([one, other], key=lambda record: source_of(record, MAY_1).sha256)

    frames = split_records([(source_of(one, MAY_1), one), (source_of(other, MAY_1), other)])

    assert frames.papers["cited_by"].to_list() == [latest["cited_by"]]


def test_copies_of_the_same_bytes_are_one_page_as_of_the_latest_copy() -> None:
    record = make_record()
    june = MAY_1 + timedelta(days=31)
    items = [(source_of(record, MAY_1, "/a.txt"), record), (source_of(record, june, "/copy/a.txt"), record)]

    frames = validate_frames(split_records(items))

    assert frames.paper_snapshots.select("observed_at", "source_path").rows() == [(june, "/copy/a.txt")]
    assert frames.statement_sightings["observed_at"].to_list() == [june]
    assert frames.facets.height == 8
    assert (frames.papers["first_seen"].item(), frames.papers["last_seen"].item()) == (june, june)


def test_entries_of_one_page_that_normalise_alike_are_one_statement() -> None:
    record = make_record(
        statements=[make_statement("Same  text.", seen=2), make_statement("Other."), make_statement("Same text.")]
    )

    frames = validate_frames(split_records([(source_of(record, MAY_1), record)]))

    assert frames.statement_sightings.sort("position").select("position", "seen").rows() == [(0, 3), (1, 1)]
    assert frames.paper_snapshots["statements_shown"].item() == 2
    assert frames.statements.sort("text")["text"].to_list() == ["Other.", "Same text."]


def test_a_record_without_optional_values_gives_nulls() -> None:
    record = make_record(
        title=None, year=None, abstract=None, abstract_truncated=None, cited_by=None, statement_count=None,
        reference_count=None, tallies=None, citing_years=None, facets={}, statements=[],
    )  # fmt: skip

    frames = validate_frames(split_records([(source_of(record, MAY_1), record)]))

    paper = frames.papers.row(0, named=True)
    assert paper["statements_shown"] == 0
    assert all(paper[name] is None for name in ("title", "cited_by", "supporting", "citing_year_min"))
    assert (frames.abstracts.height, frames.statements.height, frames.facets.height) == (0, 0, 0)


def test_nothing_in_gives_empty_valid_frames() -> None:
    for frames in (split_records([]), combine_frames([]), combine_frames([split_records([])])):
        assert all(frame.is_empty() for _, frame in validate_frames(frames).items())


# A small world, so that pages share DOIs, statements, save times and bytes.
_statements = st.builds(
    make_statement,
    text=st.sampled_from(["Alpha [1].", "Alpha  [1].", "Beta (Wang et al., 2013).", "Gamma. 12 Delta"]),
    section=st.sampled_from([None, "Introduction", "Results And Discussio"]),
    type=st.sampled_from(["supporting", "mentioning", "contrasting"]),
    confidence=st.sampled_from([None, 0.5, 0.99]),
    seen=st.integers(1, 3),
)
_records = st.builds(
    make_record,
    doi=st.sampled_from(["10.1/a", "10.1/b", "10.1/c"]),
    statements=st.lists(_statements, max_size=4),
    cited_by=st.none() | st.integers(0, 50),
    abstract=st.none() | st.sampled_from(["An abstract.", "Another abstract."]),
    facets=st.dictionaries(
        st.sampled_from(["Citation Types", "Relationship"]), st.lists(st.integers(0, 9), max_size=4)
    ),
)
_save_times = st.sampled_from([MAY_1 + timedelta(days=days) for days in (0, 1, 2)])


@st.composite
def _pages_and_partition(draw) -> tuple[list[tuple[SourceFile, Record]], list[int]]:
    """Saved pages, some of them copies of the same bytes, and a part number for each."""
    records = draw(st.lists(_records, min_size=1, max_size=5))
    saves = st.tuples(st.sampled_from(records), _save_times, st.sampled_from(["/x", "/y"]))
    copies = draw(st.lists(saves, min_size=1, max_size=9))
    items = [
        (source_of(record, mtime, f"{folder}/{index}.txt"), record)
        for index, (record, mtime, folder) in enumerate(copies)
    ]
    parts = draw(st.lists(st.integers(0, 3), min_size=len(items), max_size=len(items)))
    return items, parts


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pages_and_partition())
def test_combining_the_splits_of_any_partition_equals_the_split_of_all(case) -> None:
    items, part_of = case
    parts = [[item for item, part in zip(items, part_of) if part == number] for number in range(4)]
    whole = split_records(items)

    splits = [split_records(part) for part in parts]
    frames_equal(combine_frames(splits), whole)
    # Associative: merging merged groups gives the same, and merging is idempotent.
    frames_equal(combine_frames([combine_frames(splits[:2]), combine_frames(splits[2:])]), whole)
    frames_equal(combine_frames([whole, *splits]), whole)
