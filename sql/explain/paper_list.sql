-- Every paper of the lake with its balance and trend, for the index of a site.
-- The first page is the first in the lake's order of "latest"
-- (tasks/reading/split.py, docs/tables.md).
with pages as (
    select
        doi,
        count(*) as pages,
        first(
            cited_by
            order by
                time_bucket(interval 2 second, observed_at),
                cited_by nulls first,
                statement_count nulls first,
                source nulls first,
                source_sha256
        ) as first_cited_by
    from paper_snapshots
    group by doi
),

final as (
    select
        papers.doi,
        papers.title,
        papers.year,
        papers.cited_by,
        papers.statement_count,
        round(100.0 * papers.supporting / nullif(papers.supporting + papers.mentioning + papers.contrasting + papers.unclassified, 0), 1) as supporting_pct,
        round(100.0 * papers.contrasting / nullif(papers.supporting + papers.mentioning + papers.contrasting + papers.unclassified, 0), 1) as contrasting_pct,
        pages.pages,
        papers.cited_by - pages.first_cited_by as cited_by_growth,
        cast(papers.last_seen as date) as last_saved_on
    from papers
    left join pages on pages.doi = papers.doi
    order by papers.doi
)

select * from final
