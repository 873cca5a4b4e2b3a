-- Take the ingest lock of the lake whose catalog is this database, if it is free.
-- A session-level advisory lock: held until released or the session ends, so a
-- killed ingest never leaves it behind. The key is derived from the database, one
-- lake per catalog database.
select pg_try_advisory_lock(hashtextextended('citelake ingest ' || current_database(), 0))
