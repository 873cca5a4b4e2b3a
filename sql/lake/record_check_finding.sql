insert into check_findings (run_id, check_name, offending_rows, sample)
values ($run_id, $check_name, $offending_rows, $sample)
