-- Statements that appeared after the first page of the paper that quotes any,
-- and statements whose classification changed from one page to the next.
-- An API tally quotes no statement: were the first page one, every statement
-- would count as new. One row per DOI of $dois (a list of DOIs).
with wanted as (
    select distinct unnest($dois) as doi
),

first_quoting as (
    select paper_snapshots.doi, min(observed_at) as first_quoted_at
    from paper_snapshots
    join wanted on wanted.doi = paper_snapshots.doi
    where statements_shown > 0
    group by paper_snapshots.doi
),

appeared as (
    select statements.doi, count(*) as statements_appeared
    from statements
    join first_quoting on first_quoting.doi = statements.doi
    where statements.first_seen > first_quoting.first_quoted_at
    group by statements.doi
),

reclassified as (
    select
        statement_reclassifications.doi,
        count(*) as reclassifications,
        count(distinct statement_id) as statements_reclassified,
        count(*) filter (where new_type = 'contrasting') as became_contrasting,
        count(*) filter (where old_type = 'contrasting') as stopped_contrasting
    from statement_reclassifications
    join wanted on wanted.doi = statement_reclassifications.doi
    group by statement_reclassifications.doi
),

final as (
    select
        wanted.doi,
        cast(first_quoting.first_quoted_at as date) as first_quoted_on,
        coalesce(appeared.statements_appeared, 0) as statements_appeared,
        coalesce(reclassified.reclassifications, 0) as reclassifications,
        coalesce(reclassified.statements_reclassified, 0) as statements_reclassified,
        coalesce(reclassified.became_contrasting, 0) as became_contrasting,
        coalesce(reclassified.stopped_contrasting, 0) as stopped_contrasting
    from wanted
    left join first_quoting on first_quoting.doi = wanted.doi
    left join appeared on appeared.doi = wanted.doi
    left join reclassified on reclassified.doi = wanted.doi
)

select * from final
