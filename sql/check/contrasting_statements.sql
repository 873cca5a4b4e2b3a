-- The newest contrasting statements the lake holds for each paper of $dois (a
-- list of DOIs), at most $per_paper each: statements with text before those the
-- API gave without a snippet, then the newest first_seen first, then the citing
-- paper's year, the confidence and the id. With the section and, where the lake
-- knows the citing paper (an API statement names it), its DOI and year.
with wanted as (
    select distinct unnest($dois) as doi
),

contrasting as (
    select
        statements.doi,
        statements.statement_id,
        statements.text,
        statements.section,
        statements.section_category,
        statements.confidence,
        statements.first_seen,
        statements.source_doi as citing_doi,
        citing.year as citing_year
    from statements
    join wanted on wanted.doi = statements.doi
    left join papers as citing on citing.doi = statements.source_doi
    where statements.type = 'contrasting'
),

ranked as (
    select
        *,
        row_number() over (
            partition by doi
            order by text is null, first_seen desc, citing_year desc nulls last, confidence desc nulls last, statement_id
        ) as recency
    from contrasting
),

final as (
    select doi, statement_id, text, section, section_category, confidence, first_seen, citing_doi, citing_year, recency
    from ranked
    where recency <= $per_paper
    order by doi, recency
)

select * from final
