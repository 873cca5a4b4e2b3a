-- The Parquet files under the lake's data path that no catalog row names (no
-- data file, delete file or file scheduled for deletion), last modified more
-- than $grace (an interval) ago: what a writer left when its commit failed.
-- DuckLake compares the files' times in DuckDB, as timestamps. A dry run: the
-- caller deletes the files it lists. One row per file: path (absolute).
call ducklake_delete_orphaned_files('lake', dry_run => true, older_than => now() - $grace)
