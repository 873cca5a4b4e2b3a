-- The files' states the run writes: of each path staged, its latest state
-- (of a path staged twice, the later batch wins), where the lake holds no row
-- for the path or holds another state (is_stored says which). Kept in a
-- temporary table, computed before either write (merge_report_files.sql,
-- insert_new_report_files.sql): a row is rewritten only when the state
-- changed, so run_id names the run that last changed it and an unchanged
-- collection of a million files costs no rewrite. As one MERGE with this
-- query as its source, a million files saved again with new modification
-- times ran out of memory under a 600 MB limit; the same MERGE from this
-- table needs far less, and new paths are a plain insert.
create or replace temp table run_report_file_changes as
with incoming as (
    select path, size, mtime, sha256, status, reason, warnings
    from run_report_files
    qualify row_number() over (partition by path order by batch desc) = 1
),

stored as (
    select path, size, mtime, sha256, status, reason, warnings
    from report_files
    semi join incoming using (path)
)

select incoming.*, stored.path is not null as is_stored
from incoming
left join stored on stored.path = incoming.path
where stored.path is null
   or incoming is distinct from stored
