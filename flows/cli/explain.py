"""``citelake explain``: a paper's citation report in plain sentences, or a static site of many papers."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.messages import say_wrote
from flows.cli.shared import CatalogOption, LakeOption, fail


def explain(
    doi: str | None = typer.Argument(None, help="The paper's DOI (any case, with or without https://doi.org/)."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
    output_format: str = typer.Option(
        "text", "--format", "-f", help="text, markdown, html (one page, charts inline) or json (each sentence with its numbers and SQL file)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write to this file (Markdown: its charts as FILE-<chart>.png beside it) or, with several papers, into this folder."
    ),
    every_paper: bool = typer.Option(False, "--all", help="Explain every paper in the lake (needs --out DIR): a static site."),
    doi_file: Path | None = typer.Option(None, "--doi-file", help="Explain the DOIs listed in this file, one a line (needs --out DIR)."),
    watchlist: bool = typer.Option(False, "--watchlist", help="Explain the papers of the lake's watchlist table (needs --out DIR)."),
) -> None:
    """Explain a paper's citation report in plain sentences, every number checkable with SQL.

    What the counts are, how the citing statements lean (supporting, mentioning,
    contrasting, unclassified), where the paper stands among the lake's papers,
    how its counts moved across the saved pages, where it is cited, the strongest
    supporting and contrasting statements quoted, and the caveats that apply.
    Every number comes from a query in sql/explain/; --format json names it per
    sentence. With --all, --doi-file or --watchlist: one HTML page per paper and
    an index.html under --out DIR.

    Exit status 1 with a one-line message (and the nearest DOIs by prefix) when
    the lake does not hold the paper; 2 when the text given is not a DOI.
    """
    import duckdb

    from tasks.explain.run import ExplainError, explain_many, explain_one
    from tasks.lake.errors import LakeError
    from tasks.lake.location import resolve_location

    try:
        location = resolve_location(lake, catalog)
        if every_paper or doi_file or watchlist:
            explain_many(location, out, every_paper=every_paper, doi_file=doi_file, watchlist=watchlist, single=doi)
        else:
            written = explain_one(location, doi, output_format, out)
            if written:
                say_wrote("explain", written[0], output_format, beside=written[1:])
    except ExplainError as error:
        typer.echo(f"citelake explain: {error}", err=True)
        raise typer.Exit(code=error.exit_code) from None
    except (LakeError, duckdb.Error, OSError, ValueError) as error:
        raise fail("explain", error) from None
