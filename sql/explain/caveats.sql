-- What to keep in mind: do the tallies add up to the statement count, how many
-- statements the latest page showed, was the abstract cut, how old the data are.
-- One row per paper of $dois (a list of DOIs) that the lake holds.
with wanted as (
    select distinct unnest($dois) as doi
),

paper as (
    select papers.doi, statement_count, statements_shown, last_seen,
           supporting + mentioning + contrasting + unclassified as tally_total
    from papers
    join wanted on wanted.doi = papers.doi
),

abstract as (
    select abstracts.doi, truncated as abstract_truncated
    from abstracts
    join wanted on wanted.doi = abstracts.doi
),

final as (
    select
        paper.doi,
        paper.statement_count,
        paper.tally_total,
        paper.statement_count - paper.tally_total as tally_gap,
        paper.statements_shown,
        coalesce(abstract.abstract_truncated, false) as abstract_truncated,
        abstract.abstract_truncated is null as abstract_missing,
        cast(paper.last_seen as date) as last_saved_on,
        date_diff('day', paper.last_seen, current_timestamp) as age_days
    from paper
    left join abstract on abstract.doi = paper.doi
)

select * from final
