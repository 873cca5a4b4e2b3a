"""Benchmark: ``citelake ingest`` with its lake on object storage (SeaweedFS) and a PostgreSQL catalog, beside local disk.

One run of the benchmark ingests the same corpus (``bench/corpus.py``, the
one ``bench_ingest.py`` uses) three times, each a first ingest into a fresh
lake, against one Prefect server the benchmark starts:

(1) ``--lake LOCAL_DIR``: the embedded catalog, the baseline;
(2) ``--lake LOCAL_DIR --catalog postgresql://…``: the catalog's own cost;
(3) ``--lake s3://BUCKET/lake --catalog postgresql://…`` on a SeaweedFS the
    benchmark starts (``tests/object_store.py``): the storage's cost on top;

then (3) again with nothing changed. For each: its time to ``committed`` (on
its stderr, as in ``bench_ingest.py``), the whole command, the CPU and the
peak memory of its processes together; the steps of its run (plan → last
batch merged → ``committing`` → ``committed``) with the CPU spent in each;
what it stored (Parquet bytes under the lake folder, or the objects under the
lake's prefix: their number and bytes, and how much SeaweedFS's data folder
grew); and the CPU of the servers (SeaweedFS, the run's PostgreSQL backends:
sampled from ``/proc``). Then the ratios against (1), and the figures per
1,000 pages that ``docs/operations.md`` scales to 100 million.

``--source-on-bucket`` uploads the corpus to the bucket first (obstore,
concurrently; timed) and gives (3) ``s3://BUCKET/source/`` as its source;
(1) and (2) read the local folder either way. Each PostgreSQL catalog is a
database made for the run and dropped after it. The servers share the
machine with the command: on a small machine their CPU is part of the
measured wall time. Run::

    .venv/bin/python -m bench.bench_s3 --count 5000
    .venv/bin/python -m bench.bench_s3                     # 100,000 files
    .venv/bin/python -m bench.bench_s3 --count 100000 --source-on-bucket
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_ingest import _FILES, _STEP, _Command, _run, _timeline  # private helpers, imported rather than copied
from bench.corpus import MB, TreeMemory, add_corpus_arguments, default_corpus, ensure_corpus
from bench.prefect_server import start_server, stop_server
from tasks.lake.discover import discover_reports
from tasks.lake.object_storage import ObjectUrl, bucket_store
from tasks.lake.sql import quote_identifier
from tasks.lake.tables import DEFAULT_BATCH_SIZE
from tests.object_store import ObjectStore, start_seaweedfs

CORPUS_PATTERN = "/tmp/citelake-bench-ingest-COUNT-SEED"  # bench_ingest's: one corpus serves both
ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE_SQL = ROOT / "tests" / "sql"  # create_database.sql, drop_database.sql: the tests' own statements
UPLOADS_AT_ONCE = 64


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser, CORPUS_PATTERN)
    parser.add_argument("--clean", action="store_true", help="delete the corpus folder first and generate it anew")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parser threads (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"files per batch (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--postgres", default=POSTGRES, help=f"PostgreSQL server for the catalogs, a database made per run (default {POSTGRES})")
    parser.add_argument("--api-url", help="a running Prefect server's API (http://HOST:PORT/api) instead of starting one")
    parser.add_argument(
        "--source-on-bucket", action="store_true",
        help="upload the corpus to the bucket and give run (3) s3://BUCKET/source/ as its source",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="folder for the lakes, SeaweedFS's data and the caches, kept after (default: removed)")
    return parser.parse_args()


# ---------------------------------------------------------------------------
# The servers around the command: PostgreSQL databases, SeaweedFS, their CPU
# ---------------------------------------------------------------------------


class _Databases:
    """PostgreSQL databases made for this benchmark, dropped at the end."""

    def __init__(self, server: str) -> None:
        import psycopg

        self.server = server
        self.names: list[str] = []
        self.admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)

    def new(self) -> str:
        name = f"citelake_bench_{uuid.uuid4().hex[:10]}"
        self.admin.execute((DATABASE_SQL / "create_database.sql").read_text().format(name=quote_identifier(name)))
        self.names.append(name)
        return name

    def close(self) -> None:
        for name in self.names:
            self.admin.execute((DATABASE_SQL / "drop_database.sql").read_text().format(name=quote_identifier(name)))
        self.admin.close()


def _proc_cpu(pid: int) -> float | None:
    """User + system seconds of ``pid`` itself (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postmaster() -> int | None:
    """The PostgreSQL server's main process on this machine: the parent of its backends (None if not local)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"postgres: "):
                    return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return None


class _ServerCpu:
    """CPU seconds the servers spent while a command ran: SeaweedFS's process, and the backends serving ``database``.

    A backend's time is read every ``INTERVAL`` s while it lives (what it spends in
    its last moments before it exits is missed): PostgreSQL is shared with other
    users, so only the run's own database is counted.
    """

    INTERVAL = 0.1

    def __init__(self, weed: int | None, database: str | None) -> None:
        self.weed = weed
        self.marker = f" {database} ".encode() if database else None
        self.postmaster = _postmaster() if database else None
        self.backends: dict[int, float] = {}
        self.weed_before = _proc_cpu(weed) if weed else None
        self.weed_seconds = 0.0
        self.weed_memory = TreeMemory(root=weed) if weed else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _ServerCpu:
        self._thread.start()
        if self.weed_memory:
            self.weed_memory.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.weed_memory:
            self.weed_memory.__exit__(*exc)
        if self.weed:
            self.weed_seconds = (_proc_cpu(self.weed) or 0.0) - (self.weed_before or 0.0)

    @property
    def postgres_seconds(self) -> float:
        return sum(self.backends.values())

    def _watch(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            if self.postmaster is None:
                continue
            try:
                children = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                try:
                    if self.marker not in Path(f"/proc/{child}/cmdline").read_bytes():
                        continue
                except OSError:
                    continue
                if (seconds := _proc_cpu(child)) is not None:
                    self.backends[child] = seconds


def _folder_bytes(folder: Path, suffix: str = "") -> tuple[int, int]:
    """The number of files under ``folder`` (ending in ``suffix``) and their bytes."""
    count = size = 0
    for path in folder.rglob(f"*{suffix}"):
        if path.is_file():
            count += 1
            size += path.stat().st_size
    return count, size


def _objects(url: ObjectUrl) -> dict[str, tuple[int, int]]:
    """The objects under ``url``'s prefix by their first folder (``data``, ``_staging``, …): (count, bytes) each."""
    import obstore

    by_folder: dict[str, tuple[int, int]] = {}
    for chunk in obstore.list(bucket_store(url)):
        for meta in chunk:
            top = meta["path"].split("/", 1)[0]
            count, size = by_folder.get(top, (0, 0))
            by_folder[top] = (count + 1, size + meta["size"])
    return by_folder


