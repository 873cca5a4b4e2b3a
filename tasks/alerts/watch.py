"""The watchlist: the papers whose changes raise alerts (``tasks.alerts.detect``).

It lives in the lake (table ``watchlist``, ``sql/watch``), so it is versioned by
the lake's snapshots like every other table. Each command's writes are one lake
transaction, taken under the ingest lock (``tasks.lake.lock.ingest_guard``) so they
never race an ingest's commit. DOIs go through the one normaliser,
``tasks.reading.record.valid_doi``.

:func:`read_doi_file` reads the DOIs of a plain list, a BibTeX file or an RIS
file; entries without a DOI, or with text that is not one, are reported, never
dropped silently. Nothing here imports Prefect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import polars as pl

from tasks.lake.lock import ingest_guard
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql, registered
from tasks.lake.errors import LakeError
from tasks.reading.record import InvalidDOI, valid_doi

FILE_FORMATS = ("list", "bibtex", "ris")


@dataclass(frozen=True, slots=True)
class DoiFile:
    """The DOIs of an imported file, in file order and once each, and the entries that gave none.

    ``without_doi`` names each entry that has no DOI (its key or title);
    ``invalid`` holds ``(entry, message)`` for each whose DOI is not one.
    """

    file_format: str
    dois: list[str]
    without_doi: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)


def detect_format(path: Path, text: str) -> str:
    """``bibtex`` for ``*.bib`` or text starting with ``@``, ``ris`` for ``*.ris`` or a ``TY  -`` tag, else ``list``."""
    suffix = path.suffix.lower()
    if suffix in (".bib", ".bibtex"):
        return "bibtex"
    if suffix == ".ris":
        return "ris"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("@"):
        return "bibtex"
    if stripped.startswith("TY  -"):
        return "ris"
    return "list"


def read_doi_file(path: Path | str) -> DoiFile:
    """The DOIs of a plain list (one a line, ``#`` comments), a BibTeX file or an RIS file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as error:
        raise LakeError(f"{path}: cannot read it ({error.strerror or error})") from error
    file_format = detect_format(path, text)
    if file_format == "bibtex":
        entries = _bibtex_entries(text)
    elif file_format == "ris":
        entries = _ris_entries(text, path)
    else:
        entries = [(line.strip(), line.strip()) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return _collect(file_format, entries)


def _bibtex_entries(text: str) -> list[tuple[str, str | None]]:
    import bibtexparser

    library = bibtexparser.parse_string(text)
    entries = []
    for entry in library.entries:
        fields = {name.lower(): value for name, value in entry.fields_dict.items()}
        doi = fields.get("doi")
        entries.append((f"@{entry.entry_type}{{{entry.key}}}", doi.value.strip("{} ") if doi else None))
    for block in library.failed_blocks:
        entries.append((f"unparsable BibTeX at line {block.start_line + 1}", None))
    return entries


def _ris_entries(text: str, path: Path) -> list[tuple[str, str | None]]:
    import rispy

    try:
        records = rispy.loads(text)
    except Exception as error:  # rispy raises IOError and ValueError variants for a malformed file
        raise LakeError(f"{path}: not a readable RIS file ({error})") from error
    entries = []
    for number, record in enumerate(records, start=1):
        title = record.get("primary_title") or record.get("title") or f"record {number}"
        entries.append((f"{record.get('type_of_reference', 'RIS')} {title!r}", record.get("doi")))
    return entries


def _collect(file_format: str, entries: Iterable[tuple[str, str | None]]) -> DoiFile:
    dois: dict[str, None] = {}
    without_doi, invalid = [], []
    for name, doi in entries:
        if doi is None or not doi.strip():
            without_doi.append(name)
            continue
        try:
            dois[valid_doi(doi)] = None
        except InvalidDOI as error:
            invalid.append((name, str(error)))
    return DoiFile(file_format=file_format, dois=list(dois), without_doi=without_doi, invalid=invalid)


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
