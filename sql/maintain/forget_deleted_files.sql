-- Take the files $ids (data_file_id) off the list of files scheduled for
-- deletion, as ducklake_cleanup_old_files does once it has deleted them.
-- {metadata} is the lake's attached metadata catalog (quoted).
delete from {metadata}.ducklake_files_scheduled_for_deletion
where list_contains($ids, data_file_id)
