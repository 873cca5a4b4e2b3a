-- The run's staging (create_run_staging.sql, and the views of
-- run_report_files_view.sql), once the run is committed or rolled back. Each
-- table's own staging goes with drop_table_staging.sql.
drop view if exists temp.run_report_files;
drop table if exists temp.run_page_hashes;
drop table if exists temp.run_lake_hashes;
drop table if exists temp.run_batch_folders;
drop table if exists temp.run_new_pages;
drop table if exists temp.run_changed_dois;
drop table if exists temp.run_report_file_changes;
