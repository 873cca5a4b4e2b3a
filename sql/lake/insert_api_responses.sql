-- The run's new API responses (select_new_pages.sql counts a response as a page).
insert into api_responses by name
select staged.* exclude (batch)
from run_api_responses as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
