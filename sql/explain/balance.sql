-- The balance of the paper's citation statements by type: the latest page's
-- tallies and each one's share (percent, one decimal) of their sum.
-- One row per paper of $dois (a list of DOIs) that the lake holds.
with wanted as (
    select distinct unnest($dois) as doi
),

paper as (
    select papers.doi, statement_count, supporting, mentioning, contrasting, unclassified
    from papers
    join wanted on wanted.doi = papers.doi
),

summed as (
    select *, supporting + mentioning + contrasting + unclassified as tally_total
    from paper
),

final as (
    select
        doi,
        statement_count,
        supporting,
        mentioning,
        contrasting,
        unclassified,
        tally_total,
        round(100.0 * supporting / nullif(tally_total, 0), 1) as supporting_pct,
        round(100.0 * mentioning / nullif(tally_total, 0), 1) as mentioning_pct,
        round(100.0 * contrasting / nullif(tally_total, 0), 1) as contrasting_pct,
        round(100.0 * unclassified / nullif(tally_total, 0), 1) as unclassified_pct
    from summed
)

select * from final
