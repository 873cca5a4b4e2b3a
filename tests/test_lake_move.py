"""A lake folder with the embedded catalog opens wherever it is: moved, copied, restored."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from tasks.corpus.generate import write_corpus
from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.query import run_readonly_query


def _tree_digest(folder) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _data_files(location: LakeLocation) -> list[str]:
    con = open_lake(location, read_only=True)
    try:
        return [row[0] for row in con.execute("select data_file from ducklake_list_files('lake', 'papers')").fetchall()]
    finally:
        con.close()


@pytest.mark.slow
def test_a_copied_lake_is_read_and_written_where_it_is_and_the_original_is_untouched(tmp_path, caplog):
    original = LakeLocation(path=tmp_path / "lake")
    write_corpus(tmp_path / "first", 30, 1, clean=True)
    write_corpus(tmp_path / "second", 30, 2, clean=True)
    ingest(tmp_path / "first", original, workers=1)
    papers_before = run_readonly_query(original, "select count(*) as n from papers").column("n")[0].as_py()
    shutil.copytree(original.path, tmp_path / "copy")
    untouched = _tree_digest(original.path)
    copy = LakeLocation(path=tmp_path / "copy")

    with caplog.at_level("WARNING", logger="tasks.lake.session"):
        answer = run_readonly_query(copy, "select count(*) as n from papers")
    assert answer.column("n")[0].as_py() == papers_before
    assert "moved or copied from" in caplog.text
    assert all(path.startswith(f"{copy.data_path}/") for path in _data_files(copy))

    ingest(tmp_path / "second", copy, workers=1)
    after = run_readonly_query(copy, "select count(*) as n from papers").column("n")[0].as_py()
    assert after > papers_before
    assert all(path.startswith(f"{copy.data_path}/") for path in _data_files(copy))
    assert _tree_digest(original.path) == untouched
    assert run_readonly_query(original, "select count(*) as n from papers").column("n")[0].as_py() == papers_before


def test_a_moved_lake_opens_and_remembers_its_new_place(tmp_path, caplog):
    before = LakeLocation(path=tmp_path / "lake")
    write_corpus(tmp_path / "reports", 20, 3, clean=True)
    ingest(tmp_path / "reports", before, workers=1)
    (tmp_path / "lake").rename(tmp_path / "moved")
    moved = LakeLocation(path=tmp_path / "moved")

    open_lake(moved).close()  # a writable open re-points the catalog
    caplog.clear()
    with caplog.at_level("WARNING", logger="tasks.lake.session"):
        rows = run_readonly_query(moved, "select count(*) as n from report_files").column("n")[0].as_py()
    assert rows == 20
    assert "moved" not in caplog.text  # said once, when it was re-pointed
