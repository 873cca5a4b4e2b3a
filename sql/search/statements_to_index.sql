-- Every statement as the search index holds it, with its cited paper's title
-- and year, as of snapshot $snapshot (so the documents match the index's stamp).
select
    statements.statement_id,
    statements.doi,
    statements.text,
    statements.section,
    statements.section_category,
    statements.type,
    statements.confidence,
    papers.title,
    papers.year
from statements as statements at (version => $snapshot)
left join papers as papers at (version => $snapshot) using (doi)
