"""Which save of a paper is its "latest": one order, decided by the save's time window and content alone.

The rule (docs/tables.md, Conventions: Latest): saves ordered by their 2-second
window of ``observed_at`` (windows starting at every even second since the epoch,
UTC), then ``cited_by``, ``statement_count`` (missing smallest), ``source`` (an API
tally before a page), ``source_sha256``. The split (tasks/reading/split.py) and
every SQL statement that picks a latest save must agree, whatever the order files
are found in, the batches they fall in and the runs that store them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest

from tasks.lake.sql import SQL_DIR, read_sql
from tasks.lake.writer import LakeWriter
from tasks.reading.record import SourceFile
from tasks.reading.scite_api import ApiPaper, ApiResponse, ApiTally
from tasks.reading.scite_api_frames import api_frames
from tasks.reading.split import SAME_SAVE_MICROSECONDS, split_records
from tests.test_split import make_record, make_statement, source_of

SECOND = timedelta(seconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An even second: the start of a window.
T = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def record(cited_by: int | None = 10, statement_count: int | None = 8, **fields):
    """A page (of 10.1/x unless ``doi`` is given); ``kind`` sets the type of its one statement, and so its bytes."""
    kind = fields.pop("kind", "mentioning")
    return make_record(
        cited_by=cited_by,
        statement_count=statement_count,
        statements=[make_statement("It was cited [1].", type=kind)],
        abstract=fields.pop("abstract", f"An abstract of a {kind} page."),
        **fields,
    )


def latest_of(frames) -> tuple[str, str, str]:
    """The page the paper, its abstract and its statement were taken from (the statement: its type)."""
    return (
        frames.papers["source_sha256"].item(),
        frames.abstracts["source_sha256"].item(),
        frames.statements["type"].item(),
    )


# --- the split -------------------------------------------------------------------------------------


def test_saves_in_one_window_are_ordered_by_content_whichever_mtime_is_later() -> None:
    """Two checkouts of the same two files give them mtimes a few µs apart in either order: the same latest.

    Equal counts: the larger source_sha256 is the latest, not the later mtime.
    """
    one, other = record(kind="supporting"), record(kind="contrasting")
    early, late = T + 0.25 * SECOND, T + 0.75 * SECOND
    checkout = [(source_of(one, early), one), (source_of(other, late), other)]
    again = [(source_of(one, late), one), (source_of(other, early), other)]

    first, second = split_records(checkout), split_records(again)

    winner = max(source_of(one, early).sha256, source_of(other, early).sha256)
    kind = "supporting" if winner == source_of(one, early).sha256 else "contrasting"
    assert latest_of(first) == latest_of(second) == (winner, winner, kind)


def test_windows_start_at_every_even_second() -> None:
    """Saves at .1 s and 1.9 s share a window (the larger counts win); at 1.9 s and 2.4 s they do not (the later wins)."""
    grown, smaller = record(cited_by=12), record(cited_by=10)

    def latest(grown_at: datetime, smaller_at: datetime) -> int:
        frames = split_records([(source_of(grown, grown_at), grown), (source_of(smaller, smaller_at), smaller)])
        return frames.papers["cited_by"].item()

    assert latest(T + 0.1 * SECOND, T + 1.9 * SECOND) == 12
    assert latest(T + 1.9 * SECOND, T + 2.4 * SECOND) == 10
    # Before 1970 as after: the window of -0.1 s is [-2 s, 0 s), not the one of +0.1 s.
    assert latest(EPOCH - 0.1 * SECOND, EPOCH + 0.1 * SECOND) == 10
    assert latest(EPOCH - 1.9 * SECOND, EPOCH - 0.1 * SECOND) == 12


# --- the SQL copies of the order -------------------------------------------------------------------


def test_the_sql_windows_are_the_splits() -> None:
    """DuckDB's time_bucket and the split's floored division put the same times in the same windows,
    at the edges, before 1970 and far from now."""
    edges = [k * SAME_SAVE_MICROSECONDS + d for k in (-10**9, -3, -1, 0, 1, 2, 864_000_000, 4 * 10**9) for d in (-1, 0, 1)]
    times = pl.Series("t", edges).cast(pl.Datetime("us", "UTC"))
    split_windows = (times.dt.epoch("us") // SAME_SAVE_MICROSECONDS).to_list()

    frame = pl.DataFrame(times)  # noqa: F841 - read by name in the SQL below (DuckDB's replacement scan)
    sql_starts = duckdb.sql(
        "select epoch_us(time_bucket(interval 2 second, t)) as start from frame order by epoch_us(t)"
    ).fetchall()

    assert [start // SAME_SAVE_MICROSECONDS for (start,) in sql_starts] == split_windows
    assert all(start % SAME_SAVE_MICROSECONDS == 0 for (start,) in sql_starts)


# Every SQL statement that orders saves of a paper orders them by all four keys, in the
# split's order (ascending, or all descending for "latest first"); a saved /papers
# response, which has no counts, by its window and source_sha256.
_WINDOW = r"time_bucket\(interval 2 second, (?:[^()]|\([^()]*\))*\)"
_SNAPSHOT_ORDER = re.compile(
    _WINDOW + r"(?P<desc> desc)?,\s*"
    r"[\w.]*cited_by(?(desc) desc) nulls (?P<nulls>first|last),\s*"
    r"[\w.]*statement_count(?(desc) desc) nulls (?P=nulls),\s*"
    r"[\w.]*source(?(desc) desc) nulls (?P=nulls),\s*"
    r"[\w.]*source_sha256(?(desc) desc|(?!\s+desc))\b"
)
_RESPONSE_ORDER = re.compile(_WINDOW + r" desc, [\w.]*source_sha256 desc\b")


def test_every_sql_statement_that_orders_saves_uses_the_whole_order() -> None:
    partial = []
    ordering = set()
    for path in sorted(SQL_DIR.rglob("*.sql")):
        text = path.read_text(encoding="utf-8")
        assert "epoch_us(observed_at) //" not in text, f"{path.name}: windows are time_bucket's (floored before 1970)"
        for match in re.finditer(_WINDOW, text):
            rest = text[match.start():]
            whole = _SNAPSHOT_ORDER.match(rest) or _RESPONSE_ORDER.match(rest)
            if whole is None or (whole.re is _SNAPSHOT_ORDER and (whole["desc"] is None) != (whole["nulls"] == "first")):
                partial.append(f"{path.relative_to(SQL_DIR)}: {rest[:80]!r}")
            ordering.add(str(path.relative_to(SQL_DIR)))
    assert not partial
    assert {
        "lake/merge_papers.sql", "lake/merge_abstracts.sql", "lake/merge_statements.sql",
        "lake/merge_paper_metadata.sql", "views/paper_count_history.sql",
        "views/statement_reclassifications.sql", "views/latest_api_papers.sql",
        "explain/trend.sql", "explain/history.sql", "explain/paper_list.sql",
    } <= ordering  # fmt: skip


# --- the lake: batches, runs and the SQL that reads snapshots ---------------------------------------


def write(con: duckdb.DuckDBPyConnection, runs: list[list[list[tuple]]], report_files_of, api=None) -> None:
    """Commit ``runs``: each a list of batches, each a list of (source, record) pages; ``api`` gives
    a batch's saved API responses, by (run, batch), as (source, ApiResponse) pairs."""
    for number, batches in enumerate(runs):
        with LakeWriter(con, run_id=f"run-{number}", source="/reports") as writer:
            for index, pages in enumerate(batches):
                responses = (api or {}).get((number, index))
                writer.add_batch(split_records(pages), report_files_of(pages), api_frames(responses) if responses else None)
            seen = sum(len(pages) for pages in batches)
            writer.finish({"seen": seen, "new": seen})


