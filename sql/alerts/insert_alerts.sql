insert into alerts (alert_id, doi, kind, run_id, observed_at, statement_id, detail, created_at)
select alert_id, doi, kind, run_id, observed_at, statement_id, detail, $now
from alert_fresh
