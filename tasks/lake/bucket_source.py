"""A bucket as an ingest's source: ``s3://BUCKET/PREFIX/``'s report objects, listed with size, last-modified time and ETag.

Read with obstore: its listing gives each object's ETag (DuckDB's glob and
``read_blob`` give none), and it reads many objects concurrently from Rust.
An object is stored as the path ``s3://BUCKET/KEY`` (never the path of a
local file), its last-modified time as ``mtime``, its ETag as ``etag``: a
re-run reads only the objects whose size, time or ETag changed
(``sql/lake/files_to_read.sql``). A fault of the bucket (no such bucket,
wrong credentials, an endpoint that does not answer) is one line naming
the source and the cause (:func:`object_fault`), never a credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from tasks.lake.errors import SourceError
from tasks.lake.object_storage import ObjectUrl, S3Settings, bucket_store, object_fault, reachability_problem
from tasks.reading.record import DiscoveredFile

if TYPE_CHECKING:
    import polars as pl

# polars and the readers are imported when a listing starts: the preflight's check of a bucket
# (check_bucket_source) runs before `citelake ingest` imports anything heavy.

T = TypeVar("T")

# Objects fetched at once by one process: enough to hide each request's latency, few enough for any server.
CONCURRENT_REQUESTS = 16
_LIST_CHUNK = 1_000
_HEAD_BYTES = 4096  # of a CSV object, to tell the Retraction Watch export by its header

def check_bucket_source(url_text: str) -> ObjectUrl:
    """The source's URL, once the bucket has answered a listing; :class:`SourceError` naming the source and the cause if not.

    One request, for one object: a missing bucket, refused credentials or an
    endpoint that does not answer are known before anything is written.
    """
    url = ObjectUrl.parse(url_text)
    if problem := reachability_problem(url):
        raise SourceError(f"{url}: {problem}")
    return url


class BucketDiscovery:
    """The report objects under a bucket's prefix, listed lazily: iterate for ``DiscoveredFile``, or take :meth:`frame`.

    As :class:`tasks.lake.discover.Discovery` for a folder: the same names are
    taken (``*.txt``, ``*.json``, their ``.gz``, and a ``*.csv[.gz]`` only when
    it begins with the Retraction Watch export's header), in the listing's
    order (keys ascending).
    """

    def __init__(self, url: ObjectUrl) -> None:
        self.url = url

    def __iter__(self) -> Iterator[DiscoveredFile]:
        for path, size, mtime, etag in self._listed():
            yield DiscoveredFile(path=path, size=size, mtime=mtime, etag=etag)

    def frame(self, *, beyond: int | None = None, then: Callable[[], None] | None = None) -> pl.DataFrame:
        """path, size, mtime and etag of every report object, in listing order (``then()`` once beyond ``beyond`` objects)."""
        import polars as pl

        from tasks.lake.discover import DISCOVERED_SCHEMA

        found = self._listed()
        chunks = [pl.DataFrame(schema=DISCOVERED_SCHEMA)]
        count = 0
        while chunk := list(islice(found, _LIST_CHUNK)):
            if beyond is not None and then is not None and count <= beyond < count + len(chunk):
                then()
            count += len(chunk)
            chunks.append(pl.DataFrame(chunk, schema=DISCOVERED_SCHEMA, orient="row"))
        return pl.concat(chunks)

    def _listed(self) -> Iterator[tuple[str, int, datetime, str | None]]:
        import obstore

        from tasks.lake.discover import is_report_name
        from tasks.reading.retraction_watch import is_csv_name

        settings = S3Settings.from_environment()
        store = bucket_store(self.url, settings)
        try:
            for listed in obstore.list(store, chunk_size=_LIST_CHUNK):
                objects = [meta for meta in listed if is_report_name(meta["path"].rsplit("/", 1)[-1])]
                csvs = [(meta["path"], meta["size"]) for meta in objects if is_csv_name(meta["path"]) and meta["size"] > 0]
                exports = run_async(_exports(store, csvs)) if csvs else set()
                for meta in objects:
                    if is_csv_name(meta["path"]) and meta["path"] not in exports:
                        continue  # another table beside the pages: not the lake's (as in a folder)
                    yield self.url.joined(meta["path"]), meta["size"], meta["last_modified"], meta["e_tag"]
        except SourceError:
            raise
        except Exception as error:  # the listing failed under way: one line naming the source
            cause, _ = object_fault(error, settings.endpoint)
            raise SourceError(f"{self.url}: {cause}") from None


async def _exports(store: Any, keys: list[tuple[str, int]]) -> set[str]:
    """Which of these CSV objects begin with the Retraction Watch export's header (a vanished one does not)."""
    import obstore

    from tasks.reading.retraction_watch import starts_like_export

    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)

    async def head(key: str, size: int) -> str | None:
        async with gate:
            try:
                # Never past the object's end: a range beyond it is refused (HTTP 416).
                data = await obstore.get_range_async(store, key, start=0, length=min(size, _HEAD_BYTES))
            except FileNotFoundError:
                return None
        return key if starts_like_export(bytes(data)) else None

    return {key for key in await asyncio.gather(*(head(key, size) for key, size in keys)) if key is not None}


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end from synchronous code, in a thread of its own when this one runs an event loop already."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()
