"""The yardsticks of bench/bench_ingest.py do the work they stand for (their speed is measured in bench/, not here).

The DIY script must fill the same page tables with as many rows as citelake's
ingest does from the same canonical pages, or the time to commit would be set
against less work; tantivy alone must index every statement the lake holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.corpus.generate import write_corpus
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.tables import PAGE_FRAMES

ROOT = Path(__file__).resolve().parent.parent


def _run_json(*argv: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    finished = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(finished.stdout)


@pytest.mark.slow
def test_the_diy_script_and_tantivy_alone_cover_what_the_ingest_stores(tmp_path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 120, 5, canonical=True)
    location = LakeLocation(path=tmp_path / "lake")
    summary = ingest(corpus, location, workers=1)

    diy = _run_json("bench/diy_ingest.py", str(corpus), str(tmp_path / "diy"), "--workers", "2", "--json")
    assert diy["files"] == summary.files["seen"]
    assert diy["rows_added"] == {table: summary.rows_added[table] for table in PAGE_FRAMES}

    alone = _run_json("bench/tantivy_alone.py", str(location.path), "--threads", "1", "--json")
    assert alone["documents"] == summary.rows_added["statements"]
