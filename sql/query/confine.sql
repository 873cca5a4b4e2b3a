-- Run by tasks/lake/query.py after the lake is attached read-only, before a user's
-- query: the session may read files under the lake's data folder (and the
-- catalog it attached) and nothing else, and can no longer change its settings.
-- {data_path} is filled in (quoted): SET takes no bound parameters.
set allowed_directories = [{data_path}];
set enable_external_access = false;
set lock_configuration = true;
