-- How many papers are watched now: with none, detection writes nothing.
select count(*) from watchlist where removed_at is null
