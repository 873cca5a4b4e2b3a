"""The temporary Prefect server ``citelake ingest`` starts when no ``PREFECT_API_URL`` is set.

Prefect's :class:`~prefect.server.api.server.SubprocessASGIServer`, with two changes:

- the server process dies with the process that started it, even one killed
  with SIGKILL (no ``atexit`` runs then): on Linux the child asks the kernel
  for a SIGKILL when its parent goes (``prctl(PR_SET_PDEATHSIG)``, set between
  fork and exec);
- it is given the time it needs on a busy machine (120 s unless
  ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` says otherwise), and a
  server that still does not start is one line saying what to do.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, get_current_settings

from tasks.lake.ingest import IngestError

# Prefect's default (20 s) is too short on a loaded machine: a fresh server imports and migrates for longer.
STARTUP_TIMEOUT_SECONDS = 120
_PR_SET_PDEATHSIG = 1


class TemporaryServerError(IngestError):
    """The temporary Prefect server did not start."""


def startup_timeout() -> int:
    """``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` when set (environment or profile), else 120 s."""
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


class TemporaryServer(SubprocessASGIServer):
    """A ``SubprocessASGIServer`` whose process dies with this one, and whose failure to start is one line.

    The death signal is tied to the thread that starts the server: start it
    from the thread that lives as long as the server should (the main thread).
    """

    _instances: dict[int | None, SubprocessASGIServer] = {}  # not shared with Prefect's own servers

    def start(self, timeout: int | None = None) -> None:
        timeout = startup_timeout() if timeout is None else timeout
        try:
            super().start(timeout=timeout)  # (a timeout of 0 falls back to the setting, which is then 0 too)
        except Exception as error:  # noqa: BLE001 - whatever went wrong, the advice is the same
            exit_code = self.server_process.poll() if self.server_process else None
            self.stop()
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if reason.startswith("Timed out"):
                reason = f"it did not answer within {timeout} s (a busy machine?)"
                if exit_code is not None:
                    reason = f"it exited with code {exit_code} (its output is above)"
            raise TemporaryServerError(
                f"the temporary Prefect server did not start: {reason}; start one with `prefect server start` "
                "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
            ) from None

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # As Prefect's, plus the death signal (the arguments and environment are Prefect 3.9's).
        server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        parent, prctl = os.getpid(), _prctl()
        return subprocess.Popen(
            args=[
                sys.executable, "-m", "uvicorn",
                "--app-dir", str(prefect.__module_path__.parent),
                "--factory", "prefect.server.api.server:create_app",
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--log-level", "error",
                "--lifespan", "on",
            ],
            env={**os.environ, **server_env, **get_current_settings().to_environment_variables(exclude_unset=True)},
            preexec_fn=(lambda: _die_with(parent, prctl)) if prctl else None,
        )
