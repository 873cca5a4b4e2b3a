-- Stage one batch parked as Parquet in $folder: remember the folder as batch
-- $batch (run_view.sql reads its files from there).
insert into run_batch_folders values ($folder, $batch)
