-- What snapshots ($from_snapshot, $to_snapshot] changed about each watched paper
-- of alert_changed_papers, comparing the lake then (AT VERSION $from_snapshot)
-- and now, for those papers only. One row per alert; alert_id hashes what the
-- alert is about, so the same change never gives two alerts.
create or replace temp table alert_candidates as
with changed as (
    select * from alert_changed_papers
),

papers_before as (
    select * from papers at (version => $from_snapshot)
    semi join changed using (doi)
),

papers_after as (
    select * from papers
    semi join changed using (doi)
),

statements_before as (
    select * from statements at (version => $from_snapshot)
    semi join changed using (doi)
),

statements_after as (
    select * from statements
    semi join changed using (doi)
),

-- A watched paper whose first page arrived.
first_seen as (
    select
        sha256(concat_ws('|', after.doi, 'first_seen')) as alert_id,
        after.doi,
        'first_seen' as kind,
        changed.run_id,
        after.first_seen as observed_at,
        null::varchar as statement_id,
        json_object(
            'title', after.title,
            'page_date', after.first_seen,
            'cited_by', after.cited_by,
            'statement_count', after.statement_count,
            'supporting', after.supporting,
            'mentioning', after.mentioning,
            'contrasting', after.contrasting,
            'unclassified', after.unclassified
        )::varchar as detail
    from papers_after as after
    join changed using (doi)
    anti join papers_before using (doi)
),

-- A supporting or contrasting statement the lake did not have for the paper
-- (a paper seen for the first time gives first_seen instead).
statements_added as (
    select
        sha256(concat_ws('|', after.doi, after.type || '_added', after.statement_id)) as alert_id,
        after.doi,
        after.type || '_added' as kind,
        changed.run_id,
        after.first_seen as observed_at,
        after.statement_id,
        json_object(
            'title', papers_after.title,
            'text', after.text,
            'section', after.section,
            'type', after.type,
            'confidence', after.confidence,
            'page_date', after.first_seen,
            'supporting', papers_after.supporting,
            'contrasting', papers_after.contrasting,
            'statement_count', papers_after.statement_count
        )::varchar as detail
    from statements_after as after
    join changed using (doi)
    join papers_after using (doi)
    semi join papers_before using (doi)
    anti join statements_before using (statement_id)
    where after.type in ('supporting', 'contrasting')
),

-- A statement the lake had whose latest classification changed.
reclassified as (
    select
        sha256(concat_ws('|', after.doi, 'reclassified', after.statement_id, before.type, after.type, after.last_seen::varchar))
            as alert_id,
        after.doi,
        'reclassified' as kind,
        changed.run_id,
        after.last_seen as observed_at,
        after.statement_id,
        json_object(
            'title', papers_after.title,
            'text', after.text,
            'section', after.section,
            'from', before.type,
            'to', after.type,
            'confidence_before', before.confidence,
            'confidence_after', after.confidence,
            'page_date_before', before.last_seen,
            'page_date', after.last_seen
        )::varchar as detail
    from statements_after as after
    join statements_before as before using (statement_id)
    join changed on changed.doi = after.doi
    join papers_after on papers_after.doi = after.doi
    where after.type <> before.type
),

-- The paper's counts moved between its latest page before and now.
tally_changed as (
    select
        sha256(concat_ws('|', after.doi, 'tally_changed', after.source_sha256)) as alert_id,
        after.doi,
        'tally_changed' as kind,
        changed.run_id,
        after.last_seen as observed_at,
        null::varchar as statement_id,
        json_object(
            'title', after.title,
            'page_date_before', before.last_seen,
            'page_date', after.last_seen,
            'before', json_object(
                'cited_by', before.cited_by, 'statement_count', before.statement_count,
                'supporting', before.supporting, 'mentioning', before.mentioning,
                'contrasting', before.contrasting, 'unclassified', before.unclassified
            ),
            'after', json_object(
                'cited_by', after.cited_by, 'statement_count', after.statement_count,
                'supporting', after.supporting, 'mentioning', after.mentioning,
                'contrasting', after.contrasting, 'unclassified', after.unclassified
            )
        )::varchar as detail
    from papers_after as after
    join papers_before as before using (doi)
    join changed using (doi)
    where after.source_sha256 <> before.source_sha256
        and (
            after.cited_by is distinct from before.cited_by
            or after.statement_count is distinct from before.statement_count
            or after.supporting is distinct from before.supporting
            or after.mentioning is distinct from before.mentioning
            or after.contrasting is distinct from before.contrasting
            or after.unclassified is distinct from before.unclassified
        )
)

select * from first_seen
union all by name select * from statements_added
union all by name select * from reclassified
union all by name select * from tally_changed
