-- The data path the lake was attached with (where its relative file paths
-- start), as the ATTACH of tasks/lake/session.py gave it. One row: data_path.
select options['data_path'] as data_path
from duckdb_databases()
where database_name = $alias
