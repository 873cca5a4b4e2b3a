-- Whether the lake, as the open run's transaction sees it, holds a source of
-- papers' editorial status: a saved /papers response or a Retraction Watch
-- record. Without either, every paper's retracted is null as pages leave it,
-- and merge_papers_retracted.sql is skipped.
select exists (select 1 from api_papers)
    or exists (select 1 from retractions)
