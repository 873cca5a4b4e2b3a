-- A page is stored once: its snapshot is inserted only if its hash is new.
insert into paper_snapshots by name
select incoming.*
from batch_paper_snapshots as incoming
where not exists (
    select 1
    from paper_snapshots as stored
    where stored.source_sha256 = incoming.source_sha256
)
