-- Papers of the lake retracted by either source: the newest saved /papers
-- response describing them marks them retracted or lists a retraction notice,
-- or the Retraction Watch export's latest Retraction or Reinstatement record of
-- them (by its date, then record id) is a Retraction. A Reinstatement in the
-- export clears a retraction dated on or before it, whichever source gave that.
-- With each: the API response's notices, the export's records, which sources
-- say it is retracted, and how many statements still support the paper (the
-- latest snapshot's tally, and the supporting statements the lake holds).
create or replace view retracted_papers as
with latest_responses as (
    select doi, source_sha256
    from api_papers
    -- the newest: by the 2-second window of observed_at, then content (docs/tables.md)
    qualify row_number() over (
        partition by doi
        order by time_bucket(interval 2 second, observed_at) desc, source_sha256 desc
    ) = 1
),

notices as (
    select
        editorial_notices.doi,
        count(*) as notice_count,
        list(
            {'status': status, 'date': date, 'notice_doi': notice_doi, 'urls': urls}
            order by date, notice_doi, status
        ) as notices,
        bool_or(coalesce(lower(status), '') like '%retract%') as has_retraction_notice,
        max(try_cast(date as date)) filter (where coalesce(lower(status), '') like '%retract%') as retraction_notice_date
    from editorial_notices
    semi join latest_responses using (doi, source_sha256)
    group by editorial_notices.doi
),

watch_records as (
    select
        doi,
        list(
            {'record_id': record_id, 'nature': nature, 'date': retraction_date, 'reasons': reasons, 'notice_doi': notice_doi}
            order by retraction_date, record_id
        ) as retraction_watch
    from retractions
    where doi is not null
    group by doi
),

watch_status as (
    select doi, nature, retraction_date
    from retractions
    where doi is not null and nature in ('Retraction', 'Reinstatement')
    qualify row_number() over (partition by doi order by retraction_date desc nulls last, record_id desc) = 1
),

supporting_statements as (
    select doi, count(*) as supporting_statements
    from statements
    where type = 'supporting'
    group by doi
),

status as (
    select
        papers.doi,
        coalesce(papers.retracted, false) or coalesce(notices.has_retraction_notice, false) as api_says,
        coalesce(watch_status.nature = 'Retraction', false) as watch_says,
        coalesce(
            watch_status.nature = 'Reinstatement'
            and (notices.retraction_notice_date is null or notices.retraction_notice_date <= watch_status.retraction_date),
            false
        ) as reinstated
    from papers
    left join notices using (doi)
    left join watch_status using (doi)
),

final as (
    select
        papers.doi,
        papers.title,
        papers.journal,
        papers.year,
        papers.retracted,
        coalesce(notices.notice_count, 0) as notice_count,
        notices.notices,
        watch_records.retraction_watch,
        case
            when status.api_says and status.watch_says then ['scite_api', 'retraction_watch']
            when status.api_says then ['scite_api']
            else ['retraction_watch']
        end as retracted_by,
        papers.supporting,
        coalesce(supporting_statements.supporting_statements, 0) as supporting_statements,
        papers.last_seen
    from papers
    join status using (doi)
    left join notices using (doi)
    left join watch_records using (doi)
    left join supporting_statements using (doi)
    where (status.api_says or status.watch_says) and not status.reinstated
)

select * from final
