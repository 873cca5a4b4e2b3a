-- Upsert papers by doi, once per run, from every batch staged in run_papers:
-- the values of the latest snapshot win, in the order of "latest"
-- (tasks/reading/split.py, docs/tables.md): its 2-second window, cited_by,
-- statement_count, source, source_sha256. A candidate's time and source are
-- its snapshot's (paper_snapshots, stored by insert_paper_snapshots.sql before
-- this): its last_seen spans its batch's pages, not the one it comes from.
-- first_seen and last_seen span every page. Rows that would not change are
-- left out so a re-run rewrites nothing.
merge into papers as target
using (
    -- Not materialized: with DuckDB 1.5.5 a MERGE whose source reads a
    -- materialized CTE (one referenced twice, as this one) fails with "Out of buffer".
    with incoming as not materialized (
        select * exclude (batch) from run_papers
        semi join run_merged_papers using (doi)
    ),

    -- A row known only from a saved /papers response (merge_paper_metadata.sql)
    -- holds no snapshot's values: the run's snapshots replace it.
    stored as (
        select * from papers
        semi join incoming using (doi)
        semi join (
            select source_sha256 from paper_snapshots semi join incoming using (doi)
        ) using (source_sha256)
    ),

    candidates as (
        select * from stored
        union all by name
        select * from incoming
    ),

    ranked as (
        select
            candidates.*,
            row_number() over (
                partition by candidates.doi
                order by
                    time_bucket(interval 2 second, coalesce(snapshots.observed_at, candidates.last_seen)) desc,
                    candidates.cited_by desc nulls last,
                    candidates.statement_count desc nulls last,
                    snapshots.source desc nulls last,
                    candidates.source_sha256 desc
            ) as recency,
            min(candidates.first_seen) over (partition by candidates.doi) as first_seen_overall,
            max(candidates.last_seen) over (partition by candidates.doi) as last_seen_overall
        from candidates
        left join (
            select doi, source_sha256, observed_at, source from paper_snapshots
        ) as snapshots
            on snapshots.doi = candidates.doi and snapshots.source_sha256 = candidates.source_sha256
    ),

    merged as (
        select * exclude (recency, first_seen_overall, last_seen_overall)
            replace (first_seen_overall as first_seen, last_seen_overall as last_seen)
        from ranked
        where recency = 1
    ),

    final as (
        select merged.*
        from merged
        left join stored on stored.doi = merged.doi
        where stored.doi is null
           or merged is distinct from stored
    )

    select * from final
) as source
on target.doi = source.doi
when matched then update
when not matched then insert
