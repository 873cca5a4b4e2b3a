-- Snapshots whose four tallies do not sum to the statement count they show.
with snapshots as (
    select doi, source_sha256, statement_count, supporting, mentioning, contrasting, unclassified
    from paper_snapshots
    where statement_count is not null
      and supporting is not null
),

final as (
    select
        *,
        supporting + mentioning + contrasting + unclassified as tally_sum
    from snapshots
    where supporting + mentioning + contrasting + unclassified <> statement_count
)

select * from final
