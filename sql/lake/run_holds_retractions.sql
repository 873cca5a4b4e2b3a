-- Whether the open run staged any Retraction Watch record: without one,
-- merge_retractions.sql has nothing to bring in and is skipped.
select exists (select 1 from run_retractions)
