"""What the commands say to a person: errors that keep their help, files written, results that are empty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.writer import LakeWriter
from tasks.reading.split import split_records


@pytest.fixture
def small_lake(lake, lake_location, make_page, report_files_of):
    pages = [
        make_page("10.1234/a", datetime(2024, 1, 1, tzinfo=UTC), [("a", "Results", "contrasting", 0.9)], title="First"),
        make_page("10.1234/b", datetime(2024, 2, 1, tzinfo=UTC), [("b", None, "supporting", 0.8)], title="Second"),
    ]
    with LakeWriter(lake, run_id="run-1") as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.finish({"seen": 2, "new": 2})
    return lake_location


def test_a_sql_error_keeps_duckdbs_suggestion_on_its_one_line(small_lake):
    runner = CliRunner()
    lake = ["--lake", str(small_lake.path)]
    table = runner.invoke(app, ["sql", "select * from paper", *lake])
    assert table.exit_code == 1
    assert table.stderr == 'citelake sql: Catalog Error: Table with name paper does not exist! Did you mean "papers"?\n'
    column = runner.invoke(app, ["sql", "select titl from papers", *lake])
    assert column.exit_code == 1
    (line,) = column.stderr.splitlines()
    assert line.startswith('citelake sql: Binder Error: Referenced column "titl" not found') and '"title"' in line
    # The query quoted back with a caret is left out: one line, whatever DuckDB adds.
    syntax = runner.invoke(app, ["sql", "selec 1", *lake])
    assert syntax.exit_code == 1
    assert syntax.stderr == 'citelake sql: Parser Error: syntax error at or near "selec"\n'
