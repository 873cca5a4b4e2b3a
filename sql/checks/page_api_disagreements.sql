-- Where a report page and a saved scite API response disagree about one paper on
-- the same (UTC) date: a count both give (cited_by, statement_count and the four
-- tallies; the API's citingPublications, total and contradicting), or the type of
-- the same statement (same paper, same text). Neither side is overwritten: both
-- stay in paper_snapshots and statements, with their source.
with snapshots as (
    select *, cast(timezone('UTC', observed_at) as date) as observed_on
    from paper_snapshots
),

pairs as (
    select
        page.doi,
        page.observed_on,
        page.source_sha256 as page_sha256,
        api.source_sha256 as api_sha256,
        page.cited_by as page_cited_by,
        api.cited_by as api_cited_by,
        page.statement_count as page_statement_count,
        api.statement_count as api_statement_count,
        page.supporting as page_supporting,
        api.supporting as api_supporting,
        page.mentioning as page_mentioning,
        api.mentioning as api_mentioning,
        page.contrasting as page_contrasting,
        api.contrasting as api_contrasting,
        page.unclassified as page_unclassified,
        api.unclassified as api_unclassified
    from snapshots as page
    inner join snapshots as api
        on api.doi = page.doi
        and api.observed_on = page.observed_on
        and api.source = 'api'
    where page.source = 'page'
),

count_disagreements as (
    select doi, observed_on, 'cited_by' as what, page_cited_by::varchar as page_value, api_cited_by::varchar as api_value, page_sha256, api_sha256
    from pairs where page_cited_by <> api_cited_by
    union all
    select doi, observed_on, 'statement_count', page_statement_count::varchar, api_statement_count::varchar, page_sha256, api_sha256
    from pairs where page_statement_count <> api_statement_count
    union all
    select doi, observed_on, 'supporting', page_supporting::varchar, api_supporting::varchar, page_sha256, api_sha256
    from pairs where page_supporting <> api_supporting
    union all
    select doi, observed_on, 'mentioning', page_mentioning::varchar, api_mentioning::varchar, page_sha256, api_sha256
    from pairs where page_mentioning <> api_mentioning
    union all
    select doi, observed_on, 'contrasting', page_contrasting::varchar, api_contrasting::varchar, page_sha256, api_sha256
    from pairs where page_contrasting <> api_contrasting
    union all
    select doi, observed_on, 'unclassified', page_unclassified::varchar, api_unclassified::varchar, page_sha256, api_sha256
    from pairs where page_unclassified <> api_unclassified
),

-- Only papers with a statement from a saved API response can disagree about a
-- type: the sightings of the others (all of them, in a lake of pages alone) are
-- never joined, which took most of this check's time.
papers_with_api_statements as (
    select distinct doi from statements where statement_source = 'api'
),

sightings as (
    select
        statement_sightings.doi,
        statements.text,
        statements.statement_source,
        statement_sightings.type,
        statement_sightings.source_sha256,
        cast(timezone('UTC', statement_sightings.observed_at) as date) as observed_on
    from (
        select statement_id, text, statement_source
        from statements
        semi join papers_with_api_statements using (doi)
        where text is not null
    ) as statements
    inner join statement_sightings using (statement_id)
),

type_disagreements as (
    select
        page.doi,
        page.observed_on,
        'type of statement "' || left(page.text, 60) || '"' as what,
        page.type as page_value,
        api.type as api_value,
        page.source_sha256 as page_sha256,
        api.source_sha256 as api_sha256
    from sightings as page
    inner join sightings as api
        on api.doi = page.doi
        and api.text = page.text
        and api.observed_on = page.observed_on
        and api.statement_source = 'api'
    where page.statement_source = 'page'
      and page.type <> api.type
),

final as (
    select * from count_disagreements
    union all
    select * from type_disagreements
)

select * from final
