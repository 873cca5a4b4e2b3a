"""``citelake sql`` is a read-only window onto the lake: it writes nothing and reads nothing else.

Each attempt runs through the real command against a real lake; afterwards the
lake folder must be byte for byte what it was, and files outside it unread.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.extensions import extension_file


def _tree_digest(folder) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


@pytest.fixture
def sealed_lake(two_paper_lake, lake, tmp_path):
    """A lake with two papers, and a secret file beside it that no query may read."""
    lake.close()
    lake_location = two_paper_lake
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret\n")
    # A loadable extension outside the installed packages, for the LOAD attempt.
    shutil.copy(extension_file("fts"), tmp_path / "other.duckdb_extension")
    return lake_location, secret


def _attempts(lake, secret) -> list[str]:
    catalog = lake / "catalog.sqlite"
    return [
        # writes
        "insert into papers (doi) values ('x')",
        "update papers set title = 'x'",
        "delete from papers",
        "create table t (i integer)",
        "create temp table t as select 1",
        "create macro m(x) as x",
        "create or replace view papers2 as select 1",
        "drop table papers",
        "alter table papers add column x integer",
        "truncate papers",
        "vacuum",
        "checkpoint",
        "begin",
        # files written or read
        f"copy papers to '{lake}/out.csv'",
        f"copy (select 'x' as x) to '{catalog}' (format csv)",
        f"explain analyze copy (select 'x' as x) to '{catalog}' (format csv)",
        f"explain copy (select 'x' as x) to '{lake}/x.csv'",
        f"export database '{lake}/export'",
        f"select content from read_text('{secret}')",
        f"select * from read_csv('{secret}')",
        "select * from read_csv('/etc/passwd')",
        "select * from glob('/root/*')",
        "select * from read_blob('/etc/**')",
        f"select * from read_parquet('{secret.parent}/**/*.parquet')",
        f"select * from query('select * from read_text(''{secret}'')')",
        f"from read_text('{secret}')",
        f"with x as (select * from read_text('{secret}')) select * from x",
        f"select (select content from read_text('{secret}'))",
        # other databases, extensions, settings
        "attach ':memory:' as other",
        f"attach '{secret.parent}/other.duckdb' as other",
        "detach lake",
        "use memory",
        "install httpfs",
        "load fts",
        # an extension file outside the installed packages (the lake's DuckDB takes unsigned ones: see connect())
        f"load '{secret.parent}/other.duckdb_extension'",
        "set enable_external_access = true",
        "explain analyze set threads = 1",
        "reset lock_configuration",
        "pragma enable_profiling",
        "pragma threads = 1",
        "call ducklake_expire_snapshots('lake', older_than => now())",
        "select * from ducklake_cleanup_old_files('lake', cleanup_all => true)",
        "select * from ducklake_merge_adjacent_files('lake')",
        "select * from ducklake_set_option('lake', 'parquet_compression', 'gzip')",
        # several statements, prepared statements
        "select 1; delete from papers",
        "select 1; copy papers to 'x.csv'",
        "prepare p as select 1",
        "prepare p as delete from papers; execute p",
        "execute p",
    ]


@pytest.mark.slow
def test_at_least_thirty_attempts_are_each_refused_and_the_lake_is_unchanged(sealed_lake):
    location, secret = sealed_lake
    attempts = _attempts(location.path, secret)
    assert len(attempts) >= 30
    before = _tree_digest(location.path)
    runner = CliRunner()
    answered = {}
    for attempt in attempts:
        result = runner.invoke(app, ["sql", attempt, "--lake", str(location.path)])
        answered[attempt] = (result.exit_code, result.output.strip().splitlines()[-1:] if result.output else [])
    not_refused = {attempt: outcome for attempt, outcome in answered.items() if outcome[0] != 2}
    assert not_refused == {}
    assert all("the secret" not in str(outcome) for outcome in answered.values())
    assert _tree_digest(location.path) == before
    assert not (location.path / "out.csv").exists() and not (location.path / "export").exists()


@pytest.mark.parametrize(
    "query",
    [
        "select count(*) as n from papers",
        "select * from paper_citation_profile",
        "from papers at (version => 3)",
        "select * from lake.snapshots()",
        "select * from ducklake_list_files('lake', 'papers')",
        "describe papers",
        "show tables",
        "summarize papers",
        "pragma table_info('papers')",
        "explain select * from papers",
        "explain analyze select count(*) from statements",
        "select * from duckdb_tables()",
        "select * from range(3)",
        "with x as (select doi from papers) select count(*) from x",
    ],
)
@pytest.mark.slow
def test_reads_of_the_lake_still_answer(sealed_lake, query):
    location, _ = sealed_lake
    result = CliRunner().invoke(app, ["sql", query, "--lake", str(location.path), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_every_type_prints_in_every_format(sealed_lake):
    location, _ = sealed_lake
    query = (
        "select [1, 2] as ints, ['a', null] as strings, map(['k'], [['v1', 'v2']]) as nested_map, "
        "{'x': 1, 'y': [true]} as struct_value, '\\xAA'::blob as bytes, 1.5::decimal(4, 2) as money, "
        "interval 1 day as span, timestamptz '2024-01-01 00:00:00+00' as at, uuid() is not null as has_uuid, "
        "'2024-01-02'::date as day, null as nothing"
    )
    runner = CliRunner()
    outputs = {}
    for output_format in ("table", "csv", "json"):
        result = runner.invoke(app, ["sql", query, "--lake", str(location.path), "--format", output_format])
        assert result.exit_code == 0, (output_format, result.output)
        outputs[output_format] = result.output
    row = json.loads(outputs["json"].splitlines()[0])
    assert row["ints"] == [1, 2] and row["strings"] == ["a", None]
    assert row["nested_map"] == {"k": ["v1", "v2"]} and row["struct_value"] == {"x": 1, "y": [True]}
    assert row["at"].startswith("2024-01-01T00:00:00") and row["day"] == "2024-01-02" and row["nothing"] is None
    (header, values) = list(csv.reader(io.StringIO(outputs["csv"])))
    cells = dict(zip(header, values, strict=True))
    assert json.loads(cells["nested_map"]) == {"k": ["v1", "v2"]}
    assert json.loads(cells["struct_value"]) == {"x": 1, "y": [True]}
    assert json.loads(cells["ints"]) == [1, 2]
    assert '"k": ["v1", "v2"]' in outputs["table"]


@pytest.mark.slow
def test_the_readme_snapshots_query_prints_as_csv(sealed_lake):
    location, _ = sealed_lake
    for query in ("select * from lake.snapshots()", "select * from report_files"):
        result = CliRunner().invoke(app, ["sql", query, "--lake", str(location.path), "-f", "csv"])
        assert result.exit_code == 0, result.output
        assert len(list(csv.reader(io.StringIO(result.output)))) > 1


@pytest.mark.slow
def test_a_table_never_cuts_a_doi(sealed_lake):
    location, _ = sealed_lake
    long_doi = "10.1371/journal.pone.0000006.with.a.suffix.long.enough.to.be.squeezed.by.a.narrow.terminal"
    query = f"select '{long_doi}' as doi, repeat('word ', 60) as title"
    result = CliRunner().invoke(app, ["sql", query, "--lake", str(location.path)], terminal_width=60)
    assert result.exit_code == 0, result.output
    assert long_doi in result.output


@pytest.mark.slow
def test_the_attach_helper_gives_a_read_only_connection_in_a_fresh_interpreter(sealed_lake, tmp_path):
    location, _ = sealed_lake
    script = textwrap.dedent(
        f"""
        from tasks.lake.session import connect_read_only
        con = connect_read_only({str(location.path)!r})
        print(con.execute("select count(*) from papers").fetchone()[0])
        try:
            con.execute("insert into papers (doi) values ('x')")
        except Exception as error:
            print("refused", type(error).__name__)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["2", "refused InvalidInputException"] or done.stdout.splitlines()[0] == "2"
    assert done.stdout.splitlines()[1].startswith("refused")


@pytest.mark.slow
def test_the_printed_attach_script_opens_the_lake_in_a_plain_duckdb_session(sealed_lake):
    location, _ = sealed_lake
    result = CliRunner().invoke(app, ["attach", "--lake", str(location.path)])
    assert result.exit_code == 0, result.output
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "allow_unsigned_extensions": False})
    for statement in con.extract_statements(result.output):
        con.execute(statement)
    assert con.execute("select count(*) from papers").fetchone() == (2,)