def _upload(corpus: Path, url: ObjectUrl) -> tuple[int, int, float]:
    """Every file of ``corpus`` under ``url``, at its path relative to the corpus, ``UPLOADS_AT_ONCE`` at a time: files, bytes, seconds."""
    import obstore

    store = bucket_store(url)
    paths = [path for path in corpus.rglob("*") if path.is_file()]
    gate = asyncio.Semaphore(UPLOADS_AT_ONCE)

    async def one(path: Path) -> int:
        data = path.read_bytes()
        async with gate:
            await obstore.put_async(store, path.relative_to(corpus).as_posix(), data)
        return len(data)

    async def every() -> list[int]:
        return await asyncio.gather(*(one(path) for path in paths))

    started = time.perf_counter()
    sizes = asyncio.run(every())
    return len(paths), sum(sizes), time.perf_counter() - started


# ---------------------------------------------------------------------------
# One ingest and what it shows
# ---------------------------------------------------------------------------


@dataclass
class _Ingest:
    label: str
    command: _Command
    servers: _ServerCpu
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)  # by kind: (files or objects, bytes)
    weed_growth: int | None = None

    def at(self, stage: str, last: bool = False) -> float | None:
        """When stderr showed ``stage`` (a progress step's name) first, or last."""
        times = [at for at, line in self.command.lines if (match := _STEP.match(line)) and match["stage"] == stage]
        return (times[-1] if last else times[0]) if times else None

    @property
    def committed(self) -> float | None:
        return self.at("committed")

    def cpu(self, moment: float | None) -> float:
        return self.command.memory.cpu_at(self.command.started + moment) if moment is not None else 0.0

    def phases(self) -> dict[str, tuple[float, float]]:
        """(wall, cpu) seconds of: start to the plan, the plan to the last batch merged (parse and merge overlap),
        then to ``committing``, and ``committing`` → ``committed`` (the one transaction: the merge into the lake's
        tables, which writes the Parquet files, the checks, the COMMIT)."""
        moments = [0.0, self.at("planned"), self.at("merged", last=True), self.at("committing"), self.committed]
        names = ["start-up and plan", "parse and merge", "to committing", "commit"]
        phases = {}
        for name, start, end in zip(names, moments, moments[1:]):
            if start is not None and end is not None:
                phases[name] = (end - start, self.cpu(end) - self.cpu(start))
        return phases


