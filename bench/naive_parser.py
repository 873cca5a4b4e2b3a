"""The baseline of bench_ingest.py: the parser a user would write instead of citelake, single core.

One pass over each file's lines, keeping what a script needs for the lake's
page tables (year, DOI, title, abstract, counts, facet blocks, statements with
section, type and confidence) in plain dicts. No incremental state, no
deduplication, no checks, no lake: the time it takes to read and parse a
corpus is what citelake's whole ingest is set against, and
``bench/diy_ingest.py`` runs this same parser on all cores. It reads gzip files
too and falls back to Windows-1252 as a script would have to; it does nothing
else a real collection needs.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

_NUMBER = re.compile(r"[\d,]+")
_TYPES = ("supporting", "mentioning", "contrasting", "disputing")
_FACETS = frozenset(
    ("Paper Sections", "Citation Types", "Year Published", "Publication Types", "Relationship", "Authors", "Journals")
)


def parse_file(path: Path) -> dict | None:
    return parse_bytes(path.read_bytes(), path.name)


def parse_bytes(raw: bytes, name: str) -> dict | None:
    """The record of one page's bytes (``name`` says whether they are gzip), or None for what is no report."""
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None  # a cut-off gzip file: a script would skip it
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    record: dict = {"doi": None, "year": None, "title": None, "abstract": None, "statements": [], "facets": {}}
    statements = record["statements"]
    pending: list[str] | None = None  # the lines of a quoted statement, until its classification line
    after_chrome = False
    block: list[int] | None = None  # the numbers of the facet block being read
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if pending is not None:
            kind = next((kind for kind in _TYPES if line.endswith(kind)), None)
            if kind is not None and (line == kind or line.startswith("Section:")):
                section = line[8 : -len(kind)].strip() or None if line.startswith("Section:") else None
                text = " ".join(pending).strip("“”\" ")
                text = text.removeprefix("…").removeprefix("...").removesuffix("…").removesuffix("...")
                statements.append({"text": text, "section": section, "type": kind})
                pending = None
            else:
                pending.append(line)  # a statement's text may run over several lines
        elif line.isdigit() or (block is not None and line.replace(",", "").isdigit()):
            if block is not None:
                block.append(int(line.replace(",", "")))
            elif record["doi"] is None and len(line) == 4:
                record["year"] = int(line)
        elif line in _FACETS:
            block = record["facets"].setdefault(line, [])
        elif line in ("Select...", "Select…"):
            continue
        elif line.startswith("DOI:"):
            record["doi"] = line[4:].strip().lower().removeprefix("https://doi.org/")
        elif line.startswith("Sign up to set email alerts"):
            after_chrome = True
        elif after_chrome and record["title"] is None and not line.startswith("|"):
            record["title"] = line
        elif line.startswith("Abstract:"):
            record["abstract"] = line[9:].strip()
        elif line.startswith("Cited by "):
            record["cited_by"] = int(_NUMBER.search(line).group().replace(",", ""))
        elif line.startswith("(") and line.endswith("citation statements)"):
            record["statement_count"] = int(_NUMBER.search(line).group().replace(",", ""))
        elif line.startswith("References "):
            record["reference_count"] = int(_NUMBER.search(line).group().replace(",", ""))
        elif line.startswith(("“", '"')):
            pending = [line]
        elif line.startswith("confidence:"):
            if statements:
                statements[-1]["confidence"] = int(_NUMBER.search(line).group()) / 100
        if block is not None and not line.replace(",", "").isdigit() and line not in _FACETS:
            block = None  # any other line ends a facet block
    return record if record["doi"] else None


def parse_corpus(paths: list[Path]) -> tuple[int, int]:
    """Parse every file; return (records, statements)."""
    records = statements = 0
    for path in paths:
        record = parse_file(path)
        if record is not None:
            records += 1
            statements += len(record["statements"])
    return records, statements


def main() -> None:
    """``python bench/naive_parser.py LIST``: parse the files named one per line in LIST; print JSON figures.

    bench_ingest.py runs the baseline in a process of its own, so what the
    parser leaves in the heap does not count as the ingest's memory.
    """
    import json
    import resource
    import sys
    import time

    paths = [Path(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if line]
    started, cpu = time.perf_counter(), time.process_time()
    records, statements = parse_corpus(paths)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "records": records, "statements": statements, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
