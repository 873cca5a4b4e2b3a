-- What the checks found after the lake's latest run (check_findings of the run
-- that finished last): the findings of a run that staged nothing, whose lake is
-- the one those checks saw (LakeWriter.finish).
select check_name, offending_rows, sample
from check_findings
where run_id = (select run_id from runs order by finished_at desc, run_id limit 1)
order by check_name
