"""The writer's round trip with a PostgreSQL catalog (the scale-out configuration)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.lake.session import open_lake
from tasks.lake.writer import LakeWriter
from tasks.lake.location import LakeLocation
from tasks.reading.split import split_records





@pytest.mark.slow
def test_round_trip_with_a_postgres_catalog(catalog_database, tmp_path, make_page, report_files_of):
    location = LakeLocation(path=tmp_path / "lake", catalog=catalog_database)
    first = make_page("10.1/a", datetime(2024, 1, 1, tzinfo=UTC), [("a", "Results", "supporting", 0.9)], cited_by=3)
    second = make_page("10.1/a", datetime(2024, 2, 1, tzinfo=UTC), [("a", "Results", "contrasting", 0.7)], cited_by=5)

    con = open_lake(location)
    for run_id, page in (("run-1", first), ("run-2", second), ("run-3", second)):
        with LakeWriter(con, run_id=run_id) as writer:
            writer.add_batch(split_records([page]), report_files_of([page]))
            summary = writer.finish({"seen": 1, "new": 1})
    con.close()

    assert summary.rows_added["paper_snapshots"] == 0
    reader = open_lake(location, read_only=True)
    assert reader.execute("select cited_by from papers").fetchall() == [(5,)]
    assert reader.execute("select count(*) from paper_snapshots").fetchone()[0] == 2
    assert reader.execute("select old_type, new_type from statement_reclassifications").fetchall() == [
        ("supporting", "contrasting")
    ]
    assert reader.execute("select count(*) from runs").fetchone()[0] == 3
    reader.close()
