-- The candidates not stored yet: a re-run, or a catch-up over a handled range, adds none.
create or replace temp table alert_fresh as
select distinct on (alert_id) *
from alert_candidates
anti join alerts using (alert_id)
order by alert_id
