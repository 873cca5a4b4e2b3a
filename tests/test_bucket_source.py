"""Report files read from a bucket (``citelake ingest s3://BUCKET/PREFIX/``), on a real S3 server (SeaweedFS).

The lake stays in a local folder here; only the source is in the bucket.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import obstore
import polars as pl
import pytest

from tasks.lake.bucket_source import object_fault
from tasks.lake.ingest import ingest
from tasks.lake.location import LakeLocation
from tasks.lake.object_storage import ObjectUrl, bucket_store
from tasks.lake.plan import plan_run
from tasks.lake.session import open_lake
from tasks.lake.tables import EXPORTED_TABLES
from tasks.lake.writer import LakeWriter
from tasks.reading.batch import parse_and_split
from tasks.reading.frames import FILE_STATES, empty_frames
from tasks.reading.objects import ObjectReadError
from tasks.reading.record import DiscoveredFile

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
T0 = datetime(2024, 3, 1, tzinfo=UTC)
WRONG_SECRET = "not-the-secret-4b1c"

# Columns that name where a file was (its path, a run) rather than what it held.
WHERE_COLUMNS = {"path", "source_path", "etag", "run_id"}


# --- pure: a fault of the bucket in a few words ---------------------------------------------------------

S3_REFUSAL = (
    "Generic S3 error: Error performing list request: Error performing GET http://127.0.0.1:8333/b?list-type=2 in 1ms - "
    "Server returned non-2xx status code: {status}: <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>{code}</Code><Message>{message}</Message><Resource>/b</Resource></Error>\n\nDebug source:\nGeneric {{"
)


@pytest.mark.parametrize(
    ("code", "status", "said", "verdict"),
    [
        ("NoSuchBucket", "404 Not Found", "no such bucket", True),
        ("SignatureDoesNotMatch", "403 Forbidden", "access refused (SignatureDoesNotMatch): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", True),
        ("InvalidAccessKeyId", "403 Forbidden", "access refused (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", True),
        ("SlowDown", "503 Slow Down", "SlowDown: Please reduce your request rate.", False),  # may pass: not the object's fault
    ],
)
def test_an_answer_of_the_server_is_its_code_in_words(code: str, status: str, said: str, verdict: bool) -> None:
    error = RuntimeError(S3_REFUSAL.format(code=code, status=status, message="Please reduce your request rate."))
    assert object_fault(error, "http://127.0.0.1:8333") == (said, verdict)


def test_a_server_that_does_not_answer_is_named_by_its_endpoint() -> None:
    error = RuntimeError(
        "Generic S3 error: Error performing list request: Error performing GET http://127.0.0.1:9/b?list-type=2 in 261ms, "
        "after 2 retries, max_retries: 2, retry_timeout: 10s  - HTTP error: error sending request\n\nDebug source: ..."
    )
    assert object_fault(error, "http://127.0.0.1:9") == ("http://127.0.0.1:9 does not answer", False)


def test_an_object_gone_since_the_listing_is_said_so() -> None:
    assert object_fault(FileNotFoundError("Object at location a.txt not found"))[0].startswith("no such object")


# --- the plan: an object is remembered by its ETag too --------------------------------------------------


def test_the_plan_reads_an_object_whose_etag_changed_and_only_that(lake: duckdb.DuckDBPyConnection) -> None:
    recorded = pl.DataFrame(
        [("s3://b/same.txt", 10, T0, "a" * 64, "ingested", None, []), ("s3://b/saved-again.txt", 10, T0, "b" * 64, "ingested", None, [])],
        schema=FILE_STATES, orient="row",
    ).with_columns(etag=pl.Series(['"e1"', '"e2"']))  # fmt: skip
    with LakeWriter(lake, run_id="earlier") as writer:
        writer.add_batch(empty_frames(), recorded)
        writer.finish({"seen": 2, "new": 2})

    plan = plan_run(lake, iter([
        DiscoveredFile("s3://b/same.txt", 10, T0, '"e1"'),
        DiscoveredFile("s3://b/saved-again.txt", 10, T0, '"e3"'),  # same second, same size: only the ETag tells
    ]))  # fmt: skip

    assert (plan.files_seen, plan.unchanged) == (2, 1)
    assert plan.to_read.select("path", "etag", "previous_sha256").rows() == [("s3://b/saved-again.txt", '"e3"', "b" * 64)]


def test_a_bucket_that_stops_answering_fails_the_batch_in_one_line_naming_the_object(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    with pytest.raises(ObjectReadError) as failed:
        parse_and_split([DiscoveredFile("s3://reports/set/a.txt", 10, T0, '"e"')])
    assert str(failed.value) == "s3://reports/set/a.txt: http://127.0.0.1:9 does not answer"  # retried by the flow, then the run fails


# --- end to end, on the session's SeaweedFS ------------------------------------------------------------


def put_folder(folder: Path, url: ObjectUrl) -> dict[str, datetime]:
    """Every file under ``folder`` as an object under ``url`` (key: its relative path); each key's last-modified time."""
    store = bucket_store(url)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            obstore.put(store, path.relative_to(folder).as_posix(), path.read_bytes())
    return {meta["path"]: meta["last_modified"] for meta in obstore.list(store).collect()}


