-- The run's staging: one temporary table per table the writer fills, in the
-- writer's own connection (never in the lake). add_batch appends each batch here
-- with its number; finish merges everything into the lake once. Temporary
-- tables are part of the run's transaction, so a rollback removes them too, and
-- DuckDB spills them to its temp_directory when they outgrow memory.
create or replace temp table run_paper_snapshots as
select *, 0::integer as batch from paper_snapshots limit 0;

create or replace temp table run_statement_sightings as
select *, 0::integer as batch from statement_sightings limit 0;

create or replace temp table run_facets as
select *, 0::integer as batch from facets limit 0;

create or replace temp table run_papers as
select *, 0::integer as batch from papers limit 0;

create or replace temp table run_abstracts as
select *, 0::integer as batch from abstracts limit 0;

create or replace temp table run_statements as
select *, 0::integer as batch from statements limit 0;

create or replace temp table run_report_files as
select * exclude (run_id), 0::integer as batch from report_files limit 0;
