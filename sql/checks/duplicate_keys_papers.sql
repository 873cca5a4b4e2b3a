-- Keys of papers held by more than one row (DuckLake has no primary keys).
with final as (
    select doi, count(*) as copies
    from papers
    group by doi
    having count(*) > 1
)

select * from final
