"""The fast path of ``parse_and_split``: canonical report pages parsed a whole batch at a time in polars.

Most report files are *canonical*: UTF-8 pages in the exact layout of
``report-format.md``, on which the reference parser (``tasks.reading.parse``) reads every
line and warns about nothing. For those, the per-line Python of the reference
parser is replaced by a few polars regex passes over the batch's texts (Rust,
multi-threaded), and the frames are built from the resulting columns.

A page is canonical only if each of these checks holds; every other page goes
through the reference parser, which stays the definition of the output:

* its bytes decode as UTF-8 (gzip: a single member, nothing after it);
* every character of it is covered by a strict grammar: :data:`_TOP` (year …
  widgets) and :data:`_MIDDLE` (facet blocks … repeated tallies), the two parts
  before and between its two ``Order By: Relevance`` lines, and for the statements
  region after them, pieces each holding one showing (:data:`_SHOWING_TEXT`, then
  the :data:`_CLASSIFICATION` and confidence lines) — with no control character and
  no white space but ``" "`` and ``\\n``, on which Python and Rust agree;
* the title is none of the lines the reference parser reads as something else, and
  no free text (title, abstract, statement text) holds a double space, so collapsing
  white space is replacing line ends;
* Citation Types, when shown, has four numbers, and the tallies repeated after the
  references line are none or the same four; Year Published fits an Int32;
* no line of the statements region but the classification lines ends with a type
  word (so each text ends where the reference parser's classification anchor is);
  each text is non-empty, each confidence at most 100%, and a statement shown twice
  on the page is shown with one type.

``tests/test_parse_vectorized.py`` holds this path equal to the reference one.
"""

from __future__ import annotations

import codecs
import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from tasks.reading.frames import UTC_TIME, polars_schema
from tasks.reading.page_text import MAX_REPORT_BYTES
from tasks.reading.parse import FACET_NAMES
from tasks.reading.record import TALLY_CLASSES
from tasks.reading.sections import section_category
from tasks.reading.split import PageFrames

# ---------------------------------------------------------------------------
# The canonical page's grammar (Rust regex syntax: no lookaround, no backreferences)
# ---------------------------------------------------------------------------

# A count line's number, as the reference parser accepts it (thousands separators or up to 18 digits).
_COUNT = r"(?:[0-9]{1,3}(?:,[0-9]{3}){1,5}|[0-9]{1,18})"
_SELECT = r"(?:Select(?:\.\.\.|…)\n+)?"
# The facet blocks in page order, each optional, with the named group holding its count lines.
_FACETS = (
    ("Paper Sections", "paper_sections"),
    ("Citation Types", "citation_types"),
    ("Year Published", "year_published"),
    ("Publication Types", "publication_types"),
    ("Relationship", "relationship"),
    ("Authors", "authors"),
    ("Journals", "journals"),
)
assert {name for name, _ in _FACETS} == FACET_NAMES


