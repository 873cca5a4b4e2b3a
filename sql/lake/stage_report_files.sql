-- Append one batch's files' states (the registered frame batch_report_files) to
-- the run's staging; $batch numbers the batch within the run.
insert into run_report_files by name
select *, $batch::integer as batch
from batch_report_files
