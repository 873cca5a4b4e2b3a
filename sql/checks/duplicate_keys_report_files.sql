-- Keys of report_files held by more than one row (DuckLake has no primary keys).
with final as (
    select path, count(*) as copies
    from report_files
    group by path
    having count(*) > 1
)

select * from final
