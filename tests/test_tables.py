"""The registry of the lake's tables (tasks/lake/tables.py) is the one list: the lake,
the docs and the code agree with it."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from tasks.lake import tables
from tasks.lake.checks import checks
from tasks.lake.writer import API_STAGING_TABLES
from tasks.lake.location import LAKE_ALIAS
from tasks.reading.frames import SCHEMAS, Frames

REPOSITORY = Path(__file__).resolve().parent.parent
TABLES_DOC = REPOSITORY / "docs" / "tables.md"


def test_the_registry_names_exactly_the_tables_a_migrated_lake_holds(lake: duckdb.DuckDBPyConnection) -> None:
    columns: dict[str, set[str]] = {}
    for table, column in lake.execute(
        "select table_name, column_name from duckdb_columns() where database_name = ? "
        "and table_name in (select table_name from duckdb_tables() where database_name = ?)",
        [LAKE_ALIAS, LAKE_ALIAS],
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    assert set(columns) == {t.name for t in tables.TABLES}
    for t in tables.TABLES:
        assert set(t.key) <= columns[t.name], f"{t.name}: key {t.key} not among its columns"


def test_every_table_users_see_is_documented_with_its_key() -> None:
    text = TABLES_DOC.read_text(encoding="utf-8")
    problems = []
    for t in tables.TABLES:
        heading = re.search(rf"^#+ .*`{t.name}`", text, re.MULTILINE)
        if heading is None:
            problems.append(f"{t.name}: no heading")
            continue
        section = text[heading.end():]
        following = re.search(r"^#+ ", section, re.MULTILINE)
        section = section[: following.start()] if following else section
        for column in t.key:
            row = re.search(rf"^\| `{column}` \|.*$", section, re.MULTILINE)
            if row is None or "key" not in row.group(0):
                problems.append(f"{t.name}.{column}: not documented as (part of) the key")
    assert not problems, "docs/tables.md and tasks/lake/tables.py disagree: " + "; ".join(problems)


def test_the_frames_and_the_staging_follow_the_registry() -> None:
    assert [name for name in Frames.__dataclass_fields__] == list(tables.PAGE_FRAMES)
    assert set(SCHEMAS) == set(tables.PAGE_FRAMES)
    api_tables = {t.name for t in tables.TABLES if t.staged_from_api}
    assert set(API_STAGING_TABLES) == api_tables


def test_a_key_check_runs_for_each_key_checked_table() -> None:
    names = list(checks())
    assert names == sorted(names)
    key_checks = {name.removeprefix(tables.KEY_CHECK_PREFIX) for name in names if name.startswith(tables.KEY_CHECK_PREFIX)}
    assert key_checks == set(tables.names(key_checked=True))


def test_the_registry_refuses_an_unknown_table() -> None:
    with pytest.raises(KeyError, match="no table 'paper'"):
        tables.table("paper")


def _table_name_lists(source: str) -> list[tuple[int, list[str]]]:
    """Literal tuples, lists and sets of a module that name four or more of the lake's tables.

    A mapping of each table to what is particular to it (its pandera model, the
    split's query, a test's expected count) is not a list of the tables: dicts pass.
    """
    known = {t.name for t in tables.TABLES}
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            continue
        elements = node.elts
        named = [e.value for e in elements if isinstance(e, ast.Constant) and e.value in known]
        if len(set(named)) >= 4:
            found.append((node.lineno, named))
    return found


def test_no_python_file_but_the_registry_lists_the_tables() -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "*.py"], cwd=REPOSITORY, capture_output=True, timeout=60)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    exempt = {REPOSITORY / "tasks" / "lake" / "tables.py", Path(__file__).resolve()}  # the registry, and this test's own example
    offending = []
    for name in listed.stdout.decode().split("\0"):
        path = REPOSITORY / name
        if not name or path in exempt or not path.is_file():
            continue
        for line, named in _table_name_lists(path.read_text(encoding="utf-8")):
            offending.append(f"{name}:{line}: {', '.join(named)}")
    assert not offending, "lists of the lake's tables outside tasks/lake/tables.py:\n" + "\n".join(offending)


def test_the_list_finder_finds_a_list() -> None:
    assert _table_name_lists("X = ('papers', 'abstracts', 'statements', 'facets')") == [
        (1, ["papers", "abstracts", "statements", "facets"])
    ]
    assert _table_name_lists("X = ('papers', 'abstracts', 'statements')") == []
