"""The repository documents itself: no pointer leaves it, and docs/tables.md names every column users see."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from tasks.lake.location import LAKE_ALIAS
from tasks.lake.sql import SQL_DIR

REPOSITORY = Path(__file__).resolve().parent.parent
TABLES_DOC = REPOSITORY / "docs" / "tables.md"
# Documents a clone does not have: the steering folder beside the repository
# (spelled in two parts so that this file does not match itself).
OUTSIDE = re.compile(r"\.\./" + r"shared/|\bshared/(?:samples|report-format\.md|design\.md)")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPOSITORY, capture_output=True, timeout=60)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.decode(errors='replace').strip()}")
    return [REPOSITORY / name for name in listed.stdout.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = tracked_files()
    assert REPOSITORY / "README.md" in files and REPOSITORY / "docs" / "tables.md" in files
    offending = []
    for path in files:
        if not path.is_file():
            continue  # deleted in the work tree, not yet in the index
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                offending.append(f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}")
    assert not offending, "documents outside the repository are referred to:\n" + "\n".join(offending)


def doc_sections(text: str) -> dict[str, str]:
    """Each relation named in a heading (``### `papers` ``) → the text up to the next heading."""
    sections: dict[str, str] = {}
    names: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            names = re.findall(r"`([a-z_][a-z0-9_]*)`", line)
            for name in names:
                sections.setdefault(name, "")
            continue
        for name in names:
            sections[name] += line + "\n"
    return sections


def test_tables_doc_names_every_table_and_view_with_each_column(lake: duckdb.DuckDBPyConnection) -> None:
    columns: dict[str, list[str]] = {}
    for table, column in lake.execute(
        "select table_name, column_name from duckdb_columns() where database_name = ? order by table_name, column_index",
        [LAKE_ALIAS],
    ).fetchall():
        columns.setdefault(table, []).append(column)
    views = {name for (name,) in lake.execute(
        "select view_name from duckdb_views() where database_name = ? and not internal", [LAKE_ALIAS]
    ).fetchall()}
    # The migrated lake holds what sql/ creates: so the loop below covers all of it.
    assert views == {path.stem for path in (SQL_DIR / "views").glob("*.sql")}
    assert {"papers", "statements", "report_files"} <= columns.keys()

    sections = doc_sections(TABLES_DOC.read_text(encoding="utf-8"))
    missing = []
    for relation, names in columns.items():
        if relation not in sections:
            missing.append(f"{relation}: no heading names it")
            continue
        for column in names:
            # A row of the relation's column table: | `column` | ...
            if not re.search(rf"^\| `{re.escape(column)}` \|", sections[relation], re.MULTILINE):
                missing.append(f"{relation}.{column}")
    assert not missing, f"{TABLES_DOC.relative_to(REPOSITORY)} does not document: " + ", ".join(missing)
    # And nothing documented there is gone from the lake.
    documented = set(re.findall(r"^#+ .*?`([a-z_][a-z0-9_]*)`", TABLES_DOC.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented <= columns.keys(), f"documented but not in the lake: {sorted(documented - columns.keys())}"
