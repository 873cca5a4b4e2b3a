insert into runs (
    run_id, started_at, finished_at, source,
    files_seen, files_new, files_changed, files_unchanged, files_duplicate, files_rejected,
    papers_added, abstracts_added, statements_added, paper_snapshots_added,
    statement_sightings_added, facets_added, report_files_added
)
values (
    $run_id, $started_at, $finished_at, $source,
    $files_seen, $files_new, $files_changed, $files_unchanged, $files_duplicate, $files_rejected,
    $papers_added, $abstracts_added, $statements_added, $paper_snapshots_added,
    $statement_sightings_added, $facets_added, $report_files_added
)
