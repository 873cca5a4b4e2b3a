-- What the counts are: publications citing the paper, citation statements,
-- how many of those statements the lake holds, references (latest page).
-- One row per paper of $dois (a list of DOIs) that the lake holds.
with wanted as (
    select distinct unnest($dois) as doi
),

paper as (
    select papers.doi, title, year, cited_by, statement_count, reference_count, statements_shown,
           citing_year_min, citing_year_max
    from papers
    join wanted on wanted.doi = papers.doi
),

held as (
    select statements.doi, count(*) as statements_held
    from statements
    join wanted on wanted.doi = statements.doi
    group by statements.doi
),

final as (
    select
        paper.doi,
        paper.title,
        paper.year,
        paper.cited_by,
        paper.statement_count,
        coalesce(held.statements_held, 0) as statements_held,
        paper.statements_shown,
        paper.reference_count,
        paper.citing_year_min,
        paper.citing_year_max
    from paper
    left join held on held.doi = paper.doi
)

select * from final
