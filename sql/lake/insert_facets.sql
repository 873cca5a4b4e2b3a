-- The facets of the run's new pages (select_new_pages.sql).
insert into facets by name
select staged.* exclude (batch)
from run_facets as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
