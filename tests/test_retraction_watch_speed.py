"""The Retraction Watch export's fast paths (issue 31) give what their plain forms give.

The reader's DOI column is normalised in polars for printable ASCII text; it
must agree with the project's one normaliser (``tasks.reading.record.normalise_doi``)
on every input. The view ``retraction_status`` takes each DOI's latest export
record by an aggregate and joins the two sources once; it must give what the
row-number window over the records and the union of both sources' DOIs gave,
ties, missing dates and reinstatements included.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tasks.lake.sql import read_sql
from tasks.reading.record import DiscoveredFile, normalise_doi
from tasks.reading.retraction_watch import COLUMNS, _CSV_OPTIONS, normalised_doi, read_export_file
from tests.test_retraction_watch import export_text, place, record

AWKWARD_DOIS = [
    "10.1371/journal.pone.0000018",
    "  https://doi.org/10.1371/JOURNAL.PONE.0000018  ",
    "HTTP://DX.DOI.ORG/10.1000/ABC",
    "www.doi.org/10.1000/x",
    "doi.org/10.1000/x",
    "DOI: 10.1000/x",
    "doi:10.1000/x",
    "doi:   10.1000/x ",
    "https://doi.org/doi:10.1000/x",  # one prefix only
    "doi:https://doi.org/10.1000/x",
    "https://www.doi.org/10.1000/x",
    "ftp://doi.org/10.1000/x",
    "10.1000/x doi:",
    "",
    "   ",
    "10.1000/ÄBC",  # not ASCII: Python's lower-casing
    "İ10.1000/x",
    "ﬀ10.1000/ß",
    "doi:\t10.1000/x",  # white space Python and Rust tell apart
    "doi:\x1c10.1000/x\x1f",
    "\u00a010.1000/x\u2003",
    "10.1000/\x7f",
    None,
]


def test_the_vectorised_doi_normaliser_agrees_with_the_one_normaliser() -> None:
    rng = random.Random(31)
    pieces = ["10.", "1000", "/", "x", "X", " ", "doi", "DOI", ":", "https://", "http://", "dx.", "www.", "doi.org/",
              "\t", "\u00a0", "É", "ß", "İ", "\x1f", ".", "-", "(", ")"]  # fmt: skip
    generated = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    values = AWKWARD_DOIS + generated
    got = pl.DataFrame({"doi": values}, schema={"doi": pl.Utf8}).select(normalised_doi(pl.col("doi")))["doi"].to_list()
    expected = [None if value is None else normalise_doi(value) for value in values]
    assert got == expected


def _row_by_row(path: Path) -> list[dict]:
    """The export's rows as the csv module reads them, each DOI through normalise_doi one at a time."""
    import csv

    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0][: len(COLUMNS)] == list(COLUMNS)
    out = []
    for fields in rows[1:]:
        row = dict(zip(COLUMNS, fields, strict=False))
        doi = row["OriginalPaperDOI"].strip()
        out.append({
            "record_id": int(row["Record ID"]),
            "doi": None if doi.lower() in ("", "unavailable", "0") else normalise_doi(doi),
        })  # fmt: skip
    return out


def test_the_reader_gives_the_row_by_row_dois_on_the_exports_layout(tmp_path: Path) -> None:
    records = [
        record(1, OriginalPaperDOI=" https://doi.org/10.1371/JOURNAL.PONE.0000001 ", Title='A, "quoted", title',
               Notes="line one\r\nline two, with a comma"),
        record(2, OriginalPaperDOI="unavailable", RetractionDOI="0", RetractionDate="12/31/2021 0:00"),
        record(3, OriginalPaperDOI="DOI: 10.1000/Ä-Non-ASCII", Reason="+Paper Mill;+Fake Peer Review;"),
        record(4, OriginalPaperDOI="0", OriginalPaperPubMedID="0"),
        record(5, OriginalPaperDOI="doi:\t10.1000/TAB"),
    ]  # fmt: skip
    path = place(tmp_path, "retraction_watch.csv", export_text(records))
    read = read_export_file(DiscoveredFile(path=str(path), size=path.stat().st_size, mtime=datetime(2024, 1, 1, tzinfo=UTC)))
    assert not hasattr(read.rows, "reason"), read.rows
    assert read.rows.select("record_id", "doi").to_dicts() == _row_by_row(path)
    # the raw CSV read keeps every record whole, quoted line breaks and commas included
    assert pl.read_csv(path, **_CSV_OPTIONS).height == len(records)


# The view's former definition: the latest record by a row-number window, both sources' DOIs by a union.
REFERENCE_LATEST = """
    select doi, nature, retraction_date
    from retractions
    where doi is not null and nature in ('Retraction', 'Reinstatement')
    qualify row_number() over (partition by doi order by retraction_date desc nulls last, record_id desc) = 1
"""


@pytest.fixture
def sources() -> duckdb.DuckDBPyConnection:
    """The three tables the view reads, in a plain DuckDB, with ties, missing dates and both sources on some DOIs."""
    con = duckdb.connect()
    con.execute("create table api_papers (doi varchar, observed_at timestamptz, source_sha256 varchar, retracted boolean)")
    con.execute("create table editorial_notices (doi varchar, status varchar, date varchar, source_sha256 varchar)")
    con.execute("create table retractions (record_id bigint, doi varchar, nature varchar, retraction_date date)")
    rng = random.Random(7)
    natures = ["Retraction", "Reinstatement", "Correction", "Expression of concern", None]
    dates = [None, "2020-01-01", "2020-01-01", "2021-06-30", "2022-03-14"]
    dois = [f"10.1000/{n}" for n in range(60)] + [None]
    retractions = [(n, rng.choice(dois), rng.choice(natures), rng.choice(dates)) for n in range(400)]
    con.executemany("insert into retractions values (?, ?, ?, ?)", retractions)
    for n in range(0, 80, 3):
        doi, sha = f"10.1000/{n}", f"sha{n}"
        con.execute("insert into api_papers values (?, ?, ?, ?)", [doi, datetime(2024, 1, 1, tzinfo=UTC), sha, rng.choice([True, False, None])])
        if n % 2:
            con.execute("insert into editorial_notices values (?, ?, ?, ?)", [doi, rng.choice(["Retraction", "Correction"]), rng.choice(dates), sha])
    con.execute(read_sql("views/latest_api_papers.sql"))
    con.execute(read_sql("views/retraction_status.sql"))
    return con


def test_the_status_view_takes_each_dois_latest_record_as_the_window_did(sources: duckdb.DuckDBPyConnection) -> None:
    got = sources.execute(
        "select doi, retraction_watch_latest, retraction_watch_date from retraction_status "
        "where retraction_watch_latest is not null order by doi"
    ).fetchall()
    expected = sources.execute(f"select doi, nature, retraction_date from ({REFERENCE_LATEST}) order by doi").fetchall()
    assert got == expected and len(got) > 40


def test_the_status_view_describes_each_doi_of_either_source_once(sources: duckdb.DuckDBPyConnection) -> None:
    described = sources.execute(
        f"select count(*) from (select doi from latest_api_papers union select doi from ({REFERENCE_LATEST}))"
    ).fetchone()[0]
    rows = sources.execute("select count(*), count(distinct doi), count(doi) from retraction_status").fetchone()
    assert rows == (described, described, described)
    # a DOI both describe carries both sources' values in one row
    both = sources.execute(
        "select count(*) from retraction_status where scite_api_observed_at is not null and retraction_watch_latest is not null"
    ).fetchone()[0]
    assert both > 0
