insert into alert_progress (snapshot_id, run_id, handled_at) values ($snapshot_id, $run_id, $now)
