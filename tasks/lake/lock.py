"""The lake's lock: one writer at a time (ingest, watchlist change, maintenance), and who holds it.

:func:`ingest_guard` holds it for a block: a lock file in the lake folder for
the embedded catalog, a PostgreSQL advisory lock for a shared one. A waiter
says whom it waits for (:func:`notice`), read from the holder's record.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from tasks.lake.errors import IngestCollision, IngestError, LakeFolderError, first_line
from tasks.lake.location import LakeLocation
from tasks.lake.preflight import cannot_write_message, check_lake_folder
from tasks.lake.sql import read_sql
from tasks.reading.staging import remove_stale_staging

logger = logging.getLogger(__name__)


# One-line messages for the user while a run starts or waits (see :func:`notice`).
NOTICE_LOGGER = logging.getLogger("citelake.notice")


LOCK_FILE = "ingest.lock"


# Who holds the lock, written beside it: the lock file itself is truncated by every waiter.
LOCK_HOLDER_FILE = "ingest.lock.holder"


_LOCK_POLL_SECONDS = 0.2


def notice(message: str) -> None:
    """Tell the user at once what the run is doing or waiting for, one line on stderr.

    ``citelake ingest`` shows them itself (above its progress bar) through a
    handler of :data:`NOTICE_LOGGER`; without one (watch, maintenance, a library
    caller) the line is printed here, so a wait is never silent.
    """
    if NOTICE_LOGGER.handlers:
        NOTICE_LOGGER.info(message)
    else:
        print(message, file=sys.stderr, flush=True)


@contextmanager
def ingest_guard(location: LakeLocation, *, wait: float = 0.0, holder: str = "ingest") -> Iterator[None]:
    """Hold the lake's ingest lock for the block; wait up to ``wait`` seconds for it.

    ``holder`` names what holds it (``ingest``, ``watchlist change``,
    ``maintenance``), for the line another process prints while it waits.

    The lock lives with the lake, so every ingest on it sees it: a lock file in
    the lake folder for the embedded catalog, a PostgreSQL advisory lock in the
    catalog database for a shared one (a lock file on a network drive is not
    reliable across machines). Both vanish with the process that holds them, so
    a killed run never leaves the lake locked. Raises :class:`IngestCollision`
    when the lock is still held after ``wait`` seconds, and says whom it waits
    for (:func:`notice`) when it waits; raises :class:`LakeFolderError` when the
    lake folder is a file or cannot be written. Holding the lock, it removes
    the staging folders that killed runs left (:func:`tasks.reading.staging.remove_stale_staging`).
    """
    check_lake_folder(location)
    guard = _advisory_lock if location.catalog else _lock_file
    with guard(location, wait, holder):
        if stale := remove_stale_staging(location):
            logger.info("removed the staged batches of %d killed runs: %s", len(stale), ", ".join(stale))
        yield


@contextmanager
def _lock_file(location: LakeLocation, wait: float, purpose: str) -> Iterator[None]:
    holder_file = location.path / LOCK_HOLDER_FILE
    try:
        location.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(location.path / LOCK_FILE)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if wait <= 0:
                raise IngestCollision(_collision_message(location, _lock_holder(holder_file))) from None
            notice(f"waiting up to {wait:g} s for the {_lock_holder_who(holder_file)} to finish")
            try:
                lock.acquire(timeout=wait, poll_interval=_LOCK_POLL_SECONDS)
            except Timeout:
                raise IngestCollision(_collision_message(location, _lock_holder(holder_file))) from None
    except PermissionError:
        raise LakeFolderError(cannot_write_message(location)) from None
    try:
        holder = {
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
        }
        try:
            holder_file.write_text(json.dumps(holder), encoding="utf-8")
        except PermissionError:
            raise LakeFolderError(cannot_write_message(location)) from None
        yield
    finally:
        lock.release()


def _read_holder(holder_file: Path) -> dict | None:
    try:
        holder = json.loads(holder_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and {"since", "pid", "host"} <= holder.keys() else None


def _lock_holder(holder_file: Path) -> str:
    holder = _read_holder(holder_file)
    if holder is None:
        return "an unknown time"
    return f"{holder['since']} (process {holder['pid']} on {holder['host']})"


def _lock_holder_who(holder_file: Path) -> str:
    holder = _read_holder(holder_file)
    if holder is None:
        return "ingest that holds the lake (its start is not recorded)"
    purpose = holder.get("purpose", "ingest")
    return f"{purpose} started at {holder['since']} by pid {holder['pid']} on host {holder['host']}"


@contextmanager
def _advisory_lock(location: LakeLocation, wait: float, purpose: str) -> Iterator[None]:
    # A connection of its own: the lock is the session's, held until it closes. psycopg is
    # imported here, for a PostgreSQL catalog only: at the module's top it cost every ingest 80 ms.
    import psycopg

    try:
        connection = psycopg.connect(location.catalog, autocommit=True, application_name=f"citelake {purpose}")
    except psycopg.Error as error:
        raise IngestError(f"cannot reach the catalog of {location.describe()}: {first_line(error)}") from error
    with connection:
        deadline = time.monotonic() + wait
        announced = False
        while not connection.execute(read_sql("ingest/try_ingest_lock.sql")).fetchone()[0]:
            holder = connection.execute(read_sql("ingest/ingest_lock_holder.sql")).fetchone()
            since = "an unknown time"
            if holder:
                since = f"{holder[0].isoformat(timespec='seconds')} (server process {holder[1]})"
            if time.monotonic() >= deadline:
                raise IngestCollision(_collision_message(location, since))
            if not announced:
                notice(f"waiting up to {wait:g} s for the ingest holding {location.describe()} since {since} to finish")
                announced = True
            time.sleep(_LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            connection.execute(read_sql("ingest/release_ingest_lock.sql"))


def _collision_message(location: LakeLocation, since: str) -> str:
    return f"another ingest is running on {location.describe()} since {since}; nothing was written"
