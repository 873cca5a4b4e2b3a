-- The run's staging (create_run_staging.sql, and the views of run_view.sql),
-- once the run is committed or rolled back.
drop view if exists temp.run_paper_snapshots;
drop view if exists temp.run_statement_sightings;
drop view if exists temp.run_facets;
drop view if exists temp.run_papers;
drop view if exists temp.run_abstracts;
drop view if exists temp.run_statements;
drop view if exists temp.run_report_files;
drop table if exists temp.run_page_hashes;
drop table if exists temp.run_lake_hashes;
drop table if exists temp.run_batch_folders;
drop table if exists temp.run_new_pages;
drop table if exists temp.run_changed_dois;
drop table if exists temp.run_merged_statements;
drop table if exists temp.run_merged_papers;
drop table if exists temp.run_merged_abstracts;
drop table if exists temp.run_report_file_changes;
drop table if exists temp.run_api_rows_paper_snapshots;
drop table if exists temp.run_api_rows_statement_sightings;
drop table if exists temp.run_api_rows_facets;
drop table if exists temp.run_api_rows_papers;
drop table if exists temp.run_api_rows_abstracts;
drop table if exists temp.run_api_rows_statements;
