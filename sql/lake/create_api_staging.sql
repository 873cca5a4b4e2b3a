-- The run's staging of the API responses' own tables (tasks/reading/scite_api.py),
-- beside create_run_staging.sql's; the API rows of the shared tables are staged there.
create or replace temp table run_api_responses as
select *, 0::integer as batch from api_responses limit 0;

create or replace temp table run_api_papers as
select *, 0::integer as batch from api_papers limit 0;

create or replace temp table run_editorial_notices as
select *, 0::integer as batch from editorial_notices limit 0;
