-- The content hashes of every page and saved API response the lake holds, copied
-- once per run, at its first look-up (known_hashes_in_run.sql). Each scan of a
-- DuckLake table costs a round of catalog queries and a hash is never pruned by
-- a file's statistics, so one scan per run replaces one per batch.
create or replace temp table run_lake_hashes as
select source_sha256 from paper_snapshots
union all
select source_sha256 from api_responses