def rule_order(pages: list[tuple]) -> list[tuple]:
    """The pages of one paper, earliest first, by the rule as docs/tables.md states it (all are pages)."""

    def key(page: tuple) -> tuple:
        source, rec = page
        window = (source.mtime - EPOCH) // (2 * SECOND)
        missing_smallest = [(count is not None, count or 0) for count in (rec["cited_by"], rec["statement_count"])]
        return (window, *missing_smallest, "page", source.sha256)

    return sorted(pages, key=key)


def lake_latest(con: duckdb.DuckDBPyConnection, doi: str) -> dict[str, object]:
    """What the lake took as the paper's latest (and first), by every statement that decides it."""

    def rows(query: str) -> list[tuple]:
        return con.execute(query, [doi]).fetchall()

    trend = f"select first_cited_by, last_cited_by from ({read_sql('explain/trend.sql')})"
    return {
        "papers": rows("select source_sha256, cited_by, supporting from papers where doi = ?"),
        "abstracts": rows("select source_sha256 from abstracts where doi = ?"),
        "statements": rows("select type from statements where doi = ?"),
        "paper_count_history": rows(
            "select source_sha256, cited_by_delta, supporting_delta from paper_count_history"
            " where doi = ? order by source_sha256"
        ),
        "statement_reclassifications": rows(
            "select source_sha256, old_type, new_type from statement_reclassifications"
            " where doi = ? order by source_sha256"
        ),
        "trend": con.execute(trend, {"dois": [doi]}).fetchall(),
    }


