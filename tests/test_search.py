"""Statement search: the index follows the lake, queries and filters answer as SQL would, and damage is repaired.

Lakes are built by the real ingest from report files written here in the
fixture's format (``tests/fixtures/scd.2013.0023.txt``), so every statement's
words, type, section and paper year are known.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tasks.lake.ingest import ingest
from tasks.lake.session import open_lake
from tasks.lake.location import LakeLocation
from tasks.lake.sql import read_sql
from tasks.search.index import (
    INDEX_DIR,
    index_lock,
    POINTER_FILE,
    SearchIndexError,
    ensure_index,
    lake_id,
    open_generation,
    update_index,
)
from tasks.lake.tables import STATEMENT_TYPES
from tasks.search.segments import merge_index_segments
from tasks.search.query import (
    QuerySyntaxError,
    SearchFilters,
    prefixes,
    search,
    search_facets,
    translate_prefixes,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "scd.2013.0023.txt"
TEST_SQL = Path(__file__).parent / "sql"
COMMON = "cohort"  # in every statement written here
VOCABULARY = (
    "patients treatment stem cells therapy trial efficacy safety immune response serum marrow "
    "injection dose placebo outcome clinical tissue repair model mice study group analysis"
).split()
SECTIONS = ("Introduction", "Methods", "Results", "Discussion", "Conclusion", "Statistical Analysis", "Background")
PLANTED = {
    "lichen": "The xanthoria lichen cohort grew on volcanic basalt near the coast",
    "sample": "A xanthoria sample from the cohort was compared with moss",
    "phrase": "The blue quokka habitat cohort was surveyed twice",
    "apart": "The quokka lived in a habitat that was blue and the cohort noticed",
    "zymurgical": "Zymurgical methods in the cohort improved yield",
    "zymurgy": "Zymurgy cohort brewing records were kept",
}
PLANTED_DOI = "10.9999/planted.0001"


def _fixture_header() -> str:
    text = FIXTURE.read_text(encoding="utf-8")
    return text[: text.index("“…")]


HEADER = _fixture_header()


def report_text(doi: str, year: int, title: str, statements: list[tuple[str, str, str, int]]) -> str:
    """A report page as the fixture shows one: its header with this DOI, year and title, then the statements."""
    header = HEADER.replace("10.1089/scd.2013.0023", doi).replace(
        "Human Umbilical Cord Mesenchymal Stem Cell Therapy for Patients with Active Rheumatoid Arthritis: Safety and Efficacy",
        title,
    )
    header = f"{year}\n" + header.split("\n", 1)[1]
    body = "".join(
        f"“…{text}…”\nSection: {section}{kind}\nconfidence: {confidence}%\n" for text, section, kind, confidence in statements
    )
    return header + body


def write_report(folder: Path, doi: str, year: int, title: str, statements, saved_at: datetime) -> Path:
    path = folder / f"{doi.replace('/', '_')}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_text(doi, year, title, statements), encoding="utf-8")
    os.utime(path, (saved_at.timestamp(), saved_at.timestamp()))
    return path


def planted_statements(lichen_type: str = "supporting") -> list[tuple[str, str, str, int]]:
    kinds = {"lichen": lichen_type}
    return [(text, "Results", kinds.get(key, "mentioning"), 90) for key, text in PLANTED.items()]


def write_corpus_by_hand(folder: Path, papers: int, seed: int, *, serial_from: int = 0) -> None:
    """``papers`` pages of five statements each, every one holding COMMON, with seeded types, sections, years."""
    rng = random.Random(seed)
    saved_at = datetime(2024, 1, 1, tzinfo=UTC)
    for serial in range(serial_from, serial_from + papers):
        statements = []
        for number in range(5):
            words = rng.choices(VOCABULARY, k=12)
            words.insert(rng.randrange(len(words)), COMMON)
            text = " ".join(words).capitalize() + f" [{serial}.{number}]"
            statements.append((text, rng.choice(SECTIONS), rng.choice(STATEMENT_TYPES), rng.randrange(50, 100)))
        write_report(folder, f"10.5555/hand.{serial:04d}", 2000 + serial % 24, f"Paper {serial}", statements, saved_at)


def build_lake(tmp: Path, papers: int = 30, seed: int = 1) -> tuple[LakeLocation, Path]:
    source = tmp / "reports"
    write_corpus_by_hand(source, papers, seed)
    write_report(source, PLANTED_DOI, 2019, "Planted words", planted_statements(), datetime(2024, 1, 1, tzinfo=UTC))
    location = LakeLocation(path=tmp / "lake")
    ingest(source, location, workers=1)
    update_index(location)
    return location, source


def sql_rows(location: LakeLocation, sql: str, parameters: dict | None = None) -> list[tuple]:
    con = open_lake(location, read_only=True)
    try:
        return con.execute(sql, parameters or {}).fetchall()
    finally:
        con.close()


def statement_id_with(location: LakeLocation, word: str) -> tuple[str, str]:
    rows = sql_rows(location, (TEST_SQL / "statement_type.sql").read_text(encoding="utf-8"), {"word": word})
    assert len(rows) == 1, rows
    return rows[0]


def hit_ids(location: LakeLocation, query: str, filters: SearchFilters | None = None) -> list[str]:
    return search(location, query, filters, limit=10_000)["statement_id"].to_list()


@pytest.fixture(scope="module")
def hand_lake(tmp_path_factory) -> LakeLocation:
    location, _ = build_lake(tmp_path_factory.mktemp("search"))
    return location


# ---------------------------------------------------------------------------
# Pure parts
# ---------------------------------------------------------------------------


def test_translate_prefixes_turns_a_trailing_star_into_a_regex_over_word_and_stem() -> None:
    assert translate_prefixes("immunomodulatory*") == "text:/(immunomodulatori|immunomodulatory).*/"
    assert translate_prefixes("stem -Cell* x") == "stem -text:/(cell).*/ x"
    assert translate_prefixes('"cell* lines" a*') == '"cell* lines" text:/(a).*/'
    assert translate_prefixes("*") == "*"
    assert translate_prefixes("title:cell*") == "title:cell*"


def test_filters_refuse_unknown_values() -> None:
    with pytest.raises(QuerySyntaxError, match="unknown type 'positive'"):
        SearchFilters(types=("positive",))
    with pytest.raises(QuerySyntaxError, match="unknown section category"):
        SearchFilters(section_categories=("abstract",))


def test_lake_id_differs_between_lakes_and_not_between_opens(tmp_path: Path) -> None:
    one, two = LakeLocation(tmp_path / "one"), LakeLocation(tmp_path / "two")
    assert lake_id(one) == lake_id(LakeLocation(tmp_path / "one"))
    assert lake_id(one) != lake_id(two)
    assert lake_id(LakeLocation(tmp_path / "one", catalog="postgresql://a@h/db")) != lake_id(one)


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_planted_words_rank_first_and_all_terms_are_required(hand_lake: LakeLocation) -> None:
    lichen, _ = statement_id_with(hand_lake, "lichen")
    sample, _ = statement_id_with(hand_lake, "xanthoria sample")
    assert hit_ids(hand_lake, "xanthoria lichen") == [lichen]
    either = hit_ids(hand_lake, "xanthoria OR lichen")
    assert either[0] == lichen and set(either) == {lichen, sample}


def test_a_phrase_matches_the_words_together_not_apart(hand_lake: LakeLocation) -> None:
    together, _ = statement_id_with(hand_lake, "blue quokka")
    apart, _ = statement_id_with(hand_lake, "quokka lived")
    assert hit_ids(hand_lake, '"blue quokka"') == [together]
    assert set(hit_ids(hand_lake, "blue quokka")) == {together, apart}


def test_a_minus_excludes_and_a_star_is_a_prefix(hand_lake: LakeLocation) -> None:
    sample, _ = statement_id_with(hand_lake, "xanthoria sample")
    assert hit_ids(hand_lake, "xanthoria -lichen") == [sample]
    zymurgical, _ = statement_id_with(hand_lake, "Zymurgical")
    zymurgy, _ = statement_id_with(hand_lake, "Zymurgy")
    assert set(hit_ids(hand_lake, "zymurg*")) == {zymurgical, zymurgy}
    assert hit_ids(hand_lake, "zymurgx*") == []
    snippets = set(search(hand_lake, "zymurg*")["snippet"])
    assert any("<b>Zymurgical</b>" in snippet for snippet in snippets)
    assert any("<b>Zymurgy</b>" in snippet for snippet in snippets)


def test_prefixes_lists_the_words_and_stems_a_star_stands_for() -> None:
    assert prefixes('studies* "not* this" -gone* cell') == ["studi", "studies"]


def test_hits_carry_the_paper_and_marked_snippets(hand_lake: LakeLocation) -> None:
    hits = search(hand_lake, "xanthoria lichen")
    row = hits.row(0, named=True)
    assert (row["rank"], row["doi"], row["title"], row["year"], row["section"], row["type"]) == (
        1, PLANTED_DOI, "Planted words", 2019, "Results", "supporting"
    )
    assert row["confidence"] == pytest.approx(0.9)
    assert "<b>xanthoria</b>" in row["snippet"] and "<b>lichen</b>" in row["snippet"]
    assert row["score"] > 0


def test_limit_and_offset_page_through_the_ranking(hand_lake: LakeLocation) -> None:
    everything = hit_ids(hand_lake, COMMON)
    page = search(hand_lake, COMMON, limit=7, offset=5)
    assert page["statement_id"].to_list() == everything[5:12]
    assert page["rank"].to_list() == list(range(6, 13))


def test_a_malformed_query_raises_a_one_line_error(hand_lake: LakeLocation) -> None:
    for query in ['"unterminated', "a AND (", "nosuchfield:x"]:
        with pytest.raises(QuerySyntaxError) as raised:
            search(hand_lake, query)
        assert "\n" not in str(raised.value)


FILTER_CASES = [
    SearchFilters(),
    SearchFilters(types=("supporting",)),
    SearchFilters(types=("supporting", "contrasting"), section_categories=("results", "methods")),
    SearchFilters(year_from=2005, year_to=2012),
    SearchFilters(year_from=2018, min_confidence=0.75),
    SearchFilters(section_categories=("introduction",), types=("mentioning",), year_to=2010, min_confidence=0.6),
    SearchFilters(doi="10.5555/HAND.0003"),
    SearchFilters(section_categories=("other",)),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda filters: repr(filters)[len("SearchFilters") :])
def test_facet_counts_equal_sql_over_statements_and_papers(hand_lake: LakeLocation, filters: SearchFilters) -> None:
    by_type = dict(
        sql_rows(
            hand_lake,
            (TEST_SQL / "search_filter_counts.sql").read_text(encoding="utf-8"),
            {
                "types": list(filters.types),
                "categories": list(filters.section_categories),
                "year_from": filters.year_from,
                "year_to": filters.year_to,
                "min_confidence": filters.min_confidence,
                "doi": filters.doi,
            },
        )
    )
    facets = search_facets(hand_lake, COMMON, filters)
    assert sum(by_type.values()) > 0, "a filter case that matches nothing proves little"
    assert facets.total == sum(by_type.values())
    assert facets.by_type == by_type
    assert sum(facets.by_section_category.values()) == facets.total
    assert sum(facets.by_year.values()) == facets.total
    assert len(hit_ids(hand_lake, COMMON, filters)) == facets.total


# ---------------------------------------------------------------------------
# The index follows the lake
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_index_follows_ingests_by_the_change_feed_and_a_rebuild_agrees(tmp_path: Path) -> None:
    location, source = build_lake(tmp_path, papers=12)
    (statements,) = sql_rows(location, "select count(*) from statements")[0]
    generation = open_generation(location)
    assert generation.index.searcher().num_docs == statements == generation.stamp.documents
    (snapshot,) = sql_rows(location, read_sql("lake/current_snapshot.sql"))[0]
    assert generation.stamp.snapshot_id == snapshot

    lichen, before = statement_id_with(location, "lichen")
    assert before == "supporting"
    write_report(
        source, PLANTED_DOI, 2019, "Planted words", planted_statements("contrasting"), datetime(2024, 6, 1, tzinfo=UTC)
    )
    ingest(source, location, workers=1)
    assert statement_id_with(location, "lichen") == (lichen, "contrasting")
    update = update_index(location)
    assert update.rebuilt is None, "a run's changes are applied, not rebuilt"
    assert update.removed >= 1 and update.added >= 1
    assert hit_ids(location, "xanthoria lichen", SearchFilters(types=("contrasting",))) == [lichen]
    assert hit_ids(location, "xanthoria lichen", SearchFilters(types=("supporting",))) == []
    assert open_generation(location).index.searcher().num_docs == statements

    queries = [COMMON, "xanthoria OR lichen", '"blue quokka"', "zymurg*", "therapy -mice"]
    filters = SearchFilters(types=("contrasting", "supporting"))
    before_rebuild = {query: set(hit_ids(location, query, filters)) for query in queries}
    ensure_index(location, rebuild=True)
    assert {query: set(hit_ids(location, query, filters)) for query in queries} == before_rebuild
    assert update_index(location).added == 0  # nothing new since the rebuild


@pytest.mark.slow
def test_merging_segments_keeps_every_document(tmp_path: Path) -> None:
    location, source = build_lake(tmp_path, papers=6)
    for round_ in range(3):  # each update adds a segment
        write_corpus_by_hand(source, 3, seed=10 + round_, serial_from=100 + 10 * round_)
        ingest(source, location, workers=1)
        update_index(location)
    before = set(hit_ids(location, COMMON))
    merged = merge_index_segments(location)
    assert merged is not None and merged.segments_before > 1 and merged.segments_after == 1
    assert set(hit_ids(location, COMMON)) == before
    assert merged.documents == len(before)


@pytest.mark.slow
def test_a_search_during_an_update_sees_one_committed_state_or_the_next(tmp_path: Path) -> None:
    location, source = build_lake(tmp_path, papers=10)
    first = search_facets(location, COMMON)
    write_corpus_by_hand(source, 20, seed=7, serial_from=500)

    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                facets = search_facets(location, COMMON, notify=errors.append)
                hits = search(location, COMMON, limit=5, notify=errors.append)
                assert hits.height == 5
                seen.append((facets.snapshot_id, facets.total))
            except BaseException as error:  # noqa: BLE001 - the test reports whatever went wrong
                errors.append(error)
                return

    reader = threading.Thread(target=keep_searching)
    reader.start()
    try:
        ingest(source, location, workers=1)
        update_index(location)
        last = search_facets(location, COMMON)
        deadline = datetime.now(UTC).timestamp() + 30
        while (last.snapshot_id, last.total) not in seen and datetime.now(UTC).timestamp() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert last.total == first.total + 100
    assert set(seen) <= {(first.snapshot_id, first.total), (last.snapshot_id, last.total)}
    assert (first.snapshot_id, first.total) in seen and (last.snapshot_id, last.total) in seen


@pytest.mark.slow
def test_a_refreshing_search_answers_at_once_while_an_update_holds_the_index(tmp_path: Path) -> None:
    location, source = build_lake(tmp_path, papers=4)
    before = search_facets(location, COMMON).total
    write_corpus_by_hand(source, 2, seed=9, serial_from=900)
    ingest(source, location, workers=1)
    with index_lock(location):  # as an update under way would
        assert search_facets(location, COMMON, refresh=True).total == before
    assert search_facets(location, COMMON, refresh=True).total == before + 10


# ---------------------------------------------------------------------------
# Damage is repaired, with a message
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_index_is_rebuilt_with_one_line(tmp_path: Path) -> None:
    location, _ = build_lake(tmp_path, papers=4)
    expected = set(hit_ids(location, COMMON))
    shutil.rmtree(location.path / INDEX_DIR)
    messages: list[str] = []
    assert set(search(location, COMMON, limit=10_000, notify=messages.append)["statement_id"]) == expected
    assert len(messages) == 1 and "\n" not in messages[0] and "no search index" in messages[0]
    search(location, COMMON, notify=messages.append)
    assert len(messages) == 1, "rebuilt once"


@pytest.mark.slow
def test_an_index_copied_from_another_lake_is_rebuilt(hand_lake: LakeLocation, tmp_path: Path) -> None:
    location, _ = build_lake(tmp_path, papers=4, seed=3)
    own = set(hit_ids(location, COMMON))
    shutil.rmtree(location.path / INDEX_DIR)
    shutil.copytree(hand_lake.path / INDEX_DIR, location.path / INDEX_DIR)
    messages: list[str] = []
    assert set(search(location, COMMON, limit=10_000, notify=messages.append)["statement_id"]) == own
    assert len(messages) == 1 and "belongs to another lake" in messages[0]
    assert open_generation(location).stamp.lake_id == lake_id(location)


@pytest.mark.slow
def test_a_pointer_to_nothing_is_rebuilt(tmp_path: Path) -> None:
    location, _ = build_lake(tmp_path, papers=4)
    (location.path / INDEX_DIR / POINTER_FILE).write_text("gen-does-not-exist", encoding="utf-8")
    with pytest.raises(SearchIndexError, match="unreadable"):
        open_generation(location)
    messages: list[str] = []
    assert search(location, "xanthoria lichen", notify=messages.append).height == 1
    assert len(messages) == 1 and "unreadable" in messages[0]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_a_corrupted_index_is_rebuilt_by_the_command(tmp_path: Path) -> None:
    location, _ = build_lake(tmp_path, papers=4)
    generation = open_generation(location)
    (generation.path / "meta.json").write_bytes(b"\x00not json at all")
    for segment_file in generation.path.glob("*.idx"):
        segment_file.write_bytes(b"garbage")

    result = run_cli("search", "xanthoria lichen", "--lake", str(location.path), "--format", "json")

    assert result.returncode == 0, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "rebuilding" in result.stderr
    assert "Traceback" not in result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [hit["doi"] for hit in hits] == [PLANTED_DOI]


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def test_the_command_marks_matches_in_json_and_counts_facets(hand_lake: LakeLocation) -> None:
    result = run_cli(
        "search", "xanthoria OR lichen", "--lake", str(hand_lake.path), "--format", "json", "--facets",
        "--type", "supporting", "--type", "mentioning", "--paper-year-from", "2019", "--paper-year-to", "2019",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    hits, facets = lines[:-1], lines[-1]["facets"]
    assert [hit["rank"] for hit in hits] == [1, 2]
    assert "<b>xanthoria</b>" in hits[0]["snippet"] and "<b>lichen</b>" in hits[0]["snippet"]
    assert facets == {
        "total": 2,
        "type": {"mentioning": 1, "supporting": 1},
        "section_category": {"results": 2},
        "year": {"2019": 2},
    }


def test_the_command_refuses_a_malformed_query_with_exit_2_and_one_line(hand_lake: LakeLocation) -> None:
    for args in (['"unterminated'], ["cells", "--type", "positive"], ["cells", "--format", "xml"]):
        result = run_cli("search", *args, "--lake", str(hand_lake.path))
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("citelake search: ")


def test_the_command_writes_csv_and_a_table(hand_lake: LakeLocation) -> None:
    csv = run_cli("search", COMMON, "--lake", str(hand_lake.path), "--format", "csv", "--limit", "3")
    assert csv.returncode == 0, csv.stderr
    lines = csv.stdout.splitlines()
    # The project's one CSV form (tasks/output.py): text quoted, numbers bare.
    assert lines[0].startswith('"rank","score","statement_id","doi","title"') and len(lines) == 4
    table = run_cli("search", "xanthoria lichen", "--lake", str(hand_lake.path))
    assert table.returncode == 0 and PLANTED_DOI in table.stdout


def test_the_command_imports_no_prefect(hand_lake: LakeLocation) -> None:
    program = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        f"result = CliRunner().invoke(app, ['search', 'xanthoria', '--lake', {str(hand_lake.path)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'prefect'))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# The flow
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_flow_updates_the_index_and_a_failed_update_does_not_fail_the_run(tmp_path: Path, prefect_harness) -> None:
    from flows.ingest import ingest_flow

    source = tmp_path / "reports"
    write_corpus_by_hand(source, 4, seed=5)
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / INDEX_DIR).write_text("not a folder")  # the index cannot be written

    summary = ingest_flow(source=str(source), lake=str(lake))

    assert summary.rows_added["statements"] == 20
    (lake / INDEX_DIR).unlink()
    write_corpus_by_hand(source, 2, seed=6, serial_from=50)
    summary = ingest_flow(source=str(source), lake=str(lake))
    assert summary.rows_added["statements"] == 10
    location = LakeLocation(path=lake)
    generation = open_generation(location)
    assert generation.stamp.documents == 30
    assert search_facets(location, COMMON).total == 30
