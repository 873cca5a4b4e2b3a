-- The run's staging (create_run_staging.sql), once the run is committed or rolled back.
drop table if exists temp.run_paper_snapshots;
drop table if exists temp.run_statement_sightings;
drop table if exists temp.run_facets;
drop table if exists temp.run_papers;
drop table if exists temp.run_abstracts;
drop table if exists temp.run_statements;
drop table if exists temp.run_report_files;
drop table if exists temp.run_new_pages;
