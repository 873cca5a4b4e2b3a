"""Ctrl-C in ``citelake ingest``: stop what the run started, leave no staging, say what the lake holds, exit 130.

The flow runs in a thread of its own (:func:`run_interruptibly`) so that the main
thread is free to answer SIGINT at once: Python runs a signal's handler in the
main thread between two bytecodes, and a DuckDB merge holds a thread for as long
as it takes. On the first SIGINT the handler, in this order:

1. kills the parser processes (they ignore SIGINT themselves) and lets no
   thread park another batch;
2. takes the commit gate (``tasks.lake.writer.COMMIT_GATE``): from then on
   the run either committed before, or never will in this process;
3. if the run did not commit, removes its staging (its head start's too:
   ``tasks.lake.head_start``); marks the run cancelled on the Prefect server;
4. stops the temporary Prefect server, last, when nothing talks to it any more;
5. prints ``interrupted: nothing was written`` or ``interrupted after the
   commit: snapshot N holds the run`` and ends the process with status 130; a
   run that never started first has the lake folder its open ahead made removed.

It ends the process with ``os._exit``: Prefect's log and event workers would
otherwise retry against the stopped server at the interpreter's exit, for a
minute and more. A watchdog ends the process (130) if the teardown hangs past
1.5 s, and a second SIGINT ends it at once. Either way the lake is whole: a
DuckLake commit is one catalog transaction, and a process that dies in it leaves
the catalog at the previous snapshot.
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from flows.temporary_server import TemporaryServer
    from tasks.lake.head_start import HeadStart
    from tasks.lake.location import LakeLocation
    from tasks.lake.session import LakeOpening

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process ended by Ctrl-C
TEARDOWN_SECONDS = 1.5
# How long past the teardown's deadline the exit waits for a lake's open ahead to end (and removes its folder).
UNDO_SECONDS = 0.3
# A COMMIT that is under way when Ctrl-C comes is waited for (it is the catalog's one
# transaction, and a process killed in it leaves the lake as it was): this long at most.
COMMIT_WAIT_SECONDS = 60.0
NOTHING_WRITTEN = "interrupted: nothing was written"
T = TypeVar("T")

_active: IngestInterrupt | None = None
_ending = threading.Lock()


def after_commit(snapshot: int | str) -> str:
    return f"interrupted after the commit: snapshot {snapshot} holds the run"


class IngestInterrupt:
    """SIGINT handling for one ``citelake ingest``; :meth:`install` it first thing, then fill in what the run starts."""

    def __init__(self, command: str = "ingest") -> None:
        self.command = command
        self.location: LakeLocation | None = None
        self.server: TemporaryServer | None = None
        self.opening: LakeOpening | None = None  # the lake opened ahead of the run
        self.head_start: HeadStart | None = None  # its files planned and parsed ahead of the run
        self.run_id: str | None = None
        self.before_message: list[Callable[[], Any]] = []  # e.g. stop the progress bar
        self._interrupted = False
        self._outcome: str | None = None  # what the lake holds, once known
        self._waiting_for_commit = False
        self._deadline = 0.0

    def install(self) -> IngestInterrupt:
        global _active
        _active = self
        signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self._interrupted:  # the second Ctrl-C
            os._exit(EXIT_INTERRUPTED)
        self._interrupted = True
        signal.signal(signal.SIGINT, lambda *_: os._exit(EXIT_INTERRUPTED))
        self._deadline = time.monotonic() + TEARDOWN_SECONDS
        threading.Thread(target=self._watchdog, name="citelake-interrupt-watchdog", daemon=True).start()
        # Nothing of Prefect's (a task that failed as its process was killed, a retried request) reaches the terminal.
        logging.disable(logging.CRITICAL)
        self._end(self._teardown())

    def _teardown(self) -> str:
        from tasks.reading.batch import terminate_parser_processes
        from tasks.reading.staging import remove_staging, staging_folder, stop_staging

        terminate_parser_processes(timeout=0.5)
        stopped = stop_staging(timeout=0.5)
        snapshot = self._committed_snapshot()
        self._outcome = NOTHING_WRITTEN if snapshot is None else after_commit(snapshot)
        if snapshot is None and self.head_start is not None:
            self.head_start.stop(timeout=0.3)  # its staging is the run's
        if snapshot is None and self.location is not None and self.run_id is not None:
            if stopped:
                remove_staging(staging_folder(self.location, self.run_id))
            self._mark_cancelled()
        if self.server is not None:
            self.server.stop(timeout=0.3)
        return self._outcome

    def _committed_snapshot(self) -> int | None:
        """The snapshot that holds the run if it committed, else None; once this returns, it will not commit."""
        if self.run_id is None or self.location is None:
            return None  # the run has not started: it has opened no transaction
        from tasks.lake.session import open_lake
        from tasks.lake.writer import COMMIT_GATE
        from tasks.lake.sql import read_sql

        if not COMMIT_GATE.acquire(timeout=max(0.0, self._deadline - 0.3 - time.monotonic())):
            # A COMMIT is under way: it ends soon, and whole. Wait for it, saying so.
            self._waiting_for_commit = True
            self._say(f"citelake {self.command}: interrupted during the commit; waiting for it to end (Ctrl-C to stop now)")
            COMMIT_GATE.acquire(timeout=COMMIT_WAIT_SECONDS)
            self._waiting_for_commit = False
            self._deadline = time.monotonic() + TEARDOWN_SECONDS
        # Held until the process ends: no COMMIT of this run starts now.
        con = open_lake(self.location, read_only=True)
        try:
            (committed,) = con.execute(read_sql("lake/run_recorded.sql"), {"run_id": self.run_id}).fetchone()
            if not committed:
                return None
            (snapshot,) = con.execute(read_sql("lake/current_snapshot.sql")).fetchone()
            return snapshot
        finally:
            con.close()

    def _mark_cancelled(self) -> None:
        """Tell the Prefect server the run was cancelled (best effort: the watchdog bounds it)."""
        try:
            from prefect.client.orchestration import get_client
            from prefect.states import Cancelled

            with get_client(sync_client=True) as client:
                client.set_flow_run_state(self.run_id, Cancelled(message="interrupted (Ctrl-C)"), force=True)
        except Exception:  # the run ends here either way
            pass

    def _watchdog(self) -> None:
        while True:
            time.sleep(max(0.05, self._deadline - time.monotonic()))
            if self._waiting_for_commit or time.monotonic() < self._deadline:
                continue
            if self._outcome is not None or self.run_id is None:
                self._end(self._outcome or NOTHING_WRITTEN)
            # Stopped before it was known whether the run committed: the lake holds all of it or none.
            self._end(f"interrupted: run {self.run_id} is in the lake whole or not at all (its runs row tells)")

    def _say(self, line: str) -> None:
        for call in self.before_message:
            try:
                call()
            except Exception:
                pass
        self.before_message = []
        # Straight to the file descriptor: no lock of sys.stderr that another thread may hold.
        try:
            sys.stderr.flush()
        except Exception:
            pass
        os.write(2, (line + "\n").encode())

    def _end(self, message: str) -> None:
        _ending.acquire()  # one line, from the handler or the watchdog; the other waits for the exit
        if self.run_id is None and self.head_start is not None:
            # Also here, for the watchdog's exit: a head start not yet stopped would make its staging again.
            self.head_start.stop(timeout=0.1)
        self._say(f"citelake {self.command}: {message}")
        if self.run_id is None and self.opening is not None:
            # The run never started: the lake folder opened ahead for it is not left behind. Last, just
            # before the exit, so that an open still under way has no time to make it again.
            self.opening.undo(timeout=max(0.1, self._deadline + UNDO_SECONDS - time.monotonic()))
        os._exit(EXIT_INTERRUPTED)


def run_started(location: LakeLocation, run_id: str) -> None:
    """Called by the ingest flow when it knows its run id: what a Ctrl-C has to clean up."""
    if _active is not None:
        _active.location, _active.run_id = location, run_id


def run_interruptibly(call: Callable[[], T]) -> T:
    """``call()`` in a thread, with this thread's context (Prefect's settings, the lake kept open); the main thread waits, free for SIGINT."""
    context = contextvars.copy_context()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as error:  # raised again in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="citelake-ingest-run", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
