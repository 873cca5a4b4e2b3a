"""The check flow: a manuscript's reference list checked against the lake, its report a Markdown artifact.

    references (a path to a BibTeX, RIS or DOI-list file, or the text of one)
          │
    check_references (the library's check, ``tasks.check``, as ``citelake check`` runs it)
          │
    publish_report (the Markdown report as the artifact ``citelake-check``)

The served deployment ``citelake-check/on-demand`` runs it from the UI
(``flows/deployments.py``). It returns the counts per status; a flagged
reference does not fail the run: the report is what the run is for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow

from flows.check_artifacts import check_references, publish_report, report_counts
from tasks.check.references import DEFAULT_CONTRASTING_SHARE, BadReferenceFile
from tasks.lake.location import resolve_location
from tasks.reading.record import InvalidDOI, valid_doi

# How the report and its errors name a reference list given as text (its temporary file's path means nothing).
TEXT_NAME = "the references given as text"


def is_text(references: str) -> bool:
    """Whether ``references`` is the text of a reference list rather than a path to one.

    A path names one line; so may a single DOI, a one-line BibTeX entry or a
    DOI list's comment line (``#``), which are text unless a file of that name
    exists. Any other single line is a path, so that a mistyped one is reported
    as a file that cannot be read.
    """
    stripped = references.strip()
    if "\n" in stripped:
        return True
    if Path(stripped).expanduser().is_file():
        return False
    if stripped.startswith(("@", "TY  -", "#")):
        return True
    try:
        valid_doi(stripped)
    except InvalidDOI:
        return False
    return True


@contextmanager
def references_file(references: str) -> Iterator[tuple[Path, str]]:
    """The file to check and how to name it: the path given, or the text written to a temporary file."""
    if not references.strip():
        raise BadReferenceFile("no references given: give the path of a BibTeX, RIS or DOI-list file, or its text")
    if not is_text(references):
        path = Path(references.strip()).expanduser().resolve()
        yield path, f"`{path}`"
        return
    with tempfile.TemporaryDirectory(prefix="citelake-check-") as folder:
        # No suffix: the format is told by the text's first characters, as for a file named without one.
        path = Path(folder) / "references"
        path.write_text(references, encoding="utf-8")
        yield path, TEXT_NAME


@flow(name="citelake-check")
def check_flow(
    references: str,
    lake: str | None = None,
    catalog: str | None = None,
    contrasting_share: float = DEFAULT_CONTRASTING_SHARE,
) -> dict[str, int]:
    """Check a reference list (a path, or the text of a BibTeX, RIS or DOI list) and publish the report.

    Returns how many references there are and how many have each status
    (retracted, notice, contrasting, ok, not_in_lake, no_doi, invalid_doi).
    """
    location = resolve_location(lake, catalog)
    with references_file(references) as (path, checked):
        try:
            report = check_references(location, path, contrasting_share)
        except BadReferenceFile as error:
            if checked != TEXT_NAME:
                raise
            raise BadReferenceFile(str(error).replace(str(path), TEXT_NAME)) from None
    if checked == TEXT_NAME:
        report.path = Path(TEXT_NAME)
    publish_report(report, checked, location)
    return report_counts(report)


if __name__ == "__main__":
    import sys

    print(check_flow(references=sys.argv[1]))  # python -m flows.check REFS
