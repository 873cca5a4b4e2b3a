"""The report parser: the real sample field by field, each variation of the format, non-reports, the CLI."""

from __future__ import annotations

import gzip
import os
import json
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.reading.page_text import MAX_REPORT_BYTES, read_report_file
from tasks.reading.parse import load_report, parse_report
from tasks.reading.record import Record, Rejection

SAMPLE_PATH = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"
SAMPLE = SAMPLE_PATH.read_text(encoding="utf-8")

FIRST_TEXT = (
    "In refractory RA patients, MSC therapy induced a short-term reduction in clinical scores, but the clinical "
    "improvement was not maintained during the follow-up period; thus, complete remission was not achieved in any "
    "patient [35]. In a larger study, MSC therapy provided clinical efficacy in active RA patients for at least "
    "3 months, and additional MSC administrations at 3 months stabilized the disease [36]. Furthermore, in a recent "
    "study of MSC therapy in ALS patients, it was demonstrated that immunomodulatory factors secreted by MSCs were "
    "predictive of the effectiveness of MSC therapy and could potentially identify the patients responsive to therapy."
)
TREG_TEXT = (
    "In a previous study, we demonstrated that the level of Treg cells increased after UC-MSC treatment in active "
    "RA patients. 12 Based on those results, we proposed the novel hypothesis that the efficacy of MSCs in the "
    "treatment of autoimmune diseases could be mediated by Treg function in the restoration of the thymic "
    "dysfunction in those patients."
)
THYMUS_TEXT = (
    "11 Furthermore, umbilical cord derivedMSCs (UC-MSCs) can also increase the percentage of regulatory T cells "
    "(Treg cells) in the peripheral blood of treated patients with rheumatoid arthritis. 12 Because Treg cells are "
    "primarily generated in the thymus, we hypothesized that the therapeutic efficacy of MSCs could be mediated by "
    "regulating thymic function in patients with those diseases. Compared to other sources, UC-MSCs have "
    "well-documented self-renewal and multipotent differentiation properties and possess immunoregulatory capacities."
)
TRIAL_TEXT = (
    "One Phase I/ II trial in a cohort of 172 patients with active RA has been completed, showing that treatment "
    "with both umbilical cord MSC (UC-MSC) and DMARDs significantly improved the 28-joint DAS for 3-6 mo compared "
    "with DMARD treatment alone. 187 These beneficial effects were associated with an increase in peripheral blood "
    "Tregs and a decrease in serum TNF and IL-6. It is encouraging that this first MSC trial in RA patients "
    "indicates that MSC treatment may provide clinical benefit, but further, larger, (Phase III) trials are "
    "required to obtain robust data on their safety and efficacy."
)
ABSTRACT = (
    "This study was designed to assess the safety and efficacy of human umbilical cord mesenchymal stem cells "
    "(UC-MSCs) in the treatment of rheumatoid arthritis (RA). In this ongoing cohort, 172 patients with active RA "
    "who had inadequate responses to traditional medication were enrolled. Patients were divided into two groups "
    "for different treatment: disease-modifying anti-rheumatic drugs (DMARDs) plus medium without UC-MSCs, or "
    "DMARDs plus UC-MSCs group (4×10(7) cells per time) via intravenous injection. Adverse ev"
)
CLINICA = "Limitations Of Msc-mediated Immune Modulation In the Clinica"

EXPECTED: Record = {
    "doi": "10.1089/scd.2013.0023",
    "title": (
        "Human Umbilical Cord Mesenchymal Stem Cell Therapy for Patients with Active Rheumatoid Arthritis: "
        "Safety and Efficacy"
    ),
    "year": 2013,
    "abstract": ABSTRACT,
    "abstract_truncated": True,
    "cited_by": 204,
    "statement_count": 191,
    "reference_count": 40,
    "tallies": {"supporting": 8, "mentioning": 181, "contrasting": 1, "unclassified": 1},
    "citing_years": [2014, 2024],
    "facets": {
        "Paper Sections": [1, 1, 1, 1],
        "Citation Types": [8, 181, 1, 1],
        "Year Published": [2014, 2014, 2024, 2024],
        "Publication Types": [9],
        "Relationship": [1, 8],
        "Authors": [],
        "Journals": [],
    },
    # The page shows five statements; the first one twice.
    "statements": [
        {"text": FIRST_TEXT, "section": CLINICA, "type": "mentioning", "confidence": 0.95, "seen": 2},
        {"text": TREG_TEXT, "section": "Discussion", "type": "mentioning", "confidence": 0.97, "seen": 1},
        {"text": THYMUS_TEXT, "section": "Introduction", "type": "mentioning", "confidence": 0.99, "seen": 1},
        {"text": TRIAL_TEXT, "section": "Mesenchymal Stromal Cells", "type": "mentioning", "confidence": 0.99, "seen": 1},
    ],
    "warnings": [],
}


