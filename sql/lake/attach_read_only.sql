-- As attach.sql, but the lake refuses every write made through this connection.
attach {metadata} as {alias} (data_path {data_path}, read_only{options})
