-- One object of a table's staging, once the run is committed or rolled back:
-- filled in for each of what the registry (tasks/lake/tables.py) says a run
-- makes per table: the view of its parked batches (run_view.sql), the keys to
-- merge (select_merged_keys.sql) and the API's rows (create_staging_table.sql).
drop {kind} if exists temp.{name};
