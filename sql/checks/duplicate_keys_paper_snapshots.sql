-- Keys of paper_snapshots held by more than one row (DuckLake has no primary keys).
-- A page holds one paper; a saved API tally batch holds several, one row each.
with final as (
    select source_sha256, doi, count(*) as copies
    from paper_snapshots
    group by source_sha256, doi
    having count(*) > 1
)

select * from final