# The characters of a canonical page's free text: no control character, and no white space
# but " " and "\n", on which Python's and Rust's white space and line handling agree.
# (The grammars below cover every character of a page, so no other check is needed.)
_VISIBLE = r"[^\s\p{Cc}]"
_LINE_CHAR = rf"[ {_VISIBLE}]"
_TEXT_CHAR = rf"[\n {_VISIBLE}]"
# The page splits at its two ``Order By: Relevance`` lines (no other line of a canonical
# page is one): the top (year … widgets), the middle (facet blocks … repeated tallies)
# and the statements region. Each part has its own strict grammar.
_ORDER_BY = "\nOrder By: Relevance\n"
_DOI_PREFIX = r"(?i:https?://(?:dx\.)?doi\.org/)"
_TOP = "".join(
    [
        r"^\n*(?:[0-9]{4}\n+)?",
        # ASCII only, so that lower-casing is the same in Rust and Python.
        rf"DOI: {_DOI_PREFIX}?10\.[0-9]+(?:\.[0-9]+)*/[!-~]+\n+",
        rf"(?:\|{_LINE_CHAR}*\n+|Sign up to set email alerts\n+)*",  # page chrome
        rf"{_VISIBLE}(?:{_LINE_CHAR}*{_VISIBLE})?\n+",  # the title
        rf"(?:Abstract:{_LINE_CHAR}*\n\n+)?",  # one line: a blank line ends it
        r"Help me understand this report\n+Search citation statements\n*$",
    ]
)
_MIDDLE = "".join(
    [
        r"^\n*",
        *(rf"(?:{name}\n+{_SELECT}(?:{_COUNT}\n+)*)?" for name, _ in _FACETS),
        rf"citations\n+Cited by {_COUNT} publications?\n+\({_COUNT} citation statements?\)\n+",
        rf"references\n+References {_COUNT} publications?(?:\n+{_COUNT})*\n*$",
    ]
)
# Fields of a part that matched its grammar: each pattern's first match is the field's line.
_YEAR = r"^\n*([0-9]{4})\n"
_DOI = rf"(?m)^DOI: {_DOI_PREFIX}?([!-~]+)"
_TITLE = r"^\n*(?:[0-9]{4}\n+)?DOI: [^\n]*\n+(?:\|[^\n]*\n+|Sign up to set email alerts\n+)*([^\n]+)"
_ABSTRACT_END = r"\n\n+Help me understand this report\n+Search citation statements\n*$"
_CITED_BY = rf"\nCited by ({_COUNT}) publications?\n"
_STATEMENT_COUNT = rf"\n\(({_COUNT}) citation statements?\)\n"
_REPEAT_TALLIES = rf"\nReferences {_COUNT} publications?((?:\n+{_COUNT})*)"
_REFERENCE_COUNT = rf"\nReferences ({_COUNT}) publications?"


def _facet_block(name: str) -> str:
    return rf"(?m)^{name}\n+{_SELECT}((?:{_COUNT}\n+)*)"


# A title is the first line after the chrome that the reference parser reads as nothing else.
_FIXED_LINES = [
    *FACET_NAMES,
    "Select...",
    "Select…",
    "Order By: Relevance",
    "Help me understand this report",
    "Search citation statements",
    "Sign up to set email alerts",
    "citations",
    "references",
]
_NOT_A_TITLE = (
    rf"^(?:[0-9,]+|\||Abstract:)"
    rf"|^(?i:Cited by {_COUNT} publications?|\({_COUNT} citation statements?\)|References {_COUNT} publications?)$"
)
_SHOW_MORE = r"(?:…|\.\.\.) ?Show more$"

# One showing of a statement: quoted text (either quote style, with the page's ellipses),
# the classification line with the section glued to the type, and the confidence line.
# The region is cut into showings by marking each classification and confidence line
# pair: ``text \x01 section \x02 type \x02 percent \x00``. Control characters never
# occur in a canonical page, so the marks are unambiguous (a page holding one is refused).
_OPENING = r"(?:“(?:…|\.\.\.)?|\"(?:\.\.\.|…)?)"  # greedy, as the reference parser takes it
_CLOSING = r"(?:…”|\.\.\.”|\.\.\.\"|…\"|”|\")$"  # leftmost match: the longest mark, as there
_TYPES = "supporting|mentioning|contrasting|disputing"
# As the reference parser's classification regex: the section is all of the line before the type word.
_CLASSIFICATION = (
    rf"\n(?:Section:(?P<section>{_LINE_CHAR}*))?(?P<type>{_TYPES})\nconfidence: (?P<percent>[0-9]{{1,3}})%(?:\n|$)"
)
_MARKED = "\x01${section}\x02${type}\x02${percent}\x00"
_MARKS = "[\x00-\x02]"
_SHOWING_TEXT = rf"^\n*{_OPENING}{_TEXT_CHAR}*{_CLOSING}"
# Every line the reference parser could take for a classification line ends with a type word;
# counting such line ends finds all of them (and a few more, which is only conservative).
# (White space after the word could only come before a line end inside a text, which then
# holds a double space and is refused.)
_TYPE_AT_LINE_END = rf"(?:{_TYPES})(?:\n|$)"
_INT32_MAX = 2**31 - 1
_UNIT_SEPARATOR = "\x1f"