def expected_latest(pages: list[tuple]) -> dict[str, object]:
    """What the split takes as latest, and what the views show in the order of the rule."""
    frames = split_records(pages)
    paper = frames.papers.row(0, named=True)
    ordered = rule_order(pages)
    assert ordered[-1][0].sha256 == paper["source_sha256"]  # the rule as stated is the split's
    kinds = [(source.sha256, rec["statements"][0]["type"]) for source, rec in ordered]

    def supporting(rec) -> int:
        return rec["tallies"]["supporting"]

    return {
        "papers": [(paper["source_sha256"], paper["cited_by"], paper["supporting"])],
        "abstracts": [(frames.abstracts["source_sha256"].item(),)],
        "statements": [(frames.statements["type"].item(),)],
        "paper_count_history": sorted(
            [(ordered[0][0].sha256, None, None)]
            + [
                (source.sha256, rec["cited_by"] - before["cited_by"], supporting(rec) - supporting(before))
                for (_, before), (source, rec) in zip(ordered, ordered[1:])
            ]
        ),
        "statement_reclassifications": sorted(
            (sha, old, new) for (_, old), (sha, new) in zip(kinds, kinds[1:]) if old != new
        ),
        "trend": [(ordered[0][1]["cited_by"], paper["cited_by"])],
    }


def by_run_and_batch(groupings: dict[str, list[list[list[tuple]]]]) -> list[list[list[tuple]]]:
    """The runs that commit every grouping at once: run r, batch b holds each grouping's run r, batch b
    (the groupings are of different papers, which never meet in a merge)."""
    runs = max(len(runs) for runs in groupings.values())
    batches = max(len(batches) for runs in groupings.values() for batches in runs)
    return [
        [
            [page for runs in groupings.values() if r < len(runs) and b < len(runs[r]) for page in runs[r][b]]
            for b in range(batches)
        ]
        for r in range(runs)
    ]


@pytest.mark.slow
def test_the_lake_takes_the_latest_the_split_takes_whatever_the_batches_and_runs(lake, report_files_of) -> None:
    """Three pages in one window: A and C tie on the counts, B has fewer and the latest mtime.

    A batch holding A and B stages A's values with B's last_seen; the merge must not
    take that time for A's (the split of all three orders A and C by content alone).
    Each grouping of the pages into batches and runs is a paper of its own.
    """
    supporting = {"supporting": 3, "mentioning": 5, "contrasting": 0, "unclassified": 0}
    groupings = {}
    expected = {}
    shapes = {
        "one batch": lambda a, b, c: [[[a, b, c]]],
        "two batches": lambda a, b, c: [[[a, b], [c]]],
        "two batches, the other way": lambda a, b, c: [[[c], [b, a]]],
        "two runs": lambda a, b, c: [[[a, b]], [[c]]],
        "two runs, the other way": lambda a, b, c: [[[c]], [[a, b]]],
        "three runs": lambda a, b, c: [[[b]], [[c]], [[a]]],
    }
    for number, (name, shape) in enumerate(shapes.items()):
        doi = f"10.1/grouping-{number}"
        a = record(doi=doi, cited_by=10, kind="supporting", tallies=supporting)
        b = record(doi=doi, cited_by=5, kind="mentioning")
        c = record(doi=doi, cited_by=10, kind="contrasting")
        pages = [(source_of(a, T + 0.5 * SECOND), a), (source_of(b, T + 1.0 * SECOND), b), (source_of(c, T + 0.8 * SECOND), c)]
        groupings[name] = shape(*pages)
        expected[name] = (doi, expected_latest(pages))

    write(lake, by_run_and_batch(groupings), report_files_of)

    for name, (doi, wanted) in expected.items():
        assert lake_latest(lake, doi) == wanted, name


def test_the_lake_puts_saves_on_either_side_of_the_epoch_in_two_windows(lake, report_files_of) -> None:
    """A save 0.1 s before 1970 is in the window before one 0.1 s after: the later wins, as in the split."""
    grown, smaller = record(cited_by=12, kind="supporting"), record(cited_by=10, kind="contrasting")
    pages = [(source_of(grown, EPOCH - 0.1 * SECOND), grown), (source_of(smaller, EPOCH + 0.1 * SECOND), smaller)]

    write(lake, [[pages[:1], pages[1:]]], report_files_of)

    assert lake_latest(lake, "10.1/x") == expected_latest(pages)
    assert lake.execute("select cited_by from papers").fetchall() == [(10,)]


