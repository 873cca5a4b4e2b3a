-- The papers this run can change: those with a page the run adds
-- (run_new_pages, select_new_pages.sql) and those saved API responses
-- describe. Of every other paper the run staged only pages the lake stores
-- already, whose papers, abstracts and statements rows the lake holds merged:
-- they cannot change anything, and the merges leave them out. A collection
-- saved again with new modification times (every file read, every page
-- known) then merges nothing but the files' states, instead of merging all of
-- its papers and statements to change none.
create or replace temp table run_changed_dois as
select doi
from run_paper_snapshots as staged
semi join run_new_pages as new
    on new.source_sha256 = staged.source_sha256 and new.batch = staged.batch
union
select doi from run_api_rows_papers
union
select doi from run_api_rows_abstracts
union
select doi from run_api_rows_statements
