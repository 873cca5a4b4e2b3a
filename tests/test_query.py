"""Users' read-only SQL (``citelake sql``) and the Parquet export (``citelake export``)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.session import open_lake
from tasks.lake.query import USER_TABLES, WriteRefused, export_lake, run_readonly_query


@pytest.mark.parametrize(
    "statement",
    [
        "insert into papers (doi) values ('x')",
        "create table x (i integer)",
        "drop table papers",
        "update papers set title = 'x'",
        "copy papers to 'out.csv'",
        "attach 'other.db' as other",
        "select 1; delete from papers",
    ],
)
def test_write_statements_are_refused(two_paper_lake, statement):
    with pytest.raises(WriteRefused, match="refused"):
        run_readonly_query(two_paper_lake, statement)
    assert run_readonly_query(two_paper_lake, "select count(*) as n from papers").to_pylist() == [{"n": 2}]


@pytest.mark.slow
def test_cli_refuses_a_write_with_exit_2(two_paper_lake):
    result = CliRunner().invoke(app, ["sql", "drop table papers", "--lake", str(two_paper_lake.path)])
    assert result.exit_code == 2
    assert "DROP" in result.output


def test_cli_answers_selects_on_tables_and_views_in_every_format(two_paper_lake):
    lake = ["--lake", str(two_paper_lake.path)]
    runner = CliRunner()
    as_json = runner.invoke(app, ["sql", "select doi, title from papers order by doi", *lake, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert [json.loads(line) for line in as_json.output.splitlines()] == [
        {"doi": "10.1234/a", "title": "First"},
        {"doi": "10.1234/b", "title": "Second"},
    ]
    as_csv = runner.invoke(app, ["sql", "select doi, title from contrasting_statements", *lake, "--format", "csv"])
    assert as_csv.output.splitlines() == ['"doi","title"', '"10.1234/a","First"']
    as_table = runner.invoke(app, ["sql", "select doi, supporting_share from paper_citation_profile order by doi", *lake])
    assert as_table.exit_code == 0
    assert "10.1234/b" in as_table.output and "supporting_share" in as_table.output


def test_cli_on_a_missing_lake_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["sql", "select 1", "--lake", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no lake at" in result.output


def test_export_writes_every_table_readable_with_the_same_rows(two_paper_lake, tmp_path):
    out_dir = tmp_path / "export"
    rows = export_lake(two_paper_lake, out_dir)
    assert set(rows) == set(USER_TABLES)
    reader = open_lake(two_paper_lake, read_only=True)
    for table in USER_TABLES:
        (expected,) = reader.execute(f"select count(*) from {table}").fetchone()
        assert pq.read_table(out_dir / f"{table}.parquet").num_rows == expected == rows[table]
    reader.close()
    assert rows["papers"] == 2
    # A second export replaces the first whole and leaves no staging folder behind.
    export_lake(two_paper_lake, out_dir)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export", "lake"]


def test_export_refuses_to_replace_a_foreign_folder(two_paper_lake, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a citelake export"):
        export_lake(two_paper_lake, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