def _ingest(label: str, argv: list[str], env: dict[str, str], store: ObjectStore | None, database: str | None) -> _Ingest:
    with _ServerCpu(store.process.pid if store else None, database) as servers:
        command = _run(argv, env)
    return _Ingest(label, command, servers)


def _seconds(value: float | None) -> str:
    return f"{value:8.2f}" if value is not None else "     n/a"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "n/a"


def _print_table(runs: list[_Ingest], files: int) -> None:
    print(f"{'':38} {'commit s':>8} {'command s':>9} {'cpu→com':>8} {'cpu all':>8} {'peak MB':>8} "
          f"{'pg cpu':>7} {'weed cpu':>8} {'weed MB':>8}")  # fmt: skip
    for run in runs:
        command, servers = run.command, run.servers
        print(f"{run.label:38} {_seconds(run.committed)} {command.seconds:9.2f} {run.cpu(run.committed):8.1f} "
              f"{command.cpu:8.1f} {command.memory.peak_mb:8,.0f} {servers.postgres_seconds:7.1f} "
              f"{servers.weed_seconds:8.1f} {servers.weed_memory.peak_mb if servers.weed_memory else 0:8,.0f}")  # fmt: skip
    base = runs[0]
    print("Against (1): " + "; ".join(
        f"{run.label.split(' ', 1)[0]} to commit {_ratio(run.committed, base.committed)}, "
        f"command {_ratio(run.command.seconds, base.command.seconds)}, "
        f"cpu to commit {_ratio(run.cpu(run.committed), base.cpu(base.committed))}, "
        f"peak {_ratio(run.command.memory.peak_mb, base.command.memory.peak_mb)}"
        for run in runs[1:]
    ))  # fmt: skip
    print("Peak memory of the command's processes together, before and after its commit: " + "; ".join(
        f"{run.label.split(' ', 1)[0]} {run.command.memory.peak_between(run.command.started, run.command.started + (run.committed or 0)):,.0f}"
        f" / {run.command.memory.peak_between(run.command.started + (run.committed or 0), run.command.started + run.command.seconds):,.0f} MB"
        for run in runs
    ))  # fmt: skip
    print()
    print("Steps of each run (wall s / cpu s of the command's processes; per 1,000 files in brackets)")
    for run in runs:
        phases = run.phases()
        print(f"  {run.label.split(' ', 1)[0]} " + "; ".join(
            f"{name} {wall:.1f}/{cpu:.1f} ({wall / files * 1000:.2f}/{cpu / files * 1000:.2f})"
            for name, (wall, cpu) in phases.items()
        ))  # fmt: skip
        print(f"      stderr {_timeline(run.command)}")
        for line in run.command.stdout.splitlines():
            if line.startswith(("files ", "time ")):
                print(f"      {line}")
    print()
    print("What each stored")
    for run in runs:
        if not run.stored:
            continue
        parts = [f"{kind} {count:,} ({size / MB:,.1f} MB)" for kind, (count, size) in run.stored.items()]
        parquet = run.stored.get("Parquet files") or run.stored.get("data/")
        per_page = f"; {parquet[1] / files:,.0f} bytes of Parquet per file" if parquet else ""
        growth = f"; SeaweedFS's data folder grew {run.weed_growth / MB:,.1f} MB" if run.weed_growth is not None else ""
        print(f"  {run.label.split(' ', 1)[0]} " + ", ".join(parts) + per_page + growth)


