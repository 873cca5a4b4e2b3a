-- The newest snapshot a DuckLake catalog holds ({catalog} as in catalog_files.sql).
select max(snapshot_id) from {catalog}.ducklake_snapshot
