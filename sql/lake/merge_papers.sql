-- Upsert papers by doi, once per run, from every batch staged in run_papers:
-- the values of the latest page win (by last_seen, except that within one
-- 2-second window the larger cited_by then statement_count is the later page,
-- as tasks/reading/split.py orders pages; ties broken by source_sha256 so the result
-- never depends on batch order);
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
            *,
            row_number() over (
                partition by doi
                order by
                    epoch_us(last_seen) // 2000000 desc,
                    cited_by desc nulls last,
                    statement_count desc nulls last,
                    last_seen desc,
                    source_sha256 desc
            ) as recency,
            min(first_seen) over (partition by doi) as first_seen_overall,
            max(last_seen) over (partition by doi) as last_seen_overall
        from candidates
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
