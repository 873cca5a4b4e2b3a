-- The run's API staging (create_api_staging.sql), once the run is committed or rolled back.
drop table if exists temp.run_api_responses;
drop table if exists temp.run_api_papers;
drop table if exists temp.run_editorial_notices;
