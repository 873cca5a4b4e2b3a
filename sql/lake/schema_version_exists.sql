select count(*) > 0 as present
from duckdb_tables()
where database_name = $database
  and table_name = 'schema_version'
