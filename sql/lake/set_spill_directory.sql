-- Where and when DuckDB spills what outgrows memory (the writer's run staging,
-- large merges): {path} is a quoted folder in the lake folder and {memory_limit}
-- a quoted size, both filled in by tasks/lake/session.py. Without a limit DuckDB keeps a
-- whole run's staging in memory, up to 80% of the machine's.
set temp_directory = {path};
set memory_limit = {memory_limit};
