"""Writing explanations where they were asked for: one paper in a form, or many papers as a static site.

``citelake explain`` and the ``citelake-explain`` flow both come here; the
sentences are ``tasks.explain.facts``, their text, Markdown and JSON forms
``tasks.explain.forms``, the charts ``tasks.explain.charts``, the HTML
``tasks.explain.site``. The lake is opened read-only, once per call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tasks.explain.facts import Explanation, PaperNotFound, explain, explain_each, query_rows
from tasks.explain.forms import render_json, render_markdown, render_text
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql
from tasks.reading.record import InvalidDOI, normalise_doi, valid_doi

FORMATS: tuple[str, ...] = ("text", "markdown", "html", "json")


class ExplainError(ValueError):
    """An explanation that cannot be given as asked; ``exit_code`` 1 (nothing to explain) or 2 (bad usage)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_format(output_format: str) -> None:
    if output_format not in FORMATS:
        raise ExplainError(f"unknown format {output_format!r}; choose one of {', '.join(FORMATS)}", exit_code=2)


def render(explanation: Explanation, output_format: str, out: Path | None = None) -> str:
    """The explanation in ``output_format``; Markdown written to ``out`` gets its charts as PNG files beside it."""
    return _rendered(explanation, output_format, out)[0]


def _rendered(explanation: Explanation, output_format: str, out: Path | None) -> tuple[str, list[Path]]:
    """:func:`render`'s text, and the chart files it wrote beside ``out``."""
    check_format(output_format)
    if output_format == "text":
        return render_text(explanation), []
    if output_format == "json":
        return render_json(explanation), []
    if output_format == "markdown":
        if out is None:
            return render_markdown(explanation), []
        from tasks.explain.charts import write_chart_pngs

        images = write_chart_pngs(explanation, out.with_suffix(""))
        return render_markdown(explanation, images), [out.with_name(name) for name in images.values()]
    from tasks.explain.charts import chart_svgs
    from tasks.explain.site import explanation_page

    return explanation_page(explanation, chart_svgs(explanation)), []


def explain_one(
    location: LakeLocation, doi: str | None, output_format: str = "text", out: Path | None = None
) -> list[Path]:
    """Explain one paper; print it, or write it to ``out``. Returns the files written: ``out``, then its charts."""
    check_format(output_format)
    if not doi:
        raise ExplainError("give a DOI, or --all, --doi-file FILE or --watchlist with --out DIR", exit_code=2)
    con = open_lake(location, read_only=True)
    try:
        try:
            explanation = explain(con, doi)
        except PaperNotFound as error:
            raise ExplainError(*_not_found(doi, error)) from None
    finally:
        con.close()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    text, charts = _rendered(explanation, output_format, out)
    if out is None:
        sys.stdout.write(text)
        return []
    out.write_text(text, encoding="utf-8")
    return [out, *charts]


def _not_found(doi: str, error: PaperNotFound) -> tuple[str, int]:
    """Why the lake holds no paper ``doi``, and the exit status: 2 for a text that is not a DOI, else 1.

    A text sharing its registrant with DOIs of the lake is taken for a DOI even
    where the strict check would refuse it: the parser keeps such DOIs.
    """
    if not error.nearest:
        try:
            valid_doi(doi)
        except InvalidDOI as invalid:
            return str(invalid), 2
    return str(error), 1


# ---------------------------------------------------------------------------
# Many papers
# ---------------------------------------------------------------------------


def has_watchlist(con: duckdb.DuckDBPyConnection) -> bool:
    """Does the lake have a ``watchlist`` table?"""
    return bool(query_rows(con, "watchlist_exists")[0]["has_watchlist"])


def watchlist_dois(con: duckdb.DuckDBPyConnection, *, required: bool = True) -> list[str]:
    """The DOIs of the lake's watchlist, normalised.

    A lake without a watchlist table raises :class:`ExplainError` when ``required``
    (a user asked for ``--watchlist``), and watches nothing otherwise (a run
    triggered after an ingest).
    """
    if not has_watchlist(con):
        if not required:
            return []
        raise ExplainError("this lake has no watchlist table; explain papers by DOI, --doi-file FILE or --all instead")
    return _unique(normalise_doi(row["doi"]) for row in query_rows(con, "watchlist_dois"))


def read_doi_file(path: Path) -> list[str]:
    """The DOIs of a file, one a line; blank lines and lines starting with ``#`` are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ExplainError(f"cannot read {path}: {error.strerror or error}") from None
    return _unique(normalise_doi(line) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _unique(dois: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(dois))


@dataclass(slots=True)
class SiteSummary:
    """What a run over many papers wrote: the pages, the DOIs not in the lake, the index."""

    out_dir: Path
    pages: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


# The views the explanations read, recreated beside the in-memory copy of the tables.
SNAPSHOT_VIEWS: tuple[str, ...] = ("paper_section_mix", "statement_reclassifications")


def snapshot_in_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``con`` read a copy in memory of what explanations need, from one snapshot of the lake.

    Explaining many papers runs each of about ten queries once per chunk of
    papers; on the copy they take a fraction of the time the lake's Parquet files
    and catalog would.
    """
    con.execute(read_sql("explain/snapshot_in_memory.sql"))
    for view in SNAPSHOT_VIEWS:
        con.execute(read_sql(f"views/{view}.sql"))


