-- Whether the run is in the lake (its row in runs is written in the run's own commit).
select count(*) > 0 from runs where run_id = $run_id
