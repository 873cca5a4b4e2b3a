"""The ``citelake`` command: one sub-command per job, each a thin wrapper over ``tasks/``."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="citelake",
    help="Turn folders of citation-report pages into a DuckLake lakehouse you can query with SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