def chosen_dois(
    con: duckdb.DuckDBPyConnection,
    *,
    every_paper: bool = False,
    doi_file: Path | None = None,
    watchlist: bool = False,
    dois: Iterable[str] = (),
    watchlist_required: bool = True,
) -> list[str]:
    """The DOIs a run over many papers explains, in order: given ones, the file's, the watchlist's, or all."""
    chosen = [normalise_doi(doi) for doi in dois if doi]
    if doi_file is not None:
        chosen += read_doi_file(doi_file)
    if watchlist:
        chosen += watchlist_dois(con, required=watchlist_required)
    if every_paper:
        chosen += [row["doi"] for row in query_rows(con, "paper_list")]
    return _unique(chosen)


def flow_dois(location: LakeLocation, dois: Iterable[str] = (), *, watchlist: bool = False) -> list[str]:
    """The DOIs a flow run explains: the given ones and, with ``watchlist``, the watched ones.

    Unlike ``--watchlist`` on the command line, an empty watchlist (or a lake
    without one) is no error here: the run after each ingest explains what is
    watched, and nothing when nothing is.
    """
    con = open_lake(location, read_only=True)
    try:
        return chosen_dois(con, watchlist=watchlist, dois=dois, watchlist_required=False)
    finally:
        con.close()


# Below this many papers, starting chart-drawing processes (each imports Altair and vl-convert: seconds on a
# busy machine) costs more than it saves; a paper's charts take about 0.15 CPU-seconds to draw.
POOL_FROM_PAPERS = 100


def default_workers() -> int:
    """Chart-drawing processes for a site: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def write_site(
    location: LakeLocation,
    out_dir: Path,
    dois: list[str] | None = None,
    *,
    every_paper: bool = False,
    doi_file: Path | None = None,
    watchlist: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    keep: bool = False,
    workers: int | None = None,
) -> SiteSummary:
    """One HTML page per paper and an ``index.html`` listing them, under ``out_dir``.

    DOIs the lake does not hold are skipped and listed in the summary.
    ``progress(done, total, doi)`` is called after each paper. ``keep`` keeps the
    explanations in the summary (the flow publishes them). The facts are read a
    chunk of papers at a time (:func:`~tasks.explain.facts.explain_each`) and the
    charts drawn in ``workers`` processes (default: one per core, none for a
    few papers); each page is what a single explanation in HTML gives.
    """
    from tasks.explain.charts import draw_many
    from tasks.explain.site import explanation_page, index_page, page_name

    out_dir.mkdir(parents=True, exist_ok=True)
    summary = SiteSummary(out_dir=out_dir)
    con = open_lake(location, read_only=True)
    try:
        chosen = chosen_dois(con, every_paper=every_paper, doi_file=doi_file, watchlist=watchlist, dois=dois or ())
        if not chosen:
            raise ExplainError("no papers to explain: the lake, the file or the watchlist is empty")
        if len(chosen) > 1:
            snapshot_in_memory(con)
        listed = {row["doi"]: row for row in query_rows(con, "paper_list")}

        def found() -> Iterator[Explanation]:
            for doi, explanation in explain_each(con, chosen):
                if explanation is None:
                    summary.missing.append(doi)
                else:
                    yield explanation

        if workers is None:
            workers = default_workers() if len(chosen) >= POOL_FROM_PAPERS else 0
        for explanation, svgs in draw_many(found(), workers=workers):
            page = out_dir / page_name(explanation.doi)
            page.write_text(explanation_page(explanation, svgs, index_href="index.html"), encoding="utf-8")
            summary.pages.append(page)
            if keep:
                summary.explanations.append(explanation)
            if progress:
                progress(len(summary.pages) + len(summary.missing), len(chosen), explanation.doi)
        if progress and summary.missing:
            progress(len(chosen), len(chosen), summary.missing[-1])
    finally:
        con.close()
    explained = [listed[doi] for doi in chosen if doi in listed]
    summary.index.write_text(index_page(explained), encoding="utf-8")
    return summary


def explain_many(
    location: LakeLocation,
    out_dir: Path | None,
    *,
    every_paper: bool = False,
    doi_file: Path | None = None,
    watchlist: bool = False,
    single: str | None = None,
) -> SiteSummary:
    """``citelake explain --all | --doi-file | --watchlist --out DIR``: the site, with progress on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if out_dir is None:
        raise ExplainError("--all, --doi-file and --watchlist write a site: give --out DIR", exit_code=2)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExplainError(f"--out {out_dir} is a file; several papers need a folder", exit_code=2)
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]explaining"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[doi]}"),
        TimeElapsedColumn(), console=console, transient=True,
    )
    task_id = bar.add_task("explaining", total=None, doi="")

    def show(done: int, total: int, doi: str) -> None:
        if console.is_terminal:
            bar.update(task_id, completed=done, total=total, doi=doi)
        elif done == total or done % 100 == 0:
            console.print(f"explained {done:,}/{total:,}", highlight=False)

    with bar if console.is_terminal else _nothing():
        summary = write_site(
            location, out_dir, [single] if single else None, every_paper=every_paper, doi_file=doi_file,
            watchlist=watchlist, progress=show,
        )
    for doi in summary.missing:
        console.print(f"citelake explain: {doi} is not in the lake; skipped", highlight=False)
    sys.stdout.write(f"{len(summary.pages):,} pages and {summary.index} written\n")
    return summary


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
