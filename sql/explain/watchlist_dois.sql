-- The DOIs of the lake's watchlist.
with watched as (
    select distinct doi
    from watchlist
    where doi is not null
),

final as (
    select doi
    from watched
    order by doi
)

select * from final
