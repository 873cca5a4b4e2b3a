-- Give back the ingest lock taken by try_ingest_lock.sql.
select pg_advisory_unlock(hashtextextended('citelake ingest ' || current_database(), 0))
