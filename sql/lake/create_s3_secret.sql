-- Run by tasks/lake/object_storage.py on a session of a lake on object storage:
-- a temporary secret lives in this DuckDB's memory only (never the catalog, never
-- a file). {options} is filled in (quoted): CREATE SECRET takes no bound parameters.
create or replace temporary secret citelake_s3 (type s3{options})
