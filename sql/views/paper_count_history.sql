-- Per paper per saved page or saved API tally: the counts it showed, its source
-- ('page' or 'api'), and how they moved since the paper's previous snapshot of
-- either source (null deltas on its first), ordered as the lake orders them for "latest".
create or replace view paper_count_history as
with snapshots as (
    select
        doi,
        observed_at,
        source_sha256,
        source,
        cited_by,
        statement_count,
        supporting,
        mentioning,
        contrasting,
        unclassified
    from paper_snapshots
),

with_previous as (
    select
        *,
        lag(cited_by) over by_page as previous_cited_by,
        lag(statement_count) over by_page as previous_statement_count,
        lag(supporting) over by_page as previous_supporting,
        lag(mentioning) over by_page as previous_mentioning,
        lag(contrasting) over by_page as previous_contrasting,
        lag(unclassified) over by_page as previous_unclassified
    from snapshots
    -- Snapshots in the lake's order of "latest" (tasks/reading/split.py, docs/tables.md):
    -- within one 2-second window (a checkout or copy, not two saves) content decides.
    window by_page as (
        partition by doi
        order by
            time_bucket(interval 2 second, observed_at),
            cited_by nulls first,
            statement_count nulls first,
            source nulls first,
            source_sha256
    )
),

final as (
    select
        doi,
        observed_at,
        source_sha256,
        source,
        cited_by,
        statement_count,
        supporting,
        mentioning,
        contrasting,
        unclassified,
        cited_by - previous_cited_by as cited_by_delta,
        statement_count - previous_statement_count as statement_count_delta,
        supporting - previous_supporting as supporting_delta,
        mentioning - previous_mentioning as mentioning_delta,
        contrasting - previous_contrasting as contrasting_delta,
        unclassified - previous_unclassified as unclassified_delta
    from with_previous
)

select * from final
