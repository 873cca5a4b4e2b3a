-- Append one frame of a batch to the run's staging. {staging} (a run_* table of
-- create_run_staging.sql) and {frame} (the registered frame) are filled in by
-- tasks/lake/writer.py (a batch's files' states, and its API rows); $batch numbers the batch within the run.
insert into {staging} by name
select *, $batch::integer as batch
from {frame}
