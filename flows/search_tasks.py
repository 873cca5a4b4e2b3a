"""The Prefect tasks of the statement search index: thin wrappers over ``tasks.search.index``.

The index is derived from the lake, so keeping it current never decides a
run's fate: :func:`update_search_index` runs after the run committed, and a
failure there is logged as a warning and returned in the result, not raised;
the next run catches up from the snapshot the index records.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.run_artifacts import announce
from tasks.lake.location import LakeLocation
from tasks.lake.summary import IngestProgress
from tasks.search.index import IndexUpdate, SearchIndexError, update_index
from tasks.search.segments import IndexMerge, merge_index_segments


def announce_indexing(done: int, total: int) -> None:
    """The index's progress for whoever watches the run (``citelake ingest``'s bar), in statements."""
    announce(IngestProgress("indexing", done, total, done, total, unit="statements"))


@task(cache_policy=NO_CACHE)
def update_search_index(location: LakeLocation) -> IndexUpdate:
    """Apply the lake's changes since the index's stamp (or build it); never raises."""
    logger = get_run_logger()
    try:
        update = update_index(location, notify=logger.warning, progress=announce_indexing)
    except Exception as error:  # the run is committed whatever happens here
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        # An index error's text names the folder and the cause; any other is named by its type too.
        update = IndexUpdate(snapshot_id=None, error=message if isinstance(error, SearchIndexError) else f"{type(error).__name__}: {message}")
        logger.warning("%s; the next run catches up", update.describe())
        return update
    logger.info("%s", update.describe())
    return update


@task(cache_policy=NO_CACHE)
def merge_search_segments(location: LakeLocation) -> IndexMerge | None:
    """Merge the search index's segments into one (None when there is no usable index yet, or it failed: logged)."""
    logger = get_run_logger()
    try:
        merged = merge_index_segments(location)
    except Exception as error:  # the index is derived: its upkeep never fails the maintenance
        logger.warning("search index segments not merged: %s: %s", type(error).__name__, error)
        return None
    logger.info("search index segments: %s", merged)
    return merged
