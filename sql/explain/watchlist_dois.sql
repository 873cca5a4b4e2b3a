-- The DOIs the lake's watchlist watches now (a removed DOI keeps its row, with removed_at set).
with watched as (
    select distinct doi
    from watchlist
    where doi is not null
      and removed_at is null
),

final as (
    select doi
    from watched
    order by doi
)

select * from final
