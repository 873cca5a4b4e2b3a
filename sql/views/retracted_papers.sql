-- Papers retracted, or with a retraction among their editorial notices, as the
-- newest saved /papers response describing them says: the notices of that
-- response, and how many statements still support the paper (the latest
-- snapshot's tally, and the supporting statements the lake holds).
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
        bool_or(coalesce(lower(status), '') like '%retract%') as has_retraction_notice
    from editorial_notices
    semi join latest_responses using (doi, source_sha256)
    group by editorial_notices.doi
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
        papers.retracted,
        coalesce(notices.notice_count, 0) as notice_count,
        notices.notices,
        papers.supporting,
        coalesce(supporting_statements.supporting_statements, 0) as supporting_statements,
        papers.last_seen
    from papers
    left join notices using (doi)
    left join supporting_statements using (doi)
    where papers.retracted
       or coalesce(notices.has_retraction_notice, false)
)

select * from final
