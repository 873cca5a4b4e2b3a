-- One staging table of the run: {staging}, with every column of the lake's
-- {table} and the batch number. Made for each table the registry
-- (tasks/lake/tables.py) says saved scite API responses fill: run_{table} for
-- the API's own tables, run_api_rows_{table} for those pages fill too
-- (run_view.sql puts them beside the pages' rows).
create or replace temp table {staging} as
select *, 0::integer as batch from {table} limit 0;
