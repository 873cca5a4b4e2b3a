-- Whether the lake, as the connection sees it, holds a row that came from a
-- saved scite API response in either table checks/page_api_disagreements.sql
-- pairs pages with: an API tally's snapshot, or a statement an API response
-- gave. Without either that check can find nothing (each pair it reports has
-- an API side), so it is skipped: over a lake of pages alone it would read the
-- text of every statement for no pair.
select exists (select 1 from paper_snapshots where source = 'api')
    or exists (select 1 from statements where statement_source = 'api')
