-- Report files read from a bucket (s3://BUCKET/KEY paths) are remembered by
-- key, size and ETag: an object's last-modified time has whole seconds, so an
-- object saved again within a second with as many bytes has only its ETag to
-- tell. Null for a local file, whose mtime has nanoseconds.
alter table report_files add column etag varchar;
