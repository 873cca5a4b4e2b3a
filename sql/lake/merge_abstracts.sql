-- Upsert abstracts by doi, once per run, from every batch staged in
-- run_abstracts: the latest page's abstract wins (by observed_at,
-- ties broken by source_sha256); unchanged rows are left out.
merge into abstracts as target
using (
    -- Not materialized: with DuckDB 1.5.5 a MERGE whose source reads a
    -- materialized CTE (one referenced twice, as this one) fails with "Out of buffer".
    with incoming as not materialized (
        select * exclude (batch) from run_abstracts
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
                *,
                row_number() over (
                    partition by doi order by observed_at desc, source_sha256 desc
                ) as recency
            from candidates
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
