-- What the counts are: publications citing the paper, citation statements,
-- how many of those statements the lake holds, references (latest page).
with paper as (
    select doi, title, year, cited_by, statement_count, reference_count, statements_shown,
           citing_year_min, citing_year_max
    from papers
    where doi = $doi
),

held as (
    select count(*) as statements_held
    from statements
    where doi = $doi
),

final as (
    select
        paper.doi,
        paper.title,
        paper.year,
        paper.cited_by,
        paper.statement_count,
        held.statements_held,
        paper.statements_shown,
        paper.reference_count,
        paper.citing_year_min,
        paper.citing_year_max
    from paper
    cross join held
)

select * from final
