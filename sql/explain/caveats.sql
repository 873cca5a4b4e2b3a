-- What to keep in mind: do the tallies add up to the statement count, how many
-- statements the latest page showed, was the abstract cut, how old the data are.
with paper as (
    select doi, statement_count, statements_shown, last_seen,
           supporting + mentioning + contrasting + unclassified as tally_total
    from papers
    where doi = $doi
),

abstract as (
    select truncated as abstract_truncated
    from abstracts
    where doi = $doi
),

final as (
    select
        paper.statement_count,
        paper.tally_total,
        paper.statement_count - paper.tally_total as tally_gap,
        paper.statements_shown,
        coalesce(abstract.abstract_truncated, false) as abstract_truncated,
        abstract.abstract_truncated is null as abstract_missing,
        cast(paper.last_seen as date) as last_saved_on,
        date_diff('day', paper.last_seen, current_timestamp) as age_days
    from paper
    left join abstract on true
)

select * from final
