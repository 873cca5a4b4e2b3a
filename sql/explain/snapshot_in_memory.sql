-- For explaining many papers at once: copy the tables the explanations read
-- into an in-memory database, from one snapshot of the lake, and use it (the
-- views they read are created there from sql/views/ after this).
attach ':memory:' as explain_snapshot;
create table explain_snapshot.papers as select * from lake.papers;
create table explain_snapshot.abstracts as select * from lake.abstracts;
create table explain_snapshot.statements as select * from lake.statements;
create table explain_snapshot.paper_snapshots as select * from lake.paper_snapshots;
create table explain_snapshot.statement_sightings as select * from lake.statement_sightings;
use explain_snapshot;
