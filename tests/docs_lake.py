"""What the docs show, made by running the program (the cog blocks of README.md and docs/cli.md).

``cli_reference()`` renders every command's ``--help``; ``example(command)`` runs a
README command on the example data in a fresh lake, built once per process in a
temporary folder, and returns the command with its output. Regenerate the docs with
``REGENERATE``; tests/test_docs_current.py fails when they drift from the program.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

REPOSITORY = Path(__file__).resolve().parent.parent
REGENERATE = "python3 -m uv run cog -r README.md docs/*.md"
# A fixed width, so that the help and the tables wrap the same on every machine.
WIDTH = 100
# The real sample page and the API responses are not generated: git gives them the
# checkout's time. Fixed save times, after the generated pages' (2024-01 to 2025-05),
# keep the dates the examples print the same on every clone.
SAMPLE_PAGE = "scd.2013.0023.txt"
SAMPLE_SAVED_AT = 1_748_779_200  # 2025-06-01 12:00 UTC
API_SAVED_AT = 1_749_988_800  # 2025-06-15 12:00 UTC
# What `citelake generate` wrote examples/reports with (examples/README.md).
EXAMPLE_CORPUS = ("--count", "24", "--seed", "3546")


def cli_app() -> Any:
    """The click command tree of ``citelake`` (typer carries its own click: typed loosely)."""
    from flows.cli import app

    return get_command(app)


def command_paths(group: Any = None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command of ``citelake``, as name paths, in the order ``--help`` lists them."""
    group = group or cli_app()
    paths: list[tuple[str, ...]] = []
    for name in group.commands:
        command = group.commands[name]
        paths.append((*prefix, name))
        if hasattr(command, "commands"):  # a group of sub-commands
            paths.extend(command_paths(command, (*prefix, name)))
    return paths


def command_at(path: tuple[str, ...]) -> Any:
    command = cli_app()
    for name in path:
        command = command.commands[name]
    return command


def help_text(path: tuple[str, ...]) -> str:
    from flows.cli import app

    env = {"COLUMNS": str(WIDTH), "TERMINAL_WIDTH": str(WIDTH), "NO_COLOR": "1"}
    result = CliRunner().invoke(app, [*path, "--help"], env=env, terminal_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"citelake {' '.join(path)} --help: exit {result.exit_code}: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")


def cli_reference() -> str:
    """docs/cli.md's body: a heading and the ``--help`` of ``citelake`` and of every (sub-)command."""
    parts = [f"## `citelake`\n\n```\n{help_text(())}\n```\n"]
    for path in command_paths():
        parts.append(f"## `citelake {' '.join(path)}`\n\n```\n{help_text(path)}\n```\n")
    return "\n".join(parts)


def citelake_program() -> list[str]:
    installed = Path(sys.executable).parent / "citelake"
    return [str(installed)] if installed.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


@functools.cache
def example_folder() -> Path:
    """A copy of examples/ with the save times of the pages restored, in a new temporary folder.

    The lake the examples build is ``./lake`` of this folder, as for a user in the
    repository's root; nothing is ingested yet.
    """
    root = Path(tempfile.mkdtemp(prefix="citelake-docs-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(REPOSITORY / "examples", root / "examples")
    reports = root / "examples" / "reports"
    subprocess.run(
        [*citelake_program(), "generate", str(reports), *EXAMPLE_CORPUS],
        check=True, capture_output=True, timeout=300, env=command_environment(),
    )
    os.utime(reports / SAMPLE_PAGE, (SAMPLE_SAVED_AT, SAMPLE_SAVED_AT))
    for response in (root / "examples" / "api").iterdir():
        os.utime(response, (API_SAVED_AT, API_SAVED_AT))
    return root


def command_environment() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": str(WIDTH), "TERMINAL_WIDTH": str(WIDTH), "NO_COLOR": "1"}
    # The lake is ./lake of the example folder, whatever the caller's environment says.
    for name in ("CITELAKE_LAKE", "CITELAKE_CATALOG"):
        env.pop(name, None)
    return env


# Lines that differ from run to run: the ingest's first line names its run (left out); its
# last one gives its times (shown with the figures elided).
UNSTABLE = re.compile(r"^ingested .* \(run [0-9a-f-]+\)$")
TIMES = re.compile(r"^time      committed in ")
SECONDS = re.compile(r"[0-9]+\.[0-9] s")


def run(command: str, *, stderr: bool = False, exit_code: int = 0) -> str:
    """Run ``citelake ARGS`` in the example folder: what it printed, the unstable lines left out.

    Only stdout unless ``stderr``: the progress lines on stderr vary with the machine's speed.
    The command must end with ``exit_code`` (``citelake check`` ends with 3 for a retracted reference).
    The example folder's path is shown as ``…/``, as a user's own folder would be elided.
    """
    words = shlex.split(command)
    assert words[0] == "citelake", command
    done = subprocess.run(
        [*citelake_program(), *words[1:]],
        cwd=example_folder(), capture_output=True, text=True, timeout=600, env=command_environment(),
    )
    if done.returncode != exit_code:
        raise RuntimeError(f"{command}: exit {done.returncode}:\n{done.stdout}{done.stderr}")
    output = (done.stdout + done.stderr if stderr else done.stdout).replace(f"{example_folder()}/", "…/")
    lines = [
        SECONDS.sub("… s", line.rstrip()) if TIMES.match(line) else line.rstrip()
        for line in output.splitlines()
        if not UNSTABLE.match(line)
    ]
    return "\n".join(lines).strip("\n")


def example(command: str, *, stderr: bool = False, head: int | None = None, exit_code: int = 0) -> str:
    """A fenced block: ``$ command`` and what it printed (its first ``head`` lines, then ``…``)."""
    output = run(command, stderr=stderr, exit_code=exit_code)
    if head is not None and len(output.splitlines()) > head:
        output = "\n".join([*output.splitlines()[:head], "…"])
    return f"```\n$ {command}\n{output}\n```\n"
