-- What to keep in mind: do the tallies add up to the statement count, how many
-- statements the latest page showed and the lake holds, was the abstract cut,
-- how old the data are, and whether the latest count is a page or an API tally.
-- One row per paper of $dois (a list of DOIs) that the lake holds.
with wanted as (
    select distinct unnest($dois) as doi
),

paper as (
    select papers.doi, papers.statement_count, papers.statements_shown, papers.last_seen,
           papers.supporting + papers.mentioning + papers.contrasting + papers.unclassified as tally_total,
           coalesce(paper_snapshots.source, 'page') as last_source
    from papers
    join wanted on wanted.doi = papers.doi
    left join paper_snapshots
        on paper_snapshots.doi = papers.doi and paper_snapshots.source_sha256 = papers.source_sha256
),

held as (
    select statements.doi, count(*) as statements_held
    from statements
    join wanted on wanted.doi = statements.doi
    group by statements.doi
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
        coalesce(held.statements_held, 0) as statements_held,
        paper.last_source,
        coalesce(abstract.abstract_truncated, false) as abstract_truncated,
        abstract.abstract_truncated is null as abstract_missing,
        cast(paper.last_seen as date) as last_saved_on,
        date_diff('day', paper.last_seen, current_timestamp) as age_days
    from paper
    left join held on held.doi = paper.doi
    left join abstract on abstract.doi = paper.doi
)

select * from final
