-- The lake's latest snapshot id: the state the search index is stamped with.
select id from lake.current_snapshot()
