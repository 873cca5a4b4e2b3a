-- Rows per table the writer reports as added (count after minus count before).
select 'papers' as table_name, count(*) as row_count from papers
union all select 'abstracts', count(*) from abstracts
union all select 'statements', count(*) from statements
union all select 'paper_snapshots', count(*) from paper_snapshots
union all select 'statement_sightings', count(*) from statement_sightings
union all select 'facets', count(*) from facets
union all select 'report_files', count(*) from report_files
