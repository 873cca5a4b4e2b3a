-- Whether the lake, as the open run's transaction sees it (the run's own API
-- rows are inserted by then), holds anything from a saved scite API response:
-- a /papers response's row or a tally's snapshot. Without either,
-- merge_paper_metadata.sql has no paper to touch and is skipped.
select exists (select 1 from api_papers)
    or exists (select 1 from paper_snapshots where source = 'api')
