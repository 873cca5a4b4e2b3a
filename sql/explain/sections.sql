-- Where the paper is cited: its statements the lake holds per section
-- category of the citing paper, and each category's share (percent, one decimal).
-- One row per DOI of $dois (a list of DOIs).
with wanted as (
    select distinct unnest($dois) as doi
),

mix as (
    select paper_section_mix.doi, section_category, statements
    from paper_section_mix
    join wanted on wanted.doi = paper_section_mix.doi
),

final as (
    select
        wanted.doi,
        coalesce(sum(mix.statements), 0) as sectioned_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'introduction'), 0) as introduction_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'methods'), 0) as methods_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'results'), 0) as results_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'discussion'), 0) as discussion_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'conclusion'), 0) as conclusion_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'other'), 0) as other_statements,
        coalesce(sum(mix.statements) filter (where mix.section_category = 'unknown'), 0) as unknown_statements,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'introduction'), 0) / nullif(sum(mix.statements), 0), 1) as introduction_pct,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'methods'), 0) / nullif(sum(mix.statements), 0), 1) as methods_pct,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'results'), 0) / nullif(sum(mix.statements), 0), 1) as results_pct,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'discussion'), 0) / nullif(sum(mix.statements), 0), 1) as discussion_pct,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'conclusion'), 0) / nullif(sum(mix.statements), 0), 1) as conclusion_pct,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'other'), 0) / nullif(sum(mix.statements), 0), 1) as other_pct,
        round(100.0 * coalesce(sum(mix.statements) filter (where mix.section_category = 'unknown'), 0) / nullif(sum(mix.statements), 0), 1) as unknown_pct
    from wanted
    left join mix on mix.doi = wanted.doi
    group by wanted.doi
)

select * from final
