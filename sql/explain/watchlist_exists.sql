-- Does the lake have a watchlist table (one row per paper to watch)?
with tables as (
    select table_name
    from duckdb_tables()
    where database_name = current_database()
      and table_name = 'watchlist'
),

final as (
    select count(*) > 0 as has_watchlist
    from tables
)

select * from final
