"""Staged batches that travel through the lake's bucket, for parse workers on other machines.

With a lake on object storage and a task runner whose workers may run
elsewhere (Dask), the run's machine and its workers share nothing but the
bucket: the run puts each batch's list of files under
``<lake URL>/_staging/<run>/plan-NNNNNN.arrow`` (:func:`ship_plan_batch`), a worker
reads it, parses into a temporary folder of its own and puts the staged batch
beside it (:func:`parse_and_ship`), and the run fetches that batch into its
local staging folder before merging it (:func:`fetch_batch`).
:func:`remove_shipped` deletes the run's objects when it ends.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from tasks.lake.location import LakeLocation
from tasks.lake.object_storage import ObjectUrl, read_object, storage_problem, store_and_key
from tasks.lake.plan import ParkedPlan
from tasks.reading.staging import STAGING_DIR, StagedBatch, parse_and_stage, planned_files

# Objects put and fetched at once for one batch (its dozen Parquet files).
CONCURRENCY = 8


def shipping_url(location: LakeLocation, run_id: str) -> str:
    """Where a run's shipped plan slices and batches go: under the lake's prefix, beside ``data/``."""
    return ObjectUrl.parse(location.url).joined(STAGING_DIR, run_id)


def ship_plan_batch(parked: ParkedPlan, number: int, url: str) -> str:
    """Put batch ``number``'s rows of the parked plan as Arrow IPC at ``url``/plan-NNNNNN.arrow; return that URL."""
    import obstore

    buffer = io.BytesIO()
    parked.batch(number).write_ipc(buffer)  # an Arrow IPC file of one record batch: tasks.reading.staging.planned_files reads it
    target = f"{url}/plan-{number:06d}.arrow"
    store, key = store_and_key(target)
    _checked(lambda: obstore.put(store, key, buffer.getvalue()), target)
    return target


def parse_and_ship(plan_url: str, number: int, url: str) -> StagedBatch:
    """On a worker: read the batch's files from ``plan_url``, parse and stage them locally, put the batch under ``url``."""
    data = read_object(plan_url)
    with tempfile.TemporaryDirectory(prefix="citelake-batch-") as folder:
        plan_file = Path(folder) / "plan.arrow"
        plan_file.write_bytes(data)
        staged = parse_and_stage(planned_files(plan_file, 0), Path(folder), number)
        target = f"{url}/{Path(staged.path).name}"
        _put_folder(Path(staged.path), target)
    return StagedBatch(
        path=target, files=staged.files, bytes=staged.bytes, parsed=staged.parsed, rejected=staged.rejected, number=number
    )


def fetch_batch(staged: StagedBatch, folder: Path) -> StagedBatch:
    """A shipped batch fetched into the local staging ``folder``; a local batch as it is."""
    if not staged.path.startswith("s3://"):
        return staged
    import obstore

    target = folder / staged.path.rsplit("/", 1)[1]
    target.mkdir(parents=True, exist_ok=True)
    store, prefix = store_and_key(staged.path)
    listed = _checked(lambda: [item for batch in obstore.list(store, f"{prefix}/") for item in batch], staged.path)
    for item in listed:
        name = item["path"].rsplit("/", 1)[1]
        (target / name).write_bytes(read_object(f"{staged.path}/{name}"))
    return StagedBatch(
        path=str(target), files=staged.files, bytes=staged.bytes, parsed=staged.parsed, rejected=staged.rejected, number=staged.number
    )


def remove_shipped(url: str) -> None:
    """Delete every object a run shipped (its plan slices and batches); what is gone already is no error."""
    import obstore

    store, prefix = store_and_key(url)
    try:
        keys = [item["path"] for batch in obstore.list(store, f"{prefix}/") for item in batch]
        if keys:
            obstore.delete(store, keys)
    except Exception:  # a store that went away: maintenance's orphan pass never sees _staging, the next run's cleanup does
        pass


def _put_folder(folder: Path, url: str) -> None:
    import obstore

    store, prefix = store_and_key(url)
    for path in sorted(folder.iterdir()):
        _checked(lambda path=path: obstore.put(store, f"{prefix}/{path.name}", path), url)


def _checked(action, url: str):
    try:
        return action()
    except Exception as error:
        raise OSError(f"cannot reach {url}: {storage_problem(error)}") from None
