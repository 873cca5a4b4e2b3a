-- The editorial notices listed by the run's new API responses.
insert into editorial_notices by name
select staged.* exclude (batch)
from run_editorial_notices as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
