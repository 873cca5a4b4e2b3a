insert into statement_sightings by name
select incoming.*
from batch_statement_sightings as incoming
where not exists (
    select 1
    from statement_sightings as stored
    where stored.source_sha256 = incoming.source_sha256
      and stored.statement_id = incoming.statement_id
)
