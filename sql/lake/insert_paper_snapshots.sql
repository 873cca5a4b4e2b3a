-- A page is stored once: the snapshots of the run's new pages (select_new_pages.sql).
insert into paper_snapshots by name
select staged.* exclude (batch)
from run_paper_snapshots as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
