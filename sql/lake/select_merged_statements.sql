-- The run's statements that need the full merge (merge_statements.sql): of
-- the statements of papers the run can change (run_changed_dois,
-- select_changed_dois.sql), those the lake holds already and those staged more
-- than once (several batches, or pages and saved API responses). Every other
-- statement of them is new and staged once, so it is its own merged row, and
-- insert_new_statements.sql adds it with a plain insert. Most statements of a
-- first run are of that kind: at a million pages the MERGE carried all 3.5M
-- rows through a window and its insert path (60 s, spilling), where the plain
-- insert takes a few seconds. Computed before either statement writes.
create or replace temp table run_merged_statements as
with changed as (
    select statement_id from run_statements semi join run_changed_dois using (doi)
)

select statement_id from changed group by statement_id having count(*) > 1
union
select statement_id from statements semi join changed using (statement_id)
