-- How many runs the lake has committed.
select count(*) from runs
