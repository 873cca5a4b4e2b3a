-- Forget the snapshots older than $retention (an interval): time travel to them
-- ends, and data files only they needed are scheduled for deletion. The latest
-- snapshot is never expired. One row per snapshot expired.
call ducklake_expire_snapshots('lake', older_than => now() - $retention)
