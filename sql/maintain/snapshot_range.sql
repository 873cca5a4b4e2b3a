-- The oldest snapshot the lake keeps and the latest, for telling a version that
-- retention expired from one that never existed. {metadata} is the lake's
-- attached metadata catalog (quoted). One row: oldest, latest.
select min(snapshot_id) as oldest, max(snapshot_id) as latest
from {metadata}.ducklake_snapshot
