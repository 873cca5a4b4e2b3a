select path, size, mtime, sha256, status, reason
from report_files
order by path
