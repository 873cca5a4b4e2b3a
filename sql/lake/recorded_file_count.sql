-- The number of file paths the lake's manifest records (report_files).
select count(*) from report_files
