-- Add the run's abstracts new to the lake and staged once (of papers the run
-- can change, run_changed_dois; those not in run_merged_abstracts,
-- select_merged_keys.sql) as they were staged,
-- which is what merge_abstracts.sql makes of a single candidate. Runs after
-- merge_abstracts.sql.
insert into abstracts by name
select * exclude (batch)
from run_abstracts
semi join run_changed_dois using (doi)
anti join run_merged_abstracts using (doi)
