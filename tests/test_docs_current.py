"""The docs say what the program does: docs/cli.md is every command's --help, the README's
examples are the program's output on the example data, and every relative link leads to a file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from docs_lake import REGENERATE, REPOSITORY, command_at, command_paths

CLI_DOC = REPOSITORY / "docs" / "cli.md"
COG = [sys.executable, "-m", "cogapp"]


def cog_check(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COG, "--check", "--diff", *(str(path.relative_to(REPOSITORY)) for path in files)],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=900,
    )


def test_cli_reference_is_the_programs_help() -> None:
    checked = cog_check(CLI_DOC)
    assert checked.returncode == 0, (
        f"docs/cli.md differs from citelake's --help; regenerate it with: {REGENERATE}\n"
        f"{checked.stdout}{checked.stderr}"
    )


def test_cli_reference_names_every_command_and_option() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `citelake ?([^`]*)`\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    missing = []
    for path in command_paths():
        name = " ".join(path)
        if name not in sections:
            missing.append(f"citelake {name}")
            continue
        for param in command_at(path).params:
            for option in getattr(param, "opts", []):
                if option.startswith("-") and not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", sections[name]):
                    missing.append(f"citelake {name} {option}")
    assert len(command_paths()) >= 15  # the walk reaches the sub-commands (watch add, alerts notify, ...)
    assert not missing, f"docs/cli.md does not show: {', '.join(missing)}; regenerate it with: {REGENERATE}"


@pytest.mark.slow
def test_readme_examples_are_the_programs_output() -> None:
    """Runs every README example on a fresh copy of examples/ (the ingest starts a temporary Prefect server)."""
    files = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
    checked = cog_check(*files)
    assert checked.returncode == 0, (
        f"README.md or docs/ differ from what the program prints; regenerate them with: {REGENERATE}\n"
        f"{checked.stdout}{checked.stderr}"
    )


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


def test_relative_links_in_the_docs_lead_to_files() -> None:
    documents = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
    broken = []
    for document in documents:
        text = document.read_text(encoding="utf-8")
        # Links inside fenced code are program output, not links.
        prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
        for target in LINK.findall(prose):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:: not a file of the repository
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            where = f"{document.relative_to(REPOSITORY)}: ({target})"
            if not linked.exists():
                broken.append(f"{where}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text(encoding="utf-8")):
                broken.append(f"{where}: no heading #{anchor}")
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)


README_MOST_LINES = 250


def test_readme_is_short() -> None:
    lines = (REPOSITORY / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MOST_LINES, f"README.md has {lines} lines (at most {README_MOST_LINES}): move details to docs/"


def test_readme_lists_every_citelake_setting() -> None:
    """Every CITELAKE_* variable the program or its deployments read is a row of the README's Settings table."""
    sources = [*(REPOSITORY / "flows").rglob("*.py"), *(REPOSITORY / "tasks").rglob("*.py"), REPOSITORY / "prefect.yaml"]
    used = {name for path in sources for name in re.findall(r"\bCITELAKE_[A-Z_]+\b", path.read_text(encoding="utf-8"))}
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(CITELAKE_[A-Z_]+)` \|", readme, re.MULTILINE))
    assert {"CITELAKE_LAKE", "CITELAKE_CATALOG", "CITELAKE_MEMORY_LIMIT"} <= used
    assert not used - listed, f"README.md's Settings table does not list: {sorted(used - listed)}"
