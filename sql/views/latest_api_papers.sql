-- The newest saved /papers response describing each paper: its api_papers row
-- (doi, observed_at, source_sha256, the bibliographic values, scite's own
-- retracted flag). The newest by the 2-second window of observed_at, then the
-- larger source_sha256, as docs/tables.md orders saves. The one definition the
-- editorial status (retraction_status, retracted_papers), the API's alerts and
-- the reference check's notices read.
create or replace view latest_api_papers as
select *
from api_papers
qualify row_number() over (
    partition by doi
    order by time_bucket(interval 2 second, observed_at) desc, source_sha256 desc
) = 1