def _collapsed(column: pl.Expr) -> pl.Expr:
    """``collapse_whitespace`` of a text whose only white space is ``" "`` and ``\\n``, *if* it
    holds no run of white space: the canonical checks reject texts containing a double space."""
    return column.str.replace_all("\n", " ", literal=True).str.strip_chars(" ")


def _numbers(column: pl.Expr) -> pl.Expr:
    """A block of count lines as its list of numbers (Int64), thousands separators dropped."""
    return column.str.extract_all(r"[0-9,]+").list.eval(pl.element().str.replace_all(",", "").cast(pl.Int64))


# ---------------------------------------------------------------------------
# Decoding: only bytes whose text the reference parser would take unchanged
# ---------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"


def canonical_text(data: bytes) -> str | None:
    """The page's text as the reference parser reads it, if its bytes are UTF-8, else None (see :func:`canonical_texts`)."""
    return canonical_texts([data])[0]


def canonical_texts(datas: Sequence[bytes]) -> pl.Series:
    """Each file's text as the reference parser reads it, where its bytes are UTF-8: a Utf8 series, null elsewhere.

    Decoded as ``tasks.reading.page_text`` decodes for the parser (a byte-order mark dropped, CRLF and CR read as
    line ends); null sends the file to the reference parser: Windows-1252, gzip with
    more than one member or anything after it, and oversized files all do.

    The bytes go to polars as they are and polars checks and takes them as UTF-8
    in Rust: decoding each page into a Python string that polars then encodes
    again cost about a fifth of the fast path. Python decodes only in a batch
    holding a page that is not UTF-8, to find which.
    """
    candidates = [_canonical_bytes(data) for data in datas]
    try:
        return pl.Series(candidates, dtype=pl.Binary).cast(pl.Utf8)
    except pl.exceptions.ComputeError:  # invalid UTF-8 somewhere in the batch
        return pl.Series([_utf8_or_none(data) for data in candidates], dtype=pl.Binary).cast(pl.Utf8)


def _canonical_bytes(data: bytes) -> bytes | None:
    """The page's bytes decompressed, without a byte-order mark and with LF line ends; None if not for the fast path.

    CR and LF are single bytes in UTF-8, never part of another character, so line
    ends are the same whether replaced before or after decoding.
    """
    if len(data) > MAX_REPORT_BYTES:
        return None
    if data[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, MAX_REPORT_BYTES + 1)
        except zlib.error:
            return None
        if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            return None
    if len(data) > MAX_REPORT_BYTES:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _utf8_or_none(data: bytes | None) -> bytes | None:
    if data is None:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return data


# ---------------------------------------------------------------------------
# Parse and split
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CanonicalPages:
    """What the fast path made of a batch.

    ``accepted[i]`` says whether page ``i`` was parsed here (it would have given a
    record without warnings); ``page_frames`` are the accepted pages' rows in the
    form ``tasks.reading.split.page_frames`` gives them: snapshots, sightings, facets,
    abstract candidates and statement identities.
    """

    accepted: list[bool]
    page_frames: PageFrames


PAGES_SCHEMA = pl.Schema(
    {"observed_at": UTC_TIME, "source_sha256": pl.Utf8, "source_path": pl.Utf8, "page_text": pl.Utf8}
)
"""The input of :func:`parse_canonical`: each page's source (its ``SourceFile``'s mtime, sha256
and path) and its :func:`canonical_text`."""


def parse_canonical(pages: pl.DataFrame) -> CanonicalPages:
    """Parse the canonical pages among ``pages`` (``PAGES_SCHEMA``) into page frames."""
    sources = pages.with_row_index("page")
    heads = _read_heads(sources)
    statements, statement_pages_ok = _read_statements(heads)
    ok_pages = heads.join(statement_pages_ok, on="page", how="left").filter(
        pl.col("ok") & pl.col("statements_ok").fill_null(True)
    )
    accepted_pages = set(ok_pages["page"].to_list())
    accepted = [page in accepted_pages for page in range(pages.height)]
    statements = statements.join(ok_pages.select("page", "doi", "observed_at", "source_sha256"), on="page")
    return CanonicalPages(accepted, _page_frames(ok_pages, statements))


