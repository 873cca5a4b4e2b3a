-- The state of each path new to the lake (run_report_file_changes,
-- select_report_file_changes.sql), with the run's id.
insert into report_files (path, size, mtime, sha256, status, reason, warnings, etag, run_id)
select path, size, mtime, sha256, status, reason, warnings, etag, $run_id
from run_report_file_changes
where not is_stored
