"""An explanation's sentences in three forms: plain text, Markdown and JSON (the HTML page is ``tasks.explain.site``)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from tasks.explain.facts import Explanation
from tasks.explain.sentences import HEADINGS, Sentence
from tasks.output import to_json


def _quote_text(quote: str) -> str:
    return f"“{quote}”"


def render_text(explanation: Explanation) -> str:
    """The explanation as plain text: a title line, then a heading and its sentences per section."""
    import textwrap

    lines = [f"{explanation.title or explanation.doi} ({explanation.doi})", ""]
    for heading, sentences in explanation.by_section():
        lines.append(heading)
        for sentence in sentences:
            lines.append(textwrap.fill(sentence.text, width=88, initial_indent="  - ", subsequent_indent="    "))
            if sentence.quote:
                lines.append(textwrap.fill(_quote_text(sentence.quote), width=88, initial_indent="      ", subsequent_indent="      "))
        lines.append("")
    lines.append(f"Every number above comes from a query in sql/explain/ for doi = '{explanation.doi}'.")
    return "\n".join(lines) + "\n"


def render_markdown(explanation: Explanation, images: dict[str, str] | None = None) -> str:
    """The explanation as Markdown; ``images`` (chart name → file name or URL) are placed under their sections."""
    images = images or {}
    placement = {"balance": "balance", "trend": "history", "sections": "sections"}
    lines = [f"# {explanation.title or explanation.doi}", "", f"DOI `{explanation.doi}`", ""]
    for section, sentences in _sections_with_keys(explanation):
        lines += [f"## {HEADINGS[section]}", ""]
        for sentence in sentences:
            lines.append(f"- {sentence.text}")
            if sentence.quote:
                lines += ["", f"  > {sentence.quote}", ""]
        chart = placement.get(section)
        if chart and chart in images:
            lines += ["", f"![{chart} chart]({images[chart]})"]
        lines.append("")
    lines.append(f"_Every number comes from a query in `sql/explain/` for doi = `{explanation.doi}`._")
    return "\n".join(lines) + "\n"


def _sections_with_keys(explanation: Explanation) -> list[tuple[str, list[Sentence]]]:
    groups: dict[str, list[Sentence]] = {}
    for sentence in explanation.sentences:
        groups.setdefault(sentence.section, []).append(sentence)
    return [(section, groups[section]) for section in HEADINGS if section in groups]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def explanation_dict(explanation: Explanation) -> dict[str, Any]:
    """The explanation as plain JSON-able data: per sentence its text, numbers and SQL file."""
    return {
        "doi": explanation.doi,
        "title": explanation.title,
        "sentences": [
            {
                "section": sentence.section,
                "heading": HEADINGS[sentence.section],
                "text": sentence.text,
                "quote": sentence.quote,
                "numbers": {name: _plain(value) for name, value in sentence.numbers.items()},
                "sql": f"sql/{sentence.sql}",
                "parameters": {"dois": [explanation.doi]},
            }
            for sentence in explanation.sentences
        ],
    }


def render_json(explanation: Explanation) -> str:
    """The explanation as one JSON document (see :func:`explanation_dict`)."""
    return json.dumps(json.loads(to_json(explanation_dict(explanation))), indent=2, ensure_ascii=False) + "\n"
