-- The snapshot a run commits names it: lake.snapshots() shows author 'citelake',
-- message 'ingest run <id>' and the run id as JSON, so a version can be found by its run.
call lake.set_commit_message('citelake', 'ingest run ' || $run_id, extra_info => json_object('run_id', $run_id)::varchar)
