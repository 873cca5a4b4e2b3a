"""The rooms keep their rules (docs/architecture.md): tasks/ is the library, and runs without Prefect or flows/."""

from __future__ import annotations

import ast
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
# Configuring Prefect's notification blocks and automations is this module's job.
PREFECT_ALLOWED = {REPOSITORY / "tasks" / "alerts" / "notify.py"}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_tasks_imports_neither_flows_nor_prefect() -> None:
    offending = []
    for path in sorted((REPOSITORY / "tasks").rglob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "flows" or (top == "prefect" and path not in PREFECT_ALLOWED):
                offending.append(f"{path.relative_to(REPOSITORY)} imports {module}")
    assert not offending, "\n".join(offending)


def test_the_finder_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from prefect import flow\n    import flows.cli\n")
    assert imported_modules(module) == {"prefect", "flows.cli"}
