-- The feed of contrasting statements with the cited paper's title, newest first.
create or replace view contrasting_statements as
with contrasting as (
    select statement_id, doi, text, section, section_category, confidence, first_seen, last_seen
    from statements
    where type = 'contrasting'
),

titles as (
    select doi, title
    from papers
),

final as (
    select
        contrasting.first_seen,
        contrasting.doi,
        titles.title,
        contrasting.text,
        contrasting.section,
        contrasting.section_category,
        contrasting.confidence,
        contrasting.last_seen,
        contrasting.statement_id
    from contrasting
    left join titles on titles.doi = contrasting.doi
    order by contrasting.first_seen desc, contrasting.statement_id
)

select * from final
