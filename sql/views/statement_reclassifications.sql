-- Statements whose classification changed between two consecutive sightings:
-- the old and new type, and the page (time and hash) that showed the change.
create or replace view statement_reclassifications as
with sightings as (
    select
        statement_sightings.statement_id,
        statement_sightings.doi,
        statement_sightings.source_sha256,
        statement_sightings.observed_at,
        statement_sightings.type,
        statement_sightings.confidence,
        paper_snapshots.cited_by,
        paper_snapshots.statement_count,
        paper_snapshots.source
    from statement_sightings
    -- by doi too: a saved API tally batch holds several papers' snapshots under one hash
    left join paper_snapshots
        on paper_snapshots.source_sha256 = statement_sightings.source_sha256
        and paper_snapshots.doi = statement_sightings.doi
),

with_previous as (
    select
        *,
        lag(type) over by_time as previous_type,
        lag(confidence) over by_time as previous_confidence,
        lag(observed_at) over by_time as previous_observed_at
    from sightings
    -- Sightings in the lake's order of "latest" of their pages (tasks/reading/split.py,
    -- docs/tables.md): within one 2-second window content decides.
    window by_time as (
        partition by statement_id
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
        statement_id,
        doi,
        previous_type as old_type,
        type as new_type,
        previous_confidence as old_confidence,
        confidence as new_confidence,
        previous_observed_at as old_observed_at,
        observed_at as changed_at,
        source_sha256
    from with_previous
    where previous_type is not null
      and previous_type <> type
)

select * from final
