-- run_report_files (run_report_files_view.sql) for a run whose batches parked
-- no files' states: no rows, the columns of report_files with the batch number.
create or replace temp view run_report_files as
select * exclude (run_id), 0::integer as batch
from report_files
limit 0
