-- The statements whose search documents changed in snapshots $from_snapshot ..
-- $to_snapshot (both included): every statement the change feed lists
-- (insert, update_preimage, update_postimage, delete), and every statement of
-- a paper whose row changed there (its title or year may have moved).
select statement_id
from lake.table_changes('statements', $from_snapshot, $to_snapshot)
union
select statements.statement_id
from statements as statements at (version => $to_snapshot)
semi join lake.table_changes('papers', $from_snapshot, $to_snapshot) as changed_papers using (doi)
