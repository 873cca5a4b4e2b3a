"""The ingest's ``--runner`` options and their rules, known without importing Prefect.

``citelake ingest`` checks them before it starts anything; ``flows.ingest.task_runner``
builds the runner they name.
"""

from __future__ import annotations

RUNNERS = ("threads", "processes", "dask")


def runner_options_error(runner: str, dask_address: str | None, workers: int | None) -> str | None:
    """What is wrong with this ``--runner``, ``--dask-address`` and ``--workers``, in one line; None when nothing is."""
    if runner not in RUNNERS:
        return f"unknown runner {runner!r}; choose one of {', '.join(RUNNERS)}"
    if dask_address and runner != "dask":
        return "--dask-address needs --runner dask"
    if dask_address and workers:
        return "--workers sizes a local Dask cluster; the one at --dask-address has its own"
    return None
