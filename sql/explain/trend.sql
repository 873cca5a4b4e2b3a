-- The trend across the paper's saved pages and API tallies: how many of each,
-- the first and the latest one's dates and counts, and how much each count grew
-- in between. Pages and tallies in the lake's order of "latest"
-- (tasks/reading/split.py, docs/tables.md), so the latest is the one papers took.
-- One row per paper of $dois (a list of DOIs) that the lake holds a page or tally of.
with wanted as (
    select distinct unnest($dois) as doi
),

pages as (
    select
        paper_snapshots.doi, observed_at, source_sha256, cited_by, statement_count,
        supporting, mentioning, contrasting, unclassified,
        row_number() over (
            partition by paper_snapshots.doi
            order by
                time_bucket(interval 2 second, observed_at),
                cited_by nulls first,
                statement_count nulls first,
                source nulls first,
                source_sha256
        ) as page_number,
        count(*) over (partition by paper_snapshots.doi) as pages,
        count(*) filter (where source = 'api') over (partition by paper_snapshots.doi) as api_tallies
    from paper_snapshots
    join wanted on wanted.doi = paper_snapshots.doi
),

first_page as (
    select * from pages where page_number = 1
),

last_page as (
    select * from pages where page_number = pages
),

final as (
    select
        last_page.doi,
        last_page.pages,
        last_page.pages - last_page.api_tallies as saved_pages,
        last_page.api_tallies,
        cast(first_page.observed_at as date) as first_saved_on,
        cast(last_page.observed_at as date) as last_saved_on,
        date_diff('day', first_page.observed_at, last_page.observed_at) as days_between,
        first_page.cited_by as first_cited_by,
        last_page.cited_by as last_cited_by,
        last_page.cited_by - first_page.cited_by as cited_by_growth,
        first_page.statement_count as first_statement_count,
        last_page.statement_count as last_statement_count,
        last_page.statement_count - first_page.statement_count as statement_count_growth,
        last_page.supporting - first_page.supporting as supporting_growth,
        last_page.mentioning - first_page.mentioning as mentioning_growth,
        last_page.contrasting - first_page.contrasting as contrasting_growth,
        last_page.unclassified - first_page.unclassified as unclassified_growth
    from first_page
    join last_page on last_page.doi = first_page.doi
)

select * from final
