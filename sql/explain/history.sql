-- The chart of counts over the saved pages: one row per page of each paper of
-- $dois (a list of DOIs), oldest first, in the lake's order of "latest"
-- (tasks/reading/split.py, docs/tables.md).
with wanted as (
    select distinct unnest($dois) as doi
),

pages as (
    select paper_snapshots.doi, observed_at, source_sha256, source, cited_by, statement_count,
           supporting, mentioning, contrasting, unclassified
    from paper_snapshots
    join wanted on wanted.doi = paper_snapshots.doi
),

final as (
    select
        doi,
        cast(observed_at as date) as saved_on,
        observed_at,
        cited_by,
        statement_count,
        supporting,
        mentioning,
        contrasting,
        unclassified
    from pages
    order by
        doi,
        time_bucket(interval 2 second, observed_at),
        cited_by nulls first,
        statement_count nulls first,
        source nulls first,
        source_sha256
)

select * from final
