-- The evidence: the strongest (highest-confidence) supporting and contrasting
-- statements the lake holds for the paper, with their section and identity.
with held as (
    select statement_id, type, text, section, section_category, confidence
    from statements
    where doi = $doi
),

ranked as (
    select
        *,
        row_number() over (partition by type order by confidence desc nulls last, statement_id) as strength_rank
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
        count(*) filter (where type = 'supporting') as supporting_held,
        count(*) filter (where type = 'contrasting') as contrasting_held
    from held
),

tallied as (
    select supporting as supporting_tallied, contrasting as contrasting_tallied
    from papers
    where doi = $doi
),

final as (
    select
        counted.supporting_held,
        counted.contrasting_held,
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
    from counted
    left join tallied on true
    left join supporting on true
    left join contrasting on true
)

select * from final
