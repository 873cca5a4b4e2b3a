-- Add the run's statements new to the lake and staged once (those not in
-- run_merged_statements, select_merged_statements.sql): each row as staged,
-- with type and confidence from its latest sighting, chosen as in
-- merge_statements.sql (a statement on several pages of one batch is staged
-- once with several sightings). Runs after insert_statement_sightings.sql.
-- The staged rows are read twice, the second time their ids alone: a CTE
-- read twice would be materialized, text and all (at a million pages that
-- spilled, and took two thirds of this statement's 40 s).
insert into statements by name
with incoming as not materialized (
    select * exclude (batch) from run_statements
    anti join run_merged_statements using (statement_id)
),

latest_sightings as (
    select sightings.statement_id, sightings.type, sightings.confidence
    from (
        select * from statement_sightings
        semi join (
            select statement_id from run_statements
            anti join run_merged_statements using (statement_id)
        ) using (statement_id)
    ) as sightings
    left join (
        select source_sha256, cited_by, statement_count from paper_snapshots
    ) as page_counts on page_counts.source_sha256 = sightings.source_sha256
    qualify row_number() over (
        partition by sightings.statement_id
        order by
            epoch_us(sightings.observed_at) // 2000000 desc,
            page_counts.cited_by desc nulls last,
            page_counts.statement_count desc nulls last,
            sightings.observed_at desc,
            sightings.source_sha256 desc
    ) = 1
)

select
    incoming.statement_id,
    incoming.doi,
    incoming.text,
    incoming.section,
    incoming.section_category,
    coalesce(latest_sightings.type, incoming.type) as type,
    case
        when latest_sightings.statement_id is null then incoming.confidence
        else latest_sightings.confidence
    end as confidence,
    incoming.first_seen,
    incoming.last_seen,
    incoming.source_doi,
    incoming.self_citation,
    coalesce(incoming.statement_source, 'page') as statement_source
from incoming
left join latest_sightings on latest_sightings.statement_id = incoming.statement_id
