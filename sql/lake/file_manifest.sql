select path, size, mtime, sha256, status
from report_files
order by path
