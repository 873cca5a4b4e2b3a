-- Rewrite each table's small adjacent Parquet files into larger ones. Snapshots
-- keep pointing at their part of the merged file, so time travel is unchanged;
-- the replaced files are scheduled for deletion (see cleanup_old_files.sql).
-- One row per table merged: schema_name, table_name, files_processed, files_created.
call ducklake_merge_adjacent_files('lake')
