"""Every citelake command documents itself: a help text, and help for each of its options."""

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from flows.cli import app

COMMANDS = sorted(get_command(app).commands)


def test_the_commands_the_readme_lists_exist() -> None:
    assert set(COMMANDS) >= {"ingest", "sql", "export", "serve", "parse", "generate"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_option_has_help(name: str) -> None:
    command = get_command(app).commands[name]
    assert command.help and command.help.strip(), f"citelake {name} has no help text"
    undocumented = [param.name for param in command.params if not getattr(param, "help", None)]
    assert not undocumented, f"citelake {name}: options without help: {undocumented}"
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
