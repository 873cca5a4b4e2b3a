-- How many files the lake records per status, and how many of them lack a reason.
select status, count(*) as files, count(*) filter (where reason is null) as without_reason
from report_files
group by status
order by status
