-- The new state of each path the lake holds whose state the run changed
-- (run_report_file_changes, select_report_file_changes.sql), with the run's id.
merge into report_files as target
using (
    select * exclude (is_stored)
    from run_report_file_changes
    where is_stored
) as source
on target.path = source.path
when matched then update set
    size = source.size,
    mtime = source.mtime,
    sha256 = source.sha256,
    status = source.status,
    reason = source.reason,
    warnings = source.warnings,
    etag = source.etag,
    run_id = $run_id
