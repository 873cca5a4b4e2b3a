-- Upsert statements by statement_id, once per run, from every batch staged in
-- run_statements, of the statements run_merged_statements lists
-- (select_merged_keys.sql; insert_new_statements.sql adds the rest,
-- after this, so the lake's statements read here are the ones stored before
-- the run). type and confidence come from the latest
-- sighting in the lake (by observed_at, within one 2-second window by its
-- page's cited_by then statement_count, ties broken by source_sha256, as the
-- split orders pages); the older classification stays in statement_sightings.
-- first_seen and last_seen span every sighting; unchanged rows are left out.
-- Runs after insert_statement_sightings.sql, so this batch's sightings count.
merge into statements as target
using (
    -- Not materialized: with DuckDB 1.5.5 a MERGE whose source reads a
    -- materialized CTE (one referenced twice, as this one) fails with "Out of buffer".
    with incoming as not materialized (
        select * exclude (batch) from run_statements
        semi join run_merged_statements using (statement_id)
    ),

    stored as (
        select * from statements
        semi join incoming using (statement_id)
    ),

    candidates as (
        select * from stored
        union all by name
        select * from incoming
    ),

    spans as (
        select
            *,
            row_number() over (partition by statement_id order by last_seen desc) as recency,
            min(first_seen) over (partition by statement_id) as first_seen_overall,
            max(last_seen) over (partition by statement_id) as last_seen_overall
        from candidates
    ),

    latest_sightings as (
        select sightings.statement_id, sightings.type, sightings.confidence
        from (
            select * from statement_sightings
            semi join incoming using (statement_id)
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
    ),

    merged as (
        select
            spans.statement_id,
            spans.doi,
            spans.text,
            spans.section,
            spans.section_category,
            coalesce(latest_sightings.type, spans.type) as type,
            case
                when latest_sightings.statement_id is null then spans.confidence
                else latest_sightings.confidence
            end as confidence,
            spans.first_seen_overall as first_seen,
            spans.last_seen_overall as last_seen,
            spans.source_doi,
            spans.self_citation,
            coalesce(spans.statement_source, 'page') as statement_source
        from spans
        left join latest_sightings on latest_sightings.statement_id = spans.statement_id
        where spans.recency = 1
    ),

    final as (
        select merged.*
        from merged
        left join stored on stored.statement_id = merged.statement_id
        where stored.statement_id is null
           or merged is distinct from stored
    )

    select * from final
) as source
on target.statement_id = source.statement_id
when matched then update
when not matched then insert
