-- Papers whose counts moved between their previous saved page and a page this
-- run ingested: the run's changed-papers artifact. Papers that gained
-- contrasting statements come first: they are what a reviewer acts on.
with pages_of_run as (
    select sha256 as source_sha256
    from report_files
    where run_id = $run_id
        and status = 'ingested'
),

moves as (
    select history.*
    from paper_count_history as history
    semi join pages_of_run using (source_sha256)
    where history.cited_by_delta <> 0
        or history.statement_count_delta <> 0
        or history.supporting_delta <> 0
        or history.mentioning_delta <> 0
        or history.contrasting_delta <> 0
        or history.unclassified_delta <> 0
),

final as (
    select
        moves.doi,
        papers.title,
        moves.observed_at,
        moves.contrasting,
        moves.contrasting_delta,
        moves.supporting,
        moves.supporting_delta,
        moves.mentioning,
        moves.mentioning_delta,
        moves.cited_by,
        moves.cited_by_delta
    from moves
    left join papers using (doi)
)

select * from final
order by contrasting_delta desc nulls last, cited_by_delta desc nulls last, doi, observed_at
limit $row_limit
