-- The keys ({key}) of the run's rows of {table} that need the full merge
-- (merge_{table}.sql): of the rows of papers the run can change
-- (run_changed_dois, select_changed_dois.sql), those whose key the lake holds
-- already and those staged more than once (several batches, or pages and
-- saved API responses). Every other such row is new and staged once, so it is
-- its own merged row, and insert_new_{table}.sql adds it with a plain insert.
-- Most rows of a first run are of that kind: at a million pages the MERGE
-- carried all 3.5M statements through a window and its insert path (60 s,
-- spilling), where the plain insert takes a few seconds. Computed before
-- either statement writes. A template: tasks/lake/writer.py fills in
-- {table} and {key} for papers, abstracts and statements (MERGED_KEYS).
create or replace temp table run_merged_{table} as
with changed as (
    select {key} from run_{table} semi join run_changed_dois using (doi)
)

select {key} from changed group by {key} having count(*) > 1
union
select {key} from {table} semi join changed using ({key})
