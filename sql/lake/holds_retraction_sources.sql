-- Whether the lake, as the open run's transaction sees it, holds papers and a
-- source of their editorial status: a saved /papers response or a Retraction
-- Watch record. Without a source, every paper's retracted is null as pages
-- leave it; without a paper (an export ingested before any page), there is
-- no row to write. Either way merge_papers_retracted.sql is skipped, and with
-- it the view retraction_status over every record.
select exists (select 1 from papers)
    and (exists (select 1 from api_papers) or exists (select 1 from retractions))
