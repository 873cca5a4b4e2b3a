-- Statements whose classification changed between two consecutive sightings:
-- the old and new type, and the page (time and hash) that showed the change.
create or replace view statement_reclassifications as
with sightings as (
    select statement_id, doi, source_sha256, observed_at, type, confidence
    from statement_sightings
),

with_previous as (
    select
        *,
        lag(type) over by_time as previous_type,
        lag(confidence) over by_time as previous_confidence,
        lag(observed_at) over by_time as previous_observed_at
    from sightings
    window by_time as (partition by statement_id order by observed_at, source_sha256)
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
