-- Papers whose retraction the two sources tell differently (the view
-- retraction_status): the newest saved /papers response (marked retracted, or
-- a retraction notice) against the Retraction Watch export's latest Retraction
-- or Reinstatement record. Only papers both describe.
with final as (
    select
        doi,
        coalesce(scite_api_retracted, false) as scite_api_retracted,
        retraction_watch_retracted,
        retraction_watch_latest,
        retraction_watch_date
    from retraction_status
    where scite_api_observed_at is not null
      and retraction_watch_retracted is not null
      and coalesce(scite_api_retracted, false) <> retraction_watch_retracted
)

select * from final
