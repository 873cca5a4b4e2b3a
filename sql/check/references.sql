-- What the lake says of each reference's paper: one row per DOI of $dois (a list
-- of DOIs) that the lake holds or that either source of editorial status
-- describes (the view retraction_status: a DOI the Retraction Watch export
-- retracts may have no page or API response in the lake; in_lake tells).
-- Its title and year; the tallies of its latest
-- page or API tally (papers takes them whole from the latest in the lake's order
-- of "latest", docs/tables.md) with that save's source and time; whether it is
-- retracted (retraction_status, which papers.retracted stores); and its contrasting share of the
-- classified statements (the view paper_citation_profile) with the percentage
-- of the lake's other papers with a share whose share is lower.
with wanted as (
    select distinct unnest($dois) as doi
),

shares as (
    select
        doi,
        contrasting_share,
        100.0 * percent_rank() over (order by contrasting_share) as contrasting_percentile
    from paper_citation_profile
    where contrasting_share is not null
),

status as (
    select doi, retracted
    from retraction_status
    semi join wanted using (doi)
),

final as (
    select
        wanted.doi,
        papers.doi is not null as in_lake,
        papers.title,
        papers.year,
        papers.cited_by,
        papers.statement_count,
        papers.supporting,
        papers.mentioning,
        papers.contrasting,
        papers.unclassified,
        latest.source as tally_source,
        latest.observed_at as tally_observed_at,
        coalesce(status.retracted, false) as retracted,
        shares.contrasting_share,
        round(shares.contrasting_percentile, 1) as contrasting_percentile
    from wanted
    left join papers on papers.doi = wanted.doi
    left join status on status.doi = wanted.doi
    -- the save papers took its values from; none for a paper known only from a /papers response
    left join paper_snapshots as latest
        on latest.doi = papers.doi
       and latest.source_sha256 = papers.source_sha256
    left join shares on shares.doi = papers.doi
    where papers.doi is not null or status.doi is not null
)

select * from final
