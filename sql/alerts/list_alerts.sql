-- citelake alerts: newest first, each filter applied when given.
select
    alerts.observed_at,
    alerts.doi,
    alerts.kind,
    alerts.detail ->> 'title' as title,
    alerts.statement_id,
    alerts.run_id,
    alerts.detail,
    alerts.alert_id
from alerts
where ($since is null or alerts.observed_at >= $since)
    and ($doi is null or alerts.doi = $doi)
    and ($kind is null or alerts.kind = $kind)
order by alerts.observed_at desc, alerts.created_at desc, alerts.doi, alerts.kind, alerts.alert_id
