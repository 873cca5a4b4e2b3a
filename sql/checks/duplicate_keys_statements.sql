-- Keys of statements held by more than one row (DuckLake has no primary keys).
with final as (
    select statement_id, count(*) as copies
    from statements
    group by statement_id
    having count(*) > 1
)

select * from final
