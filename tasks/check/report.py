"""A checked reference list in the forms ``citelake check`` writes: table, JSON, CSV, Markdown and HTML.

Table, CSV and JSON go through the one output formatter (``tasks.output``):
JSON and CSV carry every field of :class:`~tasks.check.references.ReferenceCheck`
(one object a line, in the file's order); the table a few columns that fit a
terminal. Markdown and the HTML page are reports to read: the closing line,
then the references grouped by status, flagged ones first (retracted, then a
notice, then contrasting evidence), each with its facts in sentences
(:func:`fact_sentences`) and its newest contrasting statements quoted. The page
is one file, its CSS inline, nothing fetched; it prints without the colours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from html import escape
from typing import Any, TextIO

import pyarrow as pa

from tasks.check.references import STATUSES, CheckReport, ReferenceCheck
from tasks.output import write_rows

FORMATS: tuple[str, ...] = ("table", "json", "csv", "markdown", "html")
ROW_FORMATS: tuple[str, ...] = ("table", "json", "csv")

# The headings of the report's groups, in the order they are listed.
HEADINGS: dict[str, str] = {
    "retracted": "Retracted",
    "notice": "With an editorial notice",
    "contrasting": "With contrasting evidence",
    "ok": "Nothing flagged",
    "not_in_lake": "Not in the lake",
    "no_doi": "Without a DOI",
    "invalid_doi": "With an invalid DOI",
}
# How a notice's source is named in sentences; a source not named here shows as it is.
SOURCE_NAMES: dict[str, str] = {"scite_api": "the scite API", "retraction_watch": "Retraction Watch"}
TALLY_NAMES: dict[str, str] = {"page": "report page", "api": "API tally"}
BADGES: dict[str, str] = {"retracted": "retracted", "notice": "notice", "contrasting": "contrasting evidence"}


class UnknownFormat(ValueError):
    """A --format other than :data:`FORMATS`."""


def check_format(output_format: str) -> str:
    if output_format not in FORMATS:
        raise UnknownFormat(f"unknown --format {output_format!r}; use {', '.join(FORMATS)}")
    return output_format


# ---------------------------------------------------------------------------
# Rows: table, JSON and CSV
# ---------------------------------------------------------------------------

_NOTICE = pa.struct(
    [("nature", pa.string()), ("date", pa.string()), ("source", pa.string()), ("reasons", pa.list_(pa.string())),
     ("notice_doi", pa.string())]
)
_STATEMENT = pa.struct(
    [("text", pa.string()), ("section", pa.string()), ("citing_year", pa.int32()), ("citing_doi", pa.string()),
     ("confidence", pa.float64()), ("first_seen", pa.timestamp("us", tz="UTC")), ("statement_id", pa.string())]
)
ROW_SCHEMA = pa.schema(
    [
        ("position", pa.int32()), ("key", pa.string()), ("reference", pa.string()), ("doi", pa.string()),
        ("status", pa.string()), ("flags", pa.list_(pa.string())), ("in_lake", pa.bool_()), ("retracted", pa.bool_()),
        ("title", pa.string()), ("year", pa.int32()), ("notices", pa.list_(_NOTICE)), ("cited_by", pa.int64()),
        ("statement_count", pa.int64()), ("supporting", pa.int64()), ("mentioning", pa.int64()),
        ("contrasting", pa.int64()), ("unclassified", pa.int64()), ("tally_source", pa.string()),
        ("tally_date", pa.date32()), ("contrasting_share", pa.float64()), ("contrasting_percentile", pa.float64()),
        ("contrasting_statements", pa.list_(_STATEMENT)), ("problem", pa.string()),
    ]
)


def rows_table(report: CheckReport) -> pa.Table:
    """Every field of every reference, in the file's order: the JSON and CSV forms."""
    return pa.Table.from_pylist([asdict(check) for check in report.checks], schema=ROW_SCHEMA)


