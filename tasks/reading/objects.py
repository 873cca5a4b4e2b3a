"""The objects of a batch read from a bucket: fetched concurrently into a temporary folder, then read as files are.

A batch's ``s3://BUCKET/KEY`` files are fetched with obstore (async gets, at
most ``CONCURRENT_REQUESTS`` at once, each streamed to its own file), in the
process that parses the batch, into a temporary folder of that process's
machine: the readers then read them as they read local files (a large JSON
file streamed, the Retraction Watch export scanned by polars, gzip as
ever), and the lake stores the ``s3://`` path. The folder is removed when the
batch is parsed.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from tasks.lake.object_storage import ObjectUrl, S3Settings, bucket_store, is_object_url, object_fault
from tasks.reading.page_text import READ_FAILURE
from tasks.reading.record import DiscoveredFile, Rejection

_STREAM_CHUNK = 1 << 20


class ObjectReadError(OSError):
    """The bucket did not answer for an object (or answered with a server error): the batch fails, and is retried."""


@contextmanager
def fetched_objects(files: Sequence[DiscoveredFile]) -> Iterator[dict[str, bytes | Rejection]]:
    """For the block: each ``s3://`` file of ``files`` as the local path (bytes) of its fetched copy, or why it could not be fetched.

    An object the server refuses (gone since it was listed, access denied to
    that key) is a :class:`Rejection` starting with :data:`READ_FAILURE`, as a
    vanished local file is, so the next run tries it again. A bucket that does
    not answer raises :class:`ObjectReadError` naming the object and the cause.
    Local files are not in the mapping; without ``s3://`` files no folder is made.
    """
    wanted = [(index, file) for index, file in enumerate(files) if is_object_url(file.path)]
    if not wanted:
        yield {}
        return
    from tasks.lake.bucket_source import run_async

    with tempfile.TemporaryDirectory(prefix="citelake-objects-") as folder:
        targets = {file.path: os.path.join(folder, f"{index}{_suffix(file.path)}") for index, file in wanted}
        yield run_async(_fetch_all(targets))


def _suffix(path: str) -> str:
    """The object's name's last two suffixes, lower-cased (``.txt.gz``): what the readers go by (``.gz``, ``.csv``)."""
    return "".join(PurePosixPath(path.rsplit("/", 1)[-1]).suffixes[-2:]).lower()[-32:]


async def _fetch_all(targets: dict[str, str]) -> dict[str, bytes | Rejection]:
    from tasks.lake.bucket_source import CONCURRENT_REQUESTS

    settings = S3Settings.from_environment()
    stores: dict[str, Any] = {}
    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)

    async def fetch(path: str, target: str) -> tuple[str, bytes | Rejection]:
        url = ObjectUrl.parse(path)
        store = stores.get(url.bucket)
        if store is None:
            store = stores[url.bucket] = bucket_store(ObjectUrl(url.bucket), settings)
        async with gate:
            return path, await _fetch(store, url.prefix, target, path, settings.endpoint)

    return dict(await asyncio.gather(*(fetch(path, target) for path, target in targets.items())))


async def _fetch(store: Any, key: str, target: str, path: str, endpoint: str | None) -> bytes | Rejection:
    import obstore

    try:
        sink = open(target, "wb")  # noqa: SIM115 (closed below, after the stream)
    except OSError as error:
        raise ObjectReadError(f"{path}: cannot write its copy: {error.strerror or error}") from None
    try:
        with sink:
            result = await obstore.get_async(store, key)
            async for chunk in result.stream(min_chunk_size=_STREAM_CHUNK):
                sink.write(chunk)
    except FileNotFoundError:  # obstore's NotFound
        return Rejection(f"{READ_FAILURE}: no such object (deleted since it was listed?)")
    except Exception as error:  # the server refused this object, or failed, or did not answer
        cause, verdict = object_fault(error, endpoint)
        if verdict:
            return Rejection(f"{READ_FAILURE}: {cause}")
        raise ObjectReadError(f"{path}: {cause}") from None
    return os.fsencode(target)
