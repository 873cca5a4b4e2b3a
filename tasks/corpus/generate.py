"""Deterministic synthetic report files, each with the parsed record the contract says it must give.

The pages look like ``tests/fixtures/scd.2013.0023.txt`` and vary in every way
``report-format.md`` describes: missing year, DOI prefixes and case, truncated or
missing abstracts, facet blocks with or without ``Select...``, short Citation
Types blocks, thousands separators, both quote styles, glued section and type,
bare type lines, ``disputing``, statements shown twice, missing confidence,
CRLF, a byte-order mark, Windows-1252, runs of blank lines, gzip, re-saved
pages of the same paper, files cut off inside a statement, and files that are
not reports at all.

The expected record is built from the same values the page is rendered from,
never by parsing the page, so a round trip through the parser checks the
parser against the contract (:mod:`tasks.corpus.oracle`).

Everything is drawn from one :class:`random.Random` (a paper's words from one it
seeds), so the same seed gives the
same bytes; :func:`generate_corpus` streams, holding only a bounded pool of
recently saved papers (the ones it may re-save).
"""

from __future__ import annotations

import enum
import gzip
import os
import random
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from tasks.corpus.pages import P_INCONSISTENT, Encoding, Style, choose_style, encode, render
from tasks.corpus.papers import FIRST_SAVE, Paper, draw_doi, grow, new_paper
from tasks.corpus.sentences import between
from tasks.reading.record import Record, Rejection

class NonReport(enum.Enum):
    """The kinds of file that are not a report; the value is the expected rejection's category."""

    EMPTY = "empty file"
    BINARY = "binary file"
    LOGIN_PAGE = "not a report: HTML login page"
    ERROR_PAGE = "not a report: error page"
    CORRUPT_GZIP = "corrupt gzip"



@dataclass(frozen=True, slots=True)
class GeneratedReport:
    """One generated file and what parsing it must give.

    ``name`` is relative to the corpus folder (``ab/10.1234_x.y.txt`` or
    ``.txt.gz``); ``data`` is the file's exact bytes (gzipped when the name ends
    ``.gz``); ``mtime`` is the page's save time (UTC). ``expected`` is the parsed
    record, or for a non-report a :class:`Rejection` whose reason is the
    :class:`NonReport` category (not the parser's wording).

    The remaining fields are bookkeeping for :class:`CorpusSummary`.
    """

    name: str
    data: bytes
    mtime: datetime
    expected: Record | Rejection
    new_paper: bool = False
    new_statements: int = 0
    duplicate: bool = False
    consistent: bool = True


@dataclass(slots=True)
class CorpusSummary:
    """What :func:`write_corpus` wrote, for end-to-end tests to compare the lake against.

    ``snapshots`` counts report files that give a record, byte-identical copies
    once; ``distinct_statements`` counts statement identities (DOI +
    whitespace-collapsed text + section) over all records; ``inconsistent_snapshots``
    counts pages whose Citation Types numbers do not add up to their statement count.
    """

    files: int = 0
    report_files: int = 0
    rejected_files: int = 0
    duplicate_files: int = 0
    distinct_dois: int = 0
    snapshots: int = 0
    distinct_statements: int = 0
    inconsistent_snapshots: int = 0
    total_bytes: int = 0

    def add(self, report: GeneratedReport) -> None:
        """Count one generated file."""
        self.files += 1
        self.total_bytes += len(report.data)
        if isinstance(report.expected, Rejection):
            self.rejected_files += 1
            return
        self.report_files += 1
        if report.duplicate:
            self.duplicate_files += 1
            return
        self.snapshots += 1
        self.distinct_dois += report.new_paper
        self.distinct_statements += report.new_statements
        self.inconsistent_snapshots += not report.consistent

    def as_dict(self) -> dict[str, int]:
        return asdict(self)



DEFAULT_GZIP_FRACTION = 0.2
RESAVE_POOL = 256  # papers kept for re-saving; bounds the generator's memory
FIRST_SAVE_SPAN_SECONDS = 540 * 86_400

