"""The lake's schema: the migrations of ``sql/schema`` applied in order, and the views of ``sql/views`` kept current.

A writable open migrates (:func:`migrate`); a read-only open only checks that
the lake has tables and is not newer than this code (:func:`check_readable`).
"""

from __future__ import annotations

import graphlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tasks.lake.errors import LakeError
from tasks.lake.location import LAKE_ALIAS, LakeLocation
from tasks.lake.sql import SQL_DIR, read_sql, transaction


_MIGRATION_NAME = re.compile(r"^(\d+)_(\w+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One ``sql/schema/NNN_name.sql`` file."""

    version: int
    name: str
    path: Path


def migrations() -> list[Migration]:
    """The schema migrations of this code, in the order they apply."""
    found = []
    for path in (SQL_DIR / "schema").glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise LakeError(f"{path}: a migration is named NNN_name.sql")
        found.append(Migration(version=int(match[1]), name=match[2], path=path))
    return sorted(found, key=lambda migration: migration.version)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to the attached lake; 0 for a lake without tables yet."""
    (present,) = con.execute(read_sql("lake/schema_version_exists.sql"), {"database": LAKE_ALIAS}).fetchone()
    if not present:
        return 0
    (version,) = con.execute(read_sql("lake/applied_schema_version.sql")).fetchone()
    return version


def _check_schema_not_newer(current: int, location: LakeLocation) -> int:
    latest = migrations()[-1].version
    if current > latest:
        raise LakeError(
            f"the lake at {location.describe()} has schema version {current}, newer than this "
            f"citelake knows ({latest}); upgrade citelake"
        )
    return latest


def check_readable(con: duckdb.DuckDBPyConnection, location: LakeLocation) -> None:
    current = schema_version(con)
    if current == 0:
        raise LakeError(f"no lake at {location.describe()}: it has no tables yet (run an ingest first)")
    _check_schema_not_newer(current, location)
    # A reader never writes: a lake an older citelake wrote lacks this code's columns or
    # views, and a query of them would fail with DuckDB's own words. One writable open updates it.
    if current < migrations()[-1].version or _changed_views(con):
        raise LakeError(
            f"the lake at {location.describe()} was written by an older citelake: run `citelake maintain` once "
            "to bring its tables and views up to date (its data stay as they are), then try again"
        )


def migrate(con: duckdb.DuckDBPyConnection, location: LakeLocation) -> list[int]:
    """Apply the pending migrations, each in its own transaction, then refresh changed views.

    Returns the versions applied (empty when the lake was up to date).
    """
    current = schema_version(con)
    _check_schema_not_newer(current, location)
    applied = []
    for migration in migrations():
        if migration.version <= current:
            continue
        with transaction(con):
            con.execute(migration.path.read_text(encoding="utf-8"))
            con.execute(read_sql("lake/record_migration.sql"), {"version": migration.version, "name": migration.name})
        applied.append(migration.version)
    _refresh_views(con)
    return applied


def _changed_views(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """The views whose ``sql/views`` file differs from what the lake recorded: (name, text, sha256), in dependency order."""
    recorded = dict(con.execute(read_sql("lake/view_hashes.sql")).fetchall())
    texts = {path.stem: path.read_text(encoding="utf-8") for path in sorted((SQL_DIR / "views").glob("*.sql"))}
    changed = []
    for view_name in _dependency_order(texts):
        digest = hashlib.sha256(texts[view_name].encode()).hexdigest()
        if recorded.get(view_name) != digest:
            changed.append((view_name, texts[view_name], digest))
    return changed


def _refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """Re-create, in one transaction, exactly the views whose ``sql/views`` file changed."""
    changed = _changed_views(con)
    if not changed:
        return
    with transaction(con):
        for view_name, text, digest in changed:
            con.execute(text)
            con.execute(read_sql("lake/record_view.sql"), {"view_name": view_name, "sha256": digest})


def _dependency_order(texts: dict[str, str]) -> list[str]:
    """The views' names, each after the views its text names: a view is bound when created, so what it reads must exist."""
    code = {name: re.sub(r"--[^\n]*", "", text) for name, text in texts.items()}  # comments may name any view
    reads = {name: {other for other in texts if other != name and re.search(rf"\b{other}\b", code[name])} for name in texts}
    return list(graphlib.TopologicalSorter(reads).static_order())
