-- Where DuckDB spills what outgrows memory (the writer's run staging, large
-- merges): {path} is filled in by tasks/lake.py (a quoted folder in the lake folder).
set temp_directory = {path}
