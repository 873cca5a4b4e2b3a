-- Rows of one table, for the rows a run added (count after minus count
-- before); one such line per table the registry counts, joined by union all.
select {name} as table_name, count(*) as row_count from {table}
