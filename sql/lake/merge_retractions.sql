-- The run's Retraction Watch records into retractions, one row per record_id.
-- Of a record staged by several exports in the run, the latest file's (by
-- observed_at, then path) is taken. A record the lake holds is updated only
-- when its values changed and only from an export at least as new as the one
-- it came from, so re-reading an old export never takes a record back, and a
-- newer export rewrites only the records it changed (a DuckLake update writes
-- a delete and a new row). Records the lake lacks are added.
merge into retractions as target
using (
    with latest as (
        select rowid as staged_row
        from run_retractions
        qualify row_number() over (
            partition by record_id order by observed_at desc, source_path desc, batch desc
        ) = 1
    ),

    incoming as not materialized (
        select * exclude (batch)
        from run_retractions
        where rowid in (select staged_row from latest)
    ),

    final as (
        select incoming.*
        from incoming
        left join retractions as stored on stored.record_id = incoming.record_id
        where stored.record_id is null
           or (
               incoming.observed_at >= stored.observed_at
               and row(
                   incoming.doi,
                   incoming.pubmed_id,
                   incoming.notice_doi,
                   incoming.notice_pubmed_id,
                   incoming.nature,
                   incoming.retraction_date,
                   incoming.original_paper_date,
                   incoming.reasons,
                   incoming.title,
                   incoming.journal,
                   incoming.publisher,
                   incoming.article_types,
                   incoming.urls
               )
               is distinct from row(
                   stored.doi,
                   stored.pubmed_id,
                   stored.notice_doi,
                   stored.notice_pubmed_id,
                   stored.nature,
                   stored.retraction_date,
                   stored.original_paper_date,
                   stored.reasons,
                   stored.title,
                   stored.journal,
                   stored.publisher,
                   stored.article_types,
                   stored.urls
               )
           )
    )

    select * from final
) as source
on target.record_id = source.record_id
when matched then update
when not matched then insert
