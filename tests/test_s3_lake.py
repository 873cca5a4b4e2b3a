"""A lake on object storage: Parquet files in a bucket (a real SeaweedFS), catalog in PostgreSQL, local cache only.

The end-to-end run is the same oracle check as a local lake's; the rest checks
what only such a lake has: nothing local but caches, no credential in the
catalog or the attach script, the faults (no catalog, wrong credentials, a
missing bucket, an endpoint that does not answer) as one line with nothing
written, and maintenance deleting from the bucket.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import obstore
import psycopg
import pytest
from test_ingest import copy_corpus, generated, run_end_to_end  # noqa: F401 - `generated` is a fixture

from tasks.lake.errors import IngestError, LakeError
from tasks.lake.ingest import ingest
from tasks.lake.location import resolve_location
from tasks.lake.maintenance import maintain_lake
from tasks.lake.object_storage import ObjectUrl, bucket_store, storage_problem
from tasks.lake.query import run_readonly_query
from tasks.lake.session import attach_script, open_lake
from tasks.lake.verify import verify_lake
from tasks.search.index import ensure_index
from tests.object_store import SECRET_KEY

EXAMPLES = Path(__file__).parent.parent / "examples" / "reports"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CITELAKE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _objects(bucket: str, prefix: str) -> list[str]:
    return sorted(item["path"] for batch in obstore.list(bucket_store(ObjectUrl(bucket, prefix))) for item in batch)


def _catalog_tables(catalog: str) -> list[str]:
    with psycopg.connect(catalog) as con:
        return [row[0] for row in con.execute("select tablename from pg_tables where schemaname = 'public'")]


def test_an_s3_url_names_a_lake_whose_local_folder_is_its_cache(cache, monkeypatch) -> None:
    location = resolve_location("s3://lakes/team/one/", "postgresql://postgres@127.0.0.1/x")
    assert location.url == "s3://lakes/team/one"
    assert location.data_url == "s3://lakes/team/one/data/"
    assert location.path == cache.resolve() / "s3" / "lakes" / "team" / "one"
    assert location.describe() == "s3://lakes/team/one (catalog postgresql://postgres@127.0.0.1/x)"


def test_an_s3_lake_without_a_postgres_catalog_is_refused_before_anything_is_written(cache) -> None:
    location = resolve_location("s3://lakes/one", None)
    with pytest.raises(LakeError, match=r"^the lake s3://lakes/one on object storage needs a PostgreSQL catalog"):
        open_lake(location)
    assert not cache.exists()


def test_storage_errors_become_a_short_cause() -> None:
    forbidden = "Server returned non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code><Message>x"
    refused = "access refused (SignatureDoesNotMatch): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    assert storage_problem(RuntimeError(forbidden)) == refused
    assert storage_problem(RuntimeError("<Code>NoSuchBucket</Code>")) == "no such bucket"


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault, cause",
    [
        ("secret", "access refused (SignatureDoesNotMatch): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ("bucket", "no such bucket"),
        ("endpoint", "http://127.0.0.1:9 does not answer"),
    ],
)
def test_a_bucket_that_cannot_be_reached_fails_with_one_line_and_nothing_written(
    fault, cause, bucket, catalog_database, cache, monkeypatch
) -> None:
    lake = f"s3://{bucket}/lake"
    if fault == "secret":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-" + SECRET_KEY)
    elif fault == "bucket":
        lake = f"s3://{bucket}-missing/lake"
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(LakeError) as raised:
        ingest(EXAMPLES, resolve_location(lake, catalog_database))
    assert str(raised.value) == f"cannot reach {lake}: {cause}"
    assert SECRET_KEY not in str(raised.value)
    assert _catalog_tables(catalog_database) == []

    command = [sys.executable, "-m", "flows.cli", "sql", "select 1", "--lake", lake, "--catalog", catalog_database]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"PYTHONPATH": os.getcwd()})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"citelake sql: cannot reach {lake}: {cause}"]


@pytest.mark.slow
def test_end_to_end_on_object_storage(generated, tmp_path, bucket, catalog_database, cache) -> None:  # noqa: F811
    source, corpus = copy_corpus(generated, tmp_path)
    location = resolve_location(f"s3://{bucket}/lake", catalog_database)
    run_end_to_end(source, corpus, location)

    assert any(key.startswith("data/main/statements/") and key.endswith(".parquet") for key in _objects(bucket, "lake"))
    assert not list(cache.rglob("*.parquet")), "the Parquet files live in the bucket, never in the cache"
    ensure_index(location)
    assert (location.path / "_search" / "CURRENT").is_file(), "the search index lives in the local cache"


@pytest.mark.slow
def test_no_credential_reaches_the_catalog_or_the_attach_script_and_maintenance_deletes_from_the_bucket(
    bucket, catalog_database, cache
) -> None:
    location = resolve_location(f"s3://{bucket}/lake", catalog_database)
    ingest(EXAMPLES, location)
    ingest(EXAMPLES.parent / "api", location)  # a second run: more small files for maintenance to merge
    statements = run_readonly_query(location, "select count(*) as n from statements").to_pylist()
    assert statements[0]["n"] > 0

    dump = subprocess.run(["pg_dump", "--data-only", catalog_database], capture_output=True, text=True, check=True)
    assert f"s3://{bucket}/lake/data/" in dump.stdout
    assert SECRET_KEY not in dump.stdout and os.environ["AWS_ACCESS_KEY_ID"] not in dump.stdout
    script = attach_script(location)
    assert "getenv('AWS_SECRET_ACCESS_KEY')" in script and SECRET_KEY not in script

    # A file a failed commit left: no catalog row names it.
    obstore.put(bucket_store(ObjectUrl(bucket, "lake/data/main/statements")), "left-by-a-failed-run.parquet", b"PAR1")
    merging = maintain_lake(location, retention=timedelta(0), grace=timedelta(0))
    assert merging.orphans_removed.files == 1 and merging.files_merged > 0
    before = _objects(bucket, "lake/data")
    deleting = maintain_lake(location, retention=timedelta(0), grace=timedelta(0))  # the merged-away files' turn
    after = _objects(bucket, "lake/data")
    assert deleting.files_deleted.files > 0 and len(after) == len(before) - deleting.files_deleted.files
    assert "data/main/statements/left-by-a-failed-run.parquet" not in after
    assert run_readonly_query(location, "select count(*) as n from statements").to_pylist() == statements

    assert verify_lake(location, deep=True).problems == []
    lost = next(key for key in after if "/statements/" in key)
    obstore.delete(bucket_store(ObjectUrl(bucket, "lake/data")), lost)
    problems = verify_lake(location).problems
    assert [(problem.table, problem.file) for problem in problems] == [("statements", f"data/{lost}")]
    assert problems[0].reason.startswith("missing (data file of ")


@pytest.mark.slow
def test_two_writers_on_one_catalog_at_once_lose_nothing(bucket, catalog_database, cache, tmp_path) -> None:
    """Two ingests (as on two machines: separate processes, separate caches) and a watchlist change, started together."""
    lake = f"s3://{bucket}/lake"
    ingest_script = (
        "import sys; from tasks.lake.ingest import ingest; from tasks.lake.location import resolve_location; "
        "ingest(sys.argv[1], resolve_location(sys.argv[2], sys.argv[3]), wait=120)"
    )
    started = []
    for number, source in enumerate((EXAMPLES, EXAMPLES.parent / "api")):
        env = os.environ | {"PYTHONPATH": os.getcwd(), "CITELAKE_CACHE": str(tmp_path / f"machine-{number}")}
        command = [sys.executable, "-c", ingest_script, str(source), lake, catalog_database]
        started.append(subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True))
    watch = [sys.executable, "-m", "flows.cli", "watch", "add", "10.1089/scd.2003.000012", "--wait", "120"]
    started.append(
        subprocess.Popen([*watch, "--lake", lake, "--catalog", catalog_database], env=os.environ | {"PYTHONPATH": os.getcwd()},
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    )
    for process in started:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors

    location = resolve_location(lake, catalog_database)
    sources = {str(EXAMPLES): 25, str(EXAMPLES.parent / "api"): len(list((EXAMPLES.parent / "api").iterdir()))}
    counted = run_readonly_query(
        location, "select count(*) filter (where path like '%/examples/reports/%') as pages, count(*) as files from report_files"
    ).to_pylist()[0]
    assert counted == {"pages": sources[str(EXAMPLES)], "files": sum(sources.values())}
    assert run_readonly_query(location, "select count(*) as n from runs").to_pylist() == [{"n": 2}]
    assert run_readonly_query(location, "select doi from watchlist").to_pylist() == [{"doi": "10.1089/scd.2003.000012"}]


@pytest.mark.slow
def test_storage_that_goes_away_mid_run_leaves_the_previous_snapshot_and_the_next_run_commits_all(
    catalog_database, cache, tmp_path, monkeypatch
) -> None:
    from tasks.corpus.generate import write_corpus
    from tests.object_store import start_seaweedfs

    store = start_seaweedfs(tmp_path / "seaweedfs")  # a server of its own: this test stops it
    for name, value in store.environment().items():
        monkeypatch.setenv(name, value)
    bucket = store.new_bucket()
    location = resolve_location(f"s3://{bucket}/lake", catalog_database)
    ingest(EXAMPLES, location)
    before = run_readonly_query(location, "select count(*) as n from report_files").to_pylist()

    source = tmp_path / "source"
    write_corpus(source, 60, seed=3)

    def stop_after_the_first_batch(progress) -> None:
        if progress.stage == "merged" and store.process.poll() is None:
            store.stop()

    try:
        with pytest.raises(IngestError, match=r"the run could not be written: .*; nothing was written$") as raised:
            ingest(source, location, batch_size=20, workers=0, progress=stop_after_the_first_batch)
        assert len(str(raised.value).strip().splitlines()) == 1, str(raised.value)
        assert SECRET_KEY not in str(raised.value)
    finally:
        store.stop()

    store = start_seaweedfs(tmp_path / "seaweedfs")  # the same data, back on new ports
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", store.endpoint)
        assert run_readonly_query(location, "select count(*) as n from report_files").to_pylist() == before
        summary = ingest(source, location, batch_size=20)
        assert summary.files["seen"] == 60 and summary.files["unchanged"] == 0
        counted = run_readonly_query(location, "select count(*) as n from report_files").to_pylist()
        assert counted == [{"n": before[0]["n"] + 60}]
        assert verify_lake(location).problems == []
        maintain_lake(location, grace=timedelta(0))
        assert verify_lake(location, deep=True).problems == []
    finally:
        store.stop()
