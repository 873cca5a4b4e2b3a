-- One file's recorded state.
select path, size, mtime, sha256, status, reason
from report_files
where path = $path
