-- The run's staging, in the writer's own connection (never in the lake). The
-- batches' frames stay where they were parked as Parquet (run_batch_folders
-- says which folder holds which batch; finish reads them through run_view.sql),
-- and so do their files' states (run_report_files_view.sql); what is copied
-- here is small: each batch's page hashes, for the look-up of pages already
-- staged (known_hashes_in_run.sql). The per-table staging of saved API
-- responses' rows follows (create_staging_table.sql, once per table).
-- Temporary tables are part of the run's transaction, so a rollback removes
-- them too, and DuckDB spills them to its temp_directory when they outgrow memory.
create or replace temp table run_batch_folders (folder varchar, batch integer);

create or replace temp table run_page_hashes (source_sha256 varchar, batch integer);
