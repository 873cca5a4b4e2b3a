-- The editorial status of each DOI either source describes, one row each: what
-- the newest saved /papers response says (marked retracted, or a retraction
-- notice listed; null when it does not say), what the Retraction Watch export's
-- latest Retraction or Reinstatement record says (by its date, then record id;
-- null without one), and `retracted`, the two combined: true when either
-- source says so, except that a Reinstatement in the export clears a retraction
-- dated on or before it, whichever source gave that; false when a source says
-- not retracted and none says retracted; null when neither says. papers.retracted
-- holds this value (sql/lake/merge_papers_retracted.sql), retracted_papers lists
-- the papers it retracts, and the check retraction_sources_disagree compares the two sources.
create or replace view retraction_status as
with api_notices as (
    select
        editorial_notices.doi,
        bool_or(coalesce(lower(status), '') like '%retract%') as has_retraction_notice,
        max(try_cast(date as date)) filter (where coalesce(lower(status), '') like '%retract%') as retraction_notice_date
    from editorial_notices
    semi join latest_api_papers using (doi, source_sha256)
    group by editorial_notices.doi
),

scite_api as (
    select
        latest.doi,
        latest.observed_at,
        latest.retracted or coalesce(api_notices.has_retraction_notice, false) as retracted,
        api_notices.retraction_notice_date
    from latest_api_papers as latest
    left join api_notices using (doi)
),

retraction_watch as (
    -- the latest record of each DOI: by its date (none: the earliest), then record id
    select
        doi,
        arg_max(
            {'nature': nature, 'retraction_date': retraction_date},
            {'date': coalesce(retraction_date, '-infinity'::date), 'record_id': record_id}
        ) as latest
    from retractions
    where doi is not null and nature in ('Retraction', 'Reinstatement')
    group by doi
),

sources as (
    select
        doi,
        scite_api.observed_at as scite_api_observed_at,
        scite_api.retracted as scite_api_retracted,
        scite_api.retraction_notice_date as scite_api_retraction_date,
        retraction_watch.latest.nature as retraction_watch_latest,
        retraction_watch.latest.retraction_date as retraction_watch_date,
        retraction_watch.latest.nature = 'Retraction' as retraction_watch_retracted,
        coalesce(
            retraction_watch.latest.nature = 'Reinstatement'
            and (scite_api.retraction_notice_date is null or scite_api.retraction_notice_date <= retraction_watch.latest.retraction_date),
            false
        ) as reinstated
    from scite_api
    full join retraction_watch using (doi)
),

final as (
    select
        *,
        case
            when reinstated then false
            -- true if either says so; else false if either says not; else null
            else coalesce(
                scite_api_retracted or retraction_watch_retracted, scite_api_retracted, retraction_watch_retracted
            )
        end as retracted
    from sources
)

select * from final
