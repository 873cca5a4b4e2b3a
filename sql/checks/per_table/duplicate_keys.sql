-- Keys of {table} held by more than one row (DuckLake has no primary keys).
-- Run as the check duplicate_keys_{table} for each table the registry
-- (tasks/lake/tables.py) marks key-checked; a finding stops the commit.
with final as (
    select {key}, count(*) as copies
    from {table}
    group by {key}
    having count(*) > 1
)

select * from final
