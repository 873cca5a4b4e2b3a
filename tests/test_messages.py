"""What the commands say to a person: errors that keep their help, files written, results that are empty."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.messages import human_size
from flows.cli.reading import _generate_progress
from tasks.corpus.generate import CorpusSummary


def test_a_sql_error_keeps_duckdbs_suggestion_on_its_one_line(two_paper_lake):
    runner = CliRunner()
    lake = ["--lake", str(two_paper_lake.path)]
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


def test_an_empty_alerts_list_says_so_in_the_table_format_only(two_paper_lake):
    runner = CliRunner()
    lake = ["--lake", str(two_paper_lake.path)]
    table = runner.invoke(app, ["alerts", *lake])
    assert table.exit_code == 0, table.output
    assert table.stdout == (
        "no alerts yet: each ingest raises them for the watched papers it changes (citelake watch add DOI)\n"
    )
    filtered = runner.invoke(app, ["alerts", "--kind", "retracted", "--since", "2024-01-01", *lake])
    assert filtered.stdout == "no alerts match --since 2024-01-01 --kind retracted\n"
    # Programs read csv and json: a header alone, and nothing.
    as_csv = runner.invoke(app, ["alerts", "--format", "csv", *lake])
    assert as_csv.stdout == '"observed_at","doi","kind","title","statement_id","run_id","detail","alert_id"\n'
    as_json = runner.invoke(app, ["alerts", "--format", "json", *lake])
    assert as_json.exit_code == 0 and as_json.stdout == ""


def test_an_empty_watchlist_says_so_in_the_table_format_only(two_paper_lake):
    runner = CliRunner()
    lake = ["--lake", str(two_paper_lake.path)]
    table = runner.invoke(app, ["watch", "list", *lake])
    assert table.exit_code == 0, table.output
    assert table.stdout == "no papers watched yet: citelake watch add DOI or citelake watch import FILE adds some\n"
    as_csv = runner.invoke(app, ["watch", "list", "--format", "csv", *lake])
    assert as_csv.stdout.startswith('"doi","label"') and len(as_csv.stdout.splitlines()) == 1
    assert runner.invoke(app, ["watch", "list", "--format", "json", *lake]).stdout == ""
    # A watched paper is listed as a table again.
    assert runner.invoke(app, ["watch", "add", "10.1234/a", *lake]).exit_code == 0
    listed = runner.invoke(app, ["watch", "list", *lake])
    assert "10.1234/a" in listed.stdout and "no papers" not in listed.stdout


def test_a_search_without_hits_says_so_in_the_table_format_only(two_paper_lake):
    runner = CliRunner()
    lake = ["--lake", str(two_paper_lake.path)]
    table = runner.invoke(app, ["search", "xyzzy", *lake])
    assert table.exit_code == 0, table.output
    assert table.stdout == "no statements match 'xyzzy'\n"
    narrowed = runner.invoke(app, ["search", "a", "--type", "supporting", "--paper-year-from", "2030", "--offset", "20", *lake])
    assert narrowed.stdout == "no statements match 'a' with --type supporting --paper-year-from 2030 past the first 20\n"
    # With --facets the count follows, without a breakdown of nothing.
    faceted = runner.invoke(app, ["search", "xyzzy", "--facets", *lake])
    assert faceted.stdout.splitlines()[0] == "no statements match 'xyzzy'"
    assert faceted.stdout.splitlines()[1].startswith("0 matching statements") and len(faceted.stdout.splitlines()) == 2
    # Programs read csv and json: a header alone, and nothing.
    as_csv = runner.invoke(app, ["search", "xyzzy", "--format", "csv", *lake])
    assert as_csv.stdout.startswith('"rank","score","statement_id"') and len(as_csv.stdout.splitlines()) == 1
    assert runner.invoke(app, ["search", "xyzzy", "--format", "json", *lake]).stdout == ""
    # A hit is a table again.
    assert "10.1234/b" in runner.invoke(app, ["search", "b", *lake]).stdout


@pytest.mark.parametrize(("output_format", "name"), [("html", "a.html"), ("text", "a.txt"), ("json", "a.json")])
def test_explain_out_says_what_it_wrote(two_paper_lake, tmp_path, output_format, name):
    out = tmp_path / name
    result = CliRunner().invoke(app, ["explain", "10.1234/a", "--lake", str(two_paper_lake.path), "-f", output_format, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"citelake explain: wrote {out} ({output_format}, {human_size(out.stat().st_size)})\n"


def test_explain_out_in_markdown_names_its_charts_too(two_paper_lake, tmp_path):
    out = tmp_path / "a.md"
    result = CliRunner().invoke(app, ["explain", "10.1234/a", "--lake", str(two_paper_lake.path), "-f", "markdown", "-o", str(out)])
    assert result.exit_code == 0, result.output
    charts = [tmp_path / f"a-{chart}.png" for chart in ("balance", "history", "sections")]
    assert result.stderr == (
        f"citelake explain: wrote {out} (markdown, {human_size(out.stat().st_size)}) and beside it "
        f"a-balance.png, a-history.png, a-sections.png ({human_size(sum(chart.stat().st_size for chart in charts))})\n"
    )


def test_generate_says_what_it_wrote_on_stderr_and_keeps_its_json_on_stdout(tmp_path):
    out = tmp_path / "corpus"
    result = CliRunner().invoke(app, ["generate", str(out), "--count", "5"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["files"] == 5
    written = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    assert written == summary["total_bytes"]
    assert result.stderr == f"citelake generate: wrote 5 files to {out} ({human_size(written)})\n"


def test_generate_off_a_terminal_tells_its_progress_once_per_thousand_files(capsys):
    with _generate_progress(2500) as show:
        for files in range(1, 2501):
            show(CorpusSummary(files=files))
    assert capsys.readouterr().err == "generated 1,000/2,500 files\ngenerated 2,000/2,500 files\n"


def test_sizes_read_as_a_person_reads_them():
    assert [human_size(size) for size in (0, 812, 23_456, 3_100_000, 1_234_000_000)] == [
        "0 B", "812 B", "23 kB", "3.1 MB", "1.2 GB"
    ]  # fmt: skip
