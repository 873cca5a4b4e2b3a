-- Which hashes of the registered table wanted_hashes(sha256) are stored pages.
select distinct wanted_hashes.sha256
from wanted_hashes
semi join paper_snapshots on paper_snapshots.source_sha256 = wanted_hashes.sha256
