-- The alerts of the Retraction Watch export (table retractions) about each
-- watched paper of alert_changed_papers, added to alert_candidates: 'retracted'
-- when the view retracted_papers says the export retracts it (its alert_id is
-- the API's, so a paper retracted by both sources alerts once), and
-- 'editorial_notice' for each of its records (a retraction, a correction, an
-- expression of concern, a reinstatement). alert_id hashes the paper and the
-- notice, so a record seen again in a newer export is no new alert.
insert into alert_candidates by name
with changed as not materialized (
    select * from alert_changed_papers
),

retracted as (
    select
        sha256(concat_ws('|', retracted_papers.doi, 'retracted')) as alert_id,
        retracted_papers.doi,
        'retracted' as kind,
        changed.run_id,
        changed.latest_page_at as observed_at,
        null::varchar as statement_id,
        json_object(
            'title', retracted_papers.title,
            'journal', retracted_papers.journal,
            'source', 'retraction_watch',
            'page_date', changed.latest_page_at,
            'supporting', retracted_papers.supporting,
            'statement_count', papers.statement_count
        )::varchar as detail
    from retracted_papers
    join changed using (doi)
    left join papers using (doi)
    where list_contains(retracted_papers.retracted_by, 'retraction_watch')
),

notices as (
    select
        sha256(concat_ws('|', record.doi, 'editorial_notice', coalesce(record.nature, ''),
            coalesce(cast(record.retraction_date as varchar), ''), coalesce(record.notice_doi, ''))) as alert_id,
        record.doi,
        'editorial_notice' as kind,
        changed.run_id,
        record.observed_at,
        null::varchar as statement_id,
        json_object(
            'title', coalesce(papers.title, record.title),
            'journal', coalesce(papers.journal, record.journal),
            'source', 'retraction_watch',
            'status', record.nature,
            'date', cast(record.retraction_date as varchar),
            'notice_doi', record.notice_doi,
            'reasons', record.reasons,
            'urls', record.urls,
            'page_date', record.observed_at
        )::varchar as detail
    from retractions as record
    join changed using (doi)
    left join papers using (doi)
)

select * from retracted
union all by name
select * from notices
