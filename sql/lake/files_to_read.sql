-- The discovered files a run must read (discovered_files, a frame the plan
-- registers: path, size, mtime, etag, discovery_order): every path whose size,
-- modification time or ETag (an object in a bucket; null for a local file)
-- differ from the manifest's (report_files), every path the
-- manifest lacks, and every path whose last read failed (its reason starts
-- with $read_failure), with the recorded sha256 and status, and the order
-- of discovery, by which the plan sorts them in polars (tasks/lake/plan.py;
-- cheaper in memory than sorting here). The join runs here rather than on a
-- copy of the manifest in polars, which would hold the whole manifest for a
-- run that reads nothing.
select
    discovered.discovery_order,
    discovered.path,
    discovered.size,
    discovered.mtime,
    discovered.etag,
    recorded.sha256 as previous_sha256,
    recorded.status as previous_status
from discovered_files as discovered
left join report_files as recorded on recorded.path = discovered.path
where not coalesce(
    discovered.size = recorded.size
    and discovered.mtime = recorded.mtime
    and discovered.etag is not distinct from recorded.etag
    and not coalesce(starts_with(recorded.reason, $read_failure), false),
    false
)
