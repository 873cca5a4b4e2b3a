-- Run on the embedded catalog itself (SQLite): the data folder DuckLake recorded for the lake.
select value from ducklake_metadata where key = 'data_path' and scope is null
