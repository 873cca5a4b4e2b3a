-- Papers whose retraction the two sources tell differently: the newest saved /papers
-- response (marked retracted, or a retraction notice) against the Retraction Watch
-- export's latest Retraction or Reinstatement record. Only papers both describe.
with latest_responses as (
    select doi, source_sha256, retracted
    from api_papers
    -- the newest: by the 2-second window of observed_at, then content (docs/tables.md)
    qualify row_number() over (
        partition by doi
        order by time_bucket(interval 2 second, observed_at) desc, source_sha256 desc
    ) = 1
),

api_says as (
    select
        latest_responses.doi,
        coalesce(latest_responses.retracted, false)
        or coalesce(bool_or(coalesce(lower(editorial_notices.status), '') like '%retract%'), false) as retracted
    from latest_responses
    left join editorial_notices using (doi, source_sha256)
    group by latest_responses.doi, latest_responses.retracted
),

watch_says as (
    select doi, nature = 'Retraction' as retracted, nature, retraction_date
    from retractions
    where doi is not null and nature in ('Retraction', 'Reinstatement')
    qualify row_number() over (partition by doi order by retraction_date desc nulls last, record_id desc) = 1
),

final as (
    select
        api_says.doi,
        api_says.retracted as scite_api_retracted,
        watch_says.retracted as retraction_watch_retracted,
        watch_says.nature as retraction_watch_latest,
        watch_says.retraction_date as retraction_watch_date
    from api_says
    join watch_says using (doi)
    where api_says.retracted <> watch_says.retracted
)

select * from final
