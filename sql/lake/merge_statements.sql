-- Upsert statements by statement_id, once per run, from every batch staged in
-- run_statements, of the statements run_merged_statements lists
-- (select_merged_keys.sql; insert_new_statements.sql adds the rest,
-- after this, so the lake's statements read here are the ones stored before
-- the run). type and confidence come from the latest sighting in the lake, in
-- the order of "latest" of its page (tasks/reading/split.py, docs/tables.md):
-- the 2-second window, cited_by, statement_count, source, source_sha256; the
-- older classification stays in statement_sightings.
-- first_seen and last_seen span every sighting; unchanged rows are left out.
-- Runs after insert_statement_sightings.sql, so this batch's sightings count.
--
-- Without the text: the rows that change are computed into a temp table
-- without it, the lake's rows are updated from that table (the UPDATE reads
-- their text where it lies and builds a hash table of narrow rows alone), and
-- only the new statements take theirs from the batch that staged them. A
-- statement's id is a digest of its DOI, text and section
-- (tasks/reading/split.py; the API's, tasks/reading/scite_api.py), so every
-- candidate of one id has the same text. The text is most of a row's bytes,
-- and a MERGE carrying it through its windows runs out of memory on large
-- later crawls. (A MERGE naming every column but text in its "update set"
-- duplicates rows with DuckDB 1.5.5, as in duckdb/ducklake#1004; the key
-- checks would refuse such a commit.)
create or replace temp table run_statement_changes as
with incoming as (
    select * exclude (text) from run_statements
    semi join run_merged_statements using (statement_id)
),

stored as (
    select * exclude (text) from statements
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
    -- by doi too: a saved API tally batch holds several papers' snapshots under one hash
    left join (
        select doi, source_sha256, cited_by, statement_count, source from paper_snapshots
    ) as page_counts
        on page_counts.doi = sightings.doi and page_counts.source_sha256 = sightings.source_sha256
    qualify row_number() over (
        partition by sightings.statement_id
        order by
            time_bucket(interval 2 second, sightings.observed_at) desc,
            page_counts.cited_by desc nulls last,
            page_counts.statement_count desc nulls last,
            page_counts.source desc nulls last,
            sightings.source_sha256 desc
    ) = 1
),

merged as (
    select
        spans.statement_id,
        spans.doi,
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
        coalesce(spans.statement_source, 'page') as statement_source,
        spans.batch
    from spans
    left join latest_sightings on latest_sightings.statement_id = spans.statement_id
    where spans.recency = 1
),

final as (
    select merged.*, stored.statement_id is not null as held
    from merged
    left join stored on stored.statement_id = merged.statement_id
    where stored.statement_id is null
       or (
           merged.doi, merged.section, merged.section_category, merged.type, merged.confidence,
           merged.first_seen, merged.last_seen, merged.source_doi, merged.self_citation, merged.statement_source
       ) is distinct from (
           stored.doi, stored.section, stored.section_category, stored.type, stored.confidence,
           stored.first_seen, stored.last_seen, stored.source_doi, stored.self_citation, stored.statement_source
       )
)

select * from final;

update statements
set
    doi = changes.doi,
    section = changes.section,
    section_category = changes.section_category,
    type = changes.type,
    confidence = changes.confidence,
    first_seen = changes.first_seen,
    last_seen = changes.last_seen,
    source_doi = changes.source_doi,
    self_citation = changes.self_citation,
    statement_source = changes.statement_source
from run_statement_changes as changes
where changes.held and statements.statement_id = changes.statement_id;

-- A new statement's row came from a batch (one row of an id per batch).
insert into statements by name
select changes.* exclude (held, batch), staged.text
from run_statement_changes as changes
join (
    select statement_id, batch, text from run_statements
    semi join (select statement_id, batch from run_statement_changes where not held) using (statement_id, batch)
) as staged using (statement_id, batch)
where not changes.held;

drop table run_statement_changes;
