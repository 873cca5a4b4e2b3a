-- The lake's latest snapshot id: the state the search index is stamped with, and the one a run interrupted after its commit is in.
select id from lake.current_snapshot()
