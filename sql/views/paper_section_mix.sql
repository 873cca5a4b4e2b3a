-- Per paper and section category: how many of its statements stand there, and
-- their share of the paper's statements.
create or replace view paper_section_mix as
with categorised as (
    select doi, section_category
    from statements
),

per_section as (
    select doi, section_category, count(*) as statements
    from categorised
    group by doi, section_category
),

final as (
    select
        doi,
        section_category,
        statements,
        statements / sum(statements) over (partition by doi) as share
    from per_section
)

select * from final
