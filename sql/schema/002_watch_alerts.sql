-- The watchlist, the alerts computed for watched papers, and how far detection got.

-- One row per DOI ever watched; a removed DOI keeps its row with removed_at set,
-- and watching it again clears removed_at. Earlier states: the lake's snapshots.
create table watchlist (
    doi varchar not null,
    label varchar,
    added_at timestamptz not null,
    removed_at timestamptz
);

-- One row per thing a run changed about a watched paper. alert_id is a hash of
-- what the alert is about (doi, kind, statement or page), so it is never stored twice.
create table alerts (
    alert_id varchar not null,
    doi varchar not null,
    kind varchar not null,
    run_id varchar,
    observed_at timestamptz,
    statement_id varchar,
    detail varchar not null,
    created_at timestamptz not null
);

-- The last lake snapshot whose changes detection has handled: the next
-- detection starts after it, so a run whose detection failed is caught up.
create table alert_progress (
    snapshot_id bigint not null,
    run_id varchar,
    handled_at timestamptz not null
);
