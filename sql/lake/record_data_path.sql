-- Run on the embedded catalog itself (SQLite) after a moved or copied lake was
-- attached with override_data_path: make the lake's own folder its data path.
update ducklake_metadata set value = :data_path where key = 'data_path' and scope is null