def table_rows(report: CheckReport) -> pa.Table:
    """The columns the table form shows, one row per reference in the file's order."""
    rows = []
    for check in report.checks:
        rows.append(
            {
                "#": check.position,
                "key": check.key or "",
                "doi": check.doi or "",
                "status": check.status,
                "cited by": check.cited_by,
                "statements": check.statement_count,
                "supporting": check.supporting,
                "contrasting": check.contrasting,
                "contrasting %": _percent(check.contrasting_share),
                "percentile": check.contrasting_percentile,
                "tally of": check.tally_date.isoformat() if check.tally_date else "",
                "notes": _note(check),
            }
        )
    return pa.Table.from_pylist(rows)


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"


def _note(check: ReferenceCheck) -> str:
    if check.notices:
        return "; ".join(_notice_short(notice) for notice in check.notices)
    if check.status == "invalid_doi":
        return check.problem or ""
    if check.status == "no_doi":
        return check.problem if check.key else f"{check.reference}: {check.problem}"
    if check.status == "not_in_lake":
        return "no page or API response of it"
    return ""


def _notice_short(notice: dict[str, Any]) -> str:
    when = f" {notice['date']}" if notice["date"] else ""
    return f"{notice['nature'] or 'notice'}{when} ({notice['source']})"


def write_row_format(report: CheckReport, output_format: str, out: TextIO) -> None:
    """The table, JSON or CSV form, through the one output formatter."""
    if output_format == "table":
        write_rows(table_rows(report), "table", out=out)
    else:
        write_rows(rows_table(report), output_format, out=out)


# ---------------------------------------------------------------------------
# Sentences: what Markdown and HTML say of a reference
# ---------------------------------------------------------------------------


def grouped(report: CheckReport) -> Iterator[tuple[str, list[ReferenceCheck]]]:
    """``(status, references)`` per status that has any, flagged first; the file's order within each."""
    for status in STATUSES:
        group = [check for check in report.checks if check.status == status]
        if group:
            yield status, group


def fact_sentences(check: ReferenceCheck, contrasting_share: float) -> list[str]:
    """What the check found for one reference, in plain sentences."""
    if check.status == "no_doi":
        return [f"{check.reference}: {check.problem}; it cannot be checked."]
    if check.status == "invalid_doi":
        return [f"{check.reference}: {check.problem}."]
    if check.status == "not_in_lake":
        return ["The lake holds no report page or API response of this paper: nothing is known of it."]
    sentences = []
    if check.retracted:
        sentences.append("Retracted.")
    for notice in check.notices:
        sentences.append(_notice_sentence(notice))
    if check.statement_count is not None or check.cited_by is not None:
        sentences.append(_tally_sentence(check))
    elif not check.in_lake:
        sentences.append("The lake holds no report page or API response of it: only the Retraction Watch export's records.")
    else:
        sentences.append("No tallies: the lake knows it from a /papers response only.")
    if check.contrasting_share is not None:
        standing = (
            f", higher than {check.contrasting_percentile:.0f}% of the lake's papers"
            if check.contrasting_percentile is not None else ""
        )
        sentences.append(
            f"Contrasting: {_percent(check.contrasting_share)} of its classified statements{standing}"
            + (f" (flagged from {_percent(contrasting_share)})." if "contrasting" in check.flags else ".")
        )
    if check.contrasting and not check.contrasting_statements:
        sentences.append("The lake holds none of its contrasting statements to quote.")
    return sentences


def _notice_sentence(notice: dict[str, Any]) -> str:
    source = SOURCE_NAMES.get(notice["source"], notice["source"])
    text = f"Editorial notice: {notice['nature'] or 'a notice'}"
    if notice["date"]:
        text += f" of {notice['date']}"
    text += f", from {source}"
    if notice["notice_doi"]:
        text += f"; notice DOI {notice['notice_doi']}"
    if notice["reasons"]:
        text += f"; reasons: {', '.join(notice['reasons'])}"
    return text + "."


