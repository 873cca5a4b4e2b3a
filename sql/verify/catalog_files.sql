-- The data and delete files of the lake's tables, with what the catalog records of
-- each (size, rows) and the paths it is relative to: a file's path is relative to
-- its table's path, that to its schema's path, that to the lake's data path.
-- {catalog} is the DuckLake catalog's database in this DuckDB session (the lake's
-- metadata catalog, or a copy of it attached by itself). With $every_snapshot
-- the files of every snapshot the catalog keeps (what a backup copies, so that
-- time travel works in it); otherwise the files snapshot $snapshot reads.
with table_paths as (
    select table_id, table_name, path, path_is_relative, schema_id
    from {catalog}.ducklake_table
    qualify row_number() over (partition by table_id order by begin_snapshot desc) = 1
),
files as (
    select table_id, 'data' as kind, path, path_is_relative, file_size_bytes, record_count as rows_recorded,
           begin_snapshot, end_snapshot
    from {catalog}.ducklake_data_file
    union all
    select table_id, 'delete' as kind, path, path_is_relative, file_size_bytes, delete_count as rows_recorded,
           begin_snapshot, end_snapshot
    from {catalog}.ducklake_delete_file
)
select
    t.table_name,
    f.kind,
    f.path,
    f.path_is_relative::boolean as path_is_relative,
    t.path as table_path,
    t.path_is_relative::boolean as table_path_is_relative,
    s.path as schema_path,
    s.path_is_relative::boolean as schema_path_is_relative,
    f.file_size_bytes,
    f.rows_recorded
from files as f
join table_paths as t on t.table_id = f.table_id
join {catalog}.ducklake_schema as s on s.schema_id = t.schema_id
where $every_snapshot
   or (f.begin_snapshot <= $snapshot and (f.end_snapshot is null or f.end_snapshot > $snapshot))
order by t.table_name, f.kind, f.path
