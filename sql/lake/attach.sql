-- {metadata}, {alias}, {data_path} and {options} are filled in by tasks/lake/session.py (quoted):
-- ATTACH accepts no bound parameters. On first attach DuckLake creates the catalog.
-- {options} is ", override_data_path true" when the lake folder was moved or copied.
attach {metadata} as {alias} (data_path {data_path}{options})
