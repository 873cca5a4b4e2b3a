-- A run that staged no batch: the view {view} with the columns of the lake's
-- {table} and a batch number, and no row.
create or replace temp view {view} as
select *, 0::integer as batch from {table} limit 0
