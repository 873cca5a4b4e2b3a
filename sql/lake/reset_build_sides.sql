-- Undo keep_build_sides.sql: DuckDB picks each join's build side again.
reset disabled_optimizers
