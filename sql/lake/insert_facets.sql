insert into facets by name
select incoming.*
from batch_facets as incoming
where not exists (
    select 1
    from facets as stored
    where stored.source_sha256 = incoming.source_sha256
      and stored.facet = incoming.facet
      and stored.position = incoming.position
)
