-- Keys of paper_snapshots held by more than one row (DuckLake has no primary keys).
with final as (
    select source_sha256, count(*) as copies
    from paper_snapshots
    group by source_sha256
    having count(*) > 1
)

select * from final
