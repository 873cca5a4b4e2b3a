"""An ingest's discovery, plan and first batches, begun before its run starts.

``citelake ingest`` begins one (:class:`HeadStart`) before it imports Prefect and
creates the flow run, which take one core 2-3 s: meanwhile, in a thread, the
lake's ingest lock is taken, the files are discovered, the plan is made and
parked, and every batch to read is handed to the parser processes. The flow run
then adopts it (:func:`adopt_head_start`): its plan task returns the plan made
here, and its parse tasks collect the batches begun here
(``tasks.reading.batch.run_in_parser_process``) instead of parsing them again.

It is a head start and nothing more. One that fails (another ingest holds the
lake, the source is gone) has let go of everything before the run asks for it,
and the run does the work itself and says what stood in the way. The caller
ends it with :meth:`HeadStart.close` whatever happened: the parser processes
stop (abandoning their batches if the run failed), the staging folder is
removed and the lock released. A Ctrl-C's teardown calls :meth:`HeadStart.stop`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tasks.lake.discover import discover_reports
from tasks.lake.location import LakeLocation
from tasks.lake.lock import ingest_guard, notice
from tasks.lake.plan import DISCOVERING, ParkedPlan, RunPlan, plan_run
from tasks.lake.session import LakeOpening, open_lake
from tasks.reading.batch import begin_calls, forget_begun, parser_processes, warm_parser_processes
from tasks.reading.staging import parse_and_stage_planned, remove_staging, staging_folder

# Head starts begun in this process and not yet adopted, by what their run is asked to do.
_begun: dict[tuple[str, LakeLocation, int, int | None], HeadStart] = {}
_begun_lock = threading.Lock()
# How long close() waits for a head start that is still discovering or planning when its run failed.
_ABANDON_WAIT_SECONDS = 5.0


class _Stopped(Exception):
    """The head start was stopped before it made anything more."""


class HeadStart:
    """The discovery, plan and parse of ``source`` into ``location``, begun now in a thread.

    ``batch_size`` and ``workers`` are the run's (``workers`` None: one parser process
    per core, or none for a run of one batch). ``opening``, the lake's open begun
    ahead, lends the plan its DuckDB instance. ``plan`` and ``parked`` are the plan
    and its parked files once it is ready; ``error`` what stopped it, if anything;
    ``began`` when it began (``time.monotonic()``), where the run's time counts from.
    """

    def __init__(
        self, source: str, location: LakeLocation, *, batch_size: int, workers: int | None, opening: LakeOpening | None = None
    ) -> None:
        self.source = source
        self.location = location
        self.batch_size = batch_size
        self.workers = workers
        self.staging: Path = staging_folder(location, f"ahead-{uuid.uuid4().hex}")
        self.plan: RunPlan | None = None
        self.parked: ParkedPlan | None = None
        self.error: BaseException | None = None
        self.adopted = False
        self.began = time.monotonic()
        self._opening = opening
        self._ready = threading.Event()  # the plan is parked and its batches registered, or the head start ended
        self._discovered = threading.Event()  # the files are found (or the head start ended)
        self._release = threading.Event()  # the run is done with it
        self._abandon = False
        self._stopped = False
        # Held while the head start makes something in the lake folder; stop() takes it to make sure nothing more is.
        self._making = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="citelake-head-start", daemon=True)
        self._key = (source, location, batch_size, workers)  # what adopt_head_start asks for
        with _begun_lock:
            _begun[self._key] = self
        self._thread.start()

    def _run(self) -> None:
        try:
            with ExitStack() as held:
                with self._making:
                    self._check_stopped()
                    held.enter_context(ingest_guard(self.location))
                notice(DISCOVERING)  # as the run's plan says it: the lake is held from here
                skipped: list[tuple[str, str]] = []
                discovered = discover_reports(self.source, skipped)
                processes = held.enter_context(parser_processes(self.workers or os.cpu_count() or 1))
                con = self._opening.cursor() if self._opening is not None else None
                if con is None:
                    with self._making:  # a writable open makes the lake if it is not there
                        self._check_stopped()
                        con = open_lake(self.location)
                try:
                    plan = plan_run(
                        con, discovered, skipped, when_work=(self.batch_size + 1, warm_parser_processes),
                        when_discovered=self._discovered.set,
                    )  # fmt: skip
                finally:
                    con.close()
                del discovered
                with self._making:
                    self._check_stopped()
                    parked = ParkedPlan(plan.to_read, self.staging, self.batch_size)
                if self.workers is None and len(parked) <= 1:
                    processes.not_needed()  # one batch is not worth a process's start: it is parsed in this thread
                self.plan, self.parked = plan, parked
                calls = [(parked.path, number, self.staging) for number in range(len(parked))]
                begin_calls(parse_and_stage_planned, calls, registered=self._ready.set)
                self._release.wait()
                if self._abandon:
                    processes.terminate()
        except Exception as error:  # the run meets it again, and says what it is
            self.error = error
        finally:
            forget_begun()
            remove_staging(self.staging)
            self._discovered.set()
            self._ready.set()

    def _check_stopped(self) -> None:
        if self._stopped or self._abandon:
            raise _Stopped("the head start was stopped")

    def wait_discovered(self) -> None:
        """Wait until the files are found: discovery is Python, and shares the GIL badly with an import beside it."""
        while not self._discovered.wait(0.2):  # in steps: the main thread stays free for a Ctrl-C's handler
            pass

    def wait_ready(self) -> bool:
        """Wait for the plan; whether the head start got that far (else it has let go of everything)."""
        self._ready.wait()
        return self.error is None and self.parked is not None

    def close(self, *, abandon: bool) -> None:
        """End the head start once its run is over: ``abandon`` (the run failed, or never adopted it) stops its batches."""
        self._abandon = abandon or not self.adopted
        self._release.set()
        self._thread.join(_ABANDON_WAIT_SECONDS if self._abandon else None)
        with _begun_lock:
            if _begun.get(self._key) is self:
                del _begun[self._key]

    def stop(self, timeout: float) -> None:
        """From a Ctrl-C's teardown (the parser processes killed already): nothing more is made, and the staging folder goes."""
        self._stopped = True  # from its next step on, it makes nothing
        if self._making.acquire(timeout=timeout):  # a step under way ends first
            try:
                remove_staging(self.staging)
            finally:
                self._making.release()


def adopt_head_start(source: str, location: LakeLocation, batch_size: int, workers: int | None) -> HeadStart | None:
    """The head start begun in this process for this run, once its plan is ready; None when there is none or it failed."""
    with _begun_lock:
        head = _begun.pop((source, location, batch_size, workers), None)
    if head is None or not head.wait_ready():
        return None
    head.adopted = True
    return head


@contextmanager
def head_start_closed(head: HeadStart | None) -> Iterator[None]:
    """End ``head`` (if any) when the block ends: abandoned if the block raised."""
    try:
        yield
    except BaseException:
        if head is not None:
            head.close(abandon=True)
        raise
    if head is not None:
        head.close(abandon=False)
