-- The search documents, as of snapshot $snapshot, of the statements listed in
-- the registered frame changed_ids (statement_id); ids no longer in the lake
-- give no row.
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
semi join changed_ids using (statement_id)
left join papers as papers at (version => $snapshot) using (doi)
