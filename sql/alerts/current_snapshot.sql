-- The lake's latest snapshot, as this transaction sees it: where detection ends.
select max(snapshot_id) as snapshot_id from lake.snapshots()
