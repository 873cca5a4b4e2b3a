-- One paper's latest values and the span of its pages.
select doi, cited_by, source_sha256, first_seen, last_seen
from papers
where doi = $doi
