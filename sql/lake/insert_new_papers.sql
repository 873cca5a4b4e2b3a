-- Add the run's papers new to the lake and staged once (of papers the run
-- can change, run_changed_dois; those not in run_merged_papers,
-- select_merged_keys.sql) as they were staged: one
-- batch's latest page of the DOI, with first_seen and last_seen spanning that
-- batch's pages (tasks/reading/split.py), which is what merge_papers.sql makes
-- of a single candidate. Runs after merge_papers.sql.
insert into papers by name
select * exclude (batch)
from run_papers
semi join run_changed_dois using (doi)
anti join run_merged_papers using (doi)
