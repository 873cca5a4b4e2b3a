-- {metadata}, {alias} and {data_path} are filled in by tasks/lake.py (quoted):
-- ATTACH accepts no bound parameters. On first attach DuckLake creates the catalog.
attach {metadata} as {alias} (data_path {data_path})
