-- Invariants that hold between runs and break inside one: each names itself and
-- counts its offending rows. A reader that ever sees one non-zero saw a partial run.
with added as (
    select
        coalesce(sum(papers_added), 0) as papers,
        coalesce(sum(abstracts_added), 0) as abstracts,
        coalesce(sum(statements_added), 0) as statements,
        coalesce(sum(paper_snapshots_added), 0) as paper_snapshots,
        coalesce(sum(statement_sightings_added), 0) as statement_sightings,
        coalesce(sum(facets_added), 0) as facets,
        coalesce(sum(report_files_added), 0) as report_files
    from runs
)

select 'papers rows not added by a run' as invariant, abs((select count(*) from papers) - papers) as offending from added
union all select 'abstracts rows not added by a run', abs((select count(*) from abstracts) - abstracts) from added
union all select 'statements rows not added by a run', abs((select count(*) from statements) - statements) from added
union all select 'paper_snapshots rows not added by a run', abs((select count(*) from paper_snapshots) - paper_snapshots) from added
union all select 'statement_sightings rows not added by a run', abs((select count(*) from statement_sightings) - statement_sightings) from added
union all select 'facets rows not added by a run', abs((select count(*) from facets) - facets) from added
union all select 'report_files rows not added by a run', abs((select count(*) from report_files) - report_files) from added
union all
select 'ingested files without their page', count(*)
from report_files
where status = 'ingested'
    and sha256 not in (select source_sha256 from paper_snapshots)
union all
select 'papers without a page', count(*)
from papers
where doi not in (select doi from paper_snapshots)
union all
select 'pages of no paper', count(*)
from paper_snapshots
where doi not in (select doi from papers)