def _read_heads(sources: pl.DataFrame) -> pl.DataFrame:
    """One row per page: the head's fields, the statements region and whether the head is canonical."""
    parts = pl.col("page_text").str.splitn(_ORDER_BY, 3).struct
    top, middle = pl.col("top"), pl.col("middle")
    heads = sources.select(
        "page",
        "observed_at",
        "source_sha256",
        "source_path",
        top=parts.field("field_0"),
        middle=parts.field("field_1"),
        region=parts.field("field_2"),
    )
    abstract_line = top.str.split_exact("\nAbstract:", 1).struct.field("field_1").str.replace(_ABSTRACT_END, "")
    abstract = _collapsed(abstract_line)
    abstract_cut = abstract.str.replace(_SHOW_MORE, "").str.strip_chars_end(" ")
    heads = heads.select(
        "page",
        "observed_at",
        "source_sha256",
        "source_path",
        "region",
        matched=pl.col("region").is_not_null() & top.str.contains(_TOP) & middle.str.contains(_MIDDLE),
        doi=top.str.extract(_DOI).str.to_lowercase(),
        title=top.str.extract(_TITLE),
        year=top.str.extract(_YEAR).cast(pl.Int32),
        abstract=pl.when(abstract_cut != "").then(abstract_cut),
        truncated=abstract.str.contains(_SHOW_MORE),
        abstract_spaced=abstract.str.contains("  ", literal=True).fill_null(False),
        cited_by=_count(middle.str.extract(_CITED_BY)),
        statement_count=_count(middle.str.extract(_STATEMENT_COUNT)),
        reference_count=_count(middle.str.extract(_REFERENCE_COUNT)),
        repeat_tallies=_numbers(middle.str.extract(_REPEAT_TALLIES)),
        **{group: _numbers(middle.str.extract(_facet_block(name))) for name, group in _FACETS},
    )
    citation_types = pl.col("citation_types")
    years = pl.col("year_published")
    title = pl.col("title")
    return heads.with_columns(
        ok=pl.col("matched")
        & ~title.is_in(_FIXED_LINES)
        & ~title.str.contains(_NOT_A_TITLE)
        & ~title.str.contains("  ", literal=True)
        & ~pl.col("abstract_spaced")
        & (citation_types.is_null() | (citation_types.list.len() == len(TALLY_CLASSES)))
        & ((pl.col("repeat_tallies").list.len() == 0) | (pl.col("repeat_tallies") == citation_types).fill_null(False))
        & (years.list.max().fill_null(0) <= _INT32_MAX),
        citing_year_min=years.list.min().cast(pl.Int32),
        citing_year_max=years.list.max().cast(pl.Int32),
        **{name: citation_types.list.get(index, null_on_oob=True) for index, name in enumerate(TALLY_CLASSES)},
    )


