-- The run's staging, in the writer's own connection (never in the lake). The
-- batches' frames stay where they were parked as Parquet (run_batch_folders
-- says which folder holds which batch; finish reads them through run_view.sql),
-- and so do their files' states (run_report_files_view.sql); what is copied
-- here is small: each batch's page hashes, for the look-up of pages already
-- staged (known_hashes_in_run.sql).
-- Temporary tables are part of the run's transaction, so a rollback removes
-- them too, and DuckDB spills them to its temp_directory when they outgrow memory.
create or replace temp table run_batch_folders (folder varchar, batch integer);

create or replace temp table run_page_hashes (source_sha256 varchar, batch integer);

-- The rows saved scite API responses give the tables pages fill, with every
-- column of the lake's table (run_view.sql puts them beside the pages' rows).
create or replace temp table run_api_rows_paper_snapshots as
select *, 0::integer as batch from paper_snapshots limit 0;

create or replace temp table run_api_rows_statement_sightings as
select *, 0::integer as batch from statement_sightings limit 0;

create or replace temp table run_api_rows_facets as
select *, 0::integer as batch from facets limit 0;

create or replace temp table run_api_rows_papers as
select *, 0::integer as batch from papers limit 0;

create or replace temp table run_api_rows_abstracts as
select *, 0::integer as batch from abstracts limit 0;

create or replace temp table run_api_rows_statements as
select *, 0::integer as batch from statements limit 0;
