-- A table's rows for comparing two lakes: every column except the run that wrote it.
select columns(column_name -> column_name != 'run_id') from {table} order by all
