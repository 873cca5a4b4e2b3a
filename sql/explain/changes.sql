-- Statements that appeared on a later page than the paper's first one, and
-- statements whose classification changed from one page to the next.
with first_page as (
    select min(observed_at) as first_observed_at
    from paper_snapshots
    where doi = $doi
),

appeared as (
    select count(*) as statements_appeared
    from statements
    cross join first_page
    where statements.doi = $doi
      and statements.first_seen > first_page.first_observed_at
),

reclassified as (
    select
        count(*) as reclassifications,
        count(distinct statement_id) as statements_reclassified,
        count(*) filter (where new_type = 'contrasting') as became_contrasting,
        count(*) filter (where old_type = 'contrasting') as stopped_contrasting
    from statement_reclassifications
    where doi = $doi
),

final as (
    select
        appeared.statements_appeared,
        reclassified.reclassifications,
        reclassified.statements_reclassified,
        reclassified.became_contrasting,
        reclassified.stopped_contrasting
    from appeared
    cross join reclassified
)

select * from final