def _count(value: int | None, noun: str) -> str:
    return f"{value:,} {noun}" if value is not None else f"? {noun}"


def _tally_sentence(check: ReferenceCheck) -> str:
    parts = []
    if check.cited_by is not None:
        parts.append(f"Cited by {check.cited_by:,} publications")
    if check.statement_count is not None:
        lead = "in" if parts else "In"
        parts.append(f"{lead} {check.statement_count:,} citation statements")
    text = ", ".join(parts)
    classes = [(check.supporting, "supporting"), (check.mentioning, "mentioning"), (check.contrasting, "contrasting"),
               (check.unclassified, "unclassified")]
    if any(value is not None for value, _ in classes):
        text += ": " + ", ".join(_count(value, noun) for value, noun in classes)
    source = TALLY_NAMES.get(check.tally_source or "", "save")
    when = f" of {check.tally_date.isoformat()}" if check.tally_date else ""
    return f"{text} (latest {source}{when})."


def quote_note(statement: dict[str, Any]) -> str:
    """Where a quoted statement comes from: its section, the citing paper's year and DOI where known."""
    parts = []
    if statement["section"]:
        parts.append(f"section {statement['section']}")
    if statement["citing_year"] is not None:
        parts.append(f"cited in {statement['citing_year']}")
    if statement["citing_doi"]:
        parts.append(f"by {statement['citing_doi']}")
    if statement["confidence"] is not None:
        parts.append(f"confidence {100 * statement['confidence']:.0f}%")
    return ", ".join(parts)


def _heading(check: ReferenceCheck) -> str:
    label = check.key or check.doi or check.reference
    return f"{check.position}. {label}" + (f": {check.title}" if check.title and check.title != label else "")


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def render_markdown(report: CheckReport) -> str:
    """The report as Markdown: the closing line, then each group of references with its facts and quotes."""
    lines = [f"# Reference check: {report.path.name}", "", report.summary() + ".", ""]
    for status, group in grouped(report):
        lines += [f"## {HEADINGS[status]} ({len(group)})", ""]
        for check in group:
            lines += [f"### {_md(_heading(check))}", ""]
            if check.doi:
                lines += [f"DOI [`{check.doi}`](https://doi.org/{check.doi})", ""]
            lines += [f"- {_md(sentence)}" for sentence in fact_sentences(check, report.contrasting_share)]
            lines.append("")
            for statement in check.contrasting_statements:
                text = statement["text"] or "(the API gave no snippet)"
                lines += [f"> {_md(text)}", ">", f"> — {_md(quote_note(statement))}", ""]
    lines.append(
        f"_Flags: retracted; an editorial notice; contrasting evidence from {_percent(report.contrasting_share)} "
        "of classified statements. Every fact is from a query in `sql/check/`._"
    )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    # Keep a title's * _ ` [ from turning into Markdown.
    return "".join(f"\\{character}" if character in "\\`*_[]<>" else character for character in text)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #5f6368; --rule: #dadce0; --accent: #1565c0;
        --retracted: #b3261e; --notice: #9a5b00; --contrasting: #6a3d9a; --ok: #1e7d32; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
main { max-width: 50rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; line-height: 1.25; margin: .5rem 0; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 .4rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 0 0 .2rem; }
p.summary { font-size: 1.05rem; font-weight: 600; margin: .4rem 0 .8rem; }
p.note, p.doi { color: var(--muted); font-size: .9rem; margin: 0; }
table.counts { border-collapse: collapse; font-size: .9rem; margin: .4rem 0 1rem; }
table.counts th, table.counts td { padding: .2rem .6rem; border-bottom: 1px solid var(--rule); text-align: left; }
table.counts td.num { text-align: right; font-variant-numeric: tabular-nums; }
article.ref { border: 1px solid var(--rule); border-left: 6px solid var(--rule); border-radius: 4px; padding: .6rem .8rem; margin: .7rem 0; }
article.ref[data-status="retracted"] { border-left-color: var(--retracted); }
article.ref[data-status="notice"] { border-left-color: var(--notice); }
article.ref[data-status="contrasting"] { border-left-color: var(--contrasting); }
article.ref[data-status="ok"] { border-left-color: var(--ok); }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .03em;
         border: 1px solid currentColor; border-radius: 3px; padding: 0 .35rem; margin-right: .3rem; }
