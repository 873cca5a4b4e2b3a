-- papers.retracted as the two sources combine it (the view retraction_status:
-- either says retracted, a later Reinstatement in the Retraction Watch export
-- clears it; null when neither says), for every paper whose status the run can
-- change: those the run's pages and API rows wrote (merge_papers.sql takes
-- the page's null), those its /papers responses describe, and, when the run
-- brings an export, every paper (a record may leave a DOI as well as reach one).
-- The one writer of the column; runs after the merges of papers, their metadata
-- and the retractions. Rows that would not change are left out.
merge into papers as target
using (
    with touched as not materialized (
        select doi from run_changed_dois
        union
        select doi from run_api_papers
        union
        select doi from papers where exists (select 1 from run_retractions)
    ),

    final as (
        select papers.doi, status.retracted
        from papers
        semi join touched using (doi)
        left join retraction_status as status using (doi)
        where papers.retracted is distinct from status.retracted
    )

    select * from final
) as source
on target.doi = source.doi
when matched then update set retracted = source.retracted
