-- The run's files' states, every batch at once: the view run_report_files over
-- the files the writer parked beside each batch's frames ({files}, one
-- report_files.parquet per batch), each row with its batch number from
-- run_batch_folders (merge_report_files.sql keeps a path's latest batch).
-- Filled in by tasks/lake/writer.py before finish merges the files' states.
create or replace temp view run_report_files as
select staged.* exclude (filename), batches.batch
from read_parquet({files}, filename = true) as staged
join run_batch_folders as batches on batches.folder = parse_dirpath(staged.filename)
