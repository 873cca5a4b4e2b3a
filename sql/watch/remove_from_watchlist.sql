-- Stop watching the DOIs of wanted_dois (the rows stay, with removed_at).
update watchlist
set removed_at = $now
where removed_at is null
    and doi in (select doi from wanted_dois)