def edited(old: str, new: str, *, count: int = 1) -> str:
    """The sample with ``old`` replaced by ``new``; ``old`` must occur exactly ``count`` times."""
    assert SAMPLE.count(old) == count, f"{old!r} occurs {SAMPLE.count(old)} times in the sample"
    return SAMPLE.replace(old, new)


def parsed(text: str | bytes) -> Record:
    """The record of a page that must parse (fails the test on a rejection)."""
    result = parse_report(text.encode("utf-8") if isinstance(text, str) else text)
    assert not isinstance(result, Rejection), result.reason
    return result


def expected_with(**changes: object) -> Record:
    """The sample's expected record with some fields changed."""
    return {**EXPECTED, **changes}  # type: ignore[typeddict-item]


def statement(index: int, **changes: object) -> dict:
    """One of the sample's expected statements with some fields changed."""
    return {**EXPECTED["statements"][index], **changes}


def warned(record: Record, *fragments: str) -> None:
    """Assert each fragment occurs in some warning (the wording is the parser's own)."""
    for fragment in fragments:
        assert any(fragment in warning for warning in record["warnings"]), (fragment, record["warnings"])


# --- the real sample ------------------------------------------------------------------------------


def test_sample_parses_to_its_known_values_field_by_field():
    record = load_report(SAMPLE_PATH)
    assert not isinstance(record, Rejection)
    assert list(record) == list(EXPECTED)  # the contract's keys, in the contract's order
    for key, value in EXPECTED.items():
        assert record[key] == value, key
    json.dumps(record)  # the record prints as JSON unchanged


# --- variations of the format ----------------------------------------------------------------------


def test_gzip_compressed_page_gives_the_same_record():
    assert parsed(gzip.compress(SAMPLE.encode())) == EXPECTED


def test_gzip_with_several_members_is_read_whole():
    data = SAMPLE.encode()
    assert parsed(gzip.compress(data[:1000]) + gzip.compress(data[1000:])) == EXPECTED


def test_bytes_after_the_gzip_data_are_ignored_with_a_warning():
    record = parsed(gzip.compress(SAMPLE.encode()) + b"trailing junk")
    assert record == expected_with(warnings=["ignored 13 bytes after the gzip data"])


def test_crlf_line_endings():
    assert parsed(SAMPLE.replace("\n", "\r\n")) == EXPECTED


def test_utf8_byte_order_mark():
    assert parsed(b"\xef\xbb\xbf" + SAMPLE.encode()) == EXPECTED


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16-le", "UTF-16-LE"), ("utf-16-be", "UTF-16-BE"), ("utf-32-le", "UTF-32-LE"), ("utf-32-be", "UTF-32-BE")],
)
def test_utf16_and_utf32_with_a_byte_order_mark_are_decoded_with_a_warning(encoding, name):
    import codecs

    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[encoding]  # fmt: skip
    record = parsed(bom + SAMPLE.encode(encoding))
    assert record == expected_with(warnings=[f"read as {name} (byte-order mark)"])


def test_runs_of_blank_lines():
    assert parsed(SAMPLE.replace("\n", "\n\n \n\t\n")) == EXPECTED


def test_windows_1252_is_read_with_a_warning():
    record = parsed(SAMPLE.encode("cp1252"))  # “ … ” and × have cp1252 bytes that are invalid UTF-8
    assert record == expected_with(warnings=record["warnings"])
    assert record["warnings"] == ["not valid UTF-8: read as Windows-1252"]


def test_thousands_separators_in_counts():
    text = edited("Cited by 204 publications", "Cited by 1,204 publications")
    text = text.replace("(191 citation statements)", "(12,191 citation statements)")
    text = text.replace("\n181\n", "\n12,181\n")  # Citation Types and the repeat after the references line
    record = parsed(text)
    assert (record["cited_by"], record["statement_count"]) == (1204, 12191)
    assert record["tallies"] == {"supporting": 8, "mentioning": 12181, "contrasting": 1, "unclassified": 1}
    assert record["facets"]["Citation Types"] == [8, 12181, 1, 1]
    assert record["warnings"] == []


