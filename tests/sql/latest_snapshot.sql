-- The lake's current snapshot.
select max(snapshot_id) from ducklake_snapshots('lake')
