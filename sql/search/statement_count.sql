-- How many statements the index of snapshot $snapshot holds (statements_to_index.sql
-- gives one row each): the total of a build's progress.
select count(*) from statements at (version => $snapshot)
