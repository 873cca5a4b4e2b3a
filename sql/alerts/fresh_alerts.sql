-- The alerts this detection stored, for their events: the order a reader wants
-- (contrasting first, then by paper).
select alert_id, doi, kind, run_id, observed_at, statement_id, detail
from alert_fresh
order by
    case kind
        when 'contrasting_added' then 0 when 'reclassified' then 1 when 'supporting_added' then 2
        when 'tally_changed' then 3 else 4
    end,
    doi, observed_at, alert_id
