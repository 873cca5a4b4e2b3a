-- Saved scite API responses as a second source of the lake (docs/scite-api.md).
-- Columns are only added: every name of 001 and 002 keeps its meaning. A page-only
-- lake reads the new columns as null, or as their default ('page').

-- The paper's bibliographic record, from the newest saved /papers response.
alter table papers add column journal varchar;
alter table papers add column publisher varchar;
alter table papers add column issns varchar[];
alter table papers add column type varchar;
alter table papers add column authors struct(
    family varchar, given varchar, name varchar, orcid varchar, affiliation varchar, sequence integer
)[];
alter table papers add column retracted boolean;

-- Which source a snapshot came from: 'page' (a report page) or 'api' (a saved tally).
alter table paper_snapshots add column source varchar default 'page';

-- API citation statements: the citing paper, whether it shares an author with the
-- cited one, and the source; an API statement without a snippet has no text.
alter table statements alter column text drop not null;
alter table statements add column source_doi varchar;
alter table statements add column self_citation boolean;
alter table statements add column statement_source varchar default 'page';

-- One row per stored API response file: its shape and what it held.
create table api_responses (
    source_sha256 varchar not null,
    source_path varchar not null,
    observed_at timestamptz not null,
    shape varchar not null,
    papers integer not null,
    tallies integer not null,
    statements integer not null,
    statements_without_text integer not null
);

-- One row per paper per stored API response that described it (/papers, or the
-- papers of a citations response): the history papers' bibliographic columns come from.
create table api_papers (
    doi varchar not null,
    observed_at timestamptz not null,
    source_sha256 varchar not null,
    source_path varchar not null,
    title varchar,
    year integer,
    journal varchar,
    publisher varchar,
    issns varchar[],
    type varchar,
    authors struct(
        family varchar, given varchar, name varchar, orcid varchar, affiliation varchar, sequence integer
    )[],
    retracted boolean
);

-- One row per editorial notice (retraction, expression of concern, correction …)
-- per stored API response that listed it.
create table editorial_notices (
    doi varchar not null,
    status varchar,
    date varchar,
    notice_doi varchar,
    urls varchar[],
    observed_at timestamptz not null,
    source_sha256 varchar not null
);
