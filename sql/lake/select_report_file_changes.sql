-- The files' states the run writes: of each path staged, its latest state
-- (of a path staged twice, the later batch wins), where the lake holds no row
-- for the path or holds another state (is_stored says which). Kept in a
-- temporary table, computed before either write (merge_report_files.sql,
-- insert_new_report_files.sql): a row is rewritten only when the state
-- changed, so run_id names the run that last changed it and an unchanged
-- collection of a million files costs no rewrite. A batch stages a path
-- once, so a path's latest state is its only one unless a later batch staged
-- it again: found with a grouping rather than a window over every path, which
-- needs far less memory for a large collection saved again. New paths are then
-- a plain insert.
create or replace temp table run_report_file_changes as
with incoming as (
    select path, size, mtime, sha256, status, reason, warnings, etag
    from run_report_files
    anti join (
        select path, max(batch) as latest
        from run_report_files
        group by path
        having count(*) > 1
    ) as restaged
        on restaged.path = run_report_files.path and restaged.latest <> run_report_files.batch
),

stored as (
    select path, size, mtime, sha256, status, reason, warnings, etag
    from report_files
    semi join incoming using (path)
)

select incoming.*, stored.path is not null as is_stored
from incoming
left join stored on stored.path = incoming.path
where stored.path is null
   or incoming is distinct from stored
