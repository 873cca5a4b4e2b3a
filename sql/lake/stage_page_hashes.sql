-- The page hashes of batch $batch ($snapshots, its parked paper_snapshots.parquet),
-- for known_hashes_in_run.sql: the frames themselves stay in their files.
insert into run_page_hashes
select source_sha256, $batch
from read_parquet($snapshots)
