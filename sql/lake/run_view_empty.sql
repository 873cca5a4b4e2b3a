-- A run that staged no batch of pages: the view {view} holds only the rows
-- saved API responses gave the table ({api_rows}, none in a run without them).
create or replace temp view {view} as
select * from {api_rows}
