-- The manifest rows of the paths in the registered table wanted_paths(path).
select report_files.path, size, mtime, sha256, status, reason
from report_files
semi join wanted_paths on report_files.path = wanted_paths.path
order by report_files.path
