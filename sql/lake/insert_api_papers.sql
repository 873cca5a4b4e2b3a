-- The papers described by the run's new API responses.
insert into api_papers by name
select staged.* exclude (batch)
from run_api_papers as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
