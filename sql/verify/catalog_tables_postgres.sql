-- Run on a PostgreSQL catalog database: the tables of its DuckLake schema (the
-- connection's current schema, where DuckLake creates them).
select table_name from information_schema.tables where table_schema = current_schema()
