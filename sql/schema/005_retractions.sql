-- The Retraction Watch export (a CSV distributed via Crossref) as a third source
-- of the lake (tasks/reading/retraction_watch.py): one row per record, merged on
-- record_id, so a newer export updates and adds records and never repeats one.

create table retractions (
    record_id bigint not null,
    -- the original paper, its DOI normalised as everywhere in the lake (null: the export has none)
    doi varchar,
    pubmed_id bigint,
    -- the notice itself
    notice_doi varchar,
    notice_pubmed_id bigint,
    nature varchar,
    retraction_date date,
    original_paper_date date,
    reasons varchar[],
    title varchar,
    journal varchar,
    publisher varchar,
    article_types varchar[],
    urls varchar[],
    -- the export file the values come from: its modification time, content hash and path
    observed_at timestamptz not null,
    source_sha256 varchar not null,
    source_path varchar not null
);