def main() -> None:
    arguments = _arguments()
    corpus = ensure_corpus(
        arguments.corpus or default_corpus(CORPUS_PATTERN, arguments.count, arguments.seed, canonical=arguments.canonical),
        arguments.count, arguments.seed, clean=arguments.clean, canonical=arguments.canonical,
    )  # fmt: skip
    files = total_bytes = 0
    for file in discover_reports(corpus):
        files += 1
        total_bytes += file.size
    print(f"Corpus {corpus}: {files:,} files, {total_bytes / MB:,.1f} MB; {arguments.workers} parser threads, batches of "
          f"{arguments.batch_size:,}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")  # fmt: skip

    work = arguments.keep or Path(tempfile.mkdtemp(prefix="citelake-bench-s3-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    server = store = databases = None
    try:
        if arguments.api_url:
            env["PREFECT_API_URL"] = arguments.api_url
        else:
            server = start_server()
            env.update(PREFECT_API_URL=server.api_url, PREFECT_HOME=str(server.home))
        store = start_seaweedfs(work / "seaweedfs")
        databases = _Databases(arguments.postgres)
        bucket = store.new_bucket("bench")
        s3_env = env | store.environment() | {"CITELAKE_CACHE": str(work / "cache")}
        print(f"Prefect server at {env['PREFECT_API_URL']}; SeaweedFS at {store.endpoint} (data in {store.folder}); "
              f"PostgreSQL at {arguments.postgres}, a database per run (not counted below)")  # fmt: skip

        source = str(corpus)
        if arguments.source_on_bucket:
            source_url = ObjectUrl(bucket, "source")
            os.environ.update(store.environment())  # bucket_store reads the standard variables
            uploaded, uploaded_bytes, seconds = _upload(corpus, source_url)
            print(f"Uploaded {uploaded:,} files ({uploaded_bytes / MB:,.1f} MB) to {source_url}/ in {seconds:.1f} s, "
                  f"{UPLOADS_AT_ONCE} at once (not counted below)")  # fmt: skip
            source = f"{source_url}/"
        common = ["--workers", str(arguments.workers), "--batch-size", str(arguments.batch_size)]
        ingest = [sys.executable, "-m", "flows.cli", "ingest"]
        print(f"Load average {os.getloadavg()[0]:.2f} before the runs")

        local = _ingest("(1) local lake, embedded catalog", [*ingest, str(corpus), "--lake", str(work / "lake-1"), *common], env, None, None)
        local.stored["Parquet files"] = _folder_bytes(work / "lake-1", ".parquet")

        database = databases.new()
        catalog = f"{arguments.postgres}/{database}"
        postgres = _ingest(
            "(2) local lake, PostgreSQL catalog",
            [*ingest, str(corpus), "--lake", str(work / "lake-2"), "--catalog", catalog, *common], env, None, database,
        )  # fmt: skip
        postgres.stored["Parquet files"] = _folder_bytes(work / "lake-2", ".parquet")

        database = databases.new()
        catalog = f"{arguments.postgres}/{database}"
        lake = ObjectUrl(bucket, "lake")
        s3_argv = [*ingest, source, "--lake", str(lake), "--catalog", catalog, *common]
        weed_data = store.folder / "data"
        before = _folder_bytes(weed_data)[1]
        try:
            s3 = _ingest("(3) S3 lake (SeaweedFS), PostgreSQL", s3_argv, s3_env, store, database)
        except SystemExit as failure:
            # Refused before Prefect started: its arguments (the s3:// source, which main's ingest reads as a folder).
            if arguments.source_on_bucket and "starting Prefect" not in str(failure):
                refusal = str(failure).strip().splitlines()[-1]
                raise SystemExit(f"bench_s3: citelake ingest refuses the s3:// source {source}: {refusal}") from None
            raise
        s3.weed_growth = _folder_bytes(weed_data)[1] - before
        os.environ.update(store.environment())
        s3.stored.update({f"{top}/": figures for top, figures in _objects(lake).items()})

        again = _ingest("(3') again, nothing changed", s3_argv, s3_env, store, database)
        seen = next((match for line in again.command.stdout.splitlines() if (match := _FILES.search(line))), None)
        if seen is None or seen["unchanged"] != seen["seen"]:
            print(f"NOTE: the re-run did not find every file unchanged: {seen[0] if seen else again.command.stdout[:200]}")

        print()
        _print_table([local, postgres, s3, again], files)
        print(f"Re-run of (3), nothing changed: {again.command.seconds:.2f} s, "
              f"{again.command.seconds / s3.command.seconds:.1%} of its first run; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    finally:
        if databases is not None:
            databases.close()
        if store is not None:
            store.stop()
        if server is not None:
            stop_server(server)
        if arguments.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    command = [".venv/bin/python", "-m", "bench.bench_s3", "--seed", str(arguments.seed), "--count", str(arguments.count)]
    command += ["--corpus", str(arguments.corpus)] if arguments.corpus else []
    command += ["--canonical"] if arguments.canonical else []
    command += ["--workers", str(arguments.workers), "--batch-size", str(arguments.batch_size)]
    command += ["--source-on-bucket"] if arguments.source_on_bucket else []
    command += ["--api-url", arguments.api_url] if arguments.api_url else []
    print("Reproduce: " + shlex.join(command))


if __name__ == "__main__":
    sys.exit(main())
