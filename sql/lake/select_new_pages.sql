-- The pages this run adds: each staged page hash not stored in the lake yet,
-- with the first batch that staged it (a page staged by several batches is
-- taken from the first, so the first copy in discovery order is the one kept).
-- Computed before any insert, it decides the rows of all three per-page tables.
-- A saved API response counts as a page (run_api_responses: some hold no tally).
create or replace temp table run_new_pages as
with staged as (
    select source_sha256, min(batch) as batch
    from (
        select source_sha256, batch from run_paper_snapshots
        union all
        select source_sha256, batch from run_api_responses
    )
    group by source_sha256
)

select staged.source_sha256, staged.batch
from staged
anti join paper_snapshots as stored on stored.source_sha256 = staged.source_sha256
anti join api_responses as stored_responses on stored_responses.source_sha256 = staged.source_sha256
