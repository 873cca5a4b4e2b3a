-- Who holds the ingest lock of this database: since when (the holder's session
-- is opened for the lock at the start of its run) and its server process id.
-- A bigint advisory key is kept in pg_locks as its high (classid) and low (objid) halves.
with lock_key as (
    select hashtextextended('citelake ingest ' || current_database(), 0) as key
)

select activity.backend_start, activity.pid
from pg_locks as locks
join pg_stat_activity as activity on activity.pid = locks.pid
cross join lock_key
where locks.locktype = 'advisory'
    and locks.granted
    and locks.database = (select oid from pg_database where datname = current_database())
    and ((locks.classid::bigint << 32) | locks.objid::bigint) = lock_key.key
limit 1