ERROR_PAGES = (
    "502 Bad Gateway\n\nnginx\n",
    "Too Many Requests\n\nYou have sent too many requests in a given amount of time. Please try again later.\n",
    "Page not found\n\nThe page you are looking for does not exist or has been moved.\n",
    "Service Unavailable\r\n\r\nThe server is temporarily unable to service your request.\r\n",
)
LOGIN_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Sign in</title>\n</head>\n'
    '<body>\n<form action="/login" method="post">\n<h1>Sign in to continue</h1>\n'
    '<input type="email" name="email" placeholder="Email">\n<input type="password" name="password">\n'
    "<button>Log in</button>\n</form>\n</body>\n</html>\n"
)


def _file_stem(doi: str) -> str:
    """``<shard>/<doi with / as _>``: collections are split into folders, as big ones are."""
    shard = zlib.crc32(doi.encode()) & 0xFF
    return f"{shard:02x}/{doi.replace('/', '_')}"


def _page_report(rng: random.Random, paper: Paper, style: Style, mtime: datetime) -> GeneratedReport:
    """Save ``paper``'s page at ``mtime`` in ``style``; a re-save is named as a browser names it."""
    text, record, new_statements = render(rng, paper, style)
    data = encode(text, record, style)
    name = _file_stem(paper.doi) + (f" ({paper.saves + 1})" if paper.saves else "") + ".txt"
    if style.gzipped:
        data = gzip.compress(data, mtime=int(mtime.timestamp()))
        name += ".gz"
    paper.saves += 1
    paper.last_saved = mtime
    return GeneratedReport(
        name=name,
        data=data,
        mtime=mtime,
        expected=record,
        new_paper=paper.saves == 1,
        new_statements=new_statements,
        consistent=style.consistent,
    )


def _first_save_time(rng: random.Random) -> datetime:
    return FIRST_SAVE + timedelta(seconds=rng.randrange(FIRST_SAVE_SPAN_SECONDS))


