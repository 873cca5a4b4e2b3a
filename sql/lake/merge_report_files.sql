-- One row per path, holding its latest state: once per run, from every batch
-- staged in run_report_files (of a path staged twice, the later batch wins). A
-- row is rewritten only when the state changed, so run_id names the run that
-- last changed it and an unchanged collection of a million files costs no rewrite.
merge into report_files as target
using (
    -- Not materialized: with DuckDB 1.5.5 a MERGE whose source reads a
    -- materialized CTE (one referenced twice, as this one) fails with "Out of buffer".
    with incoming as not materialized (
        select path, size, mtime, sha256, status, reason, warnings
        from run_report_files
        qualify row_number() over (partition by path order by batch desc) = 1
    ),

    stored as (
        select path, size, mtime, sha256, status, reason, warnings
        from report_files
        semi join incoming using (path)
    ),

    final as (
        select incoming.*
        from incoming
        left join stored on stored.path = incoming.path
        where stored.path is null
           or incoming is distinct from stored
    )

    select * from final
) as source
on target.path = source.path
when matched then update set
    size = source.size,
    mtime = source.mtime,
    sha256 = source.sha256,
    status = source.status,
    reason = source.reason,
    warnings = source.warnings,
    run_id = $run_id
when not matched then insert (path, size, mtime, sha256, status, reason, warnings, run_id)
    values (source.path, source.size, source.mtime, source.sha256, source.status,
            source.reason, source.warnings, $run_id)
