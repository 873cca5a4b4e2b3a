"""``citelake check``: a manuscript's reference list checked against the lake, with an exit status for CI."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.messages import say_wrote
from flows.cli.shared import CatalogOption, LakeOption, fail, lake_errors

# The exit status when a reference carries a flag --fail-on names (1 is a bad file or lake, 2 a usage error).
FLAGGED_EXIT = 3


def check(
    refs: Path = typer.Argument(..., help="The reference list: a BibTeX (.bib), RIS (.ris) or plain DOI-list file (one DOI a line)."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    output_format: str = typer.Option(
        "table", "--format", "-f",
        help="table, json (one object per reference a line), csv, markdown or html (one self-contained page, flagged references first).",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the report to this file instead of standard output."),
    fail_on: str = typer.Option(
        "retracted", "--fail-on",
        help="The flags that make the exit status 3, comma-separated: retracted, notice, contrasting; none: never.",
    ),
    contrasting_share: float = typer.Option(
        0.05, "--contrasting-share", min=0.0, max=1.0,
        help="Flag contrasting evidence from this fraction of a paper's classified statements contrasting it (0: any).",
    ),
    watch: bool = typer.Option(
        False, "--watch", help="Also watch every reference with a DOI: later retractions and contrasting statements raise alerts."
    ),
) -> None:
    """Check a reference list: retracted references, editorial notices and contrasting evidence.

    One entry per reference in the file's order: its key and DOI (normalised),
    whether the lake holds it, whether it is retracted, its editorial notices
    (nature, date, source, notice DOI), its tallies from the latest page or API
    tally with their date, its contrasting share and where that stands among
    the lake's papers, and its newest contrasting statements quoted. Entries
    without a DOI or with an invalid one are listed as such. A closing line
    counts them (on stderr unless the format is table).

    Exit status 3 when a reference carries a flag --fail-on names (by default:
    a retracted reference), 0 otherwise; 1 when the file is no reference list
    or the lake cannot be read; 2 for a usage error.
    """
    import sys

    from tasks.check.references import BadReferenceFile, UnknownFlag, check_file, parse_fail_on
    from tasks.check.report import UnknownFormat, check_format
    from tasks.lake.location import resolve_location

    try:
        check_format(output_format)
        failing_flags = parse_fail_on(fail_on)
    except (UnknownFormat, UnknownFlag) as error:
        raise fail("check", error, code=2) from None
    try:
        location = resolve_location(lake, catalog)
        report = check_file(location, refs, contrasting_share=contrasting_share)
    except BadReferenceFile as error:
        raise fail("check", error) from None
    except lake_errors() as error:
        raise fail("check", error) from None

    summary = report.summary()
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8", newline="") as handle:
                _write(report, output_format, handle)
                if output_format == "table":
                    handle.write(summary + "\n")
        except OSError as error:
            raise fail("check", f"{out}: cannot write it ({error.strerror or error})") from None
        say_wrote("check", out, output_format)
        typer.echo(summary, err=True)
    else:
        _write(report, output_format, sys.stdout)
        # The table is for a person: its closing line follows it; the other forms keep stdout to themselves.
        typer.echo(summary, err=output_format != "table")

    if watch:
        _watch(location, report.dois())
    if report.failing(failing_flags):
        raise typer.Exit(code=FLAGGED_EXIT)


def _write(report, output_format: str, handle) -> None:
    from tasks.check.report import ROW_FORMATS, render_document, write_row_format

    if output_format in ROW_FORMATS:
        write_row_format(report, output_format, handle)
    else:
        handle.write(render_document(report, output_format))


def _watch(location, dois: list[str]) -> None:
    """Watch the references' DOIs through the watchlist's own code path; one line on stderr."""
    from tasks.alerts.watch import watch

    if not dois:
        typer.echo("citelake check: no reference has a DOI to watch", err=True)
        return
    try:
        states = watch(location, dois)
    except lake_errors() as error:
        raise fail("check --watch", error) from None
    new = sum(not state.watched for state in states)
    typer.echo(f"citelake check: watching the {len(dois)} DOIs of the references ({new} newly watched)", err=True)
