-- The chart of counts over the saved pages: one row per page, oldest first.
with pages as (
    select observed_at, source_sha256, cited_by, statement_count, supporting, mentioning, contrasting, unclassified
    from paper_snapshots
    where doi = $doi
),

final as (
    select
        cast(observed_at as date) as saved_on,
        observed_at,
        cited_by,
        statement_count,
        supporting,
        mentioning,
        contrasting,
        unclassified
    from pages
    order by observed_at, source_sha256
)

select * from final
