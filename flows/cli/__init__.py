"""The ``citelake`` command: one sub-command per job, each a thin wrapper over ``tasks/``.

Each command group parses its arguments and renders its output in a module of its own
(``flows/cli/<group>.py``) and imports what it needs inside its functions, so that
``citelake --help`` and the short commands start without Prefect, polars or DuckDB.
"""

from __future__ import annotations

import typer

from tasks.allocator import return_freed_memory

return_freed_memory()  # before any command imports polars

from flows.cli import alerts, care, check, explain, ingest, reading, search, serve, sql, watch
from flows.cli.shared import ended_cleanly

app = typer.Typer(
    name="citelake",
    help="Turn folders of citation-report pages into a DuckLake lakehouse you can query with SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Every command in the order `citelake --help` lists them.
app.command()(reading.generate)
app.command()(reading.parse)
app.command()(ingest.ingest)
app.command("sql")(sql.sql_command)
app.command()(sql.attach)
app.command("search")(search.search_command)
app.command()(sql.export)
app.command()(serve.serve)
app.command("maintain")(care.maintain_command)
app.command()(explain.explain)
app.command()(check.check)
app.command()(care.verify)
app.command()(care.backup)
app.add_typer(watch.watch_app, name="watch")
app.add_typer(alerts.alerts_app, name="alerts")


def main() -> None:
    import logging

    # What the steps warn about (a moved lake, a skipped folder) reaches the terminal, one line each.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("citelake: %(message)s"))
    steps = logging.getLogger("tasks")
    steps.addHandler(handler)
    steps.setLevel(logging.WARNING)
    try:
        app()
    except SystemExit as ending:
        if not ended_cleanly or ending.code not in (None, 0):
            raise
    if not ended_cleanly:
        return
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
