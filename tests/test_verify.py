"""``citelake verify`` finds what is wrong with a real lake: its catalog, its files, its search index."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.session import open_lake
from tasks.lake.tables import TABLES
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.lake.verify import verify_lake
from tasks.reading.split import split_records
from tasks.search.index import ensure_index
from tests.lake_damage import copy_of, corrupt_column_page, generated_lake, parquet_file

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory) -> LakeLocation:
    return generated_lake(tmp_path_factory.mktemp("built"))


@pytest.fixture
def lake_copy(built_lake, tmp_path) -> LakeLocation:
    return copy_of(built_lake, tmp_path / "lake")


def run_verify(location: LakeLocation, *options: str):
    return CliRunner().invoke(app, ["verify", "--lake", str(location.path), *options])


def _tree_digest(folder) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.slow
def test_a_sound_lake_passes_and_is_left_as_it_was(lake_copy):
    files = sorted(lake_copy.data_path.rglob("*.parquet"))
    rows = sum(pq.ParquetFile(path).metadata.num_rows for path in files)
    before = _tree_digest(lake_copy.path)

    result = run_verify(lake_copy)
    deep = run_verify(lake_copy, "--deep")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"lake {lake_copy.path}: sound ({len(TABLES)} tables, {len(files)} files, {rows:,} rows checked)"
    assert deep.exit_code == 0, deep.output
    assert deep.output.splitlines()[-1] == f"lake {lake_copy.path}: sound ({len(TABLES)} tables, {len(files)} files, {rows:,} rows read)"
    assert _tree_digest(lake_copy.path) == before


def test_a_truncated_statements_file_is_found(lake_copy):
    path = parquet_file(lake_copy, "statements")
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)

    result = run_verify(lake_copy)

    assert result.exit_code == 1
    shown = path.relative_to(lake_copy.path)
    assert f"statements: {shown}: truncated: {size // 2:,} bytes, the catalog records {size:,}" in result.output.splitlines()
    assert result.output.splitlines()[-1] == f"lake {lake_copy.path}: 1 problem"


def test_a_missing_file_is_found(lake_copy):
    path = parquet_file(lake_copy, "papers")
    size = path.stat().st_size
    path.unlink()

    result = run_verify(lake_copy)

    assert result.exit_code == 1
    assert f"papers: {path.relative_to(lake_copy.path)}: missing (data file of {size:,} bytes)" in result.output.splitlines()


def test_a_damaged_page_behind_an_intact_footer_is_found_by_deep_only(lake_copy):
    path = parquet_file(lake_copy, "statements")
    corrupt_column_page(path, "text")

    shallow = run_verify(lake_copy)
    deep = run_verify(lake_copy, "--deep")

    assert shallow.exit_code == 0, shallow.output
    assert deep.exit_code == 1
    (line,) = [line for line in deep.output.splitlines() if line.startswith("statements: ")]
    assert line.startswith(f"statements: {path.relative_to(lake_copy.path)}: unreadable data: ")
    assert deep.output.splitlines()[-1] == f"lake {lake_copy.path}: 1 problem"


def test_garbage_at_the_end_of_the_catalog_is_found(lake_copy):
    catalog = lake_copy.catalog_file
    size = catalog.stat().st_size
    with open(catalog, "r+b") as handle:
        handle.seek(size - 4096)
        handle.write(bytes((index * 37 + 11) % 256 for index in range(4096)))

    result = run_verify(lake_copy)

    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(f"catalog: {catalog}: integrity check")]
    assert lines, result.output


def test_no_lake_is_one_line(tmp_path):
    result = run_verify(LakeLocation(path=tmp_path / "nothing"))

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"citelake verify: no lake at {tmp_path / 'nothing'}: {tmp_path / 'nothing' / 'catalog.sqlite'} does not exist"
    ]


def commit_pages(location: LakeLocation, pages, report_files_of) -> None:
    """One more run committed to the lake: one more snapshot."""
    with open_lake(location) as con, LakeWriter(con, run_id=uuid.uuid4().hex) as writer:
        writer.add_batch(split_records(pages), report_files_of(pages))
        writer.finish({"seen": len(pages), "new": len(pages)})


def many_statements_page(make_page, doi: str = "10.1/many"):
    """A page with enough statements that the lake writes them to a Parquet file, not inlined in the catalog."""
    statements = [(f"statement {number} of {doi}", "Results", "mentioning", 0.5) for number in range(60)]
    return make_page(doi, datetime(2024, 1, 1, tzinfo=UTC), statements)


@pytest.mark.slow
def test_a_stale_search_index_is_a_warning_not_a_problem(lake_copy, make_page, report_files_of):
    ensure_index(lake_copy, notify=lambda _: None)
    with open_lake(lake_copy, read_only=True) as con:
        (indexed,) = con.execute("select id from current_snapshot()").fetchone()
    assert run_verify(lake_copy).output.count("warning:") == 0
    commit_pages(lake_copy, [many_statements_page(make_page)], report_files_of)

    result = run_verify(lake_copy)

    assert result.exit_code == 0, result.output
    assert (
        f"warning: search index: reflects snapshot {indexed}, the lake is at {indexed + 1}; "
        "the next search or ingest updates it"
    ) in result.output.splitlines()




@pytest.mark.slow
def test_a_postgres_catalog_missing_a_ducklake_table_is_found(catalog_database, tmp_path, make_page, report_files_of):
    location = LakeLocation(path=tmp_path / "lake", catalog=catalog_database)
    commit_pages(location, [many_statements_page(make_page)], report_files_of)
    sound = verify_lake(location, deep=True)
    assert sound.sound, [problem.line() for problem in sound.problems]
    assert sound.files > 0 and sound.rows > 0

    with psycopg.connect(catalog_database, autocommit=True) as catalog:
        catalog.execute("drop table ducklake_file_column_stats")
    damaged = verify_lake(location)

    assert not damaged.sound
    assert f"catalog: {catalog_database}: DuckLake's table ducklake_file_column_stats is missing" in [
        problem.line() for problem in damaged.problems
    ]


def test_backup_refuses_a_postgres_catalog_in_one_line(catalog_database, tmp_path):
    result = CliRunner().invoke(
        app, ["backup", str(tmp_path / "copy"), "--lake", str(tmp_path / "lake")], env=os.environ | {"CITELAKE_CATALOG": catalog_database}
    )

    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "pg_dump" in line and line.startswith("citelake backup: ")
    assert not (tmp_path / "copy").exists()


def test_verify_and_backup_do_not_import_prefect(lake_copy, tmp_path):
    script = (
        "import sys, json\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        "results = [CliRunner().invoke(app, ['verify', '--lake', sys.argv[1]]), CliRunner().invoke(app, ['backup', sys.argv[2], '--lake', sys.argv[1]])]\n"
        "print(json.dumps({'codes': [result.exit_code for result in results], 'prefect': 'prefect' in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(lake_copy.path), str(tmp_path / "copy")],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer == {"codes": [0, 0], "prefect": False}
