-- The editorial notices of each paper of $dois (a list of DOIs): one row per
-- notice, with the source that gives it. Every source's notices meet in
-- `notices`, one select per source joined by `union all by name`, in the columns
-- doi, source, nature, date, reasons, notice_doi and urls. Today the one source
-- is the scite API: the notices of the newest saved /papers response describing
-- the paper (the view latest_api_papers), its `status` as the
-- nature, no reasons; and the records of the Retraction Watch export (table
-- retractions) with source 'retraction_watch', their reasons and their date as
-- yyyy-mm-dd.
with wanted as (
    select distinct unnest($dois) as doi
),

latest_responses as (
    select doi, source_sha256
    from latest_api_papers
    semi join wanted using (doi)
),

notices as (
    select
        editorial_notices.doi,
        'scite_api' as source,
        editorial_notices.status as nature,
        editorial_notices.date,
        cast(null as varchar[]) as reasons,
        editorial_notices.notice_doi,
        editorial_notices.urls
    from editorial_notices
    semi join latest_responses
        on latest_responses.doi = editorial_notices.doi
       and latest_responses.source_sha256 = editorial_notices.source_sha256

    union all by name

    select
        retractions.doi,
        'retraction_watch' as source,
        retractions.nature,
        cast(retractions.retraction_date as varchar) as date,
        retractions.reasons,
        retractions.notice_doi,
        retractions.urls
    from retractions
    join wanted on wanted.doi = retractions.doi
),

final as (
    select doi, source, nature, date, reasons, notice_doi, urls
    from notices
    order by doi, date nulls last, source, notice_doi, nature
)

select * from final
