-- Papers of the lake retracted by either source, as the view retraction_status
-- combines them (the newest saved /papers response, the Retraction Watch
-- export's latest Retraction or Reinstatement record; a Reinstatement clears a
-- retraction dated on or before it): the papers whose papers.retracted is true.
-- With each: the newest response's notices, the export's records, which sources
-- say it is retracted, and how many statements still support the paper (the
-- latest snapshot's tally, and the supporting statements the lake holds).
create or replace view retracted_papers as
with notices as (
    select
        editorial_notices.doi,
        count(*) as notice_count,
        list(
            {'status': status, 'date': date, 'notice_doi': notice_doi, 'urls': urls}
            order by date, notice_doi, status
        ) as notices
    from editorial_notices
    semi join latest_api_papers using (doi, source_sha256)
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

supporting_statements as (
    select doi, count(*) as supporting_statements
    from statements
    where type = 'supporting'
    group by doi
),

final as (
    select
        papers.doi,
        papers.title,
        papers.journal,
        papers.year,
        status.retracted,
        coalesce(notices.notice_count, 0) as notice_count,
        notices.notices,
        watch_records.retraction_watch,
        case
            when status.scite_api_retracted and status.retraction_watch_retracted then ['scite_api', 'retraction_watch']
            when status.scite_api_retracted then ['scite_api']
            else ['retraction_watch']
        end as retracted_by,
        papers.supporting,
        coalesce(supporting_statements.supporting_statements, 0) as supporting_statements,
        papers.last_seen
    from papers
    -- the status computed, not papers.retracted as stored: a lake written before
    -- papers.retracted combined the sources still lists the same papers
    join retraction_status as status using (doi)
    left join notices using (doi)
    left join watch_records using (doi)
    left join supporting_statements using (doi)
    where status.retracted
)

select * from final
