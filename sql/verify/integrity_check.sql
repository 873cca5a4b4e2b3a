-- Run on the embedded catalog itself (SQLite): every page, index and constraint.
-- One row 'ok' when sound, else one row per fault found.
pragma integrity_check
