-- The evidence: the strongest (highest-confidence) supporting and contrasting
-- statements the lake holds for the paper, with their section and identity.
-- One row per DOI of $dois (a list of DOIs).
with wanted as (
    select distinct unnest($dois) as doi
),

held as (
    select statements.doi, statement_id, type, text, section, section_category, confidence
    from statements
    join wanted on wanted.doi = statements.doi
),

ranked as (
    select
        *,
        row_number() over (partition by doi, type order by confidence desc nulls last, statement_id) as strength_rank
    from held
    where type in ('supporting', 'contrasting')
),

supporting as (
    select * from ranked where type = 'supporting' and strength_rank = 1
),

contrasting as (
    select * from ranked where type = 'contrasting' and strength_rank = 1
),

counted as (
    select
        doi,
        count(*) filter (where type = 'supporting') as supporting_held,
        count(*) filter (where type = 'contrasting') as contrasting_held
    from held
    group by doi
),

tallied as (
    select papers.doi, supporting as supporting_tallied, contrasting as contrasting_tallied
    from papers
    join wanted on wanted.doi = papers.doi
),

final as (
    select
        wanted.doi,
        coalesce(counted.supporting_held, 0) as supporting_held,
        coalesce(counted.contrasting_held, 0) as contrasting_held,
        tallied.supporting_tallied,
        tallied.contrasting_tallied,
        supporting.statement_id as supporting_statement_id,
        supporting.text as supporting_text,
        supporting.section as supporting_section,
        supporting.section_category as supporting_section_category,
        round(100.0 * supporting.confidence, 1) as supporting_confidence_pct,
        contrasting.statement_id as contrasting_statement_id,
        contrasting.text as contrasting_text,
        contrasting.section as contrasting_section,
        contrasting.section_category as contrasting_section_category,
        round(100.0 * contrasting.confidence, 1) as contrasting_confidence_pct
    from wanted
    left join counted on counted.doi = wanted.doi
    left join tallied on tallied.doi = wanted.doi
    left join supporting on supporting.doi = wanted.doi
    left join contrasting on contrasting.doi = wanted.doi
)

select * from final
