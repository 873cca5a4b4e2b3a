-- DuckDB's own parse tree of a SELECT statement, as JSON ({"error": true, ...} for anything else).
select json_serialize_sql($sql)
