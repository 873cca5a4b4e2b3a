-- The watched papers that snapshots ($from_snapshot, $to_snapshot] gave a new page
-- (or a saved API tally, or a saved API response describing them, or a record of
-- the Retraction Watch export added or changed), with the run
-- that committed the latest of them. Read from DuckLake's change feed (pages are
-- only ever inserted), not by scanning the lake.
create or replace temp table alert_changed_papers as
with new_pages as (
    select snapshot_id, doi, observed_at, source_sha256
    from lake.table_changes('paper_snapshots', $from_snapshot + 1, $to_snapshot)
    where change_type = 'insert'
    union all
    select snapshot_id, doi, observed_at, source_sha256
    from lake.table_changes('api_papers', $from_snapshot + 1, $to_snapshot)
    where change_type = 'insert'
    union all
    select snapshot_id, doi, observed_at, source_sha256
    from lake.table_changes('retractions', $from_snapshot + 1, $to_snapshot)
    where change_type in ('insert', 'update_postimage') and doi is not null
),

run_of_snapshot as (
    select snapshot_id, run_id
    from lake.table_changes('runs', $from_snapshot + 1, $to_snapshot)
    where change_type = 'insert'
),

watched as (
    select doi from watchlist where removed_at is null
)

select
    new_pages.doi,
    arg_max(run_of_snapshot.run_id, new_pages.snapshot_id) as run_id,
    max(new_pages.observed_at) as latest_page_at
from new_pages
semi join watched using (doi)
left join run_of_snapshot using (snapshot_id)
group by new_pages.doi
