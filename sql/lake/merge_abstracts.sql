-- Upsert abstracts by doi, once per run, from every batch staged in
-- run_abstracts: the latest page's abstract wins, in the order of "latest"
-- (tasks/reading/split.py, docs/tables.md): the page's 2-second window,
-- cited_by, statement_count, source, source_sha256; unchanged rows are left
-- out. Runs after insert_paper_snapshots.sql, so every page's counts are there.
merge into abstracts as target
using (
    -- Not materialized: with DuckDB 1.5.5 a MERGE whose source reads a
    -- materialized CTE (one referenced twice, as this one) fails with "Out of buffer".
    with incoming as not materialized (
        select * exclude (batch) from run_abstracts
        semi join run_merged_abstracts using (doi)
    ),

    stored as (
        select * from abstracts
        semi join incoming using (doi)
    ),

    candidates as (
        select * from stored
        union all by name
        select * from incoming
    ),

    merged as (
        select * exclude (recency)
        from (
            select
                candidates.*,
                row_number() over (
                    partition by candidates.doi
                    order by
                        time_bucket(interval 2 second, candidates.observed_at) desc,
                        page_counts.cited_by desc nulls last,
                        page_counts.statement_count desc nulls last,
                        page_counts.source desc nulls last,
                        candidates.source_sha256 desc
                ) as recency
            from candidates
            left join (
                select doi, source_sha256, cited_by, statement_count, source from paper_snapshots
            ) as page_counts
                on page_counts.doi = candidates.doi and page_counts.source_sha256 = candidates.source_sha256
        )
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
