"""Where a lake may be made, what an export holds, and a wait for the lake's lock that says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.errors import ForeignLakeFolder, LakeFolderError
from tasks.lake.lock import ingest_guard
from tasks.corpus.generate import write_corpus

REPO = Path(__file__).resolve().parent.parent


def _folder_of_other_files(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    folder.mkdir()
    for name in ("thesis.docx", "notes.txt", "b.csv", "a.pdf", "photos", "z.md", "y.md"):
        (folder / name).write_text("mine\n")
    return folder


def _contents(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_a_folder_of_other_files_is_never_made_a_lake(tmp_path: Path) -> None:
    folder = _folder_of_other_files(tmp_path)
    before = _contents(folder)
    expected = (
        f"--lake names a folder that holds other files: {folder} (a.pdf, b.csv, notes.txt, photos, thesis.docx, …); "
        "choose an empty or new folder"
    )

    with pytest.raises(ForeignLakeFolder) as opened:
        open_lake(LakeLocation(path=folder))
    with pytest.raises(LakeFolderError) as guarded:
        with ingest_guard(LakeLocation(path=folder)):
            pass
    watched = CliRunner().invoke(app, ["watch", "add", "10.1234/x", "--lake", str(folder)])

    assert str(opened.value) == str(guarded.value) == expected
    assert watched.exit_code == 1
    assert watched.output.splitlines() == [f"citelake watch add: {expected}"]
    assert _contents(folder) == before


def test_a_lake_is_made_in_an_empty_or_missing_folder_and_opened_with_files_of_its_owner_beside_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (empty, tmp_path / "new" / "lake"):
        open_lake(LakeLocation(path=folder)).close()
        assert (folder / "catalog.sqlite").is_file() and (folder / "data").is_dir()
    (empty / "README.txt").write_text("our lake\n")  # a lake stays a lake with a note beside it
    open_lake(LakeLocation(path=empty)).close()
    with ingest_guard(LakeLocation(path=empty)):
        pass


@pytest.mark.slow
def test_ingest_into_a_folder_of_other_files_is_refused_in_one_line(tmp_path: Path, cli_environment: dict[str, str]) -> None:
    folder = _folder_of_other_files(tmp_path)
    before = _contents(folder)
    write_corpus(tmp_path / "corpus", 3, seed=1)

    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "corpus"), "--lake", str(folder)],
        cwd=REPO, env=cli_environment, capture_output=True, text=True, timeout=180,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("citelake ingest:")]
    assert errors == [
        f"citelake ingest: --lake names a folder that holds other files: {folder} "
        "(a.pdf, b.csv, notes.txt, photos, thesis.docx, …); choose an empty or new folder"
    ], result.stderr
    assert _contents(folder) == before


def test_export_writes_the_watchlist_and_alerts_too_and_names_every_table(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    runner = CliRunner()
    assert runner.invoke(app, ["watch", "add", "10.1234/watched", "--lake", str(lake)]).exit_code == 0
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        tables = [row[0] for row in con.execute("select table_name from duckdb_tables() where database_name = 'lake'").fetchall()]
    finally:
        con.close()
    expected = sorted(set(tables) - {"schema_version", "view_definitions"})
    assert {"watchlist", "alerts", "alert_progress"} <= set(expected)

    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--lake", str(lake)])

    assert result.exit_code == 0, result.output
    assert sorted(path.stem for path in (tmp_path / "out").iterdir()) == expected
    assert pq.read_table(tmp_path / "out" / "watchlist.parquet").column("doi").to_pylist() == ["10.1234/watched"]
    closing = result.output.splitlines()[-1]
    assert closing.startswith(f"exported {len(expected)} tables to {tmp_path / 'out'}: papers, ")
    assert sorted(closing.split(": ", 1)[1].split(", ")) == expected


def test_watch_add_says_it_waits_for_the_ingest_holding_the_lake(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\n"
         "from pathlib import Path\n"
         "from tasks.lake.lock import ingest_guard\n"
         "from tasks.lake.location import LakeLocation\n"
         "with ingest_guard(LakeLocation(path=Path(sys.argv[1]))):\n"
         "    print('held', flush=True)\n"
         "    sys.stdin.read()\n",
         str(lake)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        result = subprocess.run(
            [sys.executable, "-m", "flows.cli", "watch", "add", "10.1234/x", "--lake", str(lake), "--wait", "1"],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()

    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("waiting up to 1 s for the ingest started at ")
    assert lines[0].endswith(f" by pid {holder.pid} on host {__import__('socket').gethostname()} to finish")
    assert lines[1].startswith(f"citelake watch add: another ingest is running on {lake} since ")
