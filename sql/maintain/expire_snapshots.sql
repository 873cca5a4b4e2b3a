-- Forget the snapshots $versions (a list of ids, chosen by expirable_snapshots.sql):
-- time travel to them ends, and data files only they needed are scheduled for
-- deletion. One row per snapshot expired.
call ducklake_expire_snapshots('lake', versions => $versions)
