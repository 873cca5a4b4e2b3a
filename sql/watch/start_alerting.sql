-- Run before a watch add: when nothing is watched yet, alerting starts at the
-- lake's current snapshot, so pages committed before anything was watched never
-- raise alerts (and runs with an empty watchlist need not record progress).
insert into alert_progress (snapshot_id, run_id, handled_at)
select latest.snapshot_id, null, $now
from (select max(snapshot_id) as snapshot_id from lake.snapshots()) as latest
where not exists (select 1 from watchlist where removed_at is null)
