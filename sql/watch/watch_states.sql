-- For each DOI of wanted_dois: is it watched now, and does the lake hold a page of it?
select
    wanted.doi,
    watchlist.doi is not null and watchlist.removed_at is null as watched,
    papers.doi is not null as in_lake
from (select distinct doi from wanted_dois) as wanted
left join watchlist using (doi)
left join papers using (doi)
order by wanted.doi
