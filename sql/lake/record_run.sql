-- The run's row in runs: its file tallies and, per table the registry counts,
-- the rows it added ({added_columns} and {added_values}, filled in from
-- tasks/lake/tables.py: <table>_added and $<table>_added).
insert into runs (
    run_id, started_at, finished_at, source,
    files_seen, files_new, files_changed, files_unchanged, files_duplicate, files_rejected,
    {added_columns}
)
values (
    $run_id, $started_at, $finished_at, $source,
    $files_seen, $files_new, $files_changed, $files_unchanged, $files_duplicate, $files_rejected,
    {added_values}
)
