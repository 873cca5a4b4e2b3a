-- Add the run's statements new to the lake and staged once (of papers the run
-- can change, run_changed_dois; those not in run_merged_statements,
-- select_merged_keys.sql) as they were staged.
-- Such a row is already its merged row: one batch staged it, and the split
-- took its type, confidence, first_seen and last_seen from that batch's
-- sightings of it, ordered as merge_statements.sql orders them
-- (tasks/reading/split.py), which are the sightings the run stores of it
-- (insert_statement_sightings.sql keeps a page's sightings from the batch that
-- stored the page; a page the lake held, or another batch staged, would have
-- put the statement in run_merged_statements).
insert into statements by name
select
    * exclude (batch)
    replace (coalesce(statement_source, 'page') as statement_source)
from run_statements
semi join run_changed_dois using (doi)
anti join run_merged_statements using (statement_id)
