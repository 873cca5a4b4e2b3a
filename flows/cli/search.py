"""``citelake search``: the statements' full-text search, its hits and facets rendered."""

from __future__ import annotations

import typer

from flows.cli.shared import CatalogOption, LakeOption, fail, require_format


def search_command(
    query: str = typer.Argument(
        ...,
        help='What to find in the statements\' text: terms (all required), "exact phrases", OR, -excluded, prefix*. '
        "One that starts with - goes after --, which ends the options.",
    ),
    types: list[str] = typer.Option(
        [], "--type", help="supporting, mentioning or contrasting (repeat for several)."
    ),
    section_categories: list[str] = typer.Option(
        [],
        "--section-category",
        help="introduction, methods, results, discussion, conclusion, other or unknown (repeat for several).",
    ),
    year_from: int | None = typer.Option(None, "--paper-year-from", help="Cited paper published in this year or later."),
    year_to: int | None = typer.Option(None, "--paper-year-to", help="Cited paper published in this year or earlier."),
    doi: str | None = typer.Option(None, "--doi", help="Only statements citing this paper (any case)."),
    min_confidence: float | None = typer.Option(None, "--min-confidence", help="Classification confidence at least this."),
    limit: int = typer.Option(20, "--limit", min=0, help="Hits to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Hits to skip (for the next page)."),
    output_format: str = typer.Option("table", "--format", "-f", help="table, json (one object per line) or csv."),
    facets: bool = typer.Option(False, "--facets", help="Also count the whole matching set by type, section category and paper year."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the search index from the lake first."),
    lake: LakeOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Search the citation statements, best match first, with the report page's filters.

    Answers from the lake's search index (LAKE/_search), brought up to the
    lake's latest snapshot first; an index that is missing, belongs to another
    lake or is unreadable is rebuilt, with a line on stderr. Snippets mark the
    matched terms (bold here, <b>…</b> in json and csv).

    A query that starts with "-" follows "--", which ends the options:
    citelake search --limit 5 -- '-mice regulatory cells'.

    Exit status: 2 with a one-line message for a malformed or empty query
    (nothing but *, operators or excluded terms) or option, 1 when the lake
    cannot be read.
    """

    import duckdb

    from tasks.lake.errors import LakeError

    from tasks.lake.location import resolve_location
    from tasks.search.index import SearchIndexError
    from tasks.search.query import EmptyQueryError, QuerySyntaxError, SearchFilters, search, search_facets

    require_format("search", output_format)
    location = resolve_location(lake, catalog)
    try:
        filters = SearchFilters(
            types=tuple(types),
            section_categories=tuple(section_categories),
            year_from=year_from,
            year_to=year_to,
            doi=doi,
            min_confidence=min_confidence,
        )
        if rebuild:
            from tasks.search.index import ensure_index

            ensure_index(location, rebuild=True)
        hits = search(location, query, filters, limit=limit, offset=offset, refresh=not rebuild)
        counts = search_facets(location, query, filters) if facets else None
    except QuerySyntaxError as error:
        hint = " (see citelake search --help)" if isinstance(error, EmptyQueryError) else ""
        typer.echo(f"citelake search: {error}{hint}", err=True)
        raise typer.Exit(code=2) from None
    except (LakeError, SearchIndexError, duckdb.Error, OSError, ValueError) as error:
        raise fail("search", error) from None

    if output_format == "table":
        asked = [("--type", kind) for kind in types] + [("--section-category", category) for category in section_categories]
        asked += [("--paper-year-from", year_from), ("--paper-year-to", year_to), ("--doi", doi)]
        asked.append(("--min-confidence", min_confidence))
        _print_hits(hits, counts, _no_hits(query, asked, offset))
        return
    from tasks.output import to_json, write_rows

    write_rows(hits, output_format)
    if counts is not None:
        # The facets follow the hits: a last JSON line, or a comment on stderr after the CSV.
        facets_line = to_json({"facets": _facets_dict(counts)})
        typer.echo(facets_line if output_format == "json" else f"# facets {facets_line}", err=output_format == "csv")


def _facets_dict(counts) -> dict:
    return {
        "total": counts.total,
        "type": counts.by_type,
        "section_category": counts.by_section_category,
        "year": {("none" if year is None else str(year)): number for year, number in counts.by_year.items()},
    }


def _snippet_text(html_snippet: str):
    """A snippet's ``<b>…</b>`` marks as bold rich text."""
    import html
    import re

    from rich.text import Text

    text = Text()
    for number, part in enumerate(re.split(r"</?b>", html_snippet)):
        text.append(html.unescape(part), style="bold" if number % 2 else None)
    return text


def _no_hits(query: str, asked: list[tuple[str, object]], offset: int) -> str:
    """What an empty page of hits says: the query, the options that narrowed it, the hits skipped."""
    options = "".join(f" {option} {value}" for option, value in asked if value is not None)
    said = f"no statements match {query!r}" + (f" with{options}" if options else "")
    return f"{said} past the first {offset:,}" if offset else said


def _print_hits(hits, counts, empty: str) -> None:
    from rich.console import Console

    from flows.cli.messages import print_rows_or_say

    import polars as pl

    # A terminal table keeps to what a reader scans; --format json or csv gives every column.
    shown = hits.select(
        pl.col("rank").alias("#"),
        pl.col("score").round(2),
        pl.concat_str([pl.col("type"), pl.col("confidence").round(2).cast(pl.Utf8)], separator="\n", ignore_nulls=True).alias("type"),
        "doi",
        pl.concat_str([pl.col("title"), pl.lit("§ ") + pl.col("section")], separator="\n", ignore_nulls=True).alias("paper, section"),
        "snippet",
    )
    print_rows_or_say(shown, "table", empty, table_cells={"snippet": _snippet_text})
    console = Console()
    if counts is not None:
        console.print(f"{counts.total:,} matching statements (snapshot {counts.snapshot_id})")
        if not counts.total:
            return  # no breakdown of nothing
        console.print("  type              " + ", ".join(f"{key} {value:,}" for key, value in counts.by_type.items()))
        console.print(
            "  section category  " + ", ".join(f"{key} {value:,}" for key, value in counts.by_section_category.items())
        )
        console.print(
            "  paper year        "
            + ", ".join(f"{'none' if key is None else key} {value:,}" for key, value in counts.by_year.items())
        )
