-- The run's abstracts that need the full merge (merge_abstracts.sql): of the
-- papers the run can change (run_changed_dois, select_changed_dois.sql), those
-- with an abstract in the lake already and those staged more than once. Every
-- other abstract of them is new and staged once, its own merged row, and
-- insert_new_abstracts.sql adds it with a plain insert (see
-- select_merged_papers.sql). Computed before either statement writes.
create or replace temp table run_merged_abstracts as
with changed as (
    select doi from run_abstracts semi join run_changed_dois using (doi)
)

select doi from changed group by doi having count(*) > 1
union
select doi from abstracts semi join changed using (doi)
