"""The temporary Prefect server ``citelake ingest`` starts when no ``PREFECT_API_URL`` is set.

It runs the same thing Prefect's own ``SubprocessASGIServer`` runs (uvicorn
serving ``prefect.server.api.server:create_app``, without the UI), with these
differences:

- it is launched first and waited for last: :meth:`TemporaryServer.launch`
  starts the process and returns at once, so the server imports and migrates
  its database while the command imports Prefect and the rest of citelake;
  :meth:`TemporaryServer.wait_ready` waits for its health check only when the
  flow needs the API. Launching imports nothing of Prefect (its server takes
  seconds to import, and runs in the server process anyway);
- the server process dies with the process that started it, even one killed
  with SIGKILL (no ``atexit`` runs then): on Linux the child asks the kernel
  for a SIGKILL when its parent goes (``prctl(PR_SET_PDEATHSIG)``, set between
  fork and exec). The signal is tied to the thread that launches the server:
  launch it from the main thread;
- it is given the time it needs on a busy machine (120 s unless
  ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` says otherwise), and a
  server that still does not start is one line saying what to do;
- it registers no block types at its start. The ingest flow saves and loads no
  blocks, and Prefect's check of whether the registry changed since its last
  start imports every installed Prefect collection first: prefect-dask, and with
  it dask.distributed, in a server that runs no Dask. That import took 0.3-0.4 s
  of the start, and its many classes made FastAPI's building of the routes on
  the first request about 0.2 s slower. A ``prefect server start`` on the same
  ``PREFECT_HOME`` registers them at its own start as usual;
- it runs in a session of its own, out of the reach of a terminal's Ctrl-C:
  the command stops it, after the run (see ``flows.interrupt``);
- it imports and builds Prefect's app with the cyclic garbage collector off
  (:func:`create_server_app`): 0.5 s less until it answers.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Prefect's default (20 s) is too short on a loaded machine: a fresh server imports and migrates for longer.
STARTUP_TIMEOUT_SECONDS = 120
_PORT_IN_USE_EXIT = 3  # uvicorn's exit status when it cannot bind its port
_POLL_SECONDS = 0.1
_PR_SET_PDEATHSIG = 1


STARTING = "starting a temporary Prefect server… (set PREFECT_API_URL to use a running one)"


class TemporaryServerError(RuntimeError):
    """The temporary Prefect server did not start; the message is one line saying what to do."""


class PrefectServerUnreachable(RuntimeError):
    """The Prefect server of ``PREFECT_API_URL`` did not answer when the run was to start; one line, nothing written."""


def api_in_environment() -> bool:
    """Whether ``PREFECT_API_URL`` is in the environment (known before Prefect is imported; see :func:`api_configured`)."""
    return bool(os.environ.get("PREFECT_API_URL"))


def api_configured() -> bool:
    """Whether Prefect has an API to talk to (``PREFECT_API_URL`` in the environment or the active profile)."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def startup_timeout() -> int:
    """``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` when set (environment or profile), else 120 s."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, get_current_settings

    if "startup_timeout_seconds" in get_current_settings().server.ephemeral.model_fields_set:
        return PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    return STARTUP_TIMEOUT_SECONDS


def _prctl() -> Any | None:
    """libc's ``prctl``, looked up in the parent: a child of a threaded process must not ``dlopen``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with(parent: int, prctl: Any) -> None:
    """In the server process, between fork and exec: be SIGKILLed when ``parent`` ends."""
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(api_url: str) -> bool:
    """Whether the Prefect API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def create_server_app() -> Any:
    """The server process's app: Prefect's ``create_app``, imported and built with the cyclic GC off.

    Importing Prefect's server builds thousands of pydantic models and FastAPI
    routes, and the garbage collector's passes over them, which find next to
    nothing to free, took about a tenth of that import. The objects made by then
    live as long as the server: they are frozen out of later collections
    (``gc.freeze``) and the collector is switched back on for the requests.
    """
    import gc

    gc.disable()
    try:
        from prefect.server.api.server import create_app

        return create_app()
    finally:
        gc.freeze()
        gc.enable()


class TemporaryServer:
    """A Prefect API server in a child process of this one, for as long as this process needs it."""

    def __init__(self) -> None:
        self.port: int | None = None
        self.process: subprocess.Popen[Any] | None = None
        self._ready = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> TemporaryServer:
        """Start the server process and return without waiting for it (see :meth:`wait_ready`)."""
        if self.process is None:
            if self.port is None:  # the first launch (a relaunch after a port clash is registered already)
                atexit.register(self.stop)
            self.port = free_port()
            self.process = self._run_uvicorn()
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Return once the server answers its health check; :class:`TemporaryServerError` if it does not in time."""
        if self._ready:
            return
        self.launch()
        timeout = startup_timeout() if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            exit_code = self.process.poll()
            if exit_code == _PORT_IN_USE_EXIT:  # another process took the port between the probe and the bind
                self.process = None
                self.launch()
                continue
            if exit_code is not None:
                self._fail(f"it exited with code {exit_code} (its output is above)")
            if healthy(self.api_url):
                self._ready = True
                return
            if time.monotonic() >= deadline:
                self._fail(f"it did not answer within {timeout:g} s (a busy machine?)")
            time.sleep(_POLL_SECONDS)

    def _fail(self, reason: str) -> None:
        self.stop()
        raise TemporaryServerError(
            f"the temporary Prefect server did not start: {reason}; start one with `prefect server start` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )

    def stop(self, timeout: float = 5) -> None:
        """End the server process (SIGTERM, then SIGKILL after ``timeout`` s)."""
        process, self.process, self._ready = self.process, None, False
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _run_uvicorn(self) -> subprocess.Popen[Any]:
        # What Prefect 3.9's SubprocessASGIServer runs (through create_server_app), plus the death signal; its analytics
        # are off (the server is ours).
        server_env = {
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # No block types registered at its start: a run on this server uses no blocks, and to tell
            # whether the registry changed since the last start Prefect first imports every installed
            # collection (prefect_dask imports dask.distributed, whose classes also slow the FastAPI
            # route building of the server's first request). See the module's docstring.
            "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
            "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
        }
        parent, prctl = os.getpid(), _prctl()
        return subprocess.Popen(
            args=[
                sys.executable, "-m", "uvicorn",
                "--app-dir", str(Path(__file__).resolve().parents[1]),
                "--factory", f"{__name__}:create_server_app",
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--log-level", "error",
                "--lifespan", "on",
            ],
            # The server reads the same environment, profile and settings files as this process.
            env={**os.environ, **server_env},
            preexec_fn=(lambda: _die_with(parent, prctl)) if prctl else None,
            # A session of its own: a Ctrl-C on the terminal reaches the command, which stops the
            # run first and this server last, not the server under a run still talking to it.
            start_new_session=True,
        )  # fmt: skip