def test_doi_resolver_prefix_and_upper_case_are_dropped():
    record = parsed(edited("DOI: 10.1089/scd.2013.0023", "DOI: https://doi.org/10.1089/SCD.2013.0023"))
    assert record == EXPECTED


def test_section_title_glued_to_another_type():
    record = parsed(edited("Section: Discussionmentioning", "Section: Results And Discussionsupporting"))
    assert record["statements"][1] == statement(1, section="Results And Discussion", type="supporting")
    assert record["warnings"] == []


def test_bare_type_line_without_section():
    record = parsed(edited("Section: Discussionmentioning", "mentioning"))
    assert record["statements"][1] == statement(1, section=None)
    assert record["warnings"] == []


def test_disputing_means_contrasting():
    record = parsed(edited("Section: Introductionmentioning", "Section: Introductiondisputing"))
    assert record["statements"][2] == statement(2, type="contrasting")


def test_multi_line_statement_text_is_collapsed():
    record = parsed(edited("RA patients. 12 Based on", "RA patients.\n12 Based on\n  "))
    assert record == EXPECTED


def test_a_type_word_alone_on_a_line_inside_a_text_stays_in_the_text():
    record = parsed(edited("RA patients. 12 Based on", "RA patients.\nsupporting\nBased on"))
    assert record["statements"][1]["text"] == TREG_TEXT.replace("patients. 12 Based", "patients. supporting Based")
    assert record["statements"][1]["type"] == "mentioning"
    assert len(record["statements"]) == 4


def test_plain_quote_marks():
    text = edited("“…In a previous study", '"...In a previous study')
    text = text.replace("those patients.…”", 'those patients...."')
    assert parsed(text) == EXPECTED


def test_text_holding_ellipses_quotes_and_brackets_keeps_them():
    inner = 'the “so-called” effect… (see [3,4]) "and" more...'
    record = parsed(edited("derivedMSCs (UC-MSCs)", f"derivedMSCs {inner}"))
    assert record["statements"][2]["text"] == THYMUS_TEXT.replace("derivedMSCs (UC-MSCs)", f"derivedMSCs {inner}")


def test_repeated_statement_with_another_type_keeps_the_first_and_warns():
    record = parsed(
        edited(
            f"Section: {CLINICA}mentioning\nconfidence: 95%\n“…In a previous",
            f"Section: {CLINICA}supporting\nconfidence: 95%\n“…In a previous",
        )
    )
    assert record["statements"] == EXPECTED["statements"]
    warned(record, "supporting", "kept mentioning")


def test_same_text_in_another_section_is_another_statement():
    record = parsed(
        edited(
            f"Section: {CLINICA}mentioning\nconfidence: 95%\n“…In a previous",
            "Section: Discussionmentioning\nconfidence: 95%\n“…In a previous",
        )
    )
    assert [s["seen"] for s in record["statements"]] == [1, 1, 1, 1, 1]
    assert record["statements"][1] == statement(0, section="Discussion", seen=1)


def test_abstract_not_cut_by_the_page():
    record = parsed(edited("Adverse ev… Show more", "Adverse events were recorded."))
    assert record["abstract"] == ABSTRACT + "ents were recorded."
    assert record["abstract_truncated"] is False


def test_abstract_cut_with_three_dots():
    record = parsed(edited("Adverse ev… Show more", "Adverse ev...Show more"))
    assert (record["abstract"], record["abstract_truncated"]) == (ABSTRACT, True)


def test_missing_year():
    assert parsed(edited("2013\nDOI:", "DOI:")) == expected_with(year=None)


def test_missing_title():
    assert parsed(edited(EXPECTED["title"] + "\n", "")) == expected_with(title=None)


def test_missing_abstract():
    start = SAMPLE.index("Abstract:")
    text = SAMPLE[:start] + SAMPLE[SAMPLE.index("\n", start) :]
    assert parsed(text) == expected_with(abstract=None, abstract_truncated=None)


def test_fewer_than_four_citation_types_numbers_leave_tallies_null():
    record = parsed(edited("Citation Types\n\n8\n181\n1\n1\n", "Citation Types\n\n8\n181\n"))
    assert record["tallies"] is None
    assert record["facets"]["Citation Types"] == [8, 181]
    assert record["statements"] == EXPECTED["statements"]
    warned(record, "Citation Types shows 2 numbers", "differ from Citation Types")


