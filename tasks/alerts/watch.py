"""The watchlist: the papers whose changes raise alerts (``tasks.alerts.detect``).

It lives in the lake (table ``watchlist``, ``sql/watch``), so it is versioned by
the lake's snapshots like every other table. Each command's writes are one lake
transaction, taken under the ingest lock (``tasks.lake.lock.ingest_guard``) so they
never race an ingest's commit. DOIs go through the one normaliser,
``tasks.reading.record.valid_doi``.

``citelake watch import`` reads its file with
``tasks.reading.doi_files.read_doi_file``. Nothing here imports Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import polars as pl

from tasks.lake.lock import ingest_guard
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql, registered
from tasks.lake.errors import LakeError
from tasks.reading.doi_files import DoiFile, read_doi_file  # noqa: F401  (watch import's reader, as before)
from tasks.reading.record import valid_doi


def parse_dois(texts: Sequence[str]) -> list[str]:
    """The DOIs given on a command line, normalised, once each; :class:`InvalidDOI` for the first that is not one."""
    return list(dict.fromkeys(valid_doi(text) for text in texts))


@dataclass(frozen=True, slots=True)
class WatchState:
    """One DOI before a watch command changed it: was it watched, has the lake a page of it."""

    doi: str
    watched: bool
    in_lake: bool


def _wanted(dois: Sequence[str], label: str | None = None) -> pl.DataFrame:
    return pl.DataFrame({"doi": list(dois), "label": [label] * len(dois)}, schema={"doi": pl.Utf8, "label": pl.Utf8})


def _states(con: duckdb.DuckDBPyConnection) -> list[WatchState]:
    return [WatchState(*row) for row in con.execute(read_sql("watch/watch_states.sql")).fetchall()]


def _change_watchlist(
    location: LakeLocation, dois: Sequence[str], statements: Sequence[str], label: str | None, wait: float
) -> list[WatchState]:
    """Run ``sql/watch`` statements over the DOIs, as one lake transaction under the ingest lock."""
    with ingest_guard(location, wait=wait, holder="watchlist change"):
        con = open_lake(location)
        try:
            with registered(con, "wanted_dois", _wanted(dois, label)):
                con.begin()
                try:
                    states = _states(con)
                    now = datetime.now(UTC)
                    for statement in statements:
                        con.execute(read_sql(statement), {"now": now})
                except BaseException:
                    con.rollback()
                    raise
                try:
                    con.commit()
                except duckdb.TransactionException as error:
                    raise LakeError(
                        f"another writer changed {location.describe()} at the same time; the watchlist is unchanged, try again"
                    ) from error
        finally:
            con.close()
    return states


def watch(location: LakeLocation, dois: Sequence[str], *, label: str | None = None, wait: float = 0.0) -> list[WatchState]:
    """Watch these (normalised) DOIs; returns each one's state before."""
    return _change_watchlist(location, dois, ("watch/start_alerting.sql", "watch/add_to_watchlist.sql"), label, wait)


def unwatch(location: LakeLocation, dois: Sequence[str], *, wait: float = 0.0) -> list[WatchState]:
    """Stop watching these (normalised) DOIs; returns each one's state before."""
    return _change_watchlist(location, dois, ("watch/remove_from_watchlist.sql",), None, wait)


def watchlist(location: LakeLocation) -> pa.Table:
    """The papers watched now (``sql/watch/list_watchlist.sql``), read-only."""
    con = open_lake(location, read_only=True)
    try:
        return con.execute(read_sql("watch/list_watchlist.sql")).to_arrow_table()
    finally:
        con.close()


def describe_watch(states: Sequence[WatchState], *, removing: bool = False) -> list[str]:
    """One line per DOI saying what the command did to it."""
    lines = []
    for state in states:
        if removing:
            lines.append(f"no longer watching {state.doi}" if state.watched else f"{state.doi} was not watched")
            continue
        verb = "already watching" if state.watched else "watching"
        lines.append(f"{verb} {state.doi}" + ("" if state.in_lake else " (no page of it in the lake yet)"))
    return lines
