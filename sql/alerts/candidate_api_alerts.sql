-- The alerts of saved scite API responses (docs/scite-api.md) about each watched
-- paper of alert_changed_papers, added to alert_candidates: 'retracted' when the
-- newest response describing the paper marks it retracted, 'editorial_notice'
-- for each editorial notice that response lists. No time travel (the API tables
-- are younger than some lakes' handled snapshots): alert_id hashes the paper and
-- the notice, so an alert already stored is never stored again.
insert into alert_candidates by name
with changed as not materialized (
    select * from alert_changed_papers
),

latest_responses as not materialized (
    -- the newest saved /papers response describing the paper (the view's order, docs/tables.md)
    select doi, source_sha256, observed_at, retracted
    from latest_api_papers
    semi join changed using (doi)
),

retracted as (
    select
        sha256(concat_ws('|', latest.doi, 'retracted')) as alert_id,
        latest.doi,
        'retracted' as kind,
        changed.run_id,
        latest.observed_at,
        null::varchar as statement_id,
        json_object(
            'title', papers.title,
            'journal', papers.journal,
            'page_date', latest.observed_at,
            'supporting', papers.supporting,
            'statement_count', papers.statement_count
        )::varchar as detail
    from latest_responses as latest
    join changed using (doi)
    left join papers using (doi)
    where latest.retracted
),

notices as (
    select
        sha256(concat_ws('|', notice.doi, 'editorial_notice', coalesce(notice.status, ''), coalesce(notice.date, ''),
            coalesce(notice.notice_doi, ''))) as alert_id,
        notice.doi,
        'editorial_notice' as kind,
        changed.run_id,
        notice.observed_at,
        null::varchar as statement_id,
        json_object(
            'title', papers.title,
            'journal', papers.journal,
            'status', notice.status,
            'date', notice.date,
            'notice_doi', notice.notice_doi,
            'urls', notice.urls,
            'page_date', notice.observed_at
        )::varchar as detail
    from editorial_notices as notice
    semi join latest_responses using (doi, source_sha256)
    join changed using (doi)
    left join papers using (doi)
)

select * from retracted
union all by name
select * from notices
