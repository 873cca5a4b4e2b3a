-- The chart of counts over the saved pages: one row per page of each paper of
-- $dois (a list of DOIs), oldest first.
with wanted as (
    select distinct unnest($dois) as doi
),

pages as (
    select paper_snapshots.doi, observed_at, source_sha256, cited_by, statement_count,
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
    order by doi, observed_at, source_sha256
)

select * from final