def _count(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all(",", "", literal=True).cast(pl.Int64)


def _read_statements(heads: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The distinct statements of the canonical heads' pages, and per page whether its statements are canonical.

    Statements come one row per (page, text, section) in the order first shown,
    with ``position``, ``type`` and ``confidence`` of the first showing and ``seen``.
    """
    region = pl.col("region")
    regions = heads.filter("ok").select(
        "page",
        classification_lines=region.str.count_matches(_TYPE_AT_LINE_END),
        marks=region.str.contains(_MARKS),
        # What follows the last confidence line is the last piece: blank, or a non-showing.
        pieces=region.str.replace_all(_CLASSIFICATION, _MARKED).str.split("\x00"),
    )
    body = pl.col("body")
    showings = (
        regions.select("page", "pieces")
        .explode("pieces", empty_as_null=False)
        .filter(~pl.col("pieces").str.contains(r"^\n*$"))
        .with_row_index("order")
        .with_columns(pl.col("pieces").str.split_exact("\x01", 1).struct.rename_fields(["body", "classification"]))
        .unnest("pieces")
        .with_columns(
            pl.col("classification").str.split_exact("\x02", 2).struct.rename_fields(["section", "type", "percent"])
        )
        .unnest("classification")
        .select(
            "page",
            "order",
            valid=body.str.contains(_SHOWING_TEXT) & pl.col("type").is_not_null(),
            text=_collapsed(body.str.replace(rf"^\n*{_OPENING}", "").str.replace(_CLOSING, "")),
            section=pl.col("section").str.strip_chars(" ").replace("", None),
            type=pl.col("type").replace("disputing", "contrasting"),
            percent=pl.col("percent").cast(pl.Int32),
        )
    )
    per_page = regions.join(
        showings.group_by("page").agg(
            showing_count=pl.len(),
            valid=(
                pl.col("valid")
                & (pl.col("text") != "")
                & ~pl.col("text").str.contains("  ", literal=True)
                & (pl.col("percent") <= 100)
            ).all(),
        ),
        on="page",
        how="left",
    )
    distinct = (
        showings.group_by("page", "text", "section", maintain_order=True)
        .agg(
            order=pl.col("order").first(),
            type=pl.col("type").first(),
            # Python's float(percent) / 100, as the reference parser computes the fraction.
            confidence=pl.col("percent").first().cast(pl.Float64) / 100,
            seen=pl.len().cast(pl.Int32),
            types=pl.col("type").n_unique(),
        )
        .sort("order")
        .with_columns(position=pl.int_range(pl.len(), dtype=pl.Int32).over("page"))
    )
    conflicts = distinct.filter(pl.col("types") > 1)["page"].unique()
    statements_ok = per_page.select(
        "page",
        statements_ok=(pl.col("classification_lines") == pl.col("showing_count").fill_null(0))
        & ~pl.col("marks")
        & pl.col("valid").fill_null(True)
        & ~pl.col("page").is_in(conflicts.implode()),
    )
    return distinct.drop("order", "types"), statements_ok


def _page_frames(pages: pl.DataFrame, statements: pl.DataFrame) -> PageFrames:
    """The accepted pages' rows of the five per-page frames, in the split's schemas."""
    statements = statements.with_columns(statement_id=pl.Series(_statement_ids(statements), dtype=pl.Utf8))
    shown = statements.group_by("page").agg(statements_shown=pl.len().cast(pl.Int32))
    snapshots = pages.join(shown, on="page", how="left").with_columns(pl.col("statements_shown").fill_null(0))
    facets = pl.concat(
        [
            pages.select("doi", "source_sha256", facet=pl.lit(name), value=pl.col(group))
            .drop_nulls("value")
            .with_columns(position=pl.int_ranges(pl.col("value").list.len(), dtype=pl.Int32))
            .explode("value", "position", empty_as_null=False)
            for name, group in _FACETS
        ]
    )
    abstracts = pages.filter(pl.col("abstract").is_not_null())
    sections = statements["section"].unique()
    categories = pl.DataFrame(
        {"section": sections, "section_category": [section_category(section) for section in sections]},
        schema={"section": pl.Utf8, "section_category": pl.Utf8},
    )
    identities = statements.join(categories, on="section", how="left", nulls_equal=True)
    return (
        _in_schema(snapshots, "paper_snapshots"),
        _in_schema(statements, "statement_sightings"),
        _in_schema(facets, "facets"),
        _in_schema(abstracts, "abstracts"),
        _in_schema(identities, "statements", ["statement_id", "doi", "text", "section", "section_category"]),
    )


def _statement_ids(statements: pl.DataFrame) -> list[str]:
    """``tasks.reading.split.statement_id`` of each row (its text is collapsed already), digested by hashlib as there.

    polars joins the key's UTF-8 bytes (``doi \\x1f text \\x1f section-or-empty``); Python hashes them.
    """
    keys = statements.select(
        pl.concat_str(
            "doi", pl.lit(_UNIT_SEPARATOR), "text", pl.lit(_UNIT_SEPARATOR), pl.col("section").fill_null("")
        ).cast(pl.Binary)
    ).to_series()
    blake2b = hashlib.blake2b
    return [blake2b(key, digest_size=16).hexdigest() for key in keys.to_list()]


def _in_schema(frame: pl.DataFrame, table: str, columns: list[str] | None = None) -> pl.DataFrame:
    """``frame``'s columns of a table, in its declared order and dtypes."""
    schema = polars_schema(table)
    return frame.select(pl.col(name).cast(schema[name]) for name in columns or schema.names())
