-- Delete the data files scheduled for deletion more than $grace (an interval)
-- ago: a reader that started before they were scheduled may still be scanning
-- them, so they are kept that long. One row per file deleted: path.
call ducklake_cleanup_old_files('lake', older_than => now() - $grace)
