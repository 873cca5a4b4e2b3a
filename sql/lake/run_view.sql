-- One staged frame of the run, every batch at once: the view {view} over the
-- parked Parquet files {files} (one per batch, all of one table), each row
-- with its batch number from run_batch_folders, and the rows saved API
-- responses gave the table ({api_rows}, create_run_staging.sql; by name, so
-- the view has every column of the lake's table, null where pages have none).
-- Filled in by tasks/lake/writer.py before finish's merges read it.
create or replace temp view {view} as
select staged.* exclude (filename), batches.batch
from read_parquet({files}, filename = true, union_by_name = true) as staged
join run_batch_folders as batches on batches.folder = parse_dirpath(staged.filename)
union all by name
select * from {api_rows}
