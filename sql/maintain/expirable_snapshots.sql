-- The snapshots older than $retention (an interval), oldest first, never the
-- latest. The times are compared as timestamps: a SQLite catalog keeps them as
-- text, and DuckLake's own older_than compares that text with an ISO bound
-- ('...T...'), which takes everything of the bound's day. {metadata} is the
-- lake's attached metadata catalog (quoted). One row per snapshot: snapshot_id.
select snapshot_id
from {metadata}.ducklake_snapshot
where cast(snapshot_time as timestamptz) < now() - $retention
  and snapshot_id < (select max(snapshot_id) from {metadata}.ducklake_snapshot)
order by snapshot_id