def test_repeat_tallies_disagreeing_with_citation_types_is_a_warning():
    record = parsed(edited("References 40 publications\n8\n181", "References 40 publications\n9\n181"))
    assert record == expected_with(warnings=record["warnings"])
    assert len(record["warnings"]) == 1
    warned(record, "[9, 181, 1, 1]")


def test_missing_confidence_is_null_with_a_warning():
    record = parsed(edited("confidence: 97%\n", ""))
    assert record["statements"][1] == statement(1, confidence=None)
    assert len(record["warnings"]) == 1
    warned(record, "confidence")


def test_unknown_lines_and_blocks_are_named_in_warnings():
    text = edited("Safety and Efficacy\n", "Safety and Efficacy\n\nShare on a social network\n")
    text = text.replace("Journals\n", "Journals\n\nFunders\n3\n")
    text = text.replace("“…One Phase", "Load 10 more statements\n“…One Phase")
    record = parsed(text)
    assert record == expected_with(warnings=record["warnings"])
    assert record["warnings"] == [
        "unknown line 'Share on a social network'",
        "unknown line 'Funders'",
        "unknown line '3'",
        "unknown line 'Load 10 more statements'",
    ]


def test_statements_without_the_second_order_by_line():
    assert parsed(edited("1\nOrder By: Relevance\n“", "1\n“")) == EXPECTED


# --- files that are not reports, and cut-off files --------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (b"  \r\n\n\t \n", "white space only"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary content (NUL bytes)"),
        (bytes(range(1, 32)) * 50 + b"\nDOI: 10.1/x\n", "binary content"),
        (
            b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body>\n"
            b'<form action="/login"><input name="email"><input type="password"></form>\n</body></html>\n',
            "no DOI line",
        ),
        (b"502 Bad Gateway\n\nThe server returned an invalid response. Please try again later.\n", "no DOI line"),
        (b"2013\nDOI: see the publisher's page\n", "malformed DOI line"),
        (gzip.compress(SAMPLE.encode())[:-40], "corrupt gzip: truncated"),
        (b"\x1f\x8b\x08\x00garbage that is not deflate data", "corrupt gzip"),
    ],
    ids=["empty", "bom only", "white space", "png", "control bytes", "login page", "error page", "bad doi",
         "truncated gzip", "corrupt gzip"],
)
def test_non_reports_are_rejected_with_a_reason(data: bytes, reason: str):
    result = parse_report(data)
    assert isinstance(result, Rejection)
    assert reason in result.reason
    assert "\n" not in result.reason


def test_gzip_with_a_flipped_byte_is_corrupt():
    data = bytearray(gzip.compress(SAMPLE.encode()))
    data[len(data) // 2] ^= 0xFF
    result = parse_report(bytes(data))
    assert isinstance(result, Rejection) and result.reason.startswith("corrupt gzip")


def test_gzip_bomb_is_rejected():
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    megabyte = b"\n" * (1 << 20)
    bomb = b"".join(deflate.compress(megabyte) for _ in range((MAX_REPORT_BYTES >> 20) + 1)) + deflate.flush()
    result = parse_report(bomb)
    assert isinstance(result, Rejection) and "beyond 64 MiB" in result.reason


def test_unreadable_path_is_a_rejection(tmp_path):
    result = load_report(tmp_path / "missing.txt")
    assert isinstance(result, Rejection) and result.reason == "cannot read the file: No such file or directory"


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, (1 << 20) + 3, 3 * (1 << 20) + 17])
def test_a_file_is_read_whole_and_up_to_a_limit(tmp_path, size):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "page.txt"
    path.write_bytes(data)
    assert read_report_file(path) == data
    assert read_report_file(str(path).encode()) == data
    for limit in {0, 1, max(size - 1, 0), size, size + 1, 2 << 20}:
        assert read_report_file(path, limit=limit) == data[:limit]


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "page.txt"
    os.mkfifo(fifo)
    result = read_report_file(fifo)
    assert isinstance(result, Rejection) and result.reason == "cannot read the file: not a regular file"


