-- Which hashes of the registered table wanted_hashes(sha256) are pages (or saved
-- API responses) stored in the lake (run_lake_hashes, stage_lake_hashes.sql) or
-- staged earlier in the open run (run_page_hashes, run_api_responses).
-- The batch's hashes are the join's build side and the stored ones stream past
-- them: LakeWriter.stored_hashes runs this with the optimizer that picks the
-- build side turned off, as it cannot know the registered frame's size and
-- built the hash table over every hash staged so far instead, at each batch.
select distinct stored.source_sha256 as sha256
from (
    select source_sha256 from run_lake_hashes
    union all
    select source_sha256 from run_page_hashes
    union all
    select source_sha256 from run_api_responses
) as stored
semi join wanted_hashes on wanted_hashes.sha256 = stored.source_sha256
