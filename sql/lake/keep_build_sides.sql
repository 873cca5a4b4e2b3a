-- Joins build their hash table on the side the query names (the right one):
-- for known_hashes_in_run.sql, whose small side DuckDB cannot size. Undone by
-- reset_build_sides.sql.
set disabled_optimizers = 'build_side_probe_side'