def test_file_cut_off_inside_a_statement_keeps_the_complete_ones():
    record = parsed(SAMPLE[: SAMPLE.index("thymic function in patients")])
    assert record == expected_with(statements=EXPECTED["statements"][:2], warnings=record["warnings"])
    assert len(record["warnings"]) == 1
    warned(record, "cut off inside a statement", "11 Furthermore")


def test_file_cut_off_inside_a_confidence_line_drops_that_statement():
    record = parsed(SAMPLE[: SAMPLE.index("confidence: 99%") + len("confidence: 9")])
    assert record["statements"] == EXPECTED["statements"][:2]
    warned(record, "cut off inside a statement")


def test_file_cut_inside_a_utf8_character_is_still_read_as_utf8():
    data = SAMPLE.encode()
    cut = data.index("“".encode(), data.index(b"confidence: 97%")) + 2  # two of the quote mark's three bytes
    record = parsed(data[:cut])
    assert record["statements"] == EXPECTED["statements"][:2]
    assert record["abstract"] == ABSTRACT  # not read as Windows-1252
    assert record["warnings"] == ["file ends inside a UTF-8 character: its first bytes are dropped"]


# --- the parse command --------------------------------------------------------------------------------


def test_cli_json_prints_one_record_per_line_and_rejects_non_reports(tmp_path):
    gzipped = tmp_path / "scd.2013.0023.txt.gz"
    gzipped.write_bytes(gzip.compress(SAMPLE.encode()))
    login = tmp_path / "login.txt"
    login.write_text("<html><body>Please sign in</body></html>\n")
    result = CliRunner().invoke(app, ["parse", "--json", str(SAMPLE_PATH), str(login), str(gzipped)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"path": str(SAMPLE_PATH), **EXPECTED},
        {"path": str(gzipped), **EXPECTED},
    ]
    assert "4×10(7)" in lines[0]  # ensure_ascii=False
    assert result.stderr == f"{login}: rejected: no DOI line: not a citation report\n"


def test_cli_summary_of_a_good_file():
    result = CliRunner().invoke(app, ["parse", str(SAMPLE_PATH)])
    assert result.exit_code == 0, result.output
    assert "10.1089/scd.2013.0023" in result.stdout
    assert "204 publications, 191 citation statements, 40 references" in result.stdout
    assert "supporting 8, mentioning 181, contrasting 1, unclassified 1" in result.stdout
    assert "4 distinct, 4 mentioning" in result.stdout
    assert result.stderr == ""


def test_cli_parse_of_a_fifo_is_rejected_without_waiting_for_a_writer(tmp_path):
    import os
    import subprocess
    import sys

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    # A subprocess, so that a parser that opens the FIFO and blocks is killed by the timeout.
    result = subprocess.run(
        [sys.executable, "-c", "from flows.cli import app; app()", "parse", str(fifo)],
        capture_output=True, text=True, timeout=30, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == f"{fifo}: rejected: cannot read the file: not a regular file\n"


def test_cli_parse_of_a_folder_is_rejected(tmp_path):
    result = CliRunner().invoke(app, ["parse", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == f"{tmp_path}: rejected: cannot read the file: not a regular file\n"


@pytest.mark.parametrize(
    "text",
    [
        "DOI: 10.1089/scd.2013.0023\n" + "\n".join(f"garbage line {n} %$#@!" for n in range(300)) + "\n",
        "2013\nDOI: 10.1089/scd.2013.0023\nA title and nothing else\n",
        "DOI: 10.1/x\n\x89PNG-ish \xe2\x80\x9c noise\nmore noise\n",
    ],
    ids=["garbage lines", "title only", "noise"],
)
def test_a_doi_line_without_any_of_a_reports_blocks_is_rejected(text: str):
    result = parse_report(text.encode("utf-8", errors="surrogateescape"))
    assert isinstance(result, Rejection)
    assert result.reason == "DOI line but none of a report's blocks: not a citation report"


@pytest.mark.parametrize(
    "block",
    ["Cited by 3 publications", "References 4 publications", "Citation Types\n1\n2\n3\n4", "Abstract: An abstract.",
     '“A quoted statement.”\nSection: Introductionmentioning\nconfidence: 90%'],
    ids=["cited by", "references", "facet block", "abstract", "statement"],
)  # fmt: skip
def test_one_of_a_reports_blocks_beside_the_doi_is_enough(block: str):
    result = parse_report(f"DOI: 10.1/x\nA title\n{block}\n".encode())
    assert not isinstance(result, Rejection), result.reason