def _non_report(rng: random.Random, kind: NonReport, serial: int) -> GeneratedReport:
    name = _file_stem(draw_doi(rng, serial, between(rng, 1995, 2023))) + ".txt"
    mtime = _first_save_time(rng)
    if kind is NonReport.EMPTY:
        data = b""
    elif kind is NonReport.BINARY:
        header = rng.choice((b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00"))
        data = header + rng.randbytes(between(rng, 200, 2000))
    elif kind is NonReport.LOGIN_PAGE:
        data = LOGIN_PAGE.encode()
    elif kind is NonReport.ERROR_PAGE:
        data = rng.choice(ERROR_PAGES).encode()
    else:
        # A gzip header and the first bytes of its stream: nothing recoverable, not even a DOI line.
        whole = gzip.compress(f"2013\nDOI: 10.1089/scd.2013.{serial:06d}\n".encode(), mtime=int(mtime.timestamp()))
        data = whole[: 10 + between(rng, 0, 4)]
        name += ".gz"
    return GeneratedReport(name=name, data=data, mtime=mtime, expected=Rejection(reason=kind.value))


def generate_report(
    rng: random.Random,
    *,
    serial: int = 0,
    non_report: NonReport | None = None,
    encoding: Encoding | None = None,
    crlf: bool | None = None,
    gzipped: bool | None = None,
    cut_off: bool | None = None,
    consistent: bool | None = None,
) -> GeneratedReport:
    """One report file of a newly seen paper (or a non-report), drawn from ``rng``.

    Each keyword left ``None`` is drawn at random; set it to force that variation.
    ``serial`` makes the DOI unique within a corpus. ``consistent=False`` gives a
    page whose counts do not add up (tallies vs. statement count).
    """
    if non_report is not None:
        return _non_report(rng, non_report, serial)
    paper = new_paper(rng, serial)
    style = choose_style(
        rng,
        encoding=encoding,
        crlf=crlf,
        gzipped=gzipped,
        cut_off=cut_off,
        consistent=consistent,
        gzip_fraction=DEFAULT_GZIP_FRACTION,
    )
    return _page_report(rng, paper, style, _first_save_time(rng))


def generate_corpus(
    count: int,
    seed: int,
    *,
    resave_fraction: float = 0.15,
    reject_fraction: float = 0.03,
    gzip_fraction: float = DEFAULT_GZIP_FRACTION,
    duplicate_fraction: float = 0.01,
    clean: bool = False,
    canonical: bool = False,
) -> Iterator[GeneratedReport]:
    """``count`` generated files, deterministic from ``seed``, one at a time.

    Of the files, about ``reject_fraction`` are non-reports (their kinds taken in
    turn), ``resave_fraction`` are later saves of a recently generated paper,
    ``duplicate_fraction`` byte-identical copies of the previous report file under
    another name, and ``gzip_fraction`` are gzipped. ``clean=True`` makes every
    page's counts add up; otherwise about 5% do not.

    ``canonical=True`` gives only canonical pages (``docs/report-format.md``; what
    ``tasks.reading.parse_vectorized`` reads): no non-report, and every page UTF-8
    with LF line ends, whole, with four Citation Types numbers and every
    statement's confidence. Re-saves, copies, gzip and the layout's other
    variations (quotes, line breaks, blank runs, prefixed DOIs…) stay as they are.
    """
    if canonical:
        reject_fraction = 0.0
    rng = random.Random(seed)
    recent: deque[Paper] = deque(maxlen=RESAVE_POOL)
    non_report_kinds = list(NonReport)
    rejections = 0
    previous: GeneratedReport | None = None
    for serial in range(count):
        roll = rng.random()
        if roll < reject_fraction:
            yield _non_report(rng, non_report_kinds[rejections % len(non_report_kinds)], serial)
            rejections += 1
            continue
        roll -= reject_fraction
        if roll < duplicate_fraction and previous is not None:
            copy_name = previous.name.replace(".txt", " - Copy.txt", 1)
            yield replace(previous, name=copy_name, duplicate=True, new_paper=False, new_statements=0)
            previous = None  # one copy per page, so copy names stay unique
            continue
        roll -= duplicate_fraction
        style = choose_style(
            rng,
            encoding="utf-8" if canonical else None,
            crlf=False if canonical else None,
            gzipped=None,
            cut_off=False if canonical else None,
            consistent=True if clean else None,
            gzip_fraction=gzip_fraction,
            canonical=canonical,
        )
        if roll < resave_fraction and recent:
            paper = rng.choice(recent)
            grow(rng, paper)
            mtime = paper.last_saved + timedelta(seconds=between(rng, 86_400, 120 * 86_400))
            if not clean and rng.random() < P_INCONSISTENT:
                paper.cited_by = max(2, paper.cited_by - between(rng, 1, 20))  # a count that went down
        else:
            paper = new_paper(rng, serial)
            recent.append(paper)
            mtime = _first_save_time(rng)
        previous = _page_report(rng, paper, style, mtime)
        yield previous


def write_corpus(
    out_dir: Path, count: int, seed: int, *, progress: Callable[[CorpusSummary], None] | None = None, **options: object
) -> CorpusSummary:
    """Write :func:`generate_corpus` ``(count, seed, **options)`` under ``out_dir`` and summarise it.

    Sub-folders are created as needed and each file's modification time is set to
    its page's save time. Files are written as they are generated; ``progress``
    is given the summary so far after each one.
    """
    summary = CorpusSummary()
    made: set[Path] = set()
    for report in generate_corpus(count, seed, **options):  # type: ignore[arg-type]
        path = out_dir / report.name
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(report.data)
        timestamp = report.mtime.timestamp()
        os.utime(path, (timestamp, timestamp))
        summary.add(report)
        if progress is not None:
            progress(summary)
    return summary
