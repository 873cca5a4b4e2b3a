-- A page is stored once: the snapshots of the run's new pages (select_new_pages.sql).
-- The pages' frames carry no source column: their rows are 'page'.
insert into paper_snapshots by name
select staged.* exclude (batch) replace (coalesce(staged.source, 'page') as source)
from run_paper_snapshots as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
