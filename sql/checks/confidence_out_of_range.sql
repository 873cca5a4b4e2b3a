-- Sightings whose classifier confidence is not a fraction between 0 and 1.
with final as (
    select statement_id, source_sha256, confidence
    from statement_sightings
    where confidence < 0 or confidence > 1
)

select * from final
