"""Benchmark: ``citelake ingest`` to its commit against a hand-written script, and its search index against tantivy alone.

An ingest is measured to its commit (from then on the lake answers SQL); the
search index is a derived artifact, measured against tantivy itself. For each
corpus (generated with ``tasks.corpus.generate.write_corpus``, or ``--corpus``;
by default one of canonical pages and one with every variation of the format,
measured in turn; ``--canonical`` or ``--variations-only`` measures one), one
run times, each as a command of its own on the same files:

(a) the naive parser: ``bench/naive_parser.py``, single core, parse only;
(b) the DIY script: ``bench/diy_ingest.py``, that parser on all cores and one
    INSERT per table into a fresh DuckLake, start to end;
(c) ``citelake ingest`` into a fresh lake against a running Prefect server (one
    the benchmark starts, or ``--api-url``): its time to commit, when its
    stderr (not a terminal, so one line per step) shows ``committed: …``;
(d) the index's part: from ``committed`` to the end of the search index's
    update, when ``LAKE/_search/CURRENT`` names the new generation (watched on
    disk, every 20 ms); within it, the build itself (its generation folder made →
    published) and what came before it (alerts, opening the lake); then the
    rest of the command (the run's report, exit) to its end;
(e) tantivy alone: ``bench/tantivy_alone.py`` indexing the statements of the
    lake (c) made, from a list in memory, with the same schema and tokenizer,
    on all cores;
(f) the peak memory of each command's processes together (sampled from
    ``/proc``; the Prefect server is not counted), the ingest's before and
    after its commit;

then the ratios DIY / time to commit (aim: at least 1.2x) and index part /
tantivy alone (aim: at most 1.25x), the ingest's own account of its time (its
closing ``time`` line), a
re-run of ``citelake ingest`` with nothing changed, the load average, and the
command that reproduces the figures. With several corpora, a table of them side
by side. Every file of the corpus is read again (untimed) before each command,
so each starts with the page cache as warm as the machine keeps it: the figures
are CPU throughput, not disk throughput. Run::

    .venv/bin/python bench/bench_ingest.py                      # 100,000 files, both kinds
    .venv/bin/python bench/bench_ingest.py --count 20000 --canonical
    .venv/bin/python bench/bench_ingest.py --scaling 10000,100000,1000000 --canonical
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import MB, TreeMemory, add_corpus_arguments, default_corpus, ensure_corpus
from bench.prefect_server import start_server, stop_server
from tasks.lake.discover import discover_reports
from tasks.lake.tables import DEFAULT_BATCH_SIZE

CORPUS_PATTERN = "/tmp/citelake-bench-ingest-COUNT-SEED"
ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# A progress line of `citelake ingest` on a non-terminal stderr: "committed: 20,000/20,000 files, 65.1/65.1 MB".
_STEP = re.compile(r"^(?P<stage>[\w ]+): [\d,]+/[\d,]+ ")
_FILES = re.compile(r"files +(?P<seen>[\d,]+) seen: .*?(?P<unchanged>[\d,]+) unchanged")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser, CORPUS_PATTERN)
    parser.add_argument("--clean", action="store_true", help="delete the corpus folder first and generate it anew")
    parser.add_argument("--lakes", type=Path, help="folder for the lakes, kept after (default: a temporary folder, removed after)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parser processes (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"files per batch (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--tantivy-threads", type=int, default=os.cpu_count(), help="tantivy alone's indexing threads (default: all cores)")
    parser.add_argument("--api-url", help="a running Prefect server's API (http://HOST:PORT/api) instead of starting one")
    parser.add_argument(
        "--scaling", metavar="COUNTS",
        help="comma-separated file counts (such as 10000,100000,1000000): measure each, then print them side by side",
    )  # fmt: skip
    parser.add_argument(
        "--variations-only", action="store_true",
        help="only the corpus with every variation of the format (by default both kinds are measured; --canonical: only canonical)",
    )  # fmt: skip
    arguments = parser.parse_args()
    if arguments.canonical and arguments.variations_only:
        parser.error("--canonical and --variations-only exclude each other")
    arguments.kinds = [True] if arguments.canonical else [False] if arguments.variations_only else [True, False]
    if arguments.corpus and len(arguments.kinds) > 1:
        parser.error("--corpus names one corpus: say its kind with --canonical or --variations-only")
    if arguments.scaling and arguments.corpus:
        parser.error("--scaling generates one corpus per count; leave out --corpus")
    return arguments


# ---------------------------------------------------------------------------
# Commands and what they show
# ---------------------------------------------------------------------------


@dataclass
class _Command:
    """One command run to its end: its wall time, its stderr lines with when each came, its stdout, memory and CPU."""

    seconds: float
    started: float  # time.perf_counter() at its start
    lines: list[tuple[float, str]]  # (seconds since the start, line) of stderr
    stdout: str
    memory: TreeMemory
    cpu: float  # user + system seconds of the command and every process it waited for

    def first(self, stage: str) -> float | None:
        """When stderr first showed ``stage`` (a progress step's name, or the start of a line)."""
        return next((at for at, line in self.lines if line.startswith(stage)), None)

    def json(self) -> dict:
        return json.loads(self.stdout)


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _run(argv: list[str], env: dict[str, str], *, during: list | None = None) -> _Command:
    """Run ``argv`` from the repository's root; fail with its stderr when it fails."""
    cpu = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[tuple[float, str]] = []

    def read_stderr() -> None:
        for line in process.stderr:
            lines.append((time.perf_counter() - started, line.rstrip("\n")))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    with TreeMemory(root=process.pid) as memory:
        stdout = process.stdout.read()
        process.wait()
    seconds = time.perf_counter() - started
    reader.join()
    if process.returncode != 0:
        tail = "\n".join(line for _, line in lines[-30:])
        raise SystemExit(f"bench_ingest: {shlex.join(argv)} failed ({process.returncode}):\n{tail}")
    return _Command(seconds, started, lines, stdout, memory, _children_cpu() - cpu)


class _IndexWatch:
    """When a new search index generation appeared in ``LAKE/_search/`` and when CURRENT came to name it.

    The index writes a generation folder once it has opened the lake and read
    its snapshot, and replaces CURRENT when the generation is whole: the two
    ends of the build, seen from outside the command.
    """

    INTERVAL = 0.02

    def __init__(self, lake: Path) -> None:
        self.folder = lake / "_search"
        self.generation_at: float | None = None
        self.published_at: float | None = None
        self._before = self._state()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _state(self) -> tuple[set[str], str | None]:
        try:
            generations = {entry.name for entry in os.scandir(self.folder) if entry.name.startswith("gen-")}
        except OSError:
            return set(), None
        try:
            return generations, (self.folder / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return generations, None

    def __enter__(self) -> _IndexWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        generations_before, current_before = self._before
        while not self._stop.wait(self.INTERVAL):
            generations, current = self._state()
            now = time.perf_counter()
            if self.generation_at is None and generations - generations_before:
                self.generation_at = now
            if self.published_at is None and current is not None and current != current_before:
                self.published_at = now
                self.generation_at = self.generation_at or now  # made and published between two looks
                return


def _timeline(command: _Command) -> str:
    """The command's stderr steps in order, each with when it first (and last) showed."""
    seen: dict[str, list[float]] = {}
    for at, line in command.lines:
        match = _STEP.match(line)
        key = match["stage"] if match else line[:48]
        seen.setdefault(key, [at, at])[1] = at
    return ", ".join(f"{key} {a:.1f}" + (f"–{b:.1f}" if b - a >= 0.05 else "") + " s" for key, (a, b) in seen.items())


# ---------------------------------------------------------------------------
# One corpus
# ---------------------------------------------------------------------------


@dataclass
class _Measured:
    canonical: bool
    files: int
    naive: float
    diy: float
    commit: float | None
    index_part: float | None
    tantivy: float
    wall: float
    peak_mb: float
    again: float
    diy_cpu: float
    commit_cpu: float


def _kind(canonical: bool) -> str:
    return "canonical pages" if canonical else "every variation of the format"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.2f}x" if numerator and denominator else "n/a"


def _seconds(value: float | None) -> str:
    return f"{value:8.2f} s" if value is not None else "     n/a  "


def _warm(paths: list[str]) -> None:
    """Read every file of the corpus, untimed, before a timed command: the first reader would otherwise pay for the disk.

    Once, before the first command, was not enough at a million pages (3.2 GB in a million files): the ingest
    that ran right after the DIY script (10 GB resident) took 226 s to commit, and 121 s in a run of its own
    minutes later.
    """
    for path in paths:
        Path(path).read_bytes()


def _measure(arguments: argparse.Namespace, count: int, canonical: bool, env: dict[str, str], lakes: Path) -> _Measured:
    """Generate or reuse the corpus of ``count`` files; time (a) to (f) and the re-run on it; print them."""
    corpus = ensure_corpus(
        arguments.corpus or default_corpus(CORPUS_PATTERN, count, arguments.seed, canonical=canonical), count, arguments.seed,
        clean=arguments.clean, canonical=canonical,
    )  # fmt: skip
    paths, total_bytes = [], 0
    for file in discover_reports(corpus):
        paths.append(file.path)
        total_bytes += file.size
    file_count = len(paths)
    print(f"Corpus {corpus} ({_kind(canonical)}): {file_count:,} files, {total_bytes / MB:,.1f} MB; "
          f"{arguments.workers} parser processes, batches of {arguments.batch_size:,}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    _warm(paths)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as listing:
        listing.write("\n".join(paths))
        listing.flush()
        naive = _run([sys.executable, str(BENCH / "naive_parser.py"), listing.name], env)
    baseline = naive.json()
    print(f"(a) naive parser, one core, parse only     {baseline['seconds']:8.2f} s   ({baseline['records']:,} records, "
          f"{baseline['statements']:,} statements; peak {naive.memory.peak_mb:,.0f} MB)")  # fmt: skip

    lake, diy_lake = lakes / f"citelake-{file_count}", lakes / f"diy-{file_count}"
    for folder in (lake, diy_lake):
        shutil.rmtree(folder, ignore_errors=True)
    _warm(paths)
    diy = _run([sys.executable, str(BENCH / "diy_ingest.py"), str(corpus), str(diy_lake), "--workers", str(arguments.workers), "--json"], env)
    diy_figures = diy.json()
    print(f"(b) DIY script, all cores, to its commit   {diy.seconds:8.2f} s   (bench/diy_ingest.py: discover "
          f"{diy_figures['discover']:.1f} s, parse {diy_figures['parse']:.1f} s, insert and commit "
          f"{diy_figures['insert_and_commit']:.1f} s; cpu {diy.cpu:.1f} s; peak {diy.memory.peak_mb:,.0f} MB)")  # fmt: skip
    print("      rows added " + ", ".join(f"{table} {added:,}" for table, added in diy_figures["rows_added"].items()))

    ingest_argv = [
        sys.executable, "-m", "flows.cli", "ingest", str(corpus), "--lake", str(lake),
        "--workers", str(arguments.workers), "--batch-size", str(arguments.batch_size),
    ]  # fmt: skip
    _warm(paths)
    with _IndexWatch(lake) as watch:
        first = _run(ingest_argv, env)
    committed = first.first("committed:")
    generation = watch.generation_at and watch.generation_at - first.started
    published = watch.published_at and watch.published_at - first.started
    closing = first.stdout.splitlines()
    commit_at = first.started + (committed if committed is not None else first.seconds)
    commit_cpu = first.memory.cpu_at(commit_at)
    print(f"(c) citelake ingest, to its commit         {_seconds(committed)}   (\"committed\" on its stderr; cpu "
          f"{commit_cpu:.1f} s by then; against the Prefect server at {env['PREFECT_API_URL']})")  # fmt: skip
    index_part = published - committed if published is not None and committed is not None else None
    print(f"(d) the index's part                       {_seconds(index_part)}   (\"committed\" → the new index "
          "generation published; watched on disk)")  # fmt: skip
    if generation is not None and published is not None and committed is not None:
        print(f"      before the build {generation - committed:6.2f} s   (alerts, opening the lake)")
        print(f"      the build        {published - generation:6.2f} s   (generation folder made → CURRENT names it)")
    after = first.seconds - (published if published is not None else committed or 0.0)
    print(f"      then to the end  {after:6.2f} s   (the run's report, exit)")
    print(f"    the command ends   {first.seconds:8.2f} s   (cpu {first.cpu:.1f} s of all its processes)")
    print(f"    stderr             {_timeline(first)}")
    for line in closing:
        if line.startswith(("files ", "rows added ", "time ")):  # the last: the command's own account
            print(f"    {line}")

    tantivy = _run(
        [sys.executable, str(BENCH / "tantivy_alone.py"), str(lake), "--threads", str(arguments.tantivy_threads), "--json"], env
    )  # fmt: skip
    alone = tantivy.json()
    print(f"(e) tantivy alone, in-memory list          {alone['seconds']:8.2f} s   ({alone['documents']:,} statements, "
          f"{alone['threads']} threads, heap {alone['heap'] / MB:,.0f} MB: adds {alone['add']:.2f} s, commit "
          f"{alone['commit']:.2f} s; read from the lake first in {alone['load']:.1f} s, not counted)")  # fmt: skip
    print(f"(f) peak memory, all processes: citelake ingest {first.memory.peak_mb:,.0f} MB (to the commit "
          f"{first.memory.peak_between(first.started, commit_at):,.0f} MB, after it "
          f"{first.memory.peak_between(commit_at, first.started + first.seconds):,.0f} MB); DIY script "
          f"{diy.memory.peak_mb:,.0f} MB; tantivy alone {tantivy.memory.peak_mb:,.0f} MB (with its list); "
          f"naive parser {naive.memory.peak_mb:,.0f} MB")  # fmt: skip
    build = published - generation if published is not None and generation is not None else None
    print(f"DIY / time to commit: {_ratio(diy.seconds, committed)} (aim: at least 1.2x)   "
          f"index part / tantivy alone: {_ratio(index_part, alone['seconds'])} (aim: at most 1.25x; "
          f"the build alone: {_ratio(build, alone['seconds'])})")  # fmt: skip
    # CPU seconds hold better than wall seconds on a shared machine: the work each did, whatever else ran.
    print(f"In cpu seconds: DIY {diy.cpu:.1f} s / citelake to its commit {commit_cpu:.1f} s = {_ratio(diy.cpu, commit_cpu)}")

    _warm(paths)
    again = _run(ingest_argv, env)
    files = next((match for line in again.stdout.splitlines() if (match := _FILES.search(line))), None)
    if files is None or files["unchanged"] != files["seen"]:
        print(f"NOTE: the re-run did not find every file unchanged: {files[0] if files else again.stdout[:200]}")
    print(f"Re-run, nothing changed   {again.seconds:8.2f} s   {again.seconds / first.seconds:.1%} of the first run; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    if arguments.lakes is None:
        for folder in (lake, diy_lake):
            shutil.rmtree(folder, ignore_errors=True)
    return _Measured(
        canonical=canonical, files=file_count, naive=baseline["seconds"], diy=diy.seconds, commit=committed,
        index_part=index_part, tantivy=alone["seconds"], wall=first.seconds, peak_mb=first.memory.peak_mb,
        again=again.seconds, diy_cpu=diy.cpu, commit_cpu=commit_cpu,
    )  # fmt: skip


def _side_by_side(measured: list[_Measured], kinds: int) -> None:
    print("Side by side (a first citelake ingest into a fresh lake each; seconds)")
    print(f"{'corpus':>16} {'files':>10} {'naive':>7} {'DIY':>7} {'commit':>7} {'DIY/com':>8} {'index':>7} "
          f"{'tantivy':>8} {'idx/tan':>8} {'wall':>7} {'peak MB':>8} {'re-run':>7} {'cpu DIY/com':>12}")  # fmt: skip
    for m in measured:
        print(f"{'canonical' if m.canonical else 'every variation':>16} {m.files:>10,} {m.naive:>7.2f} {m.diy:>7.2f} "
              f"{m.commit or 0:>7.2f} {_ratio(m.diy, m.commit):>8} {m.index_part or 0:>7.2f} {m.tantivy:>8.2f} "
              f"{_ratio(m.index_part, m.tantivy):>8} {m.wall:>7.2f} {m.peak_mb:>8,.0f} {m.again:>7.2f} "
              f"{_ratio(m.diy_cpu, m.commit_cpu):>12}")  # fmt: skip
    for canonical, varied in zip(measured[::2], measured[1::2], strict=True) if kinds == 2 else ():
        if canonical.commit and varied.commit:
            behind = varied.commit / varied.files / (canonical.commit / canonical.files) - 1
            print(f"every variation against canonical at {canonical.files:,} files: {behind:+.0%} time to commit a file (aim: at most +20%)")


def main() -> None:
    arguments = _arguments()
    counts = [int(count) for count in arguments.scaling.split(",")] if arguments.scaling else [arguments.count]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    server = None
    if arguments.api_url:
        env["PREFECT_API_URL"] = arguments.api_url
    else:
        started = time.perf_counter()
        server = start_server()
        env.update(PREFECT_API_URL=server.api_url, PREFECT_HOME=str(server.home))
        print(f"Prefect server at {server.api_url}, healthy after {time.perf_counter() - started:.1f} s (not counted below)")
    lakes = arguments.lakes or Path(tempfile.mkdtemp(prefix="citelake-bench-lakes-"))
    lakes.mkdir(parents=True, exist_ok=True)
    try:
        measured = []
        for count in counts:
            for canonical in arguments.kinds:
                measured.append(_measure(arguments, count, canonical, env, lakes))
                print()
    finally:
        if server is not None:
            stop_server(server)
        if arguments.lakes is None:
            shutil.rmtree(lakes, ignore_errors=True)
    if len(measured) > 1:
        _side_by_side(measured, len(arguments.kinds))
        print()

    command = [".venv/bin/python", "bench/bench_ingest.py", "--seed", str(arguments.seed)]
    if arguments.scaling:
        command += ["--scaling", arguments.scaling]
    else:
        command += ["--count", str(arguments.count)]
        command += ["--corpus", str(arguments.corpus)] if arguments.corpus else []
    command += ["--canonical"] if arguments.canonical else ["--variations-only"] if arguments.variations_only else []
    command += ["--workers", str(arguments.workers), "--batch-size", str(arguments.batch_size)]
    command += ["--tantivy-threads", str(arguments.tantivy_threads)]
    command += ["--api-url", arguments.api_url] if arguments.api_url else []
    print("Reproduce: " + shlex.join(command))


if __name__ == "__main__":
    sys.exit(main())
