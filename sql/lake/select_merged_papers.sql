-- The run's papers that need the full merge (merge_papers.sql): of the papers
-- the run can change (run_changed_dois, select_changed_dois.sql), those whose
-- DOI the lake holds already and those staged more than once (several
-- batches, or pages and saved API responses). Every other paper the run can
-- change is new and staged once, so it is its own merged row, and
-- insert_new_papers.sql adds it with a plain insert. Most papers of a first
-- run are of that kind: at a million pages the MERGE carried every paper
-- through a window and its insert path, most of the commit's memory.
-- Computed before either statement writes.
create or replace temp table run_merged_papers as
with changed as (
    select doi from run_papers semi join run_changed_dois using (doi)
)

select doi from changed group by doi having count(*) > 1
union
select doi from papers semi join changed using (doi)
