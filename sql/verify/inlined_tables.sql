-- Run on the catalog itself (SQLite or PostgreSQL): the tables that hold rows
-- inlined in the catalog rather than written to Parquet files.
select table_name from ducklake_inlined_data_tables
