-- The papers watched now, with what the lake knows of them.
select
    watchlist.doi,
    watchlist.label,
    watchlist.added_at,
    papers.title,
    papers.last_seen,
    papers.cited_by,
    papers.contrasting,
    (select count(*) from alerts where alerts.doi = watchlist.doi) as alerts
from watchlist
left join papers using (doi)
where watchlist.removed_at is null
order by watchlist.added_at, watchlist.doi