# --- a report page and a saved API tally of one paper ----------------------------------------------


def page_and_tally(doi: str, page_at: datetime, tally_at: datetime) -> tuple[tuple, tuple]:
    """A page and a saved /tallies response of ``doi`` that agree on cited_by and statement_count
    but not on the tallies, as the example page and tally of pone.0000008 do."""
    page = record(
        doi=doi, cited_by=33, statement_count=34,
        tallies={"supporting": 6, "mentioning": 27, "contrasting": 1, "unclassified": 0},
    )  # fmt: skip
    tally = ApiTally(
        doi=doi, total=34, supporting=7, contrasting=1, mentioning=26, unclassified=0, citing_publications=33
    )
    sha256 = hashlib.sha256(repr((doi, tally_at)).encode()).hexdigest()
    response = ApiResponse(shape="tallies", tallies=[tally])
    return (source_of(page, page_at), page), (SourceFile(f"/api/{sha256[:8]}.json", 100, tally_at, sha256), response)


def test_a_page_and_an_api_tally_in_one_window_give_the_page_whichever_is_newer(lake, report_files_of) -> None:
    """Checked out together, either file can get the later mtime, and either can come in a later run: the page
    wins each time (papers takes its values whole, and only the page has a title and references). In the next
    window the later save wins, whatever its source."""
    early, late = T + 0.2 * SECOND, T + 0.6 * SECOND
    cases = {
        # doi: (page's mtime, tally's mtime, page's run, tally's run, the latest's source)
        "10.2/page-newer": (late, early, 0, 0, "page"),
        "10.2/tally-newer": (early, late, 0, 0, "page"),
        "10.2/tally-newer-run-after": (early, late, 0, 1, "page"),
        "10.2/page-older-run-after": (early, late, 1, 0, "page"),
        "10.2/page-in-the-next-window": (T + 2.1 * SECOND, T + 1.9 * SECOND, 0, 0, "page"),
        "10.2/tally-in-the-next-window": (T + 1.9 * SECOND, T + 2.1 * SECOND, 0, 0, "api"),
    }
    runs: list[list[list[tuple]]] = [[[]], [[]]]
    api: dict[tuple[int, int], list[tuple]] = {}
    for doi, (page_at, tally_at, page_run, tally_run, _) in cases.items():
        page, response = page_and_tally(doi, page_at, tally_at)
        runs[page_run][0].append(page)
        api.setdefault((tally_run, 0), []).append(response)

    write(lake, runs, report_files_of, api)

    latest = lake.execute(
        "select doi, snapshots.source, papers.supporting, papers.title is not null, papers.reference_count"
        " from papers join paper_snapshots as snapshots using (doi, source_sha256) order by doi"
    ).fetchall()
    assert latest == sorted(
        (doi, source, 6, True, 30) if source == "page" else (doi, source, 7, True, None)
        for doi, (*_, source) in cases.items()
    )


def test_two_papers_responses_in_one_window_give_the_journal_of_the_larger_hash(lake, report_files_of) -> None:
    """The newest /papers response sets papers.journal: in one window by content, whichever file is newer."""
    early, late = T + 0.2 * SECOND, T + 0.6 * SECOND

    def response(doi: str, journal: str, at: datetime) -> tuple[SourceFile, ApiResponse]:
        paper = ApiPaper(doi, "A Paper", 2020, journal, None, None, "journal-article", None, False, [])
        sha256 = hashlib.sha256(journal.encode()).hexdigest()[:-len(doi)] + doi  # the journal orders the hashes
        return SourceFile(f"/api/{sha256}.json", 100, at, sha256), ApiResponse(shape="papers", papers=[paper])

    responses = [
        response("10.3/first-newer", "Journal A", late), response("10.3/first-newer", "Journal B", early),
        response("10.3/second-newer", "Journal A", early), response("10.3/second-newer", "Journal B", late),
    ]  # fmt: skip
    write(lake, [[[]]], report_files_of, {(0, 0): responses})

    larger = max(["Journal A", "Journal B"], key=lambda journal: hashlib.sha256(journal.encode()).hexdigest())
    assert lake.execute("select doi, journal from papers order by doi").fetchall() == [
        ("10.3/first-newer", larger), ("10.3/second-newer", larger)
    ]  # fmt: skip
