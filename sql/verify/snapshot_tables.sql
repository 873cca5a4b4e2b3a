-- How many tables the lake holds at snapshot $snapshot ({catalog} as in catalog_files.sql).
select count(*)
from {catalog}.ducklake_table
where begin_snapshot <= $snapshot and (end_snapshot is null or end_snapshot > $snapshot)
