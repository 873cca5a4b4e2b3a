"""Real report files for the alert tests, in the format of ``tests/fixtures/scd.2013.0023.txt``."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

Statement = tuple[str, str, str]  # text, section, type


def report_text(doi: str, title: str, cited_by: int, statements: list[Statement], *, unclassified: int = 0) -> str:
    """A saved citation-report page: the paper, its counts, and the statements shown (tallies count them)."""
    tallies = {kind: sum(kind == shown for _, _, shown in statements) for kind in ("supporting", "mentioning", "contrasting")}
    total = sum(tallies.values()) + unclassified
    lines = [
        "2013",
        f"DOI: {doi}",
        "|View full text |Cite",
        "|",
        "Sign up to set email alerts",
        "|",
        "",
        title,
        "",
        f"Abstract: The abstract of {title}.",
        "",
        "Help me understand this report",
        "",
        "Search citation statements",
        "",
        "Order By: Relevance",
        "",
        "Citation Types",
        "",
        str(tallies["supporting"]),
        str(tallies["mentioning"]),
        str(tallies["contrasting"]),
        str(unclassified),
        "",
        "citations",
        f"Cited by {cited_by} publications",
        f"({total} citation statements)",
        "references",
        "References 40 publications",
        str(tallies["supporting"]),
        str(tallies["mentioning"]),
        str(tallies["contrasting"]),
        str(unclassified),
        "Order By: Relevance",
    ]
    for text, section, kind in statements:
        lines += [f"“…{text}…”", f"Section: {section}{kind}", "confidence: 95%"]
    return "\n".join(lines) + "\n"


def write_page(folder: Path, name: str, saved_at: datetime, *args, **kwargs) -> Path:
    """Write one page as ``folder/name.txt``, its modification time the page's save time."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(report_text(*args, **kwargs), encoding="utf-8")
    os.utime(path, (saved_at.timestamp(), saved_at.timestamp()))
    return path
