-- Parquet row groups of 20,480 rows instead of DuckDB's 122,880. The Parquet
-- writer holds a whole row group per thread before it flushes, and a run's
-- merge of statements (their text is most of a lake's bytes) writes hundreds
-- of thousands of rows at once: measured on 100,000 pages with a 512 MB
-- memory limit, the writer's peak went from 1,038 MB to 824 MB. Files compress
-- a little less; scans are unaffected.
call lake.set_option('parquet_row_group_size', 20480);
