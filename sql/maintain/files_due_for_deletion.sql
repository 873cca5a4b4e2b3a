-- The data files scheduled for deletion more than $grace (an interval) ago: a
-- reader that started before they were scheduled may still be scanning them,
-- so they are kept that long. Compared as timestamps, not as the text a SQLite
-- catalog keeps (see expirable_snapshots.sql), which DuckLake's
-- ducklake_cleanup_old_files(older_than => ...) does. {metadata} is the lake's
-- attached metadata catalog (quoted). One row per file: data_file_id, path
-- (relative to the lake's data path when path_is_relative), path_is_relative.
select data_file_id, path, cast(path_is_relative as boolean) as path_is_relative
from {metadata}.ducklake_files_scheduled_for_deletion
where cast(schedule_start as timestamptz) < now() - $grace
order by data_file_id
