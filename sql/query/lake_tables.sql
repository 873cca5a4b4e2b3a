-- The tables the lake holds (not its views), for the export.
select table_name
from duckdb_tables()
where database_name = $lake and schema_name = 'main'
order by table_name
