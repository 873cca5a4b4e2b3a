-- Which hashes of the registered table wanted_hashes(sha256) are pages (or saved
-- API responses) stored in the lake (run_lake_hashes, stage_lake_hashes.sql) or
-- staged earlier in the open run (run_page_hashes, run_api_responses).
select distinct wanted_hashes.sha256
from wanted_hashes
semi join (
    select source_sha256 from run_lake_hashes
    union all
    select source_sha256 from run_page_hashes
    union all
    select source_sha256 from run_api_responses
) as stored on stored.source_sha256 = wanted_hashes.sha256