def lake_tables(location: LakeLocation) -> dict[str, pl.DataFrame]:
    """Each exported table's rows, sorted, without the columns that say where a file was."""
    con = open_lake(location, read_only=True)
    try:
        tables = {}
        for table in EXPORTED_TABLES:
            if table in {"runs", "check_findings", "alert_progress"}:
                continue  # of the run, not of the pages
            frame = con.execute(f"select * from {table}").pl()  # noqa: S608 (names from tasks.lake.tables)
            frame = frame.drop([name for name in frame.columns if name in WHERE_COLUMNS])
            tables[table] = frame.sort(frame.columns, nulls_last=True)
        return tables
    finally:
        con.close()


@pytest.mark.slow
def test_a_bucket_and_a_folder_of_the_same_pages_give_the_same_lake_and_a_rerun_reads_only_what_changed(
    bucket: str, tmp_path: Path
) -> None:
    url = ObjectUrl(bucket, "reports/set")
    folder = tmp_path / "pages"
    for kind in ("reports", "api", "retraction-watch"):  # pages, saved API responses (one gzipped), the export
        shutil.copytree(EXAMPLES / kind, folder / kind)
    (folder / "notes.md").write_text("not a report\n")  # neither taken from the folder nor from the bucket
    saved = put_folder(folder, url)
    for key, when in saved.items():  # a page's observed_at is its file's mtime: the same in both places
        os.utime(folder / key, (when.timestamp(), when.timestamp()))

    from_folder, from_bucket = LakeLocation(tmp_path / "folder-lake"), LakeLocation(tmp_path / "bucket-lake")
    by_folder = ingest(folder, from_folder, workers=1)
    by_bucket = ingest(f"s3://{bucket}/reports/set/", from_bucket, workers=1)

    files = sum(1 for key in saved if not key.endswith(".md"))
    assert by_bucket.files == by_folder.files and by_bucket.files["seen"] == files
    assert by_bucket.rows_added == by_folder.rows_added
    assert by_bucket.source == str(url)
    assert [(path.removeprefix(str(url)), reason) for path, reason in by_bucket.rejected] == [
        (path.removeprefix(str(folder)), reason) for path, reason in by_folder.rejected
    ]
    folder_tables, bucket_tables = lake_tables(from_folder), lake_tables(from_bucket)
    for table, frame in folder_tables.items():
        assert bucket_tables[table].equals(frame), table

    con = open_lake(from_bucket, read_only=True)
    paths = dict(con.execute("select path, etag from report_files").fetchall())
    con.close()
    assert all(path.startswith(f"{url}/") and etag for path, etag in paths.items())

    again = ingest(f"s3://{bucket}/reports/set", from_bucket, workers=1)
    assert (again.files["seen"], again.files["unchanged"]) == (files, files)
    assert sum(again.rows_added.values()) == again.rows_added.get("report_files", 0) == 0

    # Saved again under the same key: same size, and (most likely) the same second.
    page = next(key for key in saved if key.startswith("reports/") and key.endswith(".txt"))
    text = (folder / page).read_bytes()
    at = text.rindex(b"confidence: ") + len(b"confidence: ")
    changed = text[:at] + (b"1" if text[at : at + 1] != b"1" else b"2") + text[at + 1 :]  # a statement's confidence
    assert len(changed) == len(text) and changed != text
    obstore.put(bucket_store(url), page, changed)
    third = ingest(f"s3://{bucket}/reports/set", from_bucket, workers=1)
    assert (third.files["unchanged"], third.files["changed"]) == (files - 1, 1)

    # Listed, then deleted before its batch read it: rejected as a vanished file is, and so tried again next run.
    vanished = parse_and_split([DiscoveredFile(url.joined("reports/deleted.txt"), 10, T0, '"e"')]).outcomes
    assert vanished.select("status", "reason", "etag").rows() == [
        ("rejected", "cannot read the file: no such object (deleted since it was listed?)", '"e"')
    ]


def citelake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_a_wrong_secret_or_a_missing_bucket_is_one_line_and_writes_nothing(object_store, bucket: str, tmp_path: Path) -> None:
    # The bucket answers but refuses (or is not there, or its endpoint is not): nothing needs to be in it.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PREFECT_", "CITELAKE_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    lake = tmp_path / "lake"

    wrong = citelake("ingest", f"s3://{bucket}/set/", "--lake", str(lake), env=env | object_store.environment(secret=WRONG_SECRET))
    missing = citelake("ingest", "s3://no-such-bucket/set/", "--lake", str(lake), env=env | object_store.environment())
    gone = citelake("ingest", f"s3://{bucket}/set/", "--lake", str(lake), env=env | {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})

    assert (wrong.returncode, wrong.stderr.splitlines()) == (1, [
        f"citelake ingest: s3://{bucket}/set: access refused (SignatureDoesNotMatch): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ])  # fmt: skip
    assert (missing.returncode, missing.stderr.splitlines()) == (1, ["citelake ingest: s3://no-such-bucket/set: no such bucket"])
    assert (gone.returncode, gone.stderr.splitlines()) == (1, [f"citelake ingest: s3://{bucket}/set: http://127.0.0.1:9 does not answer"])
    assert WRONG_SECRET not in wrong.stderr and object_store.environment()["AWS_SECRET_ACCESS_KEY"] not in missing.stderr
    assert not lake.exists() and sorted(tmp_path.iterdir()) == []
