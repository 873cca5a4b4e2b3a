"""The parser on arbitrary and mangled bytes: always a well-formed record or a rejection, never an exception."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.reading.parse import FACET_NAMES, NO_REPORT_BLOCK, parse_report
from tasks.reading.record import TALLY_CLASSES, Record, Rejection, collapse_whitespace

SAMPLE = (Path(__file__).parent / "fixtures" / "scd.2013.0023.txt").read_bytes()
SAMPLE_LINES = SAMPLE.split(b"\n")
SAMPLE_RECORD = parse_report(SAMPLE)
RECORD_KEYS = list(Record.__annotations__)
STATEMENT_KEYS = ["text", "section", "type", "confidence", "seen"]

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _optional(value: object, kind: type) -> bool:
    """None, or a value of exactly ``kind`` (so a bool does not pass for an int)."""
    return value is None or type(value) is kind


def assert_well_formed(result: Record | Rejection) -> None:
    """A rejection with a one-line reason, or a record of the contract's keys and types."""
    if isinstance(result, Rejection):
        assert isinstance(result.reason, str) and result.reason.strip()
        assert "\n" not in result.reason
        # parse_report turns an exception into "parser error: ..." so a run goes on; here it is a bug.
        assert not result.reason.startswith("parser error"), result.reason
        return
    assert list(result) == RECORD_KEYS
    assert isinstance(result["doi"], str) and result["doi"].startswith("10.") and result["doi"] == result["doi"].lower()
    for key in ("title", "abstract"):
        assert _optional(result[key], str) and result[key] != ""
    for key in ("year", "cited_by", "statement_count", "reference_count"):
        assert _optional(result[key], int) and (result[key] is None or result[key] >= 0)
    assert _optional(result["abstract_truncated"], bool)
    assert (result["abstract"] is None) == (result["abstract_truncated"] is None)
    tallies = result["tallies"]
    assert tallies is None or (list(tallies) == list(TALLY_CLASSES) and all(type(n) is int for n in tallies.values()))
    years = result["citing_years"]
    assert years is None or (len(years) == 2 and all(type(y) is int for y in years) and years[0] <= years[1])
    assert isinstance(result["facets"], dict) and set(result["facets"]) <= FACET_NAMES
    for numbers in result["facets"].values():
        assert isinstance(numbers, list) and all(type(n) is int and n >= 0 for n in numbers)
    identities = set()
    for statement in result["statements"]:
        assert list(statement) == STATEMENT_KEYS
        assert isinstance(statement["text"], str) and statement["text"]
        assert statement["text"] == collapse_whitespace(statement["text"])
        assert statement["section"] is None or (isinstance(statement["section"], str) and statement["section"])
        assert statement["type"] in ("supporting", "mentioning", "contrasting")
        assert statement["confidence"] is None or 0.0 <= statement["confidence"] <= 1.0
        assert type(statement["seen"]) is int and statement["seen"] >= 1
        identities.add((statement["text"], statement["section"]))
    assert len(identities) == len(result["statements"])  # each distinct statement listed once
    assert all(isinstance(warning, str) and "\n" not in warning for warning in result["warnings"])
    json.dumps(result, ensure_ascii=False)


@st.composite
def mangled_samples(draw: st.DrawFn) -> bytes:
    """The sample with lines deleted or repeated, bytes flipped, cut off, and perhaps gzipped."""
    lines = list(SAMPLE_LINES)
    for _ in range(draw(st.integers(0, 6))):
        index = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            del lines[index]
        else:
            lines.insert(index, lines[index])
        if not lines:
            break
    data = bytearray(draw(st.sampled_from([b"\n", b"\r\n"])).join(lines))
    for _ in range(draw(st.integers(0, 8))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    data = bytes(data[: draw(st.integers(0, len(data)))]) if draw(st.booleans()) else bytes(data)
    if draw(st.booleans()):
        data = gzip.compress(data, compresslevel=1)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return data


@FUZZ
@given(st.binary(max_size=6000))
def test_arbitrary_bytes(data: bytes):
    assert_well_formed(parse_report(data))


# Lines of the format's own kinds, and near misses, for pages assembled at random.
FORMAT_LINES = [
    "", "2013", "DOI: 10.1/x", "|View full text |Cite", "A title: with a colon", "Abstract: Some text… Show more",
    "Help me understand this report", "Order By: Relevance", *sorted(FACET_NAMES), "Select...", "8", "1,204", "12,34",
    "citations", "Cited by 1,204 publications", "(191 citation statements)", "references", "References 40 publications",
    "“…A statement", "with “inner” quotes… and [3,4]", "its end.…”", '"...plain quotes..."', "“…”",
    "Section: Resultsmentioning", "Section: Discussion supporting", "Section: mentioning", "Section: Xcontrast",
    "mentioning", "disputing", "supporting", "confidence: 95%", "confidence: 100.5%", "confidence: 9", "confidence:",
]


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(FORMAT_LINES), st.text(max_size=30)), max_size=60))
def test_pages_assembled_from_format_lines(lines: list[str]):
    """Pages made of the format's own lines in any order, so every reader and warning gets exercised."""
    assert_well_formed(parse_report("\n".join(["DOI: 10.1/x", *lines]).encode()))


@FUZZ
@given(mangled_samples())
def test_mangled_samples(data: bytes):
    assert_well_formed(parse_report(data))


def test_sample_cut_off_at_every_byte():
    """Wherever the file is cut, what is kept is what the whole page says, never a misread."""
    statements = {(s["text"], s["section"], s["type"]): s for s in SAMPLE_RECORD["statements"]}
    doi_line_end = SAMPLE.index(b"\n", SAMPLE.index(b"DOI:"))
    first_block = SAMPLE.index(b"\nAbstract:") + len(b"\nAbstract:")  # the first of a report's own blocks
    for cut in range(len(SAMPLE) + 1):
        result = parse_report(SAMPLE[:cut])
        assert_well_formed(result)
        if cut < doi_line_end:
            continue  # before the DOI is whole: a rejection, or a record of a shorter DOI
        if cut < first_block:  # a DOI and a title, none of a report's blocks yet: not recognisably a report
            assert result == Rejection(NO_REPORT_BLOCK), (cut, result)
            continue
        assert not isinstance(result, Rejection), (cut, result)
        assert result["doi"] == SAMPLE_RECORD["doi"]
        for statement in result["statements"]:
            whole = statements[statement["text"], statement["section"], statement["type"]]
            assert statement["confidence"] in (whole["confidence"], None)
            assert statement["seen"] <= whole["seen"]
