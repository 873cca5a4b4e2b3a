-- Every snapshot the lake still holds (expired ones are gone): the change feed
-- can only be read from a snapshot that is listed here.
select snapshot_id from lake.snapshots() order by snapshot_id
