-- The lake's latest snapshot id: the state the search index is stamped with, and the one a plan made ahead of its run was made on.
select id from lake.current_snapshot()
