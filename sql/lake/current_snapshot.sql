-- The lake's latest snapshot id, as this transaction sees it: the state the search index is stamped with, where alert detection ends, and the one a run interrupted after its commit is in.
select id from lake.current_snapshot()