.badge.retracted { color: var(--retracted); }
.badge.notice { color: var(--notice); }
.badge.contrasting { color: var(--contrasting); }
.badge.quiet { color: var(--muted); }
ul.facts { padding-left: 1.2rem; margin: .4rem 0; }
ul.facts li { margin: .2rem 0; }
blockquote { margin: .4rem 0 .6rem; padding: .4rem .8rem; border-left: 4px solid var(--contrasting); background: #f7f5fa; }
blockquote p { margin: 0; font-style: italic; }
blockquote footer { color: var(--muted); font-size: .85rem; margin-top: .2rem; }
code { font-size: .85em; word-break: break-all; }
a { color: var(--accent); }
@media (max-width: 600px) { body { font-size: 15px; } main { padding: .6rem; } }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  blockquote { background: none; }
  article.ref, blockquote, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(report: CheckReport) -> str:
    """The report as one self-contained HTML page: flagged references first, then the others."""
    title = f"Reference check: {report.path.name}"
    counts = report.counts()
    parts = [
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        f"<h1>{escape(title)}</h1>\n<p class=\"summary\">{escape(report.summary())}</p>\n",
        '<table class="counts"><tbody>\n',
    ]
    for status in STATUSES:
        if counts[status]:
            parts.append(f'<tr><th scope="row"><a href="#{status}">{escape(HEADINGS[status])}</a></th>'
                         f'<td class="num">{counts[status]}</td></tr>\n')
    parts.append("</tbody></table>\n")
    for status, group in grouped(report):
        parts.append(f'<section id="{status}">\n<h2>{escape(HEADINGS[status])} ({len(group)})</h2>\n')
        parts += [_article(check, report.contrasting_share) for check in group]
        parts.append("</section>\n")
    parts.append(
        f'<p class="note">Checked {escape(report.path.name)} ({escape(report.file_format)}, {len(report.checks)} '
        f"references). Flags: retracted; an editorial notice; contrasting evidence from "
        f"{escape(_percent(report.contrasting_share))} of a paper's classified statements. "
        "Every fact comes from a query in <code>sql/check/</code>.</p>\n"
    )
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def _article(check: ReferenceCheck, contrasting_share: float) -> str:
    parts = [f'<article class="ref" data-status="{check.status}" data-position="{check.position}">\n']
    parts.append(f"<h3>{escape(_heading(check))}</h3>\n")
    if check.doi:
        parts.append(f'<p class="doi">DOI <a href="https://doi.org/{escape(check.doi)}"><code>{escape(check.doi)}</code></a>'
                     + (f" · {escape(check.reference)}" if check.key else "") + "</p>\n")
    badges = [f'<span class="badge {flag}">{escape(BADGES[flag])}</span>' for flag in check.flags]
    if not check.flags:
        badges = [f'<span class="badge quiet">{escape(HEADINGS[check.status])}</span>']
    parts.append(f'<p class="badges">{"".join(badges)}</p>\n<ul class="facts">\n')
    parts += [f"<li>{escape(sentence)}</li>\n" for sentence in fact_sentences(check, contrasting_share)]
    parts.append("</ul>\n")
    for statement in check.contrasting_statements:
        text = statement["text"] or "(the API gave no snippet)"
        parts.append(f"<blockquote><p>{escape(text)}</p><footer>{escape(quote_note(statement))}</footer></blockquote>\n")
    parts.append("</article>\n")
    return "".join(parts)


def render_document(report: CheckReport, output_format: str) -> str:
    """The Markdown or HTML form."""
    return render_markdown(report) if output_format == "markdown" else render_html(report)
