-- The lake's tables. Columns of the six split tables follow tasks/reading/frames.py;
-- DuckLake has no primary keys, so keys are kept by the writer's merges and
-- verified by sql/checks/per_table/duplicate_keys.sql on every run.

create table if not exists schema_version (
    version integer not null,
    name varchar not null,
    applied_at timestamptz not null
);

create table papers (
    doi varchar not null,
    title varchar,
    year integer,
    cited_by bigint,
    statement_count bigint,
    reference_count bigint,
    supporting bigint,
    mentioning bigint,
    contrasting bigint,
    unclassified bigint,
    citing_year_min integer,
    citing_year_max integer,
    statements_shown integer not null,
    first_seen timestamptz not null,
    last_seen timestamptz not null,
    source_sha256 varchar not null
);

create table abstracts (
    doi varchar not null,
    abstract varchar not null,
    truncated boolean not null,
    observed_at timestamptz not null,
    source_sha256 varchar not null
);

create table statements (
    statement_id varchar not null,
    doi varchar not null,
    text varchar not null,
    section varchar,
    section_category varchar not null,
    type varchar not null,
    confidence double,
    first_seen timestamptz not null,
    last_seen timestamptz not null
);

create table paper_snapshots (
    doi varchar not null,
    observed_at timestamptz not null,
    source_sha256 varchar not null,
    source_path varchar not null,
    title varchar,
    year integer,
    cited_by bigint,
    statement_count bigint,
    reference_count bigint,
    supporting bigint,
    mentioning bigint,
    contrasting bigint,
    unclassified bigint,
    citing_year_min integer,
    citing_year_max integer,
    statements_shown integer not null
);

create table statement_sightings (
    statement_id varchar not null,
    doi varchar not null,
    source_sha256 varchar not null,
    observed_at timestamptz not null,
    position integer not null,
    type varchar not null,
    confidence double,
    seen integer not null
);

create table facets (
    doi varchar not null,
    source_sha256 varchar not null,
    facet varchar not null,
    position integer not null,
    value bigint not null
);

-- One row per path: the latest state of that file, and the run that set it.
create table report_files (
    path varchar not null,
    size bigint not null,
    mtime timestamptz not null,
    sha256 varchar,
    status varchar not null,
    reason varchar,
    warnings varchar[],
    run_id varchar not null
);

create table runs (
    run_id varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    source varchar,
    files_seen bigint not null,
    files_new bigint not null,
    files_changed bigint not null,
    files_unchanged bigint not null,
    files_duplicate bigint not null,
    files_rejected bigint not null,
    papers_added bigint not null,
    abstracts_added bigint not null,
    statements_added bigint not null,
    paper_snapshots_added bigint not null,
    statement_sightings_added bigint not null,
    facets_added bigint not null,
    report_files_added bigint not null
);

create table check_findings (
    run_id varchar not null,
    check_name varchar not null,
    offending_rows bigint not null,
    sample varchar
);

-- Which text of each sql/views/*.sql file the lake holds, so a view is
-- re-created only when its file changed.
create table view_definitions (
    view_name varchar not null,
    sha256 varchar not null,
    applied_at timestamptz not null
);
