"""The watchlist: ``citelake watch add|remove|list|import`` on a real lake, through the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.reading.record import InvalidDOI, valid_doi
from tasks.alerts.watch import read_doi_file

REPO = Path(__file__).resolve().parent.parent

BIBTEX = r"""
@article{zhang2013,
  title = {Human Umbilical Cord Mesenchymal Stem Cell Therapy},
  DOI = {10.1089/SCD.2013.0023},
  year = {2013}
}

@article{prefixed,
  title = {A paper cited by a resolver URL},
  doi = {https://doi.org/10.1371/JOURNAL.PONE.0000006}
}

@book{nodoi,
  title = {A book without a DOI},
  year = {1999}
}

@misc{garbage,
  title = {Not a DOI at all},
  doi = {see the publisher}
}

@article{again,
  title = {The first paper again, another case},
  doi = {doi:10.1089/scd.2013.0023}
}
"""

RIS = """TY  - JOUR
TI  - An RIS article
DO  - 10.1016/J.CELL.2015.000000
ER  -

TY  - JOUR
TI  - Without a DOI
PY  - 2001
ER  -

TY  - JOUR
TI  - Prefixed
DO  - https://dx.doi.org/10.1089/scd.2001.000020
ER  -
"""

PLAIN = """# papers of the project
10.1089/SCD.2013.0023
https://doi.org/10.1371/journal.pone.0000006

doi:10.1016/j.cell.2015.000000
"""


def citelake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def watched(lake: Path) -> dict[str, str | None]:
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        return dict(con.execute("select doi, label from watchlist where removed_at is null").fetchall())
    finally:
        con.close()


def test_the_one_normaliser_validates_dois() -> None:
    assert valid_doi(" HTTPS://DOI.ORG/10.1089/SCD.2013.0023 ") == "10.1089/scd.2013.0023"
    assert valid_doi("doi: 10.1371/Journal.pone.0000006") == "10.1371/journal.pone.0000006"
    for text in ("10.1/x", "scd.2013.0023", "10.1089/", "10.1089/a b", ""):
        with pytest.raises(InvalidDOI, match="is not a DOI: expected 10.NNNN/suffix"):
            valid_doi(text)


def test_bibtex_gives_the_dois_and_names_the_entries_without_one(tmp_path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(BIBTEX)
    found = read_doi_file(path)
    assert found.file_format == "bibtex"
    assert found.dois == ["10.1089/scd.2013.0023", "10.1371/journal.pone.0000006"]
    assert found.without_doi == ["@book{nodoi}"]
    assert [name for name, _ in found.invalid] == ["@misc{garbage}"]
    assert "'see the publisher' is not a DOI" in found.invalid[0][1]


def test_ris_gives_the_dois_and_names_the_entries_without_one(tmp_path) -> None:
    path = tmp_path / "refs.ris"
    path.write_text(RIS)
    found = read_doi_file(path)
    assert found.file_format == "ris"
    assert found.dois == ["10.1016/j.cell.2015.000000", "10.1089/scd.2001.000020"]
    assert found.without_doi == ["JOUR 'Without a DOI'"]
    assert found.invalid == []


def test_bibtex_entries_keep_their_order_and_a_taken_key_keeps_its_doi(tmp_path) -> None:
    # bibtexparser sets aside an entry whose key an earlier one took; it is still a reference, with its DOI.
    path = tmp_path / "refs.bib"
    path.write_text(
        "@article{first, doi = {10.1089/scd.2013.0023}}\n"
        "@article{broken, title = {never closed}\n\n"
        "@misc{first, title = {The same key again}, doi = {10.1371/journal.pone.0000006}}\n"
        "@book{nodoi, title = {A book}}\n"
    )
    found = read_doi_file(path)
    assert found.dois == ["10.1089/scd.2013.0023", "10.1371/journal.pone.0000006"]
    assert found.without_doi == ["unparsable BibTeX at line 2", "@book{nodoi}"]


@pytest.mark.slow
def test_watch_import_of_bibtex_ris_and_a_plain_list_through_the_command(tmp_path) -> None:
    lake = tmp_path / "lake"
    (tmp_path / "refs.bib").write_text(BIBTEX)
    (tmp_path / "refs.ris").write_text(RIS)
    (tmp_path / "dois.txt").write_text(PLAIN)

    result = citelake("watch", "import", str(tmp_path / "refs.bib"), "--label", "bib", "--lake", str(lake), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bibtex, 2 DOIs (2 newly watched), 1 without DOI, 1 invalid" in result.stdout
    assert "without DOI  @book{nodoi}" in result.stdout
    assert "watching 10.1089/scd.2013.0023 (no page of it in the lake yet)" in result.stdout
    assert watched(lake) == {"10.1089/scd.2013.0023": "bib", "10.1371/journal.pone.0000006": "bib"}

    result = citelake("watch", "import", str(tmp_path / "refs.ris"), "--lake", str(lake), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ris, 2 DOIs (2 newly watched), 1 without DOI, 0 invalid" in result.stdout
    assert "without DOI  JOUR 'Without a DOI'" in result.stdout

    result = citelake("watch", "import", str(tmp_path / "dois.txt"), "--label", "plain", "--lake", str(lake), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "list, 3 DOIs (0 newly watched), 0 without DOI, 0 invalid" in result.stdout
    assert watched(lake) == {
        "10.1089/scd.2013.0023": "plain",
        "10.1371/journal.pone.0000006": "plain",
        "10.1016/j.cell.2015.000000": "plain",
        "10.1089/scd.2001.000020": None,
    }


@pytest.mark.slow
def test_watch_add_remove_list_and_an_invalid_doi(tmp_path) -> None:
    lake = tmp_path / "lake"
    result = citelake("watch", "add", "10.1089/scd.2013.0023", "not-a-doi", "--lake", str(lake), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "citelake watch add: 'not-a-doi' is not a DOI: expected 10.NNNN/suffix (e.g. 10.1089/scd.2013.0023)"
    )
    assert "Traceback" not in result.stderr

    result = citelake("watch", "add", "DOI:10.1089/SCD.2013.0023", "10.1371/journal.pone.0000006", "--lake", str(lake), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "watching 10.1089/scd.2013.0023 (no page of it in the lake yet)",
        "watching 10.1371/journal.pone.0000006 (no page of it in the lake yet)",
    ]
    result = citelake("watch", "remove", "https://doi.org/10.1371/journal.pone.0000006", "--lake", str(lake), cwd=tmp_path)
    assert result.stdout.strip() == "no longer watching 10.1371/journal.pone.0000006"

    result = citelake("watch", "list", "--format", "json", "--lake", str(lake), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["doi"] for line in result.stdout.splitlines()] == ["10.1089/scd.2013.0023"]

    # Watching again clears the removal; the history is in the lake's snapshots.
    citelake("watch", "add", "10.1371/journal.pone.0000006", "--lake", str(lake), cwd=tmp_path)
    con = open_lake(LakeLocation(path=lake), read_only=True)
    try:
        rows = con.execute("select doi, removed_at is null from watchlist order by doi").fetchall()
        (last,) = con.execute("select max(snapshot_id) from lake.snapshots()").fetchone()
        before = con.execute(
            "select removed_at is null from watchlist at (version => $v) where doi = '10.1371/journal.pone.0000006'",
            {"v": last - 1},
        ).fetchone()
    finally:
        con.close()
    assert rows == [("10.1089/scd.2013.0023", True), ("10.1371/journal.pone.0000006", True)]
    assert before == (False,)  # the removal, one snapshot back


@pytest.mark.slow
def test_the_watch_commands_do_not_import_prefect(tmp_path) -> None:
    lake = tmp_path / "lake"
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        f"for args in (['watch', 'add', '10.1089/scd.2013.0023', '--lake', {str(lake)!r}], ['watch', 'list', '--lake', {str(lake)!r}]):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print('prefect' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
