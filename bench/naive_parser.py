"""The baseline of bench_ingest.py: the parser a user would write instead of citelake, single core.

One pass over each file's lines, keeping what a script needs (DOI, title,
counts, tallies, statements with section, type and confidence) in plain
dicts. No incremental state, no deduplication, no checks, no lake: the time
it takes to read and parse a corpus is what citelake's whole ingest is set
against. It reads gzip files too and falls back to Windows-1252 as a script
would have to; it does nothing else a real collection needs.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

_NUMBER = re.compile(r"[\d,]+")
_TYPES = ("supporting", "mentioning", "contrasting", "disputing")


def parse_file(path: Path) -> dict | None:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None  # a cut-off gzip file: a script would skip it
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    record: dict = {"doi": None, "title": None, "statements": [], "tallies": []}
    lines = text.splitlines()
    pending_text = None
    after_chrome = False
    in_types = False
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.startswith("DOI:"):
            record["doi"] = line[4:].strip().lower()
        elif line.startswith("Sign up to set email alerts"):
            after_chrome = True
        elif after_chrome and record["title"] is None and line != "|":
            record["title"] = line
        elif line.startswith("Abstract:"):
            record["abstract"] = line[9:].strip()
        elif line == "Citation Types":
            in_types = True
        elif in_types and line.isdigit():
            record["tallies"].append(int(line))
        elif line.startswith("Cited by "):
            in_types = False
            record["cited_by"] = int(_NUMBER.search(line).group().replace(",", ""))
        elif line.startswith("(") and line.endswith("citation statements)"):
            record["statement_count"] = int(_NUMBER.search(line).group().replace(",", ""))
        elif line.startswith("References "):
            record["reference_count"] = int(_NUMBER.search(line).group().replace(",", ""))
        elif line.startswith(("“", '"')):
            pending_text = line.strip("“”\"…. ")
        elif pending_text is not None and line.startswith("Section:"):
            for kind in _TYPES:
                if line.endswith(kind):
                    record["statements"].append({"text": pending_text, "section": line[8:-len(kind)].strip(), "type": kind})
                    break
        elif pending_text is not None and line.startswith("confidence:"):
            if record["statements"]:
                record["statements"][-1]["confidence"] = int(_NUMBER.search(line).group()) / 100
            pending_text = None
        else:
            in_types = in_types and line in ("Select...",)
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
